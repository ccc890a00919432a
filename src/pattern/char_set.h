/* char_set.h — sets of Unicode code points as sorted, disjoint ranges, and the one notation for
   them that --allow, --deny and a pattern's [...] share:

     A-Z0-9      characters and ranges
     \d \w \s    digits, word characters [A-Za-z0-9_], space and tab
     \- \\ \]    a character that would otherwise be syntax, escaped
     -           literal when first or last

   Code points, not bytes: "é-ü" is a range of Latin-1 letters. */
#ifndef CRNN_CHAR_SET_H
#define CRNN_CHAR_SET_H

#include <stddef.h>
#include <stdint.h>

#include "crnn.h"

#define CHAR_SET_MAX_CP 0x10FFFFu

typedef struct {
    uint32_t lo, hi; /* inclusive */
} cp_range;

typedef struct {
    cp_range *r; /* sorted by lo, disjoint and not touching once normalised */
    int n, cap;
} char_set;

void char_set_free(char_set *s);
/* Adds [lo, hi]; 0 if out of memory. Call char_set_normalize before querying. */
int char_set_add(char_set *s, uint32_t lo, uint32_t hi);
/* Adds every range of other; 0 if out of memory. */
int char_set_add_set(char_set *s, const char_set *other);
/* Sorts and merges overlapping or adjacent ranges. */
void char_set_normalize(char_set *s);
/* Replaces a normalised set by its complement in 0..CHAR_SET_MAX_CP; 0 if out of memory. */
int char_set_negate(char_set *s);
/* Whether a normalised set holds cp. */
int char_set_has(const char_set *s, uint32_t cp);

/* The sets behind \d \w \s (and, negated, \D \W \S); 0 if letter names none. */
int char_set_add_escape_class(char_set *s, char letter, int *oom);

/* Parses one element at text[*pos] (a character, an escape or a range) into set, advancing
   *pos. The list of elements runs from byte `begin` to `end` (the inside of a bracket, or the
   whole string): a '-' at either end of it is literal. On error returns 0 with *error_pos (a
   byte offset) and *reason set. */
int char_set_parse_element(const char *text, int *pos, int begin, int end, char_set *set,
                           int *error_pos, const char **reason);
/* Reads one character at text[*pos] (end: where the text stops), a plain one or an escaped
   one (\x{HHHH}, or a backslash before anything that is not a letter or digit). Returns 1
   with *cp, 2 when it is a class escape (\d \w \s \D \W \S, letter in *cp), 0 on error. */
int char_set_read_char(const char *text, int *pos, int end, uint32_t *cp, int *error_pos,
                       const char **reason);
/* Code points in text[0..byte_offset): the column to point at in a message. */
int char_set_column(const char *text, int byte_offset);
/* Writes `text` and under it a caret at byte_offset, into out, for an error message; shortens
   long texts around the caret. */
void char_set_caret(const char *text, int byte_offset, char *out, size_t size);

/* The whole of an --allow/--deny value, e.g. "A-Z0-9". `what` names it in messages
   ("--allow"). The set comes back normalised. */
crnn_status char_set_parse_spec(const char *spec, const char *what, char_set *set,
                                crnn_error *err);

#endif

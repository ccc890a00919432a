/* lexicon.h — the in-memory lexicon: its words as written (UTF-8 and code points), the trie
   for constrained decoding and the BK-tree (of the case-folded words) for candidate search.
   Immutable once built; shared read-only by every thread. */
#ifndef CRNN_LEXICON_H
#define CRNN_LEXICON_H

#include <stddef.h>
#include <stdint.h>

#include "crnn.h"
#include "lexicon/bktree.h"
#include "lexicon/trie.h"

struct crnn_lexicon {
    int n_words;          /* distinct entries, ids 0..n_words-1 in order of first appearance */
    char *text;           /* the words as written, each NUL-terminated */
    uint32_t *text_off;   /* n_words: where each word starts in text */
    uint32_t *cp;         /* code points as written, all words back to back */
    uint32_t *cp_off;     /* n_words + 1: word i is cp[cp_off[i] .. cp_off[i + 1]) */
    int max_len;          /* code points in the longest word */
    trie trie;            /* over the words as written */
    bktree bk;            /* over the folded words: one tree serves both case modes */
};

/* A lexicon from the bytes of a file (crnn_lexicon_load's rules); path names it in errors. */
crnn_lexicon *lexicon_parse(const char *text, size_t size, const char *path, crnn_error *err);

/* The English list (lexicons/en.txt) as built into the library, for when the file is not
   where the name "en" is looked for: a program copied alone still has it. */
extern const unsigned char lexicon_en_data[];
extern const size_t lexicon_en_size;
#define LEXICON_BUILTIN_NAME "en"

/* The file a lexicon name or path stands for (crnn_lexicon_load_named's rules), written to
   buf; NULL with err set if a name is not found. */
const char *lexicon_named_path(const char *name_or_path, char *buf, size_t cap,
                               crnn_error *err);
/* Whether name_or_path is "en" and the built-in copy is there to fall back on. */
int lexicon_is_builtin(const char *name_or_path);

/* Simple case folding of one code point (Latin, Greek, Cyrillic); others unchanged. */
uint32_t casefold(uint32_t cp);

/* Collects entries, then builds a lexicon from them. */
typedef struct lexicon_builder lexicon_builder;
lexicon_builder *lexicon_builder_new(void);
void lexicon_builder_free(lexicon_builder *b);
/* Adds one entry: the bytes s[0..n), spaces and tabs at either end trimmed, skipped if that
   leaves nothing. Rejects invalid UTF-8, control characters and entries longer than
   CRNN_LEXICON_MAX_LINE_BYTES; `where` starts the error message ("words.txt:12"). */
crnn_status lexicon_builder_add(lexicon_builder *b, const char *s, size_t n, const char *where,
                                crnn_error *err);
/* Entries added so far (duplicates included). */
int lexicon_builder_count(const lexicon_builder *b);
/* Merges duplicates (the first spelling keeps its place), builds the trie and the BK-tree.
   Frees b whatever the outcome. `name` names the source in errors. */
crnn_lexicon *lexicon_builder_finish(lexicon_builder *b, const char *name, crnn_error *err);

#endif

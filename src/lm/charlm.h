/* charlm.h — a character n-gram language model of words, for the free text's beam search
   (shallow fusion: decode/prefix_beam.h).

   What it models: the letters a–z of a word (either case, folded), one after another, and
   where the word ends. Words are runs of letters: anything else (a digit, punctuation, a
   space) ends the current word and is left to the network alone. Each run is padded with
   order − 1 boundary symbols in front, and closed by the boundary symbol, which is then
   "end of word".

   How: interpolated Witten–Bell estimates over contexts of up to order − 1 symbols (Chen &
   Goodman 1998, §2.4): p(c | h) = λ_h · n(h c) / n(h) + (1 − λ_h) · p(c | h'), where h' is h
   without its oldest symbol, λ_h = n(h) / (n(h) + t(h)), t(h) the number of distinct symbols
   seen after h, down to a uniform distribution over the 27 symbols. Counted from a word list
   (80 ms for lexicons/en.txt's 100,000 words, which the build does once: named.c, table.c);
   immutable afterwards, so one model serves any number of threads. */
#ifndef CRNN_CHARLM_H
#define CRNN_CHARLM_H

#include <stddef.h>
#include <stdint.h>

#include "crnn.h"

#define CHARLM_SYMBOLS 27 /* 0: the word boundary; 1..26: a..z */
#define CHARLM_MAX_ORDER 6

/* The n-grams whose context has one length: contexts sorted, each with log(1 − λ) and its
   run of (symbol, log p) pairs, symbols ascending. */
typedef struct {
    uint32_t *context;
    float *log_backoff;
    uint32_t *first; /* n_contexts + 1 */
    uint8_t *symbol;
    float *log_p;
    int n_contexts, n_pairs;
} charlm_level;

struct crnn_lm {
    int order;
    charlm_level level[CHARLM_MAX_ORDER]; /* by context length 0 .. order − 1 */
};

/* The symbol of a code point: 1..26 for a–z and A–Z, 0 for anything else (a boundary). */
int charlm_symbol(uint32_t cp);

/* log p(symbol | context); symbol 0 is the end of the word. */
float charlm_log_prob(const crnn_lm *lm, uint32_t context, int symbol);

/* The model from a list of words, one per line (UTF-8; lines starting with '#' skipped), as
   read from `name` (for errors). order: 2..CHARLM_MAX_ORDER. */
crnn_lm *charlm_build(const char *text, size_t size, int order, const char *name,
                      crnn_error *err);

/* A model's tables as bytes (table.c): what the build embeds for the English list, so that
   the program need not count it at start-up. Little-endian, as the machines it runs on. */
crnn_status charlm_table_write(const crnn_lm *lm, unsigned char **out, size_t *size,
                               crnn_error *err);
crnn_lm *charlm_table_read(const unsigned char *data, size_t size, const char *name,
                           crnn_error *err);

/* n: contexts of up to n − 1 symbols (2..CHARLM_MAX_ORDER). */
int charlm_order(const crnn_lm *lm);

/* A context: the last order − 1 symbols, the newest in the lowest 5 bits, 0 (boundary) where
   the word has fewer letters. A word starts from context 0, and a boundary (the word's end)
   brings it back there; a context is inside a word when its newest symbol is a letter. */
static inline uint32_t charlm_next_context(const crnn_lm *lm, uint32_t context, int symbol) {
    const int keep = charlm_order(lm) - 1;
    if (symbol == 0) return 0;
    const uint32_t mask = (1u << (5 * keep)) - 1;
    return ((context << 5) | (uint32_t)symbol) & mask;
}

#endif

/* charlm.c — the character n-gram model of charlm.h: counted from a word list with one radix
   sort per context length, stored as sorted tables, queried by backing off from the longest
   context. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lm/charlm.h"
#include "util/util.h"

int charlm_symbol(uint32_t cp) {
    if (cp >= 'a' && cp <= 'z') return (int)(cp - 'a') + 1;
    if (cp >= 'A' && cp <= 'Z') return (int)(cp - 'A') + 1;
    return 0;
}

int charlm_order(const crnn_lm *lm) { return lm->order; }

static uint32_t context_mask(int length) { return (1u << (5 * length)) - 1; }

/* The index of context c in lv, or -1. */
static int find_context(const charlm_level *lv, uint32_t c) {
    int lo = 0, hi = lv->n_contexts - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (lv->context[mid] == c) return mid;
        if (lv->context[mid] < c) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

/* log p(symbol | the last `length` symbols of context), backing off to shorter contexts. */
static float log_prob_from(const crnn_lm *lm, uint32_t context, int length, int symbol) {
    double acc = 0;
    for (int len = length; len >= 0; len--) {
        const charlm_level *lv = &lm->level[len];
        int i = find_context(lv, context & context_mask(len));
        if (i < 0) continue; /* never seen: λ = 0, all of it from the shorter context */
        for (uint32_t j = lv->first[i]; j < lv->first[i + 1]; j++)
            if (lv->symbol[j] == symbol) return (float)(acc + lv->log_p[j]);
        acc += lv->log_backoff[i];
    }
    return (float)(acc - log(CHARLM_SYMBOLS));
}

float charlm_log_prob(const crnn_lm *lm, uint32_t context, int symbol) {
    return log_prob_from(lm, context, lm->order - 1, symbol);
}

/* Sorts key[0..n) ascending, 8 bits a pass, carrying count along (NULL: keys alone); tk
   and tc (NULL with count) are scratch of the same size. */
static void radix_sort(uint32_t *key, uint32_t *count, uint32_t *tk, uint32_t *tc, size_t n) {
    for (int shift = 0; shift < 32; shift += 8) {
        size_t slot[257] = {0};
        for (size_t i = 0; i < n; i++) slot[((key[i] >> shift) & 0xff) + 1]++;
        for (int b = 0; b < 256; b++) slot[b + 1] += slot[b];
        for (size_t i = 0; i < n; i++) {
            size_t j = slot[(key[i] >> shift) & 0xff]++;
            tk[j] = key[i];
            if (count) tc[j] = count[i];
        }
        memcpy(key, tk, sizeof *key * n);
        if (count) memcpy(count, tc, sizeof *count * n);
    }
}

/* Sorted keys with repeats → the distinct keys in place and how often each came into
   count_out, adding up count_in (NULL: each key once; count_in may be count_out). */
static size_t merge_counts(uint32_t *key, const uint32_t *count_in, uint32_t *count_out,
                           size_t n) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const uint32_t c = count_in ? count_in[i] : 1;
        if (m && key[m - 1] == key[i]) {
            count_out[m - 1] += c;
        } else {
            key[m] = key[i];
            count_out[m++] = c;
        }
    }
    return m;
}

static void level_free(charlm_level *lv) {
    free(lv->context);
    free(lv->log_backoff);
    free(lv->first);
    free(lv->symbol);
    free(lv->log_p);
}

void crnn_lm_free(crnn_lm *lm) {
    if (!lm) return;
    for (int i = 0; i < CHARLM_MAX_ORDER; i++) level_free(&lm->level[i]);
    free(lm);
}

/* The level of context length len from its distinct (context, symbol) keys and counts, the
   shorter levels being complete. */
static int fill_level(crnn_lm *lm, int len, const uint32_t *key, const uint32_t *count,
                      size_t n) {
    charlm_level *lv = &lm->level[len];
    int n_ctx = 0;
    for (size_t i = 0; i < n; i++) n_ctx += i == 0 || key[i] >> 5 != key[i - 1] >> 5;
    lv->context = malloc(sizeof(uint32_t) * (size_t)n_ctx);
    lv->log_backoff = malloc(sizeof(float) * (size_t)n_ctx);
    lv->first = malloc(sizeof(uint32_t) * ((size_t)n_ctx + 1));
    lv->symbol = malloc(n ? n : 1);
    lv->log_p = malloc(sizeof(float) * (n ? n : 1));
    if (!lv->context || !lv->log_backoff || !lv->first || !lv->symbol || !lv->log_p) return 0;
    lv->n_contexts = n_ctx;
    lv->n_pairs = (int)n;
    const charlm_level *below = len ? &lm->level[len - 1] : NULL;
    for (size_t i = 0, c = 0; i < n;) {
        size_t end = i;
        double total = 0;
        while (end < n && key[end] >> 5 == key[i] >> 5) total += count[end++];
        const double types = (double)(end - i), lambda = total / (total + types);
        const uint32_t context = key[i] >> 5;
        lv->context[c] = context;
        lv->log_backoff[c] = (float)log(1 - lambda);
        lv->first[c] = (uint32_t)i;
        /* Every symbol seen after this context was seen after its shorter suffix too, and both
           runs are sorted by symbol: one walk finds each one's lower-order probability. */
        uint32_t b = 0, b_end = 0;
        if (below) {
            int k = find_context(below, context & context_mask(len - 1));
            if (k < 0) return 0; /* cannot happen: a context's suffix is a context */
            b = below->first[k];
            b_end = below->first[k + 1];
        }
        for (size_t j = i; j < end; j++) {
            const int symbol = (int)(key[j] & 31);
            double lower = 1.0 / CHARLM_SYMBOLS;
            if (below) {
                while (b < b_end && below->symbol[b] < symbol) b++;
                if (b == b_end || below->symbol[b] != symbol) return 0; /* cannot happen */
                lower = exp(below->log_p[b]);
            }
            lv->symbol[j] = (uint8_t)symbol;
            lv->log_p[j] = (float)log(lambda * count[j] / total + (1 - lambda) * lower);
        }
        c++;
        i = end;
    }
    lv->first[n_ctx] = (uint32_t)n;
    return 1;
}

/* Every (full context, symbol) of the word list as a key, the context in the high bits:
   one per letter and one per word end. NULL (with *n = 0) if there is no word. */
static uint32_t *collect_ngrams(const char *text, size_t size, int order, size_t *n) {
    /* at most one n-gram per byte, plus a word end per line */
    size_t cap = size + 1, m = 0;
    uint32_t *key = malloc(sizeof(uint32_t) * cap);
    if (!key) return NULL;
    const uint32_t mask = context_mask(order - 1);
    uint32_t context = 0;
    int comment = 0, line_start = 1;
    for (size_t i = 0; i <= size; i++) {
        const unsigned char ch = i < size ? (unsigned char)text[i] : '\n';
        if (line_start) comment = ch == '#';
        line_start = ch == '\n';
        const int symbol = comment ? 0 : charlm_symbol(ch);
        if (symbol) {
            key[m++] = context << 5 | (uint32_t)symbol;
            context = (context << 5 | (uint32_t)symbol) & mask;
        } else if (context) { /* the end of a word */
            key[m++] = context << 5;
            context = 0;
        }
    }
    *n = m;
    if (m == 0) {
        free(key);
        return NULL;
    }
    return key;
}

crnn_lm *charlm_build(const char *text, size_t size, int order, const char *name,
                      crnn_error *err) {
    if (order < 2 || order > CHARLM_MAX_ORDER) {
        set_error(err, CRNN_ERR_ARG, "%s: a character model of order %d (2..%d)", name, order,
                  CHARLM_MAX_ORDER);
        return NULL;
    }
    if (memchr(text, 0, size)) {
        set_error(err, CRNN_ERR_FORMAT, "%s: not a word list (it holds NUL bytes)", name);
        return NULL;
    }
    size_t n = 0;
    uint32_t *key = collect_ngrams(text, size, order, &n);
    if (!key) {
        set_error(err, n ? CRNN_ERR_NOMEM : CRNN_ERR_FORMAT,
                  n ? "%s: out of memory counting letters" : "%s: no words (no letters a-z)",
                  name);
        return NULL;
    }
    /* The first sort is of every letter of every word; what follows, of distinct n-grams
       only (a fifth as many): their counts are allocated after it, and the sort's scratch is
       reused. Freshly touched memory is most of the build's time. */
    uint32_t *tk = malloc(sizeof(uint32_t) * n), *count = NULL, *tc = NULL;
    int own_tc = 0;
    crnn_lm *lm = calloc(1, sizeof *lm);
    int ok = tk && lm;
    if (ok) {
        lm->order = order;
        radix_sort(key, NULL, tk, NULL, n);
        size_t distinct = 0;
        for (size_t i = 0; i < n; i++) distinct += i == 0 || key[i] != key[i - 1];
        count = malloc(sizeof(uint32_t) * distinct);
        ok = count != NULL;
        if (ok) {
            size_t m = merge_counts(key, NULL, count, n);
            tc = 2 * m <= n ? tk + m : malloc(sizeof(uint32_t) * m); /* scratch halves */
            own_tc = tc != tk + m;
            n = m;
            ok = tc != NULL;
        }
    }
    if (ok) {
        /* the longest contexts first; each shorter level merges the longer one's suffixes */
        size_t counts_at[CHARLM_MAX_ORDER];
        uint32_t *keys_at[CHARLM_MAX_ORDER] = {0}, *cnt_at[CHARLM_MAX_ORDER] = {0};
        for (int len = order - 1; len >= 0 && ok; len--) {
            if (len < order - 1) {
                const uint32_t mask = context_mask(len + 1);
                for (size_t i = 0; i < n; i++) key[i] &= mask;
                radix_sort(key, count, tk, tc, n);
                n = merge_counts(key, count, count, n);
            }
            keys_at[len] = malloc(sizeof(uint32_t) * n);
            cnt_at[len] = malloc(sizeof(uint32_t) * n);
            ok = keys_at[len] && cnt_at[len];
            if (ok) {
                memcpy(keys_at[len], key, sizeof(uint32_t) * n);
                memcpy(cnt_at[len], count, sizeof(uint32_t) * n);
                counts_at[len] = n;
            }
        }
        /* probabilities from the shortest context up: each level backs off to the one below */
        for (int len = 0; len < order && ok; len++)
            ok = fill_level(lm, len, keys_at[len], cnt_at[len], counts_at[len]);
        for (int len = 0; len < order; len++) {
            free(keys_at[len]);
            free(cnt_at[len]);
        }
    }
    free(key);
    free(count);
    free(tk);
    if (own_tc) free(tc);
    if (!ok) {
        crnn_lm_free(lm);
        set_error(err, CRNN_ERR_NOMEM, "%s: out of memory building the character model", name);
        return NULL;
    }
    return lm;
}

crnn_lm *crnn_lm_from_words(const char *const *words, int n, int order, crnn_error *err) {
    size_t size = 0;
    for (int i = 0; i < n; i++) size += strlen(words[i]) + 1;
    if (size > CRNN_LM_MAX_FILE_BYTES) {
        set_error(err, CRNN_ERR_LIMIT, "word list of %zu bytes, limit is %u", size,
                  CRNN_LM_MAX_FILE_BYTES);
        return NULL;
    }
    char *text = malloc(size + 1), *p = text;
    if (!text) {
        set_error(err, CRNN_ERR_NOMEM, "out of memory for the word list");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        size_t k = strlen(words[i]);
        memcpy(p, words[i], k);
        p[k] = '\n';
        p += k + 1;
    }
    crnn_lm *lm = charlm_build(text, size, order, "word list", err);
    free(text);
    return lm;
}

crnn_lm *crnn_lm_load(const char *path, int order, crnn_error *err) {
    unsigned char *data;
    size_t size;
    if (read_file(path, CRNN_LM_MAX_FILE_BYTES, &data, &size, err) != CRNN_OK) return NULL;
    crnn_lm *lm = charlm_build((const char *)data, size, order, path, err);
    free(data);
    return lm;
}


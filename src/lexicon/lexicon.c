/* lexicon.c — lexicon files and word lists: reading, validation, duplicate merging, and the
   public crnn_lexicon_* functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lexicon/lexicon.h"
#include "util/util.h"

struct lexicon_builder {
    char *text;
    size_t text_len, text_cap;
    uint32_t *cp;
    size_t cp_len, cp_cap;
    uint32_t *text_off, *cp_off; /* per entry; cp_off has one more */
    size_t off_cap;
    int n;
};

lexicon_builder *lexicon_builder_new(void) { return calloc(1, sizeof(lexicon_builder)); }

void lexicon_builder_free(lexicon_builder *b) {
    if (!b) return;
    free(b->text);
    free(b->cp);
    free(b->text_off);
    free(b->cp_off);
    free(b);
}

int lexicon_builder_count(const lexicon_builder *b) { return b->n; }

static int reserve(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 1;
    size_t c = *cap ? *cap : 4096;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return 0;
    *p = q;
    *cap = c;
    return 1;
}

crnn_status lexicon_builder_add(lexicon_builder *b, const char *s, size_t n, const char *where,
                                crnn_error *err) {
    if (n > CRNN_LEXICON_MAX_LINE_BYTES)
        return set_error(err, CRNN_ERR_LIMIT, "%s: entry of %zu bytes, limit is %d", where, n,
                         CRNN_LEXICON_MAX_LINE_BYTES);
    while (n && (s[0] == ' ' || s[0] == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n == 0) return CRNN_OK;
    if (b->n == INT32_MAX - 1)
        return set_error(err, CRNN_ERR_LIMIT, "%s: too many entries", where);
    if (!reserve((void **)&b->text, &b->text_cap, b->text_len + n + 1, 1) ||
        !reserve((void **)&b->cp, &b->cp_cap, b->cp_len + n, sizeof(uint32_t)))
        return set_error(err, CRNN_ERR_NOMEM, "%s: out of memory", where);
    if ((size_t)b->n + 2 > b->off_cap) {
        size_t c = b->off_cap ? b->off_cap * 2 : 4096;
        uint32_t *t = realloc(b->text_off, sizeof(uint32_t) * c);
        if (t) b->text_off = t;
        uint32_t *o = t ? realloc(b->cp_off, sizeof(uint32_t) * c) : NULL;
        if (o) b->cp_off = o;
        if (!o) return set_error(err, CRNN_ERR_NOMEM, "%s: out of memory", where);
        b->off_cap = c;
    }
    size_t i = 0, k = b->cp_len;
    while (i < n) {
        uint32_t c;
        int used = utf8_decode(s + i, n - i, &c);
        if (!used)
            return set_error(err, CRNN_ERR_FORMAT, "%s: not valid UTF-8 at byte %zu", where,
                             i + 1);
        if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
            return set_error(err, CRNN_ERR_FORMAT, "%s: control character U+%04X at byte %zu",
                             where, (unsigned)c, i + 1);
        b->cp[k++] = c;
        i += (size_t)used;
    }
    if (b->n == 0) b->cp_off[0] = 0;
    b->text_off[b->n] = (uint32_t)b->text_len;
    memcpy(b->text + b->text_len, s, n);
    b->text[b->text_len + n] = 0;
    b->text_len += n + 1;
    b->cp_len = k;
    b->cp_off[++b->n] = (uint32_t)k;
    return CRNN_OK;
}

void crnn_lexicon_free(crnn_lexicon *lex) {
    if (!lex) return;
    free(lex->text);
    free(lex->text_off);
    free(lex->cp);
    free(lex->cp_off);
    trie_free(&lex->trie);
    bktree_free(&lex->bk);
    free(lex);
}

crnn_lexicon *lexicon_builder_finish(lexicon_builder *b, const char *name, crnn_error *err) {
    crnn_lexicon *lex = NULL;
    trie_word *w = NULL;
    int *new_id = NULL;
    uint32_t *fold = NULL;
    if (b->n == 0) {
        set_error(err, CRNN_ERR_FORMAT, "%s: no entries", name);
        goto fail;
    }
    int n = b->n;
    w = malloc(sizeof(trie_word) * (size_t)n);
    new_id = malloc(sizeof(int) * (size_t)n);
    lex = calloc(1, sizeof *lex);
    if (!w || !new_id || !lex) goto oom;
    for (int i = 0; i < n; i++)
        w[i] = (trie_word){b->cp + b->cp_off[i], (int)(b->cp_off[i + 1] - b->cp_off[i]), i};
    /* Sorted, equal words are adjacent with the first one first: mark the others. */
    trie_sort_words(w, n);
    for (int i = 0; i < n; i++) new_id[i] = 0;
    for (int i = 1; i < n; i++)
        if (w[i].n == w[i - 1].n && !memcmp(w[i].s, w[i - 1].s, sizeof(uint32_t) * (size_t)w[i].n))
            new_id[w[i].id] = -1;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (new_id[i] == 0) new_id[i] = m++;
    /* Compact copies in order of first appearance. */
    size_t text_len = 0, cp_len = 0;
    for (int i = 0; i < n; i++)
        if (new_id[i] >= 0) {
            text_len += strlen(b->text + b->text_off[i]) + 1;
            cp_len += b->cp_off[i + 1] - b->cp_off[i];
        }
    lex->n_words = m;
    lex->text = malloc(text_len);
    lex->text_off = malloc(sizeof(uint32_t) * (size_t)m);
    lex->cp = malloc(sizeof(uint32_t) * (cp_len ? cp_len : 1));
    /* folded forms only for building the BK-tree, which keeps its own copy */
    fold = malloc(sizeof(uint32_t) * (cp_len ? cp_len : 1));
    lex->cp_off = malloc(sizeof(uint32_t) * ((size_t)m + 1));
    if (!lex->text || !lex->text_off || !lex->cp || !fold || !lex->cp_off) goto oom;
    size_t tp = 0, cpp = 0;
    lex->cp_off[0] = 0;
    for (int i = 0; i < n; i++) {
        int id = new_id[i];
        if (id < 0) continue;
        size_t len = strlen(b->text + b->text_off[i]) + 1;
        memcpy(lex->text + tp, b->text + b->text_off[i], len);
        lex->text_off[id] = (uint32_t)tp;
        tp += len;
        int k = (int)(b->cp_off[i + 1] - b->cp_off[i]);
        for (int j = 0; j < k; j++) {
            lex->cp[cpp + (size_t)j] = b->cp[b->cp_off[i] + (size_t)j];
            fold[cpp + (size_t)j] = casefold(lex->cp[cpp + (size_t)j]);
        }
        cpp += (size_t)k;
        lex->cp_off[id + 1] = (uint32_t)cpp;
        if (k > lex->max_len) lex->max_len = k;
    }
    /* The sorted list, duplicates dropped and renumbered, pointing into the compact copy. */
    int u = 0;
    for (int i = 0; i < n; i++) {
        int id = new_id[w[i].id];
        if (id < 0) continue;
        w[u++] = (trie_word){lex->cp + lex->cp_off[id], w[i].n, id};
    }
    if (trie_build(&lex->trie, w, u, err) != CRNN_OK) goto fail;
    if (bktree_build(&lex->bk, m, fold, lex->cp_off, err) != CRNN_OK) goto fail;
    free(fold);
    free(w);
    free(new_id);
    lexicon_builder_free(b);
    return lex;
oom:
    set_error(err, CRNN_ERR_NOMEM, "%s: out of memory building the lexicon", name);
fail:
    free(w);
    free(new_id);
    free(fold);
    crnn_lexicon_free(lex);
    lexicon_builder_free(b);
    return NULL;
}

crnn_lexicon *lexicon_parse(const char *s, size_t size, const char *path, crnn_error *err) {
    lexicon_builder *b = lexicon_builder_new();
    if (!b) {
        set_error(err, CRNN_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    size_t pos = 0;
    if (size >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) pos = 3; /* a byte-order mark */
    char where[600];
    for (long line = 1; pos < size; line++) {
        const char *nl = memchr(s + pos, '\n', size - pos);
        size_t end = nl ? (size_t)(nl - s) : size, len = end - pos;
        snprintf(where, sizeof where, "%s:%ld", path, line);
        if (len && s[pos + len - 1] == '\r') len--;
        if (len > CRNN_LEXICON_MAX_LINE_BYTES) {
            set_error(err, CRNN_ERR_LIMIT, "%s: line of %zu bytes, limit is %d", where, len,
                      CRNN_LEXICON_MAX_LINE_BYTES);
            lexicon_builder_free(b);
            return NULL;
        }
        if (memchr(s + pos, 0, len)) {
            set_error(err, CRNN_ERR_FORMAT, "%s: NUL byte (not a text file?)", where);
            lexicon_builder_free(b);
            return NULL;
        }
        size_t i = pos;
        while (i < pos + len && (s[i] == ' ' || s[i] == '\t')) i++;
        if (i < pos + len && s[i] != '#' &&
            lexicon_builder_add(b, s + pos, len, where, err) != CRNN_OK) {
            lexicon_builder_free(b);
            return NULL;
        }
        pos = end + 1;
    }
    return lexicon_builder_finish(b, path, err);
}

crnn_lexicon *crnn_lexicon_load(const char *path, crnn_error *err) {
    if (!path) {
        set_error(err, CRNN_ERR_ARG, "crnn_lexicon_load: no path");
        return NULL;
    }
    unsigned char *data;
    size_t size;
    if (read_file(path, CRNN_LEXICON_MAX_FILE_BYTES, &data, &size, err) != CRNN_OK) return NULL;
    crnn_lexicon *lex = lexicon_parse((const char *)data, size, path, err);
    free(data);
    return lex;
}

crnn_lexicon *crnn_lexicon_from_words(const char *const *words, int n, crnn_error *err) {
    if (!words || n < 1) {
        set_error(err, CRNN_ERR_ARG, "crnn_lexicon_from_words: no words");
        return NULL;
    }
    lexicon_builder *b = lexicon_builder_new();
    if (!b) {
        set_error(err, CRNN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    char where[64];
    for (int i = 0; i < n; i++) {
        snprintf(where, sizeof where, "lexicon word %d", i + 1);
        if (!words[i]) {
            set_error(err, CRNN_ERR_ARG, "%s: NULL", where);
            lexicon_builder_free(b);
            return NULL;
        }
        if (lexicon_builder_add(b, words[i], strlen(words[i]), where, err) != CRNN_OK) {
            lexicon_builder_free(b);
            return NULL;
        }
    }
    return lexicon_builder_finish(b, "lexicon word list", err);
}

int crnn_lexicon_size(const crnn_lexicon *lex) { return lex ? lex->n_words : 0; }

const char *crnn_lexicon_word(const crnn_lexicon *lex, int i) {
    if (!lex || i < 0 || i >= lex->n_words) return NULL;
    return lex->text + lex->text_off[i];
}

int crnn_lexicon_find(const crnn_lexicon *lex, const char *word) {
    if (!lex || !word) return -1;
    uint32_t cps[CRNN_LEXICON_MAX_LINE_BYTES];
    int n = utf8_to_codepoints(word, cps, CRNN_LEXICON_MAX_LINE_BYTES);
    return n < 0 ? -1 : trie_lookup(&lex->trie, cps, n);
}

/* lexicon_map.c — per-image lexicons, the protocol of the SVT-50 and IIIT5K-50/1k benchmarks:
   a TSV file of `IMAGE<TAB>word,word,...` lines ('#' comments and blank lines ignored). Images
   that share a word list (every crop of one SVT scene) share one crnn_lexicon. An image is
   found by the path as written in the file, else by its file name alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* uthash exits on allocation failure unless told otherwise; the library never exits. */
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) (oom = 1)
#include <uthash.h>

#include "lexicon/lexicon.h"
#include "util/util.h"

typedef struct {
    char *key;
    int lex;  /* index into map->lex; -1: a file name shared by images with different lists */
    long line;
    UT_hash_handle hh;
} map_entry;

struct crnn_lexicon_map {
    crnn_lexicon **lex;
    int n_lex, cap_lex;
    map_entry *by_path, *by_name, *by_list; /* by_list: word-list text → lexicon, for sharing */
    int n_images;
};

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static void free_table(map_entry **table) {
    map_entry *e, *tmp;
    HASH_ITER(hh, *table, e, tmp) {
        HASH_DEL(*table, e);
        free(e->key);
        free(e);
    }
}

void crnn_lexicon_map_free(crnn_lexicon_map *map) {
    if (!map) return;
    for (int i = 0; i < map->n_lex; i++) crnn_lexicon_free(map->lex[i]);
    free(map->lex);
    free_table(&map->by_path);
    free_table(&map->by_name);
    free_table(&map->by_list);
    free(map);
}

/* Adds key → lex to table; 0 if out of memory. */
static int put(map_entry **table, const char *key, size_t key_len, int lex, long line) {
    map_entry *e = calloc(1, sizeof *e);
    if (!e) return 0;
    e->key = malloc(key_len + 1);
    if (!e->key) {
        free(e);
        return 0;
    }
    memcpy(e->key, key, key_len);
    e->key[key_len] = 0;
    e->lex = lex;
    e->line = line;
    int oom = 0;
    HASH_ADD_KEYPTR(hh, *table, e->key, key_len, e);
    if (oom) {
        free(e->key);
        free(e);
        return 0;
    }
    return 1;
}

/* The lexicon of one line's word list, shared with earlier lines that have the same list. */
static int list_lexicon(crnn_lexicon_map *map, const char *list, size_t n, const char *where,
                        long line, crnn_error *err) {
    map_entry *e;
    HASH_FIND(hh, map->by_list, list, n, e);
    if (e) return e->lex;
    lexicon_builder *b = lexicon_builder_new();
    if (!b) {
        set_error(err, CRNN_ERR_NOMEM, "%s: out of memory", where);
        return -1;
    }
    char wh[700];
    size_t i = 0;
    for (int word = 1; i <= n; word++) {
        const char *comma = memchr(list + i, ',', n - i);
        size_t end = comma ? (size_t)(comma - list) : n;
        snprintf(wh, sizeof wh, "%s: word %d", where, word);
        if (lexicon_builder_add(b, list + i, end - i, wh, err) != CRNN_OK) {
            lexicon_builder_free(b);
            return -1;
        }
        i = end + 1;
    }
    crnn_lexicon *lex = lexicon_builder_finish(b, where, err);
    if (!lex) return -1;
    if (map->n_lex == map->cap_lex) {
        int cap = map->cap_lex ? map->cap_lex * 2 : 16;
        crnn_lexicon **p = realloc(map->lex, sizeof *p * (size_t)cap);
        if (!p) {
            crnn_lexicon_free(lex);
            set_error(err, CRNN_ERR_NOMEM, "%s: out of memory", where);
            return -1;
        }
        map->lex = p;
        map->cap_lex = cap;
    }
    map->lex[map->n_lex] = lex;
    if (!put(&map->by_list, list, n, map->n_lex, line)) {
        crnn_lexicon_free(lex);
        set_error(err, CRNN_ERR_NOMEM, "%s: out of memory", where);
        return -1;
    }
    return map->n_lex++;
}

static crnn_status parse_line(crnn_lexicon_map *map, const char *s, size_t len, const char *path,
                              long line, crnn_error *err) {
    char where[600];
    snprintf(where, sizeof where, "%s:%ld", path, line);
    const char *tab = memchr(s, '\t', len);
    if (!tab)
        return set_error(err, CRNN_ERR_FORMAT, "%s: expected IMAGE<TAB>word,word,...", where);
    const char *list = tab + 1;
    size_t n = (size_t)(s + len - list);
    while (s < tab && (*s == ' ' || *s == '\t')) s++;
    size_t key_len = (size_t)(tab - s);
    while (key_len && s[key_len - 1] == ' ') key_len--;
    if (key_len == 0) return set_error(err, CRNN_ERR_FORMAT, "%s: no image name", where);
    if (memchr(list, 0, n) || memchr(s, 0, key_len))
        return set_error(err, CRNN_ERR_FORMAT, "%s: NUL byte", where);
    int lex = list_lexicon(map, list, n, where, line, err);
    if (lex < 0) return err->code;
    map_entry *e;
    HASH_FIND(hh, map->by_path, s, key_len, e);
    if (e) {
        if (e->lex == lex) return CRNN_OK; /* the same line again: harmless */
        return set_error(err, CRNN_ERR_FORMAT, "%s: %.*s already has a different list (line %ld)",
                         where, (int)key_len, s, e->line);
    }
    if (!put(&map->by_path, s, key_len, lex, line))
        return set_error(err, CRNN_ERR_NOMEM, "%s: out of memory", where);
    map->n_images++;
    /* by file name too, unless two images of that name have different lists */
    HASH_FIND(hh, map->by_path, s, key_len, e);
    const char *name = base_name(e->key);
    HASH_FIND_STR(map->by_name, name, e);
    if (!e) {
        if (!put(&map->by_name, name, strlen(name), lex, line))
            return set_error(err, CRNN_ERR_NOMEM, "%s: out of memory", where);
    } else if (e->lex != lex) {
        e->lex = -1;
    }
    return CRNN_OK;
}

crnn_lexicon_map *crnn_lexicon_map_load(const char *path, crnn_error *err) {
    crnn_error local;
    if (!err) err = &local; /* parse_line passes the status on through err->code */
    if (!path) {
        set_error(err, CRNN_ERR_ARG, "crnn_lexicon_map_load: no path");
        return NULL;
    }
    unsigned char *data;
    size_t size;
    if (read_file(path, CRNN_LEXICON_MAX_FILE_BYTES, &data, &size, err) != CRNN_OK) return NULL;
    crnn_lexicon_map *map = calloc(1, sizeof *map);
    if (!map) {
        free(data);
        set_error(err, CRNN_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    const char *s = (const char *)data;
    size_t pos = 0;
    if (size >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) pos = 3;
    for (long line = 1; pos < size; line++) {
        const char *nl = memchr(s + pos, '\n', size - pos);
        size_t end = nl ? (size_t)(nl - s) : size, len = end - pos;
        if (len && s[pos + len - 1] == '\r') len--;
        if (len > CRNN_LEXICON_MAP_MAX_LINE_BYTES) {
            set_error(err, CRNN_ERR_LIMIT, "%s:%ld: line of %zu bytes, limit is %u", path, line,
                      len, (unsigned)CRNN_LEXICON_MAP_MAX_LINE_BYTES);
            goto fail;
        }
        size_t i = pos;
        while (i < pos + len && (s[i] == ' ' || s[i] == '\t')) i++;
        if (i < pos + len && s[i] != '#' &&
            parse_line(map, s + pos, len, path, line, err) != CRNN_OK)
            goto fail;
        pos = end + 1;
    }
    free(data);
    free_table(&map->by_list); /* only needed while reading */
    if (map->n_images == 0) {
        set_error(err, CRNN_ERR_FORMAT, "%s: no entries", path);
        crnn_lexicon_map_free(map);
        return NULL;
    }
    return map;
fail:
    free(data);
    crnn_lexicon_map_free(map);
    return NULL;
}

const crnn_lexicon *crnn_lexicon_map_find(const crnn_lexicon_map *map, const char *image_path) {
    if (!map || !image_path) return NULL;
    map_entry *e;
    HASH_FIND_STR(map->by_path, image_path, e);
    if (!e) HASH_FIND_STR(map->by_name, base_name(image_path), e);
    return e && e->lex >= 0 ? map->lex[e->lex] : NULL;
}

int crnn_lexicon_map_size(const crnn_lexicon_map *map) { return map ? map->n_images : 0; }

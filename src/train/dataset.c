/* dataset.c — TSV, MJSynth-named folders and LMDB datasets behind one interface. */
#include <dirent.h>
#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "train/dataset.h"
#include "util/util.h"

typedef enum { DS_FILES, DS_LMDB } ds_kind;

struct dataset {
    ds_kind kind;
    char *path;
    /* DS_FILES */
    char **files, **labels;
    long n, cap;
    /* DS_LMDB */
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    char label_buf[DATASET_MAX_LABEL + 1];
};

long dataset_size(const dataset *d) { return d->n; }
const char *dataset_path(const dataset *d) { return d->path; }

static int push(dataset *d, const char *file, const char *label) {
    if (d->n >= DATASET_MAX_ITEMS) return 0;
    if (d->n == d->cap) {
        long cap = d->cap ? d->cap * 2 : 1024;
        char **f = realloc(d->files, sizeof(char *) * (size_t)cap);
        if (!f) return 0;
        d->files = f;
        char **l = realloc(d->labels, sizeof(char *) * (size_t)cap);
        if (!l) return 0;
        d->labels = l;
        d->cap = cap;
    }
    d->files[d->n] = strdup(file);
    d->labels[d->n] = strdup(label);
    if (!d->files[d->n] || !d->labels[d->n]) {
        free(d->files[d->n]);
        free(d->labels[d->n]);
        return 0;
    }
    d->n++;
    return 1;
}

void dataset_close(dataset *d) {
    if (!d) return;
    for (long i = 0; i < d->n && d->kind == DS_FILES; i++) {
        free(d->files[i]);
        free(d->labels[i]);
    }
    free(d->files);
    free(d->labels);
    if (d->txn) mdb_txn_abort(d->txn);
    if (d->env) mdb_env_close(d->env);
    free(d->path);
    free(d);
}

static crnn_status open_tsv(dataset *d, const char *tsv, crnn_error *err) {
    unsigned char *data;
    size_t size;
    crnn_status s = read_file(tsv, DATASET_MAX_TSV_BYTES, &data, &size, err);
    if (s != CRNN_OK) return s;
    char *dir = strdup(tsv);
    if (!dir) {
        free(data);
        return set_error(err, CRNN_ERR_NOMEM, "out of memory");
    }
    char *slash = strrchr(dir, '/');
    if (slash) slash[1] = 0;
    else dir[0] = 0;
    if (memchr(data, 0, size < 4096 ? size : 4096)) {
        free(dir);
        free(data);
        return set_error(err, CRNN_ERR_FORMAT, "%s: binary data, not a TSV of path<TAB>label "
                         "lines (a labelled set is a TSV, a folder holding labels.tsv, an LMDB "
                         "folder or a folder of MJSynth-named images)", tsv);
    }
    char *p = (char *)data, *end = p + size;
    long line = 0;
    char path[DATASET_MAX_LINE + 4096];
    while (p < end) {
        line++;
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *eol = nl ? nl : end;
        if (eol - p > DATASET_MAX_LINE) {
            s = set_error(err, CRNN_ERR_LIMIT, "%s:%ld: line longer than %d bytes", tsv, line,
                          DATASET_MAX_LINE);
            break;
        }
        *eol = 0;
        if (eol > p && eol[-1] == '\r') eol[-1] = 0;
        if (*p) {
            char *tab = strchr(p, '\t');
            if (!tab) {
                s = set_error(err, CRNN_ERR_FORMAT, "%s:%ld: no TAB between path and label", tsv,
                              line);
                break;
            }
            *tab = 0;
            const char *label = tab + 1;
            uint32_t tmp[DATASET_MAX_LABEL];
            if (strlen(label) > DATASET_MAX_LABEL ||
                utf8_to_codepoints(label, tmp, DATASET_MAX_LABEL) < 0) {
                s = set_error(err, CRNN_ERR_FORMAT, "%s:%ld: label is not valid UTF-8 or longer "
                              "than %d bytes", tsv, line, DATASET_MAX_LABEL);
                break;
            }
            if (p[0] == '/') snprintf(path, sizeof path, "%s", p);
            else snprintf(path, sizeof path, "%s%s", dir, p);
            if (!push(d, path, label)) {
                s = set_error(err, CRNN_ERR_NOMEM, "%s:%ld: out of memory or over %ld items", tsv,
                              line, DATASET_MAX_ITEMS);
                break;
            }
        }
        p = eol + 1;
    }
    free(dir);
    free(data);
    if (s == CRNN_OK && d->n == 0) s = set_error(err, CRNN_ERR_FORMAT, "%s: no samples", tsv);
    return s;
}

int mjsynth_label(const char *name, char *out, size_t size) {
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *a = strchr(base, '_');
    if (!a) return 0;
    const char *dot = strrchr(base, '.');
    const char *b = NULL;
    for (const char *q = a + 1; *q && (!dot || q < dot); q++)
        if (*q == '_') b = q;
    if (!b || b == a + 1 || (size_t)(b - a - 1) >= size) return 0;
    memcpy(out, a + 1, (size_t)(b - a - 1));
    out[b - a - 1] = 0;
    return 1;
}

static int is_image_name(const char *n) {
    const char *dot = strrchr(n, '.');
    if (!dot) return 0;
    const char *exts[] = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tga", ".pgm", ".ppm", ".pnm"};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (!strcasecmp(dot, exts[i])) return 1;
    return 0;
}

static crnn_status walk_mjsynth(dataset *d, const char *dir, int depth, crnn_error *err) {
    if (depth > 8) return CRNN_OK;
    DIR *dh = opendir(dir);
    if (!dh) return set_error(err, CRNN_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    struct dirent *e;
    crnn_status s = CRNN_OK;
    char path[4096], label[DATASET_MAX_LABEL + 1];
    while (s == CRNN_OK && (e = readdir(dh))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) s = walk_mjsynth(d, path, depth + 1, err);
        else if (S_ISREG(st.st_mode) && is_image_name(e->d_name) &&
                 mjsynth_label(e->d_name, label, sizeof label)) {
            if (!push(d, path, label)) s = set_error(err, CRNN_ERR_NOMEM, "%s: out of memory", dir);
        }
    }
    closedir(dh);
    return s;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static crnn_status open_lmdb(dataset *d, const char *dir, crnn_error *err) {
    int rc = mdb_env_create(&d->env);
    if (rc == 0) mdb_env_set_maxreaders(d->env, 126);
    if (rc == 0) rc = mdb_env_set_mapsize(d->env, (size_t)1 << 40);
    if (rc == 0) rc = mdb_env_open(d->env, dir, MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0444);
    if (rc == 0) rc = mdb_txn_begin(d->env, NULL, MDB_RDONLY, &d->txn);
    if (rc == 0) rc = mdb_dbi_open(d->txn, NULL, 0, &d->dbi);
    if (rc != 0) return set_error(err, CRNN_ERR_IO, "%s: cannot open LMDB: %s", dir, mdb_strerror(rc));
    MDB_val key = {11, "num-samples"}, val;
    rc = mdb_get(d->txn, d->dbi, &key, &val);
    if (rc != 0) return set_error(err, CRNN_ERR_FORMAT, "%s: LMDB has no 'num-samples' key", dir);
    char num[32];
    if (val.mv_size == 0 || val.mv_size >= sizeof num)
        return set_error(err, CRNN_ERR_FORMAT, "%s: 'num-samples' is not a number", dir);
    memcpy(num, val.mv_data, val.mv_size);
    num[val.mv_size] = 0;
    char *end;
    long n = strtol(num, &end, 10);
    if (*end || n < 1 || n > DATASET_MAX_ITEMS)
        return set_error(err, CRNN_ERR_FORMAT, "%s: 'num-samples' = '%s' is not a count in "
                         "1..%ld", dir, num, DATASET_MAX_ITEMS);
    d->n = n;
    d->kind = DS_LMDB;
    return CRNN_OK;
}

dataset *dataset_open(const char *path, crnn_error *err) {
    dataset *d = calloc(1, sizeof *d);
    if (!d || !(d->path = strdup(path))) {
        free(d);
        set_error(err, CRNN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    struct stat st;
    crnn_status s;
    char sub[4096];
    if (stat(path, &st) != 0) {
        s = set_error(err, CRNN_ERR_IO, "%s: %s", path, strerror(errno));
    } else if (S_ISREG(st.st_mode)) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        if (!strcmp(base, "data.mdb") || !strcmp(base, "lock.mdb"))
            s = set_error(err, CRNN_ERR_ARG, "%s: a file of an LMDB database: pass the LMDB's "
                          "folder (%.*s)", path, base == path ? 1 : (int)(base - path - 1),
                          base == path ? "." : path);
        else
            s = open_tsv(d, path, err);
    } else if (S_ISDIR(st.st_mode)) {
        snprintf(sub, sizeof sub, "%s/labels.tsv", path);
        if (stat(sub, &st) == 0) s = open_tsv(d, sub, err);
        else {
            snprintf(sub, sizeof sub, "%s/data.mdb", path);
            if (stat(sub, &st) == 0) s = open_lmdb(d, path, err);
            else {
                s = walk_mjsynth(d, path, 0, err);
                if (s == CRNN_OK && d->n == 0)
                    s = set_error(err, CRNN_ERR_FORMAT, "%s: no labels.tsv, no data.mdb and no "
                                  "MJSynth-named images (123_Word_456.jpg)", path);
                if (s == CRNN_OK) { /* directory order is arbitrary: sort for reproducibility */
                    /* The labels follow from the names, so they are made again in the new
                       order (a file's label keeps its slot until then, for dataset_close). */
                    qsort(d->files, (size_t)d->n, sizeof(char *), cmp_str);
                    for (long i = 0; i < d->n && s == CRNN_OK; i++) {
                        char label[DATASET_MAX_LABEL + 1];
                        mjsynth_label(d->files[i], label, sizeof label);
                        char *copy = strdup(label);
                        if (!copy) s = set_error(err, CRNN_ERR_NOMEM, "%s: out of memory", path);
                        else {
                            free(d->labels[i]);
                            d->labels[i] = copy;
                        }
                    }
                }
            }
        }
    } else {
        s = set_error(err, CRNN_ERR_IO, "%s: not a file or folder", path);
    }
    if (s != CRNN_OK) {
        dataset_close(d);
        return NULL;
    }
    return d;
}

void dataset_item_name(const dataset *d, long i, char *out, size_t size) {
    if (d->kind == DS_FILES) snprintf(out, size, "%s", d->files[i]);
    else snprintf(out, size, "%s:image-%09ld", d->path, i + 1);
}

const char *dataset_label(dataset *d, long i, crnn_error *err) {
    if (i < 0 || i >= d->n) {
        set_error(err, CRNN_ERR_ARG, "%s: item %ld out of range", d->path, i);
        return NULL;
    }
    if (d->kind == DS_FILES) return d->labels[i];
    char key[32];
    snprintf(key, sizeof key, "label-%09ld", i + 1);
    MDB_val k = {strlen(key), key}, v;
    int rc = mdb_get(d->txn, d->dbi, &k, &v);
    if (rc != 0) {
        set_error(err, CRNN_ERR_FORMAT, "%s: missing %s: %s", d->path, key, mdb_strerror(rc));
        return NULL;
    }
    if (v.mv_size > DATASET_MAX_LABEL || memchr(v.mv_data, 0, v.mv_size)) {
        set_error(err, CRNN_ERR_FORMAT, "%s: %s is longer than %d bytes or holds NUL", d->path,
                  key, DATASET_MAX_LABEL);
        return NULL;
    }
    memcpy(d->label_buf, v.mv_data, v.mv_size);
    d->label_buf[v.mv_size] = 0;
    uint32_t tmp[DATASET_MAX_LABEL];
    if (utf8_to_codepoints(d->label_buf, tmp, DATASET_MAX_LABEL) < 0) {
        set_error(err, CRNN_ERR_FORMAT, "%s: %s is not valid UTF-8", d->path, key);
        return NULL;
    }
    return d->label_buf;
}

crnn_status dataset_image(dataset *d, long i, int channels, uint8_t **pixels, int *w, int *h,
                          crnn_error *err) {
    *pixels = NULL;
    if (i < 0 || i >= d->n) return set_error(err, CRNN_ERR_ARG, "%s: item %ld out of range", d->path, i);
    if (d->kind == DS_FILES) return crnn_image_decode_file_channels(d->files[i], channels, pixels, w, h, err);
    char key[32];
    snprintf(key, sizeof key, "image-%09ld", i + 1);
    MDB_val k = {strlen(key), key}, v;
    int rc = mdb_get(d->txn, d->dbi, &k, &v);
    if (rc != 0) return set_error(err, CRNN_ERR_FORMAT, "%s: missing %s: %s", d->path, key, mdb_strerror(rc));
    char name[600];
    snprintf(name, sizeof name, "%s:%s", d->path, key);
    return crnn_image_decode_memory_channels(v.mv_data, v.mv_size, name, channels, pixels, w, h, err);
}

/* export.c — samples to disk: a folder of PNGs with labels.tsv, an LMDB in the layout the
   scene-text community uses (num-samples, image-%09d, label-%09d), and contact sheets. */
#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb_image_write.h>

#include "synth/internal.h"

static int encode_png(const synth_sample *smp, synth_membuf *m) {
    m->n = 0;
    m->failed = 0;
    int c = smp->channels == 3 ? 3 : 1;
    return stbi_write_png_to_func(synth_mem_write, m, smp->width, smp->height, c, smp->pixels, smp->stride) && !m->failed;
}

static crnn_status make_dir(const char *dir, crnn_error *err) {
    if (mkdir(dir, 0775) != 0 && errno != EEXIST)
        return set_error(err, CRNN_ERR_IO, "synth: cannot create %s: %s", dir, strerror(errno));
    return CRNN_OK;
}

crnn_status synth_write_dir(synth *s, const char *dir, long count, crnn_error *err) {
    crnn_status st = make_dir(dir, err);
    if (st) return st;
    char path[4096];
    snprintf(path, sizeof path, "%s/labels.tsv", dir);
    FILE *labels = fopen(path, "wb");
    if (!labels) return set_error(err, CRNN_ERR_IO, "synth: cannot write %s: %s", path, strerror(errno));
    synth_membuf m = {0};
    for (long i = 0; i < count && st == CRNN_OK; i++) {
        synth_sample smp;
        if ((st = synth_next(s, &smp)) != CRNN_OK) {
            set_error(err, st, "synth: sample %ld failed (%s)", i, crnn_status_name(st));
            break;
        }
        char name[32];
        snprintf(name, sizeof name, "%09ld.png", i);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (!encode_png(&smp, &m)) {
            st = set_error(err, CRNN_ERR_NOMEM, "synth: cannot encode %s", path);
            break;
        }
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(m.p, 1, m.n, f) != m.n || fclose(f) != 0) {
            st = set_error(err, CRNN_ERR_IO, "synth: cannot write %s: %s", path, strerror(errno));
            break;
        }
        fprintf(labels, "%s\t%s\n", name, smp.label);
    }
    free(m.p);
    if (fclose(labels) != 0 && st == CRNN_OK)
        st = set_error(err, CRNN_ERR_IO, "synth: cannot write %s/labels.tsv: %s", dir, strerror(errno));
    return st;
}

static crnn_status lmdb_fail(crnn_error *err, const char *dir, const char *what, int rc) {
    return set_error(err, CRNN_ERR_IO, "synth: LMDB %s in %s: %s", what, dir, mdb_strerror(rc));
}

static int put(MDB_txn *txn, MDB_dbi dbi, const char *key, const void *val, size_t n) {
    MDB_val k = {strlen(key), (void *)key}, v = {n, (void *)val};
    return mdb_put(txn, dbi, &k, &v, 0);
}

crnn_status synth_write_lmdb(synth *s, const char *dir, long count, crnn_error *err) {
    crnn_status st = make_dir(dir, err);
    if (st) return st;
    MDB_env *env;
    int rc = mdb_env_create(&env);
    if (rc) return lmdb_fail(err, dir, "create", rc);
    /* A 32-px word is ~1–3 KB of PNG; the map is only address space, so be generous. */
    size_t map = ((size_t)count * 16384u + (64u << 20));
    if ((rc = mdb_env_set_mapsize(env, map)) || (rc = mdb_env_open(env, dir, 0, 0664))) {
        mdb_env_close(env);
        return lmdb_fail(err, dir, "open", rc);
    }
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    synth_membuf m = {0};
    long i;
    for (i = 0; i < count; i++) {
        if (!txn) {
            if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) || (rc = mdb_dbi_open(txn, NULL, 0, &dbi))) {
                st = lmdb_fail(err, dir, "transaction", rc);
                break;
            }
        }
        synth_sample smp;
        if ((st = synth_next(s, &smp)) != CRNN_OK) {
            set_error(err, st, "synth: sample %ld failed (%s)", i, crnn_status_name(st));
            break;
        }
        if (!encode_png(&smp, &m)) {
            st = set_error(err, CRNN_ERR_NOMEM, "synth: cannot encode sample %ld", i);
            break;
        }
        char key[32];
        snprintf(key, sizeof key, "image-%09ld", i + 1);
        if ((rc = put(txn, dbi, key, m.p, m.n))) { st = lmdb_fail(err, dir, "put", rc); break; }
        snprintf(key, sizeof key, "label-%09ld", i + 1);
        if ((rc = put(txn, dbi, key, smp.label, strlen(smp.label)))) { st = lmdb_fail(err, dir, "put", rc); break; }
        if ((i + 1) % 1000 == 0) {
            rc = mdb_txn_commit(txn);
            txn = NULL;
            if (rc) { st = lmdb_fail(err, dir, "commit", rc); break; }
        }
    }
    if (st == CRNN_OK) {
        if (!txn && ((rc = mdb_txn_begin(env, NULL, 0, &txn)) || (rc = mdb_dbi_open(txn, NULL, 0, &dbi))))
            st = lmdb_fail(err, dir, "transaction", rc);
        char num[32];
        snprintf(num, sizeof num, "%ld", count);
        if (st == CRNN_OK && (rc = put(txn, dbi, "num-samples", num, strlen(num))))
            st = lmdb_fail(err, dir, "put", rc);
        if (st == CRNN_OK) {
            rc = mdb_txn_commit(txn);
            txn = NULL;
            if (rc) st = lmdb_fail(err, dir, "commit", rc);
        }
    }
    if (txn) mdb_txn_abort(txn);
    mdb_env_close(env);
    free(m.p);
    return st;
}

crnn_status synth_write_sheet(synth *s, const char *path, int rows, int cols, int cell_h,
                              crnn_error *err) {
    if (rows <= 0 || cols <= 0 || rows * cols > 10000)
        return set_error(err, CRNN_ERR_ARG, "synth: sheet of %d x %d cells", rows, cols);
    int n = rows * cols;
    synth_sample *items = calloc((size_t)n, sizeof *items);
    char *labels = calloc((size_t)n, 4 * SYNTH_MAX_LABEL + 1);
    crnn_status st = items && labels ? CRNN_OK : set_error(err, CRNN_ERR_NOMEM, "synth: out of memory");
    for (int i = 0; i < n && st == CRNN_OK; i++) {
        synth_sample smp;
        if ((st = synth_next(s, &smp)) != CRNN_OK) {
            set_error(err, st, "synth: sample failed (%s)", crnn_status_name(st));
            break;
        }
        /* Sample buffers are reused by the next call: keep copies. */
        uint8_t *px = malloc((size_t)smp.stride * (size_t)smp.height);
        if (!px) { st = set_error(err, CRNN_ERR_NOMEM, "synth: out of memory"); break; }
        memcpy(px, smp.pixels, (size_t)smp.stride * (size_t)smp.height);
        char *l = labels + (size_t)i * (4 * SYNTH_MAX_LABEL + 1);
        strcpy(l, smp.label);
        items[i] = smp;
        items[i].pixels = px;
        items[i].label = l;
    }
    if (st == CRNN_OK) st = synth_draw_sheet(synth_fontset_of(s), path, items, n, cols, cell_h, err);
    for (int i = 0; items && i < n; i++) free((void *)items[i].pixels);
    free(items);
    free(labels);
    return st;
}

crnn_status synth_write_sheet_images(const synth *s, const char *path, const synth_sample *items,
                                     int n, int cols, int cell_h, crnn_error *err) {
    return synth_draw_sheet(synth_fontset_of(s), path, items, n, cols, cell_h, err);
}

/* checkpoint.c — the checkpoint file, version 2 (docs/checkpoint-format.md): fixed-width
   little-endian fields written one by one, whatever the host's types and byte order, the
   model as a v1 model file inside, the optimiser's moments, and a CRC-32 of everything. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/checkpoint.h"

#define CKPT_MAGIC "CRNNCKPT"
#define CKPT_VERSION 2
/* magic, version, 7 state fields, optimiser kind and step, model length */
#define CKPT_HEAD_BYTES (8 + 4 + 7 * 8 + 4 + 8 + 8)

static unsigned char *put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
    return p + 4;
}

static unsigned char *put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
    return p + 8;
}

static unsigned char *put_f64(unsigned char *p, double d) {
    uint64_t v;
    memcpy(&v, &d, 8);
    return put_u64(p, v);
}

static unsigned char *put_f32s(unsigned char *p, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, &x[i], 4);
        p = put_u32(p, v);
    }
    return p;
}

static uint32_t get_u32(const unsigned char **p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)(*p)[i] << (8 * i);
    *p += 4;
    return v;
}

static uint64_t get_u64(const unsigned char **p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)(*p)[i] << (8 * i);
    *p += 8;
    return v;
}

static double get_f64(const unsigned char **p) {
    uint64_t v = get_u64(p);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

static void get_f32s(const unsigned char **p, float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t v = get_u32(p);
        memcpy(&x[i], &v, 4);
    }
}

crnn_status checkpoint_save(const char *path, const crnn_model *m, const optimizer *o,
                            const checkpoint_state *st, crnn_error *err) {
    unsigned char *model_bytes;
    size_t model_size;
    crnn_status s = model_serialize(m, 0, &model_bytes, &model_size, err);
    if (s != CRNN_OK) return s;
    const size_t n = o->n;
    size_t total = CKPT_HEAD_BYTES + model_size + 8 + 2 * 4 * n + 4;
    unsigned char *buf = malloc(total), *p = buf;
    if (!buf) {
        free(model_bytes);
        return set_error(err, CRNN_ERR_NOMEM, "%s: out of memory writing checkpoint", path);
    }
    memcpy(p, CKPT_MAGIC, 8);
    p = put_u32(p + 8, CKPT_VERSION);
    p = put_u64(p, (uint64_t)st->step);
    p = put_u64(p, st->seed);
    p = put_f64(p, st->best_score);
    p = put_f64(p, st->elapsed_s);
    p = put_f64(p, st->cpu_s);
    p = put_u64(p, (uint64_t)st->samples);
    p = put_u64(p, (uint64_t)st->skipped_steps);
    p = put_u32(p, (uint32_t)o->kind);
    p = put_u64(p, (uint64_t)o->t);
    p = put_u64(p, (uint64_t)model_size);
    memcpy(p, model_bytes, model_size);
    p += model_size;
    free(model_bytes);
    p = put_u64(p, (uint64_t)n);
    p = put_f32s(p, o->m, n);
    p = put_f32s(p, o->v, n);
    p = put_u32(p, crc32_update(0, buf, (size_t)(p - buf)));
    s = write_file_atomic(path, buf, (size_t)(p - buf), err);
    free(buf);
    return s;
}

crnn_status checkpoint_load(const char *path, crnn_model **m, optimizer *o, checkpoint_state *st,
                            crnn_error *err) {
    unsigned char *data;
    size_t size;
    *m = NULL;
    memset(o, 0, sizeof *o);
    crnn_status s = read_file(path, (size_t)4 << 30, &data, &size, err);
    if (s != CRNN_OK) return s;
    const unsigned char *p = data + 8;
    if (size < 12 || memcmp(data, CKPT_MAGIC, 8) != 0) {
        s = set_error(err, CRNN_ERR_FORMAT, "%s: not an ocr-crnn checkpoint", path);
        goto done;
    }
    uint32_t version = get_u32(&p);
    if (version != CKPT_VERSION) {
        s = set_error(err, CRNN_ERR_FORMAT, "%s: checkpoint version %u; this build reads version "
                      "%d only%s", path, version, CKPT_VERSION, version == 1 ? " (version 1 was "
                      "the host's raw memory layout, written by earlier builds: resume it with "
                      "the build that wrote it, or start the run again)" : "");
        goto done;
    }
    if (size < CKPT_HEAD_BYTES + 8 + 4) {
        s = set_error(err, CRNN_ERR_FORMAT, "%s: truncated: %zu bytes is shorter than the "
                      "header", path, size);
        goto done;
    }
    uint32_t stored = (uint32_t)data[size - 4] | (uint32_t)data[size - 3] << 8 |
                      (uint32_t)data[size - 2] << 16 | (uint32_t)data[size - 1] << 24;
    if (stored != crc32_update(0, data, size - 4)) {
        s = set_error(err, CRNN_ERR_FORMAT, "%s: bad checksum: the checkpoint is corrupt or "
                      "truncated", path);
        goto done;
    }
    st->step = (long)get_u64(&p);
    st->seed = get_u64(&p);
    st->best_score = get_f64(&p);
    st->elapsed_s = get_f64(&p);
    st->cpu_s = get_f64(&p);
    st->samples = (long)get_u64(&p);
    st->skipped_steps = (long)get_u64(&p);
    uint32_t kind = get_u32(&p);
    int64_t t = (int64_t)get_u64(&p);
    uint64_t msize = get_u64(&p);
    if (st->step < 0 || st->samples < 0 || st->skipped_steps < 0 || t < 0 || kind > OPT_ADADELTA) {
        s = set_error(err, CRNN_ERR_FORMAT, "%s: impossible training state (step %ld, samples "
                      "%ld, optimiser %u at step %lld)", path, st->step, st->samples, kind,
                      (long long)t);
        goto done;
    }
    const unsigned char *end = data + size - 4;
    if (msize > (uint64_t)(end - p) - 8) {
        s = set_error(err, CRNN_ERR_FORMAT, "%s: truncated model section", path);
        goto done;
    }
    *m = model_parse(p, (size_t)msize, path, err);
    if (!*m) {
        s = err ? err->code : CRNN_ERR_FORMAT;
        goto done;
    }
    p += msize;
    uint64_t n = get_u64(&p);
    if (n != (*m)->n_params || (uint64_t)(end - p) != 2 * 4 * n) {
        s = set_error(err, CRNN_ERR_FORMAT, "%s: the optimiser state (%llu values, %zu bytes) "
                      "does not match the model's %zu parameters", path, (unsigned long long)n,
                      (size_t)(end - p), (*m)->n_params);
        goto done;
    }
    s = optimizer_init(o, (optimizer_kind)kind, (size_t)n, err);
    if (s != CRNN_OK) goto done;
    get_f32s(&p, o->m, (size_t)n);
    get_f32s(&p, o->v, (size_t)n);
    o->t = (long)t;
    for (size_t i = 0; i < (size_t)n; i++)
        if (!isfinite(o->m[i]) || !isfinite(o->v[i]) || o->v[i] < 0) {
            s = set_error(err, CRNN_ERR_FORMAT, "%s: optimiser moment %zu is not usable (%g, %g)",
                          path, i, (double)o->m[i], (double)o->v[i]);
            goto done;
        }
done:
    if (s != CRNN_OK) {
        crnn_model_free(*m);
        *m = NULL;
        optimizer_free(o);
    }
    free(data);
    return s;
}

/* model_io.c — the v1 model file (docs/model-format.md): parse with every field checked against
   its limit and against the bytes left before anything is allocated, and serialise. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "util/util.h"

#define MODEL_MAGIC "CRNN"
#define MODEL_VERSION 1
#define HEADER_BYTES 40

typedef struct {
    const unsigned char *data;
    size_t size, pos;
    const char *name;
    crnn_error *err;
    int failed;
} reader;

static int need(reader *r, size_t n, const char *what) {
    if (r->failed) return 0;
    if (n > r->size - r->pos) {
        set_error(r->err, CRNN_ERR_FORMAT, "%s: truncated: %s needs %zu bytes, %zu left", r->name,
                  what, n, r->size - r->pos);
        r->failed = 1;
        return 0;
    }
    return 1;
}

static uint32_t get_u32(reader *r, const char *what) {
    if (!need(r, 4, what)) return 0;
    const unsigned char *p = r->data + r->pos;
    r->pos += 4;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float get_f32(reader *r, const char *what) {
    uint32_t u = get_u32(r, what);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Frees m and reports fmt, unless a truncation was already reported. */
static crnn_model *fail(reader *r, crnn_model *m, const char *fmt, ...) CRNN_PRINTF(3, 4);
static crnn_model *fail(reader *r, crnn_model *m, const char *fmt, ...) {
    if (!r->failed && fmt[0]) {
        char msg[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        set_error(r->err, CRNN_ERR_FORMAT, "%s: %s", r->name, msg);
    }
    crnn_model_free(m);
    return NULL;
}

crnn_model *model_parse(const unsigned char *data, size_t size, const char *name,
                        crnn_error *err) {
    reader rd = {data, size, 0, name, err, 0}, *r = &rd;
    if (size < HEADER_BYTES + 4) {
        set_error(err, CRNN_ERR_FORMAT, "%s: truncated: %zu bytes is shorter than the header",
                  name, size);
        return NULL;
    }
    if (memcmp(data, MODEL_MAGIC, 4) != 0) {
        set_error(err, CRNN_ERR_FORMAT, "%s: wrong magic (not an ocr-crnn model file)", name);
        return NULL;
    }
    if (memcmp(data + 4, "CKPT", 4) == 0) { /* "CRNNCKPT": a trainer's checkpoint.bin */
        set_error(err, CRNN_ERR_FORMAT, "%s: a training checkpoint, not a model: recognise with "
                  "best.crnn from its run folder (ocr-crnn train --export FILE also writes the "
                  "best model elsewhere, --half in f16)", name);
        return NULL;
    }
    r->pos = 4;
    uint32_t version = get_u32(r, "version");
    if (version != MODEL_VERSION) {
        set_error(err, CRNN_ERR_FORMAT, "%s: unknown version %u (this build reads version %d)",
                  name, version, MODEL_VERSION);
        return NULL;
    }
    /* The checksum comes before the rest: a flipped byte anywhere gives one clear message. */
    uint32_t stored = (uint32_t)data[size - 4] | (uint32_t)data[size - 3] << 8 |
                      (uint32_t)data[size - 2] << 16 | (uint32_t)data[size - 1] << 24;
    uint32_t actual = crc32_update(0, data, size - 4);
    if (stored != actual) {
        set_error(err, CRNN_ERR_FORMAT, "%s: bad checksum (stored %08x, computed %08x): the file "
                  "is corrupt or truncated", name, stored, actual);
        return NULL;
    }
    r->size = size - 4; /* the body ends where the checksum begins */

    model_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.input_height = (int)get_u32(r, "input_height");
    spec.input_channels = (int)get_u32(r, "input_channels");
    spec.norm_mean = get_f32(r, "norm_mean");
    spec.norm_std = get_f32(r, "norm_std");
    uint32_t n_classes = get_u32(r, "n_classes");
    uint32_t n_layers = get_u32(r, "n_layers");
    uint32_t n_tensors = get_u32(r, "n_tensors");
    uint32_t meta_len = get_u32(r, "meta_len");
    if (n_classes < 2 || n_classes > MODEL_MAX_CLASSES)
        return fail(r, NULL, "n_classes %u outside 2..%d", n_classes,
                    MODEL_MAX_CLASSES);
    if (n_layers < 1 || n_layers > MODEL_MAX_LAYERS)
        return fail(r, NULL, "n_layers %u outside 1..%d", n_layers, MODEL_MAX_LAYERS);
    if (n_tensors < 1 || n_tensors > MODEL_MAX_TENSORS)
        return fail(r, NULL, "n_tensors %u outside 1..%d", n_tensors,
                    MODEL_MAX_TENSORS);
    if (meta_len > MODEL_MAX_META)
        return fail(r, NULL, "meta_len %u above %d", meta_len, MODEL_MAX_META);
    if (!need(r, 4 * (size_t)n_classes, "charset")) return NULL;
    uint32_t *charset = malloc(4 * (size_t)n_classes);
    char *meta = malloc((size_t)meta_len + 1);
    if (!charset || !meta) {
        free(charset);
        free(meta);
        set_error(err, CRNN_ERR_NOMEM, "%s: out of memory", name);
        return NULL;
    }
    for (uint32_t i = 0; i < n_classes; i++) charset[i] = get_u32(r, "charset");
    if (need(r, meta_len, "metadata")) {
        memcpy(meta, data + r->pos, meta_len);
        r->pos += meta_len;
    }
    meta[meta_len] = 0;
    if (memchr(meta, 0, meta_len)) meta[0] = 0; /* embedded NUL: treat as absent */
    spec.n_classes = (int)n_classes;
    spec.charset = charset;
    spec.meta = meta;
    spec.n_layers = (int)n_layers;
    if (need(r, 36 * (size_t)n_layers, "layer table")) {
        for (uint32_t i = 0; i < n_layers; i++) {
            spec.layers[i].kind = (int)get_u32(r, "layer kind");
            for (int k = 0; k < 8; k++) spec.layers[i].p[k] = (int32_t)get_u32(r, "layer param");
        }
    }
    if (r->failed) {
        free(charset);
        free(meta);
        return NULL;
    }
    /* Checked before model_build allocates them: every parameter needs at least 2 bytes (f16)
       of what is left, so a short file cannot make the loader reserve 800 MB. */
    crnn_model *m = model_build_max(&spec, name, (r->size - r->pos) / 2, err);
    free(charset);
    free(meta);
    if (!m) return NULL;
    if ((int)n_tensors != m->n_tensors)
        return fail(r, m, "file has %u tensors, the layers need %d", n_tensors, m->n_tensors);

    unsigned char seen[MODEL_MAX_TENSORS];
    memset(seen, 0, sizeof seen);
    for (uint32_t i = 0; i < n_tensors; i++) {
        uint32_t name_len = get_u32(r, "tensor name length");
        if (r->failed) return fail(r, m, "%s", "");
        if (name_len < 1 || name_len >= MODEL_TENSOR_NAME_MAX)
            return fail(r, m, "tensor %u: name length %u outside 1..63", i, name_len);
        if (!need(r, name_len, "tensor name")) return fail(r, m, "%s", "");
        char tname[MODEL_TENSOR_NAME_MAX];
        memcpy(tname, data + r->pos, name_len);
        tname[name_len] = 0;
        r->pos += name_len;
        for (uint32_t k = 0; k < name_len; k++)
            if (tname[k] < 0x21 || tname[k] > 0x7E) tname[k] = '?';
        int idx = -1;
        for (int k = 0; k < m->n_tensors; k++)
            if (strcmp(m->tensors[k].name, tname) == 0) { idx = k; break; }
        if (idx < 0) return fail(r, m, "unexpected tensor '%s'", tname);
        if (seen[idx]) return fail(r, m, "tensor '%s' appears twice", tname);
        seen[idx] = 1;
        const model_tensor *t = &m->tensors[idx];
        uint32_t dtype = get_u32(r, "tensor dtype");
        uint32_t ndim = get_u32(r, "tensor ndim");
        if (r->failed) return fail(r, m, "%s", "");
        if (dtype > 1) return fail(r, m, "tensor '%s': unknown dtype %u", tname, dtype);
        if (ndim != (uint32_t)t->ndim)
            return fail(r, m, "tensor '%s': shape mismatch: %u dimensions, expected %d", tname,
                        ndim, t->ndim);
        for (uint32_t d = 0; d < ndim; d++) {
            uint32_t dim = get_u32(r, "tensor dims");
            if (r->failed) return fail(r, m, "%s", "");
            if (dim != (uint32_t)t->dims[d])
                return fail(r, m, "tensor '%s': shape mismatch: dimension %u is %u, expected %d",
                            tname, d, dim, t->dims[d]);
        }
        size_t elem = dtype == 0 ? 4 : 2;
        char what[96];
        snprintf(what, sizeof what, "tensor '%s'", tname);
        if (!need(r, t->count * elem, what)) return fail(r, m, "%s", "");
        const unsigned char *src = data + r->pos;
        float *dst = m->params + t->offset;
        if (dtype == 0) {
            memcpy(dst, src, t->count * 4); /* little-endian hosts only: checked at build time */
        } else {
            for (size_t k = 0; k < t->count; k++)
                dst[k] = f16_to_f32((uint16_t)(src[2 * k] | src[2 * k + 1] << 8));
        }
        for (size_t k = 0; k < t->count; k++)
            if (!isfinite(dst[k]))
                return fail(r, m, "tensor '%s': element %zu is not finite", tname, k);
        r->pos += t->count * elem;
    }
    if (r->pos != r->size)
        return fail(r, m, "%zu unexpected bytes after the last tensor", r->size - r->pos);
    char why[400];
    if (model_check_values(m, why, sizeof why)) return fail(r, m, "%s", why);
    return m;
}

/* ---- writing ---- */

typedef struct {
    unsigned char *buf;
    size_t len, cap;
    int oom;
} writer;

static void put(writer *w, const void *p, size_t n) {
    if (w->oom) return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 4096;
        while (cap < w->len + n) cap *= 2;
        unsigned char *nb = realloc(w->buf, cap);
        if (!nb) { w->oom = 1; return; }
        w->buf = nb;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void put_u32(writer *w, uint32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(w, b, 4);
}

static void put_f32(writer *w, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    put_u32(w, u);
}

crnn_status model_serialize(const crnn_model *m, int half, unsigned char **out, size_t *size,
                            crnn_error *err) {
    writer w = {0};
    put(&w, MODEL_MAGIC, 4);
    put_u32(&w, MODEL_VERSION);
    put_u32(&w, (uint32_t)m->input_height);
    put_u32(&w, (uint32_t)m->input_channels);
    put_f32(&w, m->norm_mean);
    put_f32(&w, m->norm_std);
    put_u32(&w, (uint32_t)m->n_classes);
    put_u32(&w, (uint32_t)m->n_layers);
    put_u32(&w, (uint32_t)m->n_tensors);
    uint32_t meta_len = (uint32_t)strlen(m->meta);
    if (meta_len > MODEL_MAX_META) meta_len = MODEL_MAX_META;
    put_u32(&w, meta_len);
    for (int i = 0; i < m->n_classes; i++) put_u32(&w, m->charset[i]);
    put(&w, m->meta, meta_len);
    for (int i = 0; i < m->n_layers; i++) {
        put_u32(&w, (uint32_t)m->layers[i].kind);
        for (int k = 0; k < 8; k++) put_u32(&w, (uint32_t)m->layers[i].p[k]);
    }
    for (int i = 0; i < m->n_tensors; i++) {
        const model_tensor *t = &m->tensors[i];
        /* Running statistics stay f32: they are few and f16 would round variances badly. */
        int as_half = half && !strstr(t->name, ".bn_");
        uint32_t nl = (uint32_t)strlen(t->name);
        put_u32(&w, nl);
        put(&w, t->name, nl);
        put_u32(&w, as_half ? 1 : 0);
        put_u32(&w, (uint32_t)t->ndim);
        for (int d = 0; d < t->ndim; d++) put_u32(&w, (uint32_t)t->dims[d]);
        const float *src = m->params + t->offset;
        if (as_half) {
            for (size_t k = 0; k < t->count; k++) {
                uint16_t h = f32_to_f16(src[k]);
                unsigned char b[2] = {(unsigned char)h, (unsigned char)(h >> 8)};
                put(&w, b, 2);
            }
        } else {
            for (size_t k = 0; k < t->count; k++) put_f32(&w, src[k]);
        }
    }
    if (!w.oom) put_u32(&w, crc32_update(0, w.buf, w.len));
    if (w.oom) {
        free(w.buf);
        return set_error(err, CRNN_ERR_NOMEM, "out of memory serialising model");
    }
    *out = w.buf;
    *size = w.len;
    return CRNN_OK;
}

crnn_status model_save(const crnn_model *m, const char *path, int half, crnn_error *err) {
    if (m->bn_folded)
        return set_error(err, CRNN_ERR_ARG, "%s: cannot save a model whose batch-norm was folded "
                         "for inference", path);
    unsigned char *buf;
    size_t n;
    crnn_status s = model_serialize(m, half, &buf, &n, err);
    if (s != CRNN_OK) return s;
    s = write_file_atomic(path, buf, n, err);
    free(buf);
    return s;
}

crnn_model *crnn_model_load_memory(const void *data, size_t size, const char *name,
                                   crnn_error *err) {
    crnn_model *m = model_parse(data, size, name ? name : "(memory)", err);
    if (m) model_fold_batchnorm(m);
    return m;
}

crnn_model *crnn_model_load(const char *path, crnn_error *err) {
    unsigned char *data;
    size_t size;
    if (read_file(path, CRNN_MAX_MODEL_FILE_BYTES, &data, &size, err) != CRNN_OK) return NULL;
    crnn_model *m = crnn_model_load_memory(data, size, path, err);
    free(data);
    return m;
}

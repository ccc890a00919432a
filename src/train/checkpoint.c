/* checkpoint.c — layout: "CRNNCKPT", u32 version, the state fields, u64 model bytes + a v1
   model file, u64 n + optimiser m[n] + v[n], u32 CRC-32 of everything before. */
#include <stdlib.h>
#include <string.h>

#include "train/checkpoint.h"

#define CKPT_MAGIC "CRNNCKPT"
#define CKPT_VERSION 1

static void put(unsigned char **p, const void *src, size_t n) {
    memcpy(*p, src, n);
    *p += n;
}

crnn_status checkpoint_save(const char *path, const crnn_model *m, const optimizer *o,
                            const checkpoint_state *st, crnn_error *err) {
    unsigned char *model_bytes;
    size_t model_size;
    crnn_status s = model_serialize(m, 0, &model_bytes, &model_size, err);
    if (s != CRNN_OK) return s;
    uint64_t n = o->n;
    size_t total = 8 + 4 + sizeof(checkpoint_state) + 4 + 8 + 8 + model_size + 8 +
                   2 * n * sizeof(float) + 4;
    unsigned char *buf = malloc(total), *p = buf;
    if (!buf) {
        free(model_bytes);
        return set_error(err, CRNN_ERR_NOMEM, "%s: out of memory writing checkpoint", path);
    }
    uint32_t version = CKPT_VERSION, kind = (uint32_t)o->kind;
    int64_t t = o->t;
    uint64_t msize = model_size;
    put(&p, CKPT_MAGIC, 8);
    put(&p, &version, 4);
    put(&p, st, sizeof *st);
    put(&p, &kind, 4);
    put(&p, &t, 8);
    put(&p, &msize, 8);
    put(&p, model_bytes, model_size);
    put(&p, &n, 8);
    put(&p, o->m, n * sizeof(float));
    put(&p, o->v, n * sizeof(float));
    uint32_t crc = crc32_update(0, buf, (size_t)(p - buf));
    put(&p, &crc, 4);
    free(model_bytes);
    s = write_file_atomic(path, buf, (size_t)(p - buf), err);
    free(buf);
    return s;
}

crnn_status checkpoint_load(const char *path, crnn_model **m, optimizer *o, checkpoint_state *st,
                            crnn_error *err) {
    unsigned char *data;
    size_t size;
    *m = NULL;
    crnn_status s = read_file(path, (size_t)4 << 30, &data, &size, err);
    if (s != CRNN_OK) return s;
    size_t head = 8 + 4 + sizeof *st + 4 + 8 + 8;
    uint32_t version, kind, crc;
    int64_t t;
    uint64_t msize, n;
    if (size < head + 4 || memcmp(data, CKPT_MAGIC, 8) != 0) {
        s = set_error(err, CRNN_ERR_FORMAT, "%s: not an ocr-crnn checkpoint", path);
        goto done;
    }
    memcpy(&crc, data + size - 4, 4);
    if (crc != crc32_update(0, data, size - 4)) {
        s = set_error(err, CRNN_ERR_FORMAT, "%s: bad checksum: the checkpoint is corrupt", path);
        goto done;
    }
    const unsigned char *p = data + 8;
    memcpy(&version, p, 4); p += 4;
    if (version != CKPT_VERSION) {
        s = set_error(err, CRNN_ERR_FORMAT, "%s: checkpoint version %u unknown", path, version);
        goto done;
    }
    memcpy(st, p, sizeof *st); p += sizeof *st;
    memcpy(&kind, p, 4); p += 4;
    memcpy(&t, p, 8); p += 8;
    memcpy(&msize, p, 8); p += 8;
    if (msize > size - head - 4) {
        s = set_error(err, CRNN_ERR_FORMAT, "%s: truncated model section", path);
        goto done;
    }
    *m = model_parse(p, (size_t)msize, path, err);
    if (!*m) { s = err ? err->code : CRNN_ERR_FORMAT; goto done; }
    p += msize;
    if ((size_t)(data + size - 4 - p) < 8) {
        s = set_error(err, CRNN_ERR_FORMAT, "%s: truncated optimiser section", path);
        goto done;
    }
    memcpy(&n, p, 8); p += 8;
    if (n != (*m)->n_params || (size_t)(data + size - 4 - p) != 2 * n * sizeof(float) || kind > 1) {
        s = set_error(err, CRNN_ERR_FORMAT, "%s: optimiser state does not match the model", path);
        goto done;
    }
    s = optimizer_init(o, (optimizer_kind)kind, (size_t)n, err);
    if (s != CRNN_OK) goto done;
    memcpy(o->m, p, n * sizeof(float)); p += n * sizeof(float);
    memcpy(o->v, p, n * sizeof(float));
    o->t = t;
done:
    if (s != CRNN_OK && *m) {
        crnn_model_free(*m);
        *m = NULL;
    }
    free(data);
    return s;
}

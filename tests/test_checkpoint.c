/* test_checkpoint.c — the checkpoint file against docs/checkpoint-format.md: every field read
   back here at its documented offset as a little-endian fixed-width value (not through the
   library's reader); a save/load round trip restores model, optimiser and state exactly;
   checkpoints of the old raw-struct layout (version 1), other versions, truncated or corrupt
   ones, and ones whose optimiser does not fit the model are refused with CRNN_ERR_FORMAT and a
   message naming the file and the reason. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/model.h"
#include "test.h"
#include "train/checkpoint.h"
#include "train/train.h"
#include "util/util.h"

static char dir[256];

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

static double f64(const unsigned char *p) {
    uint64_t v = le64(p);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

static float f32(const unsigned char *p) {
    uint32_t v = le32(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

static void put_le32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Writes data to dir/name and expects checkpoint_load to refuse it with why in the message. */
static void expect_refused(const char *name, const unsigned char *data, size_t n,
                           const char *why) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    crnn_error err;
    CHECK(write_file_atomic(path, data, n, &err) == CRNN_OK);
    crnn_model *m = (crnn_model *)1;
    optimizer o;
    checkpoint_state st;
    memset(&err, 0, sizeof err);
    crnn_status s = checkpoint_load(path, &m, &o, &st, &err);
    CHECK_MSG(s == CRNN_ERR_FORMAT && m == NULL && strstr(err.message, name) &&
              strstr(err.message, why), "%s: status %d, message '%s', expected '%s'", name, s,
              err.message, why);
}

static void test_checkpoint_format(void) {
    crnn_error err;
    crnn_model *m = model_from_arch("c4 m2 c4 m2x2s2x1p0x1 c4k2p0 bigru5", "alnum", 16, 1, 7, &err);
    CHECK_MSG(m != NULL, "%s", err.message);
    if (!m) return;
    optimizer o;
    CHECK(optimizer_init(&o, OPT_ADAM, m->n_params, &err) == CRNN_OK);
    for (size_t i = 0; i < o.n; i++) {
        o.m[i] = (float)i * 0.25f - 3;
        o.v[i] = (float)i * 0.5f;
    }
    o.t = 1234567890123LL;
    checkpoint_state st = {4000000000L, 0x0123456789abcdefULL, 0.875, 3600.5, 7200.25,
                           128000000000L, 3};
    char path[512];
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    CHECK_MSG(checkpoint_save(path, m, &o, &st, &err) == CRNN_OK, "%s", err.message);

    /* The documented layout, field by field. */
    unsigned char *d;
    size_t n;
    CHECK(read_file(path, 1u << 30, &d, &n, &err) == CRNN_OK);
    unsigned char *model_bytes;
    size_t model_n;
    CHECK(model_serialize(m, 0, &model_bytes, &model_n, &err) == CRNN_OK);
    CHECK(memcmp(d, "CRNNCKPT", 8) == 0);
    CHECK(le32(d + 8) == 2);
    CHECK(le64(d + 12) == 4000000000ULL);
    CHECK(le64(d + 20) == 0x0123456789abcdefULL);
    CHECK(f64(d + 28) == 0.875 && f64(d + 36) == 3600.5 && f64(d + 44) == 7200.25);
    CHECK(le64(d + 52) == 128000000000ULL && le64(d + 60) == 3);
    CHECK(le32(d + 68) == 0 && le64(d + 72) == 1234567890123ULL);
    CHECK(le64(d + 80) == model_n && memcmp(d + 88, model_bytes, model_n) == 0);
    const unsigned char *p = d + 88 + model_n;
    CHECK(le64(p) == m->n_params);
    p += 8;
    int moments_ok = 1;
    for (size_t i = 0; i < o.n; i++)
        moments_ok &= f32(p + 4 * i) == o.m[i] && f32(p + 4 * (o.n + i)) == o.v[i];
    CHECK(moments_ok);
    CHECK_MSG(n == 88 + model_n + 8 + 8 * m->n_params + 4, "%zu bytes", n);
    CHECK(le32(d + n - 4) == crc32_update(0, d, n - 4));

    /* Round trip. */
    crnn_model *m2;
    optimizer o2;
    checkpoint_state st2;
    CHECK_MSG(checkpoint_load(path, &m2, &o2, &st2, &err) == CRNN_OK, "%s", err.message);
    if (m2) {
        CHECK(m2->n_params == m->n_params &&
              memcmp(m2->params, m->params, m->n_params * sizeof(float)) == 0);
        CHECK(o2.kind == OPT_ADAM && o2.t == o.t && o2.n == o.n &&
              memcmp(o2.m, o.m, o.n * sizeof(float)) == 0 &&
              memcmp(o2.v, o.v, o.n * sizeof(float)) == 0);
        CHECK(memcmp(&st2, &st, sizeof st) == 0);
        crnn_model_free(m2);
        optimizer_free(&o2);
    }

    /* Refusals. */
    unsigned char *bad = malloc(n + 64);
    /* version 1: magic, u32 1, then the host's raw struct; a clear error, not garbage */
    memcpy(bad, d, n);
    put_le32(bad + 8, 1);
    put_le32(bad + n - 4, crc32_update(0, bad, n - 4));
    expect_refused("v1.bin", bad, n, "checkpoint version 1; this build reads version 2");
    put_le32(bad + 8, 3);
    expect_refused("v3.bin", bad, n, "version 3");
    memcpy(bad, d, n);
    bad[100] ^= 1;
    expect_refused("flipped.bin", bad, n, "bad checksum");
    expect_refused("short.bin", d, 40, "truncated");
    expect_refused("notckpt.bin", (const unsigned char *)"CRNN\1\0\0\0", 8, "not an ocr-crnn");
    /* an optimiser of one value fewer than the model has parameters */
    memcpy(bad, d, 88 + model_n);
    unsigned char *q = bad + 88 + model_n;
    for (int i = 0; i < 8; i++) q[i] = (unsigned char)((m->n_params - 1) >> (8 * i));
    memcpy(q + 8, p, 8 * (m->n_params - 1));
    size_t nb = 88 + model_n + 8 + 8 * (m->n_params - 1);
    put_le32(bad + nb, crc32_update(0, bad, nb));
    expect_refused("short-optimiser.bin", bad, nb + 4, "does not match the model");
    /* a NaN moment */
    memcpy(bad, d, n);
    put_le32(bad + 88 + model_n + 8 + 4 * 3, 0x7fc00000u);
    put_le32(bad + n - 4, crc32_update(0, bad, n - 4));
    expect_refused("nan-moment.bin", bad, n, "optimiser moment 3");
    free(bad);
    free(d);
    free(model_bytes);
    optimizer_free(&o);
    crnn_model_free(m);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/crnn-test-checkpoint-%d", (int)getpid());
    mkdir(dir, 0755);
    RUN(test_checkpoint_format);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (!test_failures && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    TEST_EXIT();
}

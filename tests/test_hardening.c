/* test_hardening.c — hostile inputs, one crafted file each, and the clear error each must get
   instead of a crash, a hang or gigabytes of memory (docs/hardening.md): images truncated in
   every format, decompression bombs, endless JPEG scans, oversized numbers in headers, and
   model files whose few bytes describe huge layers or slow-to-check charsets. Valid files of
   every format and size must still decode. The fuzz targets' reproducers are replayed by the
   replay_* tests; this file checks the messages and limits by name. */
#include <stdlib.h>
#include <string.h>

#include <stb_image_write.h>

#include "crnn.h"
#include "image/image.h"
#include "model/model.h"
#include "test.h"
#include "train/train.h"
#include "util/util.h"

/* ---- a growable byte buffer, the target of stb_image_write's *_to_func ------------------- */

typedef struct {
    unsigned char *p;
    size_t n, cap;
} buf;

static void buf_put(buf *b, const void *data, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}
static void buf_u8(buf *b, unsigned v) {
    unsigned char c = (unsigned char)v;
    buf_put(b, &c, 1);
}
static void buf_be32(buf *b, uint32_t v) {
    unsigned char c[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    buf_put(b, c, 4);
}
static void buf_le32(buf *b, uint32_t v) {
    unsigned char c[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    buf_put(b, c, 4);
}
static void write_cb(void *ctx, void *data, int size) { buf_put(ctx, data, (size_t)size); }

/* Decodes b; returns the status and keeps the message. */
static crnn_status decode(const buf *b, const char *name, int *w, int *h, crnn_error *err) {
    uint8_t *px = NULL;
    crnn_status s = crnn_image_decode_memory(b->p, b->n, name, &px, w, h, err);
    free(px);
    return s;
}

#define EXPECT_ERROR(b, name, code, text)                                                        \
    do {                                                                                         \
        int w_, h_;                                                                              \
        crnn_error e_;                                                                           \
        crnn_status s_ = decode(b, name, &w_, &h_, &e_);                                         \
        CHECK_MSG(s_ == (code), "%s: got %s (%s)", name, crnn_status_name(s_),                   \
                  s_ ? e_.message : "decoded");                                                  \
        if (s_ != CRNN_OK) {                                                                     \
            CHECK_MSG(strstr(e_.message, name) != NULL, "message does not name the file: %s",     \
                      e_.message);                                                               \
            CHECK_MSG(strstr(e_.message, text) != NULL, "no '%s' in: %s", text, e_.message);      \
        }                                                                                        \
    } while (0)

/* A grey test pattern: a dark bar on light, something a recogniser would see. */
static unsigned char *pattern(int w, int h, int comp) {
    unsigned char *p = malloc((size_t)w * h * comp);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < comp; c++)
                p[((size_t)y * w + x) * comp + c] =
                    (unsigned char)((x / 3 + y / 2) % 4 == 0 ? 20 : 230 - c * 10);
    return p;
}

/* ---- every writer, several sizes: valid files must pass the checks ------------------------ */

static void test_valid_images_decode(void) {
    static const int sizes[][2] = {{1, 1}, {7, 3}, {33, 9}, {300, 5}, {5, 300}, {129, 2}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int w = sizes[i][0], h = sizes[i][1];
        for (int comp = 1; comp <= 4; comp++) {
            unsigned char *px = pattern(w, h, comp);
            float *fpx = malloc(sizeof(float) * (size_t)w * h * comp);
            for (int k = 0; k < w * h * comp; k++) fpx[k] = px[k] / 255.0f;
            const char *names[5] = {"v.png", "v.bmp", "v.tga", "v.jpg", "v.hdr"};
            for (int f = 0; f < 5; f++) {
                buf b = {0};
                int ok = f == 0   ? stbi_write_png_to_func(write_cb, &b, w, h, comp, px, w * comp)
                         : f == 1 ? stbi_write_bmp_to_func(write_cb, &b, w, h, comp, px)
                         : f == 2 ? stbi_write_tga_to_func(write_cb, &b, w, h, comp, px)
                         : f == 3 ? stbi_write_jpg_to_func(write_cb, &b, w, h, comp, px, 90)
                                  : stbi_write_hdr_to_func(write_cb, &b, w, h, comp, fpx);
                CHECK(ok);
                int dw = 0, dh = 0;
                crnn_error err;
                crnn_status s = decode(&b, names[f], &dw, &dh, &err);
                CHECK_MSG(s == CRNN_OK && dw == w && dh == h, "%s %dx%d comp %d: %s", names[f], w,
                          h, comp, s ? err.message : "wrong size");
                free(b.p);
            }
            free(fpx);
            free(px);
        }
    }
    /* TGA without RLE, PGM and PPM with comments, 16-bit PGM */
    stbi_write_tga_with_rle = 0;
    unsigned char *px = pattern(9, 4, 3);
    buf b = {0};
    stbi_write_tga_to_func(write_cb, &b, 9, 4, 3, px);
    stbi_write_tga_with_rle = 1;
    int w, h;
    crnn_error err;
    CHECK_MSG(decode(&b, "raw.tga", &w, &h, &err) == CRNN_OK, "%s", err.message);
    free(b.p);
    const char *pnm[] = {"P5\n# a comment\n9 4\n255\n", "P6 9\t4 # c\n255\n", "P5 9 4 65535\n"};
    size_t pix[] = {36, 108, 72};
    for (int k = 0; k < 3; k++) {
        buf p = {0};
        buf_put(&p, pnm[k], strlen(pnm[k]));
        unsigned char *data = calloc(pix[k], 1);
        buf_put(&p, data, pix[k]);
        free(data);
        CHECK_MSG(decode(&p, "v.pnm", &w, &h, &err) == CRNN_OK && w == 9 && h == 4, "%s: %s",
                  pnm[k], err.message);
        p.n--; /* one byte short */
        EXPECT_ERROR(&p, "short.pnm", CRNN_ERR_IMAGE, "truncated PNM");
        free(p.p);
    }
    free(px);
}

/* ---- a header promising 8000 × 8000 pixels, then nothing ---------------------------------- */

static void test_truncated_images(void) {
    buf b = {0};
    /* BMP: file header + BITMAPINFOHEADER, 24 bits, no pixels */
    buf_put(&b, "BM", 2);
    buf_le32(&b, 54), buf_le32(&b, 0), buf_le32(&b, 54);
    buf_le32(&b, 40), buf_le32(&b, 8000), buf_le32(&b, 8000);
    buf_u8(&b, 1), buf_u8(&b, 0), buf_u8(&b, 24), buf_u8(&b, 0);
    for (int k = 0; k < 6; k++) buf_le32(&b, 0);
    EXPECT_ERROR(&b, "tiny.bmp", CRNN_ERR_IMAGE, "truncated BMP: 8000 x 8000 pixels need");
    b.n = 0;
    /* TGA: uncompressed grey and RLE */
    unsigned char tga[18] = {0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x1f, 0x40, 0x1f, 8, 0};
    buf_put(&b, tga, 18);
    EXPECT_ERROR(&b, "tiny.tga", CRNN_ERR_IMAGE, "truncated TGA");
    b.p[2] = 11;
    EXPECT_ERROR(&b, "tiny-rle.tga", CRNN_ERR_IMAGE, "truncated TGA");
    b.n = 0;
    buf_put(&b, "P5 8000 8000 255\n", 17);
    EXPECT_ERROR(&b, "tiny.pgm", CRNN_ERR_IMAGE, "truncated PNM");
    b.n = 0;
    /* PSD: RGB, 8 bits, raw, empty sections */
    buf_put(&b, "8BPS\0\1\0\0\0\0\0\0\0\3", 14);
    buf_be32(&b, 8000), buf_be32(&b, 8000);
    buf_put(&b, "\0\x08\0\x03", 4);
    buf_be32(&b, 0), buf_be32(&b, 0), buf_be32(&b, 0);
    buf_put(&b, "\0\0", 2);
    EXPECT_ERROR(&b, "tiny.psd", CRNN_ERR_IMAGE, "truncated PSD");
    b.n = 0;
    buf_put(&b, "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 8000 +X 8000\n", 51);
    EXPECT_ERROR(&b, "tiny.hdr", CRNN_ERR_IMAGE, "truncated HDR");
    b.n = 0;
    /* JPEG: cut anywhere, it has no end-of-image marker */
    unsigned char *px = pattern(64, 32, 1);
    stbi_write_jpg_to_func(write_cb, &b, 64, 32, 1, px, 90);
    size_t sof = 2; /* cut after the frame header: before it, stbi_info already refuses */
    while (sof + 1 < b.n && !(b.p[sof] == 0xFF && b.p[sof + 1] == 0xC0)) sof++;
    sof += 2 + (size_t)(b.p[sof + 2] << 8 | b.p[sof + 3]);
    for (size_t cut = sof; cut < b.n - 2; cut += 17) {
        buf t = {b.p, cut, cut};
        EXPECT_ERROR(&t, "cut.jpg", CRNN_ERR_IMAGE, "truncated JPEG");
    }
    /* ... and an end marker glued to a header with too little data for its blocks */
    buf s = {0};
    size_t sos = 0;
    for (size_t k = 2; k + 1 < b.n; k++)
        if (b.p[k] == 0xFF && b.p[k + 1] == 0xDA) sos = k;
    buf_put(&s, b.p, sos + 2 + (size_t)(b.p[sos + 2] << 8 | b.p[sos + 3]));
    buf_put(&s, "\x12\x34\xff\xd9", 4);
    EXPECT_ERROR(&s, "glued.jpg", CRNN_ERR_IMAGE, "truncated JPEG: 64 x 32 pixels need");
    free(s.p);
    b.n = 0;
    /* PNG: cut inside IDAT, and cut before IEND */
    stbi_write_png_to_func(write_cb, &b, 64, 32, 1, px, 64);
    buf t = {b.p, b.n / 2, b.n / 2};
    EXPECT_ERROR(&t, "cut.png", CRNN_ERR_IMAGE, "truncated PNG: chunk 'IDAT'");
    t.n = b.n - 12;
    EXPECT_ERROR(&t, "no-iend.png", CRNN_ERR_IMAGE, "truncated PNG: no IEND");
    free(px);
    free(b.p);
}

/* ---- decompression bomb, endless scans, numbers that overflow --------------------------- */

/* zlib stream of n zero bytes: fixed Huffman, one literal 0 then (length 258, distance 1)
   copies: about 1000:1, the most deflate allows. */
typedef struct {
    buf *b;
    uint32_t acc;
    int nbits;
} bits;
static void put_bits(bits *w, uint32_t v, int n) { /* LSB first, as deflate packs */
    for (int i = 0; i < n; i++) {
        w->acc |= ((v >> i) & 1u) << w->nbits;
        if (++w->nbits == 8) {
            buf_u8(w->b, w->acc);
            w->acc = 0;
            w->nbits = 0;
        }
    }
}
static void put_code(bits *w, uint32_t code, int n) { /* Huffman codes go MSB first */
    for (int i = n - 1; i >= 0; i--) put_bits(w, (code >> i) & 1u, 1);
}
static void zlib_zeros(buf *b, size_t n) {
    buf_u8(b, 0x78), buf_u8(b, 0x01);
    bits w = {b, 0, 0};
    put_bits(&w, 1, 1), put_bits(&w, 1, 2); /* final block, fixed Huffman */
    size_t left = n;
    put_code(&w, 0x30, 8), left--;          /* literal 0 */
    while (left >= 258) {
        put_code(&w, 0xC5, 8);               /* length symbol 285 = 258 */
        put_code(&w, 0, 5);                  /* distance code 0 = 1 */
        left -= 258;
    }
    while (left--) put_code(&w, 0x30, 8);
    put_code(&w, 0, 7); /* end of block */
    if (w.nbits) put_bits(&w, 0, 8 - w.nbits);
    buf_be32(b, (uint32_t)((n % 65521) << 16 | 1)); /* Adler-32 of n zeros */
}

static void png_chunk(buf *b, const char *type, const unsigned char *data, size_t n) {
    buf_be32(b, (uint32_t)n);
    size_t at = b->n;
    buf_put(b, type, 4);
    if (n) buf_put(b, data, n);
    buf_be32(b, crc32_update(0, b->p + at, n + 4));
}

static void png_with_idat(buf *b, uint32_t w, uint32_t h, const buf *z) {
    buf_put(b, "\x89PNG\r\n\x1a\n", 8);
    unsigned char ihdr[13] = {(unsigned char)(w >> 24), (unsigned char)(w >> 16),
                              (unsigned char)(w >> 8),  (unsigned char)w,
                              (unsigned char)(h >> 24), (unsigned char)(h >> 16),
                              (unsigned char)(h >> 8),  (unsigned char)h,
                              8, 0, 0, 0, 0};
    png_chunk(b, "IHDR", ihdr, 13);
    png_chunk(b, "IDAT", z->p, z->n);
    png_chunk(b, "IEND", NULL, 0);
}

static void test_png_bomb(void) {
    buf z = {0}, b = {0};
    zlib_zeros(&z, 32u << 20); /* 32 MB of zeros in ~32 kB */
    png_with_idat(&b, 1, 1, &z);
    EXPECT_ERROR(&b, "bomb.png", CRNN_ERR_LIMIT, "inflates to more than the 2 bytes");
    /* the same stream where the pixels do need it: fine */
    b.n = z.n = 0;
    zlib_zeros(&z, 2049 * 4097); /* rows of a filter byte and 4096 pixels */
    png_with_idat(&b, 4096, 2049, &z);
    int w, h;
    crnn_error err;
    CHECK_MSG(decode(&b, "zeros.png", &w, &h, &err) == CRNN_OK && w == 4096 && h == 2049, "%s",
              err.message);
    /* a few stray bytes past the pixels are accepted, as stb_image accepts them */
    b.n = z.n = 0;
    zlib_zeros(&z, 2049 * 4097 + 1000);
    png_with_idat(&b, 4096, 2049, &z);
    CHECK_MSG(decode(&b, "padded.png", &w, &h, &err) == CRNN_OK, "%s", err.message);
    free(z.p);
    free(b.p);
}

static void test_jpeg_scans(void) {
    buf b = {0};
    buf_put(&b, "\xff\xd8\xff\xdb\x00\x43\x00", 7);
    for (int k = 0; k < 64; k++) buf_u8(&b, 1);
    buf_put(&b, "\xff\xc2\x00\x0b\x08\x1f\x40\x1f\x40\x01\x01\x11\x00", 13); /* 8000 x 8000 */
    buf_put(&b, "\xff\xc4\x00\x14\x00\x01", 6);
    for (int k = 0; k < 16; k++) buf_u8(&b, 0);
    buf_put(&b, "\xff\xda\x00\x08\x01\x01\x00\x00\x00\x00", 10);
    for (int k = 0; k < IMAGE_MAX_JPEG_SCANS + 50; k++)
        buf_put(&b, "\xff\xda\x00\x08\x01\x01\x00\x00\x00\x10", 10);
    buf_put(&b, "\xff\xd9", 2);
    double t0 = now_seconds();
    EXPECT_ERROR(&b, "scans.jpg", CRNN_ERR_LIMIT, "more than 100 scans");
    CHECK(now_seconds() - t0 < 1.0);
    free(b.p);
}

/* A Huffman table whose 16 counts add up past 256 makes stb_image 2.27 write past its table
   (in stbi_info already). Found by fuzzing, directly after the start marker, behind stray
   bytes between segments, and here also behind extra 0xFF before the start marker, which
   stb_image accepts as a JPEG. */
static void test_jpeg_huffman(void) {
    static const char *prefixes[] = {"\xff\xd8", "\xff\xd8\xff\xfe\x00\x04\x01\x02\x12\x34",
                                      "\xff\xff\xff\xd8"};
    static const size_t lengths[] = {2, 10, 4}; /* a comment segment, then two stray bytes */
    for (int k = 0; k < 3; k++) {
        buf b = {0};
        buf_put(&b, prefixes[k], lengths[k]);
        buf_put(&b, "\xff\xc4\x00\x13\x00", 5);
        for (int i = 0; i < 16; i++) buf_u8(&b, 0x20); /* 512 codes */
        buf_put(&b, "\xff\xd9", 2);
        EXPECT_ERROR(&b, "huffman.jpg", CRNN_ERR_IMAGE, "Huffman table declares 512 codes");
        free(b.p);
    }
}

static void test_header_numbers(void) {
    buf b = {0};
    buf_put(&b, "P5 3 33333333333333\x02\x03\x04\x05\x06", 24); /* fuzz: stb int overflow */
    EXPECT_ERROR(&b, "overflow.pgm", CRNN_ERR_IMAGE, "PNM header: height is too large");
    b.n = 0;
    buf_put(&b, "P59999999999900000000000", 24);
    EXPECT_ERROR(&b, "overflow2.pgm", CRNN_ERR_IMAGE, "PNM header: width is too large");
    b.n = 0;
    buf_put(&b, "P5 10 10 99999999999\n", 21);
    EXPECT_ERROR(&b, "maxval.pgm", CRNN_ERR_IMAGE, "maximum value is too large");
    b.n = 0;
    /* over the side limit, checked before anything is allocated */
    buf z = {0};
    zlib_zeros(&z, 1000);
    png_with_idat(&b, 100000, 1, &z);
    EXPECT_ERROR(&b, "wide.png", CRNN_ERR_LIMIT, "100000 x 1 pixels exceeds the limit");
    free(z.p);
    free(b.p);
}

/* ---- model files ----------------------------------------------------------------------- */

static void model_header(buf *b, uint32_t n_classes, uint32_t n_layers, uint32_t n_tensors) {
    buf_put(b, "CRNN", 4);
    buf_le32(b, 1), buf_le32(b, 32), buf_le32(b, 1);
    buf_le32(b, 0x3f000000), buf_le32(b, 0x3f000000); /* mean 0.5, std 0.5 */
    buf_le32(b, n_classes), buf_le32(b, n_layers), buf_le32(b, n_tensors), buf_le32(b, 0);
}
static void model_layer_rec(buf *b, uint32_t kind, const int32_t p[8]) {
    buf_le32(b, kind);
    for (int k = 0; k < 8; k++) buf_le32(b, (uint32_t)p[k]);
}
static void model_finish(buf *b) { buf_le32(b, crc32_update(0, b->p, b->n)); }

static void test_model_limits(void) {
    crnn_error err;
    /* A few hundred bytes (with a right checksum) describing 300 k parameters: refused as
       truncated before the 1.2 MB of parameters are reserved (the format allows 200 M). */
    buf b = {0};
    model_header(&b, 2, 2, 4);
    buf_le32(&b, 0), buf_le32(&b, 'a');
    model_layer_rec(&b, 1, (int32_t[8]){1024, 15, 15, 1, 1, 7, 7, 2}); /* 1024 x 32 per column */
    model_layer_rec(&b, 5, (int32_t[8]){2});
    for (int k = 0; k < 40; k++) buf_le32(&b, 0);
    model_finish(&b);
    crnn_model *m = crnn_model_load_memory(b.p, b.n, "huge-layers.crnn", &err);
    CHECK(m == NULL);
    if (!m) {
        CHECK_MSG(err.code == CRNN_ERR_FORMAT && strstr(err.message, "huge-layers.crnn") &&
                      strstr(err.message, "truncated: the layers need"),
                  "%s", err.message);
    }
    crnn_model_free(m);
    /* 65536 classes in descending order: the duplicate check used to be an insertion sort,
       2^31 steps on exactly this file (a fuzz-style hang); now it is quick. */
    b.n = 0;
    model_header(&b, 65536, 1, 2);
    buf_le32(&b, 0);
    for (uint32_t k = 1; k < 65536; k++) buf_le32(&b, 0x20000 - k);
    model_layer_rec(&b, 5, (int32_t[8]){65536});
    model_finish(&b);
    double t0 = now_seconds();
    m = crnn_model_load_memory(b.p, b.n, "descending.crnn", &err);
    double dt = now_seconds() - t0;
    CHECK(m == NULL); /* the linear layer has no input features: refused, but after the sort */
    CHECK_MSG(dt < 2.0, "loading took %.2f s", dt);
    crnn_model_free(m);
    /* A 1×1 convolution to 4096 channels at full height (32 rows): 8 k weights, but 128 k
       floats per input column, 2 GB of activations at the widest input. */
    b.n = 0;
    model_header(&b, 2, 3, 6);
    buf_le32(&b, 0), buf_le32(&b, 'a');
    model_layer_rec(&b, 1, (int32_t[8]){4096, 1, 1, 1, 1, 0, 0, 2});
    model_layer_rec(&b, 1, (int32_t[8]){1, 1, 1, 1, 1, 0, 0, 2});
    model_layer_rec(&b, 5, (int32_t[8]){2});
    model_finish(&b);
    m = crnn_model_load_memory(b.p, b.n, "wide-map.crnn", &err);
    CHECK(m == NULL);
    if (!m)
        CHECK_MSG(err.code == CRNN_ERR_LIMIT && strstr(err.message, "wide-map.crnn: layer 0") &&
                      strstr(err.message, "4096 channels x 32 rows"),
                  "%s", err.message);
    crnn_model_free(m);
    free(b.p);
}

/* Values a model file may hold but no layer can compute with: the loader names the tensor.
   A model whose weights are finite but overflow anyway reads no text: a clear error, and no
   NaN reaching fast_expf (undefined behaviour the fuzzer found; see tests/regressions/model). */
static crnn_model *tiny(void) {
    crnn_error err;
    crnn_model *m = model_from_arch("c4 m2 c4 m2x2s2x1p0x1 c4k2p0 bilstm6", "alnum", 16, 1, 9, &err);
    if (!m) {
        fprintf(stderr, "%s\n", err.message);
        exit(1);
    }
    return m;
}

static void expect_load_error(crnn_model *m, const char *name, const char *why) {
    unsigned char *bytes;
    size_t n;
    crnn_error err;
    CHECK(model_serialize(m, 0, &bytes, &n, &err) == CRNN_OK);
    crnn_model *l = crnn_model_load_memory(bytes, n, name, &err);
    CHECK_MSG(!l && err.code == CRNN_ERR_FORMAT && strstr(err.message, name) &&
              strstr(err.message, why), "%s: %s", name, l ? "loaded" : err.message);
    crnn_model_free(l);
    free(bytes);
}

static void test_model_values(void) {
    crnn_model *m = tiny();
    model_layer_tensor(m, m->params, 2, "bn_var")[1] = -0.5f;
    expect_load_error(m, "negative-var.crnn", "tensor 'layer2.bn_var': channel 1 is negative");
    crnn_model_free(m);
    /* finite, but gamma / sqrt(var + eps) overflows when folded */
    m = tiny();
    model_layer_tensor(m, m->params, 0, "bn_weight")[3] = 3e38f;
    model_layer_tensor(m, m->params, 0, "bn_var")[3] = 0;
    expect_load_error(m, "fold-overflow.crnn", "tensor 'layer0.bn_weight': channel 3");
    crnn_model_free(m);
    /* every weight finite, the sums not: the last convolution (weights 1, batch-norm scale
       3e38) sums features of about 100 (the bias of layer 2) into +inf, and the LSTM's input
       weights of both signs then add +inf and −inf: NaN in whatever order the BLAS kernel
       adds. (Products of finite weights and features cannot make inf − inf: an FMA kernel
       keeps each product exact, and an accumulator that overflowed stays at one infinity.) */
    m = tiny();
    float *bias = model_layer_tensor(m, m->params, 2, "bias");
    for (int c = 0; c < 4; c++) bias[c] = 100;
    float *conv = model_layer_tensor(m, m->params, 4, "weight");
    for (int k = 0; k < 4 * 4 * 2 * 2; k++) conv[k] = 1;
    float *scale = model_layer_tensor(m, m->params, 4, "bn_weight");
    for (int c = 0; c < 4; c++) scale[c] = 3e38f;
    float *w = model_layer_tensor(m, m->params, 5, "bwd.w_ih");
    for (int k = 0; k < 24 * 12; k++) w[k] = k % 2 ? 1.0f : -1.0f; /* inf − inf */
    unsigned char *bytes;
    size_t n;
    crnn_error err;
    CHECK(model_serialize(m, 0, &bytes, &n, &err) == CRNN_OK);
    crnn_model *l = crnn_model_load_memory(bytes, n, "overflows.crnn", &err);
    CHECK_MSG(l != NULL, "%s", err.message);
    if (l) {
        crnn_recognizer *rec = crnn_recognizer_new(l, &err);
        uint8_t px[16 * 40];
        for (int i = 0; i < 16 * 40; i++) px[i] = (uint8_t)(i * 37 + (i / 40) * 11);
        crnn_image im = {40, 16, 40, px, 1};
        crnn_result res;
        crnn_status s = crnn_recognize_image(rec, &im, NULL, &res);
        CHECK_MSG(s == CRNN_ERR_FORMAT && strstr(crnn_recognizer_error(rec), "not finite"),
                  "status %s: %s", crnn_status_name(s), s ? crnn_recognizer_error(rec) : res.text);
        crnn_result_free(&res);
        crnn_recognizer_free(rec);
    }
    crnn_model_free(l);
    crnn_model_free(m);
    free(bytes);
}

int main(void) {
    RUN(test_valid_images_decode);
    RUN(test_truncated_images);
    RUN(test_png_bomb);
    RUN(test_jpeg_scans);
    RUN(test_jpeg_huffman);
    RUN(test_header_numbers);
    RUN(test_model_limits);
    RUN(test_model_values);
    TEST_EXIT();
}

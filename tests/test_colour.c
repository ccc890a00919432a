/* test_colour.c — models of RGB images: the model format's input_channels field (1 and 3 load,
   anything else is refused with the field named), the batch input's colour planes (a colour
   model that looks only at red reads exactly what a grey model reads from the red plane,
   whatever green and blue hold), conversions between grey and RGB images, and decoding files
   to RGB. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stb_image_write.h>

#include "crnn.h"
#include "model/model.h"
#include "test.h"
#include "train/train.h"
#include "util/util.h"

#define TINY "c8 m2 c16 m2 c16 m2x2s2x1p0x1 c16 m2x2s2x1p0x1 c16k2p0 bilstm16"

static crnn_model *tiny(int channels, uint64_t seed) {
    crnn_error err;
    crnn_model *m = model_from_arch(TINY, "ascii", 32, channels, seed, &err);
    if (!m) fprintf(stderr, "model_from_arch: %s\n", err.message);
    return m;
}

static void test_model_channel_field(void) {
    crnn_error err;
    for (int ch = 1; ch <= 3; ch += 2) {
        crnn_model *m = tiny(ch, 1);
        CHECK(m != NULL);
        if (!m) return;
        unsigned char *buf;
        size_t size;
        CHECK(model_serialize(m, 0, &buf, &size, &err) == CRNN_OK);
        crnn_model *back = crnn_model_load_memory(buf, size, "tiny.crnn", &err);
        CHECK_MSG(back != NULL, "%s", err.message);
        if (back) {
            CHECK(crnn_model_input_channels(back) == ch);
            const model_tensor *w = model_find_tensor(back, "layer0.weight");
            CHECK(w && w->ndim == 4 && w->dims[1] == ch);
        }
        crnn_model_free(back);
        if (ch == 1) {
            /* Other channel counts, with a right checksum: refused, the field named. */
            static const uint32_t bad[] = {0, 2, 4, 255};
            for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
                unsigned char *copy = malloc(size);
                memcpy(copy, buf, size);
                for (int b = 0; b < 4; b++) copy[12 + b] = (unsigned char)(bad[k] >> (8 * b));
                uint32_t crc = crc32_update(0, copy, size - 4);
                for (int b = 0; b < 4; b++) copy[size - 4 + (size_t)b] = (unsigned char)(crc >> (8 * b));
                crnn_model *x = crnn_model_load_memory(copy, size, "odd.crnn", &err);
                CHECK(x == NULL);
                if (!x) {
                    char want[64];
                    snprintf(want, sizeof want, "input_channels %u", bad[k]);
                    CHECK_MSG(err.code == CRNN_ERR_FORMAT && strstr(err.message, "odd.crnn") &&
                                  strstr(err.message, want),
                              "%s", err.message);
                }
                crnn_model_free(x);
                free(copy);
            }
        }
        free(buf);
        crnn_model_free(m);
    }
}

/* Random grey bytes and an RGB image whose plane `seen` is them, the others random. */
static void make_images(uint8_t **grey, uint8_t **rgb, int w, int h, int seen) {
    *grey = malloc((size_t)w * h);
    *rgb = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h; i++) {
        (*grey)[i] = (uint8_t)test_randint(0, 255);
        for (int c = 0; c < 3; c++) (*rgb)[3 * i + c] = c == seen ? (*grey)[i] : (uint8_t)test_randint(0, 255);
    }
}

static void compare_log_probs(crnn_recognizer *a, crnn_recognizer *b, int n, double tol) {
    for (int i = 0; i < n; i++) {
        int ta, ca, tb, cb;
        const float *pa = crnn_recognizer_log_probs(a, i, &ta, &ca);
        const float *pb = crnn_recognizer_log_probs(b, i, &tb, &cb);
        CHECK(pa && pb && ta == tb && ca == cb);
        if (!pa || !pb || ta != tb || ca != cb) return;
        double worst = 0;
        for (int k = 0; k < ta * ca; k++) worst = fmax(worst, fabs((double)pa[k] - pb[k]));
        CHECK_MSG(worst <= tol, "image %d: log-probabilities differ by %g", i, worst);
    }
}

/* A colour model whose first convolution sees only one plane (blue, the last, or green) reads
   a batch of RGB images exactly as the grey model with the same weights reads that plane: the
   planes of a batch are laid out as the network expects, none spilling into another. */
static void colour_planes_match_grey(int seen) {
    crnn_model *m1 = tiny(1, 5), *m3 = tiny(3, 6);
    CHECK(m1 && m3);
    if (!m1 || !m3) return;
    for (int t = 0; t < m1->n_tensors; t++) {
        const model_tensor *a = &m1->tensors[t];
        const model_tensor *b = model_find_tensor(m3, a->name);
        CHECK(b != NULL);
        if (!b) continue;
        if (!strcmp(a->name, "layer0.weight")) { /* [out][ch][kh][kw]: one plane gets the weights */
            int out = a->dims[0], k = a->dims[2] * a->dims[3];
            for (int o = 0; o < out; o++)
                for (int c = 0; c < 3; c++)
                    for (int j = 0; j < k; j++)
                        m3->params[b->offset + ((size_t)o * 3 + (size_t)c) * (size_t)k + (size_t)j] =
                            c == seen ? m1->params[a->offset + (size_t)o * (size_t)k + (size_t)j] : 0.0f;
        } else {
            CHECK(a->count == b->count);
            memcpy(m3->params + b->offset, m1->params + a->offset, a->count * sizeof(float));
        }
    }
    model_fold_batchnorm(m1);
    model_fold_batchnorm(m3);
    crnn_error err;
    crnn_recognizer *r1 = crnn_recognizer_new(m1, &err), *r3 = crnn_recognizer_new(m3, &err);
    CHECK(r1 && r3);
    enum { N = 3 };
    static const int widths[N] = {57, 130, 21}, heights[N] = {32, 40, 17};
    uint8_t *grey[N], *rgb[N];
    crnn_image gi[N], ci[N];
    for (int i = 0; i < N; i++) {
        make_images(&grey[i], &rgb[i], widths[i], heights[i], seen);
        gi[i] = (crnn_image){widths[i], heights[i], widths[i], grey[i], 1};
        ci[i] = (crnn_image){widths[i], heights[i], 3 * widths[i], rgb[i], 3};
    }
    crnn_result res1[N], res3[N];
    CHECK(crnn_recognize_batch(r1, gi, N, NULL, res1) == CRNN_OK);
    CHECK(crnn_recognize_batch(r3, ci, N, NULL, res3) == CRNN_OK);
    compare_log_probs(r1, r3, N, 1e-5);
    for (int i = 0; i < N; i++) {
        CHECK(strcmp(res1[i].text, res3[i].text) == 0);
        crnn_result_free(&res1[i]);
        crnn_result_free(&res3[i]);
    }

    /* The other channel count is converted: a grey image given to the colour model reads as
       that grey in all three planes, an RGB image given to the grey model as its luminance. */
    for (int i = 0; i < N; i++) {
        int w = widths[i], h = heights[i];
        for (int p = 0; p < w * h; p++) rgb[i][3 * p] = rgb[i][3 * p + 1] = rgb[i][3 * p + 2] = grey[i][p];
    }
    CHECK(crnn_recognize_batch(r3, gi, N, NULL, res1) == CRNN_OK);
    CHECK(crnn_recognize_batch(r1, ci, N, NULL, res3) == CRNN_OK); /* grey model, RGB input */
    crnn_recognizer *r3b = crnn_recognizer_new(m3, &err), *r1b = crnn_recognizer_new(m1, &err);
    crnn_result res3b[N], res1b[N];
    CHECK(crnn_recognize_batch(r3b, ci, N, NULL, res3b) == CRNN_OK);
    CHECK(crnn_recognize_batch(r1b, gi, N, NULL, res1b) == CRNN_OK); /* luminance of grey³ = grey */
    compare_log_probs(r3, r3b, N, 0);
    compare_log_probs(r1, r1b, N, 0);
    for (int i = 0; i < N; i++) {
        crnn_result_free(&res1[i]);
        crnn_result_free(&res3[i]);
        crnn_result_free(&res1b[i]);
        crnn_result_free(&res3b[i]);
        free(grey[i]);
        free(rgb[i]);
    }
    /* A channel count that is neither 1 nor 3: refused. */
    uint8_t px[8 * 32 * 4] = {0};
    crnn_image odd = {8, 32, 32, px, 4};
    crnn_result r;
    CHECK(crnn_recognize_image(r1b, &odd, NULL, &r) == CRNN_ERR_ARG);
    CHECK(strstr(crnn_recognizer_error(r1b), "4 channels") != NULL);
    crnn_recognizer_free(r1);
    crnn_recognizer_free(r3);
    crnn_recognizer_free(r1b);
    crnn_recognizer_free(r3b);
    crnn_model_free(m1);
    crnn_model_free(m3);
}

static void test_colour_planes_match_grey(void) {
    colour_planes_match_grey(2);
    colour_planes_match_grey(1);
}

/* A grey model turned colour (--init grey.crnn --colour) reads an RGB image as the grey model
   reads its grey: exactly for grey pixels, within the rounding of stb_image's integer
   luminance for coloured ones. */
static void test_grey_model_to_colour(void) {
    crnn_model *g = tiny(1, 8);
    CHECK(g != NULL);
    if (!g) return;
    /* Batch-norm statistics that are not the identity, so folding them is exercised too. */
    for (int t = 0; t < g->n_tensors; t++)
        if (strstr(g->tensors[t].name, "bn_mean") || strstr(g->tensors[t].name, "bn_var"))
            for (size_t k = 0; k < g->tensors[t].count; k++)
                g->params[g->tensors[t].offset + k] = strstr(g->tensors[t].name, "var")
                                                          ? (float)test_uniform() + 0.5f
                                                          : (float)test_uniform() - 0.5f;
    crnn_error err;
    crnn_model *c = model_to_colour(g, &err);
    CHECK_MSG(c != NULL, "%s", err.message);
    if (!c) return;
    CHECK(c->input_channels == 3 && c->n_params == g->n_params + 2 * (size_t)model_find_tensor(g, "layer0.weight")->count);
    model_fold_batchnorm(g);
    model_fold_batchnorm(c);
    crnn_recognizer *rg = crnn_recognizer_new(g, &err), *rc = crnn_recognizer_new(c, &err);
    enum { W = 90, H = 32 };
    uint8_t grey[W * H], rgb[W * H * 3];
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < W * H; i++) {
            for (int k = 0; k < 3; k++) rgb[3 * i + k] = (uint8_t)test_randint(0, 255);
            if (pass == 0) rgb[3 * i + 1] = rgb[3 * i + 2] = rgb[3 * i];
            grey[i] = (uint8_t)((rgb[3 * i] * 77 + rgb[3 * i + 1] * 150 + rgb[3 * i + 2] * 29) >> 8);
        }
        crnn_image gi = {W, H, W, grey, 1}, ci = {W, H, 3 * W, rgb, 3};
        crnn_result a, b;
        CHECK(crnn_recognize_image(rg, &gi, NULL, &a) == CRNN_OK);
        CHECK(crnn_recognize_image(rc, &ci, NULL, &b) == CRNN_OK);
        compare_log_probs(rg, rc, 1, pass == 0 ? 1e-4 : 5e-2);
        crnn_result_free(&a);
        crnn_result_free(&b);
    }
    crnn_recognizer_free(rg);
    crnn_recognizer_free(rc);
    crnn_model_free(c);
    /* Only grey models with their batch-norm unfolded can be turned. */
    CHECK(model_to_colour(g, &err) == NULL && err.code == CRNN_ERR_ARG);
    crnn_model_free(g);
}

static void test_decode_rgb(void) {
    char dir[] = "/tmp/test_colour_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128], apath[128];
    snprintf(path, sizeof path, "%s/rgb.png", dir);
    snprintf(apath, sizeof apath, "%s/rgba.png", dir);
    enum { W = 23, H = 11 };
    uint8_t rgb[W * H * 3], rgba[W * H * 4];
    for (int i = 0; i < W * H; i++) {
        for (int c = 0; c < 3; c++) rgb[3 * i + c] = rgba[4 * i + c] = (uint8_t)test_randint(0, 255);
        rgba[4 * i + 3] = i % 2 ? 255 : 0; /* every other pixel transparent */
        rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = 10; /* dark ink: goes on white */
    }
    CHECK(stbi_write_png(path, W, H, 3, rgb, W * 3));
    CHECK(stbi_write_png(apath, W, H, 4, rgba, W * 4));
    crnn_error err;
    uint8_t *px;
    int w, h;
    CHECK(crnn_image_decode_file_channels(path, 3, &px, &w, &h, &err) == CRNN_OK);
    CHECK(px && w == W && h == H && memcmp(px, rgb, sizeof rgb) == 0);
    free(px);
    CHECK(crnn_image_decode_file_channels(path, 1, &px, &w, &h, &err) == CRNN_OK);
    int same = 1;
    for (int i = 0; px && i < W * H; i++)
        same &= px[i] == (uint8_t)((rgb[3 * i] * 77 + rgb[3 * i + 1] * 150 + rgb[3 * i + 2] * 29) >> 8);
    CHECK(px && same);
    free(px);
    CHECK(crnn_image_decode_file_channels(apath, 3, &px, &w, &h, &err) == CRNN_OK);
    int composited = 1;
    for (int i = 0; px && i < W * H; i++)
        for (int c = 0; c < 3; c++) composited &= px[3 * i + c] == (i % 2 ? 10 : 255);
    CHECK(px && composited);
    free(px);
    CHECK(crnn_image_decode_file_channels(path, 2, &px, &w, &h, &err) == CRNN_ERR_ARG);
    CHECK(px == NULL && strstr(err.message, path) && strstr(err.message, "2 channels"));
    unlink(path);
    unlink(apath);
    rmdir(dir);
}

int main(void) {
    RUN(test_model_channel_field);
    RUN(test_colour_planes_match_grey);
    RUN(test_grey_model_to_colour);
    RUN(test_decode_rgb);
    TEST_EXIT();
}

/* test_torch_parity.c — the C engine against PyTorch.

   Usage: test_torch_parity DIR, where DIR holds the output of tests/torch_parity.py (see its
   docstring for the layout; the meson test runs the script with --check, which generates into a
   temporary folder and then runs this program on it).

   For every model in DIR/manifest.txt:
   1. each image alone through crnn_recognize_file: the log-probabilities must match PyTorch's
      within LP_TOL (max |diff|), with the same number of frames and classes;
   2. all images of the model, of different widths, as one crnn_recognize_batch, in file order
      and reversed: each image's log-probabilities must match as well, so padding the narrower
      images of a batch must not leak into their results.
   Then damaged copies of the first model (a flipped byte, truncations with and without a valid
   CRC, an impossible tensor count, a trailing byte) must be refused with CRNN_ERR_FORMAT and a
   message naming the file.

   Uses only the public API (include/crnn.h). */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crnn.h"
#include "test.h"

/* The bound. The references are float64 results rounded to float32, so this is the
   engine's own float32 error (typically ~1e-6 on these models). */
#define LP_TOL 1e-4

#define MAX_MODELS 16
#define MAX_IMAGES 16
#define PATH_LEN 1024

typedef struct {
    char name[256];  /* file name of the image, for messages */
    char path[PATH_LEN];
    int width;
    int frames, classes;
    float *lp; /* frames × classes */
} ref_image;

typedef struct {
    char name[256];
    char path[PATH_LEN];
    int height, classes;
    int n_images;
    ref_image images[MAX_IMAGES];
} ref_model;

static unsigned char *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *data = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 65536;
            unsigned char *grown = realloc(data, cap);
            if (!grown) break;
            data = grown;
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int failed = ferror(f) || (n == cap && !feof(f));
    fclose(f);
    if (failed) {
        free(data);
        return NULL;
    }
    *size = n;
    return data;
}

static int spit(const char *path, const unsigned char *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

/* The reference files are little-endian whatever the host is. */
static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int load_lp(const char *path, ref_image *r) {
    size_t size = 0;
    unsigned char *data = slurp(path, &size);
    if (!data) {
        fprintf(stderr, "cannot read %s\n", path);
        return 0;
    }
    int ok = 0;
    if (size >= 8) {
        uint32_t frames = le32(data), classes = le32(data + 4);
        if (frames >= 1 && classes >= 1 && frames <= 1u << 16 && classes <= 1u << 16 &&
            size == 8 + 4 * (size_t)frames * classes) {
            r->frames = (int)frames;
            r->classes = (int)classes;
            r->lp = malloc(sizeof(float) * frames * classes);
            if (r->lp) {
                for (size_t i = 0; i < (size_t)frames * classes; i++) {
                    uint32_t bits = le32(data + 8 + 4 * i);
                    memcpy(&r->lp[i], &bits, sizeof bits);
                }
                ok = 1;
            }
        }
    }
    if (!ok) fprintf(stderr, "%s: malformed reference file\n", path);
    free(data);
    return ok;
}

static void join(char *out, const char *dir, const char *name) {
    snprintf(out, PATH_LEN, "%s/%s", dir, name);
}

/* Reads DIR/manifest.txt; returns the number of models, or -1. */
static int read_manifest(const char *dir, ref_model *models) {
    char path[PATH_LEN], line[1024];
    join(path, dir, "manifest.txt");
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s (did torch_parity.py run?)\n", path);
        return -1;
    }
    int n = 0, ok = 1;
    while (ok && fgets(line, sizeof line, f)) {
        char a[256], b[256];
        int x, y;
        if (line[0] == '#' || line[0] == '\n') continue;
        if (sscanf(line, "model %255s %d %d", a, &x, &y) == 3 && n < MAX_MODELS) {
            ref_model *m = &models[n++];
            memset(m, 0, sizeof *m);
            snprintf(m->name, sizeof m->name, "%s", a);
            join(m->path, dir, a);
            m->height = x;
            m->classes = y;
        } else if (sscanf(line, "image %255s %255s %d", a, b, &x) == 3 && n > 0 &&
                   models[n - 1].n_images < MAX_IMAGES) {
            ref_model *m = &models[n - 1];
            ref_image *r = &m->images[m->n_images++];
            char lp_path[PATH_LEN];
            snprintf(r->name, sizeof r->name, "%s", a);
            join(r->path, dir, a);
            join(lp_path, dir, b);
            r->width = x;
            ok = load_lp(lp_path, r);
        } else {
            fprintf(stderr, "%s: cannot parse: %s", path, line);
            ok = 0;
        }
    }
    fclose(f);
    return ok && n > 0 ? n : -1;
}

/* Compares the engine's output for one image with PyTorch's; `how` says which call made it. */
static void compare(const ref_model *m, const ref_image *r, const char *how, const float *lp,
                    int frames, int classes) {
    CHECK_MSG(lp != NULL, "%s %s (%s): no log-probabilities", m->name, r->name, how);
    if (!lp) return;
    CHECK_MSG(frames == r->frames && classes == r->classes,
              "%s %s (%s): engine gives %d frames x %d classes, PyTorch %d x %d", m->name,
              r->name, how, frames, classes, r->frames, r->classes);
    if (frames != r->frames || classes != r->classes) return;
    double worst = 0;
    int wt = 0, wc = 0;
    for (int t = 0; t < frames; t++)
        for (int c = 0; c < classes; c++) {
            double d = fabs((double)lp[t * classes + c] - r->lp[t * classes + c]);
            if (!(d <= worst)) { /* also catches NaN */
                worst = d != d ? INFINITY : d;
                wt = t;
                wc = c;
            }
        }
    CHECK_MSG(worst <= LP_TOL,
              "%s %s (%s): max |diff| %.3g at frame %d class %d (engine %.6f, PyTorch %.6f)",
              m->name, r->name, how, worst, wt, wc, lp[wt * classes + wc],
              r->lp[wt * classes + wc]);
    fprintf(stderr, "  %-14s %-20s %-14s T=%-3d C=%-3d max|diff| %.3g\n", m->name, r->name, how,
            frames, classes, worst);
}

static void check_batch(const ref_model *m, crnn_recognizer *rec, const crnn_image *all,
                        int reversed) {
    int n = m->n_images;
    crnn_image images[MAX_IMAGES];
    crnn_result results[MAX_IMAGES];
    int order[MAX_IMAGES];
    for (int i = 0; i < n; i++) {
        order[i] = reversed ? n - 1 - i : i;
        images[i] = all[order[i]];
    }
    memset(results, 0, sizeof results);
    crnn_params params = crnn_default_params();
    params.rotate = CRNN_ROTATE_NONE; /* PyTorch reads the tall images as given */
    params.reread_below = 0;          /* at their own width */
    crnn_status st = crnn_recognize_batch(rec, images, n, &params, results);
    CHECK_MSG(st == CRNN_OK, "%s: crnn_recognize_batch: %s: %s", m->name, crnn_status_name(st),
              crnn_recognizer_error(rec));
    if (st == CRNN_OK) {
        const char *how = reversed ? "batch reversed" : "batch";
        for (int i = 0; i < n; i++) {
            int frames = 0, classes = 0;
            const float *lp = crnn_recognizer_log_probs(rec, i, &frames, &classes);
            compare(m, &m->images[order[i]], how, lp, frames, classes);
        }
        int frames, classes;
        CHECK_MSG(crnn_recognizer_log_probs(rec, n, &frames, &classes) == NULL,
                  "%s: log_probs(index %d) after a batch of %d", m->name, n, n);
    }
    for (int i = 0; i < n; i++) crnn_result_free(&results[i]);
}

static void check_model(const ref_model *m) {
    crnn_error err;
    memset(&err, 0, sizeof err);
    crnn_model *model = crnn_model_load(m->path, &err);
    CHECK_MSG(model != NULL, "%s: %s", m->name, err.message);
    if (!model) return;
    CHECK_MSG(crnn_model_input_height(model) == m->height, "%s: input height %d, expected %d",
              m->name, crnn_model_input_height(model), m->height);
    CHECK_MSG(crnn_model_num_classes(model) == m->classes, "%s: %d classes, expected %d",
              m->name, crnn_model_num_classes(model), m->classes);
    crnn_recognizer *rec = crnn_recognizer_new(model, &err);
    CHECK_MSG(rec != NULL, "%s: crnn_recognizer_new: %s", m->name, err.message);
    if (!rec) {
        crnn_model_free(model);
        return;
    }
    crnn_params params = crnn_default_params();
    params.rotate = CRNN_ROTATE_NONE; /* PyTorch reads the tall images as given */
    params.reread_below = 0;          /* at their own width */

    /* 1. One image at a time, straight from the file. */
    for (int i = 0; i < m->n_images; i++) {
        const ref_image *r = &m->images[i];
        crnn_result res;
        memset(&res, 0, sizeof res);
        crnn_status st = crnn_recognize_file(rec, r->path, &params, &res);
        CHECK_MSG(st == CRNN_OK, "%s %s: crnn_recognize_file: %s: %s", m->name, r->name,
                  crnn_status_name(st), crnn_recognizer_error(rec));
        if (st == CRNN_OK) {
            int frames = 0, classes = 0;
            const float *lp = crnn_recognizer_log_probs(rec, 0, &frames, &classes);
            compare(m, r, "single", lp, frames, classes);
            CHECK_MSG(crnn_recognizer_log_probs(rec, 1, &frames, &classes) == NULL,
                      "%s: log_probs(index 1) after a single-image call", m->name);
        }
        crnn_result_free(&res);
    }

    /* 2. All images as one batch of mixed widths, in both orders (so that each image is once
       before and once after wider ones). */
    crnn_image images[MAX_IMAGES];
    uint8_t *pixels[MAX_IMAGES] = {0};
    int decoded = 1;
    for (int i = 0; i < m->n_images; i++) {
        const ref_image *r = &m->images[i];
        int w = 0, h = 0;
        crnn_status st = crnn_image_decode_file(r->path, &pixels[i], &w, &h, &err);
        CHECK_MSG(st == CRNN_OK, "%s: crnn_image_decode_file: %s", r->name, err.message);
        if (st != CRNN_OK) {
            decoded = 0;
            continue;
        }
        CHECK_MSG(w == r->width && h == m->height, "%s: decoded as %dx%d, expected %dx%d",
                  r->name, w, h, r->width, m->height);
        images[i] = (crnn_image){.width = w, .height = h, .stride = w, .pixels = pixels[i]};
    }
    if (decoded) {
        check_batch(m, rec, images, 0);
        check_batch(m, rec, images, 1);
    }
    for (int i = 0; i < m->n_images; i++) free(pixels[i]);
    crnn_recognizer_free(rec);
    crnn_model_free(model);
}

static int contains_ci(const char *haystack, const char *needle) {
    size_t n = strlen(needle);
    for (; *haystack; haystack++) {
        size_t i = 0;
        while (i < n && haystack[i] &&
               tolower((unsigned char)haystack[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n) return 1;
    }
    return 0;
}

/* Writes `size` bytes of `data` to DIR/name, loads it, and expects CRNN_ERR_FORMAT with a
   message naming the file (and containing `keyword`, if given). */
static void expect_refused(const char *dir, const char *name, const unsigned char *data,
                           size_t size, const char *keyword) {
    char path[PATH_LEN];
    join(path, dir, name);
    if (!spit(path, data, size)) {
        CHECK_MSG(0, "cannot write %s", path);
        return;
    }
    crnn_error err;
    memset(&err, 0, sizeof err);
    crnn_model *model = crnn_model_load(path, &err);
    CHECK_MSG(model == NULL, "%s (%zu bytes) was accepted", name, size);
    if (model) {
        crnn_model_free(model);
    } else {
        CHECK_MSG(err.code == CRNN_ERR_FORMAT, "%s: status %s, expected CRNN_ERR_FORMAT", name,
                  crnn_status_name(err.code));
        CHECK_MSG(strstr(err.message, name) != NULL, "%s: message does not name the file: '%s'",
                  name, err.message);
        if (keyword) /* "checksum" says the same as "CRC" */
            CHECK_MSG(contains_ci(err.message, keyword) || contains_ci(err.message, "checksum"),
                      "%s: message lacks '%s': '%s'", name, keyword, err.message);
        fprintf(stderr, "  refused %-26s %s\n", name, err.message);
    }
    remove(path);
}

/* CRC-32 as zlib computes it (reflected, polynomial 0xEDB88320), bit by bit: slow and short. */
static uint32_t crc32_of(const unsigned char *p, size_t n) {
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = crc >> 1 ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

static void put_le32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> 8 * i);
}

static void check_damaged(const char *dir, const ref_model *m) {
    size_t size = 0;
    unsigned char *data = slurp(m->path, &size);
    CHECK_MSG(data != NULL && size > 100, "cannot read %s", m->path);
    if (!data || size <= 100) {
        free(data);
        return;
    }
    unsigned char *copy = malloc(size + 1);
    if (!copy) {
        free(data);
        return;
    }

    /* One flipped bit in the middle lands in tensor data, which only the CRC protects. */
    memcpy(copy, data, size);
    copy[size / 2] ^= 0x10;
    expect_refused(dir, "damaged_flip.crnn", copy, size, "crc");

    /* The same from memory: the message names the given name. */
    crnn_error err;
    memset(&err, 0, sizeof err);
    crnn_model *model = crnn_model_load_memory(copy, size, "flipped-in-memory", &err);
    CHECK_MSG(model == NULL, "crnn_model_load_memory accepted a flipped byte");
    if (model) crnn_model_free(model);
    else
        CHECK_MSG(err.code == CRNN_ERR_FORMAT && strstr(err.message, "flipped-in-memory"),
                  "crnn_model_load_memory: %s: '%s'", crnn_status_name(err.code), err.message);

    /* Truncations: empty, inside the magic, inside the header, mid-tensors, the CRC cut off,
       one byte short. */
    const size_t cuts[] = {0, 3, 30, size / 2, size - 4, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "damaged_cut%zu.crnn", cuts[i]);
        expect_refused(dir, name, data, cuts[i], NULL);
    }

    /* Truncated bodies that carry a valid CRC of what is left: the checksum passes, so it is
       the loader's size checks against the bytes left that must refuse them. The cuts run from
       just past the header to one byte short; in the first model (a_paper) they land in the
       charset, the metadata, the layer table, a tensor record's header, tensor data and the
       last tensor. */
    const size_t body = size - 4;
    const size_t body_cuts[] = {41, 200, 300, 716, body / 2, body - 1};
    for (size_t i = 0; i < sizeof body_cuts / sizeof body_cuts[0]; i++) {
        char name[64];
        memcpy(copy, data, body_cuts[i]);
        put_le32(copy + body_cuts[i], crc32_of(copy, body_cuts[i]));
        snprintf(name, sizeof name, "damaged_body%zu.crnn", body_cuts[i]);
        expect_refused(dir, name, copy, body_cuts[i] + 4, "truncated");
    }

    /* A count far beyond the file (n_tensors = 1000, within its limit) with a valid CRC. */
    memcpy(copy, data, size);
    put_le32(copy + 32, 1000);
    put_le32(copy + body, crc32_of(copy, body));
    expect_refused(dir, "damaged_ntensors.crnn", copy, size, NULL);

    /* Sanity: the CRC helper agrees with the file's own, so the cases above test what they say. */
    CHECK_MSG(crc32_of(data, body) == ((uint32_t)data[body] | (uint32_t)data[body + 1] << 8 |
                                       (uint32_t)data[body + 2] << 16 |
                                       (uint32_t)data[body + 3] << 24),
              "test's CRC-32 disagrees with the model file's");

    /* A byte after the CRC. */
    memcpy(copy, data, size);
    copy[size] = 0;
    expect_refused(dir, "damaged_trailing.crnn", copy, size + 1, NULL);

    free(copy);
    free(data);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR  (DIR from tests/torch_parity.py)\n", argv[0]);
        return 2;
    }
    static ref_model models[MAX_MODELS];
    int n = read_manifest(argv[1], models);
    if (n < 0) return 1;
    for (int i = 0; i < n; i++) {
        int before = test_failures;
        check_model(&models[i]);
        fprintf(stderr, "%-40s %s\n", models[i].name, test_failures == before ? "ok" : "FAILED");
    }
    int before = test_failures;
    check_damaged(argv[1], &models[0]);
    fprintf(stderr, "%-40s %s\n", "damaged model files", test_failures == before ? "ok" : "FAILED");
    for (int i = 0; i < n; i++)
        for (int j = 0; j < models[i].n_images; j++) free(models[i].images[j].lp);
    TEST_EXIT();
}

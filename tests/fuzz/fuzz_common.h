/* fuzz_common.h — shared by the libFuzzer targets in this folder: a tiny random model built
   in-process (so the targets need no files), a private scratch folder, and a grey test image.

   Every target is also linked with replay.c into an ordinary program that runs the seed corpus
   and the regression inputs through the same entry point; tests/meson.build runs those in the
   normal suite, so a crash that fuzzing once found stays fixed in CI. */
#ifndef CRNN_FUZZ_COMMON_H
#define CRNN_FUZZ_COMMON_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crnn.h"
#include "layers/layer.h"
#include "model/model.h"
#include "train/train.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small enough that a forward pass costs microseconds; every layer kind that matters for
   decoding (conv with batch-norm, pooling with padding, bidirectional LSTM, linear) is there. */
#define FUZZ_ARCH "c4 m2 c4 m2x2s2x1p0x1 c4k2p0 bilstm8"

/* A model with small random weights, batch-norm folded (ready for a recognizer) unless
   for_training. Aborts on failure: the harness itself is broken then, not the input. */
static inline crnn_model *fuzz_tiny_model(const char *charset_name, int for_training) {
    static uint32_t charset[MODEL_MAX_CLASSES];
    crnn_error err;
    int nc = charset_build(charset_name, charset, MODEL_MAX_CLASSES - 1, &err);
    model_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.input_height = 16;
    spec.input_channels = 1;
    spec.norm_mean = 0.5f;
    spec.norm_std = 0.5f;
    spec.n_classes = nc;
    spec.charset = charset;
    spec.meta = "fuzz";
    crnn_model *m = NULL;
    if (nc > 0 && arch_parse(FUZZ_ARCH, &spec, &err) == CRNN_OK) m = model_build(&spec, "fuzz", &err);
    if (!m) {
        fprintf(stderr, "fuzz harness: cannot build the tiny model: %s\n", err.message);
        abort();
    }
    rng_t r;
    rng_seed(&r, 12345, 1);
    for (size_t k = 0; k < m->n_params; k++) m->params[k] = rng_range(&r, -0.5f, 0.5f);
    for (int i = 0; i < m->n_layers; i++) {
        model_layer *l = &m->layers[i];
        float *var = model_layer_tensor(m, m->params, i, "bn_var");
        if (var)
            for (int c = 0; c < l->out_c; c++) var[c] = 1.0f;
        if (i == m->n_layers - 1) /* the classifier: blank less likely, so text */
            model_layer_tensor(m, m->params, i, "bias")[0] = -1.0f;
    }
    if (!for_training) model_fold_batchnorm(m);
    return m;
}

static char fuzz_scratch[256];

/* Removes path and, if it is a folder, everything in it (links are not followed). */
static void fuzz_remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char sub[512];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            fuzz_remove_tree(sub);
        }
        if (d) closedir(d);
    }
    remove(path);
}

static void fuzz_remove_scratch(void) {
    if (fuzz_scratch[0]) fuzz_remove_tree(fuzz_scratch);
}

/* A private folder under /dev/shm (or /tmp), removed with its contents at exit. */
static inline const char *fuzz_scratch_dir(void) {
    char *dir = fuzz_scratch;
    if (dir[0]) return dir;
    atexit(fuzz_remove_scratch);
    snprintf(dir, sizeof fuzz_scratch, "/dev/shm/crnn-fuzz.XXXXXX");
    if (!mkdtemp(dir)) {
        snprintf(dir, sizeof fuzz_scratch, "/tmp/crnn-fuzz.XXXXXX");
        if (!mkdtemp(dir)) {
            perror("fuzz harness: mkdtemp");
            abort();
        }
    }
    return dir;
}

/* Writes data to path, or aborts (a harness failure, not a finding). */
static inline void fuzz_write(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

#endif

/* make_test_model.c — writes a model file with random weights, for tests and speed benchmarks
   that need a model before a trained one exists.

     make_test_model OUT.crnn [--arch ARCH] [--charset NAME] [--height H] [--seed N]

   --arch takes the trainer's architecture strings and presets ("small" is the default
   model's architecture, "paper" the paper's); the default is a tiny network that loads and
   runs in milliseconds. Weights are drawn like the trainer's initialisation, and the blank
   class gets a negative bias so that a random network still emits some characters — tests
   then see non-empty, input-dependent text. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "train/train.h"
#include "util/util.h"

#define TINY_ARCH "c8 m2 c16 m2 c16 m2x2s2x1p0x1 c16 m2x2s2x1p0x1 c16k2p0 bilstm16"

static const model_tensor *tensor_at(const crnn_model *m, size_t offset) {
    for (int k = 0; k < m->n_tensors; k++)
        if (m->tensors[k].offset == offset) return &m->tensors[k];
    return NULL;
}

static void init_random(crnn_model *m, uint64_t seed) {
    rng_t r;
    rng_seed(&r, seed, 7);
    float *P = m->params;
    for (int i = 0; i < m->n_layers; i++) {
        model_layer *l = &m->layers[i];
        if (l->kind == LAYER_CONV || l->kind == LAYER_LINEAR) {
            const model_tensor *t = tensor_at(m, l->weight);
            size_t fan_in = t->count / (size_t)t->dims[0];
            float bound = sqrtf((l->kind == LAYER_LINEAR ? 3.0f : 6.0f) / (float)fan_in);
            for (size_t k = 0; k < t->count; k++) P[l->weight + k] = rng_range(&r, -bound, bound);
            for (int k = 0; k < l->out_c; k++) P[l->bias + k] = 0;
            if (l->kind == LAYER_LINEAR) P[l->bias] = -2.0f; /* blank: see the header */
            if (l->bn_weight != SIZE_MAX)
                for (int k = 0; k < l->out_c; k++) {
                    P[l->bn_weight + k] = 1;
                    P[l->bn_bias + k] = 0;
                    P[l->bn_mean + k] = 0;
                    P[l->bn_var + k] = 1;
                }
        } else if (l->kind == LAYER_LSTM || l->kind == LAYER_GRU) {
            int H = RNN_HIDDEN(l), G = (l->kind == LAYER_LSTM ? 4 : 3) * H;
            float bound = 1.0f / sqrtf((float)H);
            for (int d = 0; d < 1 + RNN_BIDIR(l); d++) {
                size_t counts[4] = {(size_t)G * l->in_c, (size_t)G * H, (size_t)G, (size_t)G};
                for (int k = 0; k < 4; k++)
                    for (size_t j = 0; j < counts[k]; j++)
                        P[l->rnn[d][k] + j] = rng_range(&r, -bound, bound);
            }
        }
    }
}

int main(int argc, char **argv) {
    const char *out = NULL, *arch = TINY_ARCH, *charset_name = "ascii";
    int height = 32;
    unsigned long long seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--arch") && has_value) arch = argv[++i];
        else if (!strcmp(a, "--charset") && has_value) charset_name = argv[++i];
        else if (!strcmp(a, "--height") && has_value) height = atoi(argv[++i]);
        else if (!strcmp(a, "--seed") && has_value) seed = strtoull(argv[++i], NULL, 10);
        else if (a[0] != '-' && !out) out = a;
        else {
            fprintf(stderr, "usage: make_test_model OUT.crnn [--arch ARCH] [--charset NAME] "
                            "[--height H] [--seed N]\n");
            return 2;
        }
    }
    if (!out) {
        fprintf(stderr, "make_test_model: no output file given\n");
        return 2;
    }
    crnn_error err;
    static uint32_t charset[MODEL_MAX_CLASSES];
    int nc = charset_build(charset_name, charset, MODEL_MAX_CLASSES - 1, &err);
    if (nc < 0) {
        fprintf(stderr, "make_test_model: %s\n", err.message);
        return 1;
    }
    model_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.input_height = height;
    spec.input_channels = 1;
    spec.norm_mean = 0.5f;
    spec.norm_std = 0.5f;
    spec.n_classes = nc;
    spec.charset = charset;
    char meta[1024];
    snprintf(meta, sizeof meta, "arch=%s charset=%s random-weights seed=%llu",
             arch_expand(arch), charset_name, seed);
    spec.meta = meta;
    if (arch_parse(arch, &spec, &err) != CRNN_OK) {
        fprintf(stderr, "make_test_model: %s\n", err.message);
        return 1;
    }
    crnn_model *m = model_build(&spec, "test model", &err);
    if (!m) {
        fprintf(stderr, "make_test_model: %s\n", err.message);
        return 1;
    }
    init_random(m, seed);
    crnn_status s = model_save(m, out, 0, &err);
    crnn_model_free(m);
    if (s != CRNN_OK) {
        fprintf(stderr, "make_test_model: %s\n", err.message);
        return 1;
    }
    return 0;
}

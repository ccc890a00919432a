/* make_test_model.c — writes a model file with random weights, for tests and speed benchmarks
   that need a model before a trained one exists.

     make_test_model OUT.crnn [--arch ARCH] [--charset NAME] [--height H] [--channels 1|3]
                     [--seed N]

   --arch takes the trainer's architecture strings and presets ("fast" is the default
   model's architecture, "paper" the paper's); the default is a tiny network that loads and
   runs in milliseconds. Weights are drawn like the trainer's initialisation, and the blank
   class gets a negative bias so that a random network still emits some characters — tests
   then see non-empty, input-dependent text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "train/train.h"
#include "util/util.h"

#define TINY_ARCH "c8 m2 c16 m2 c16 m2x2s2x1p0x1 c16 m2x2s2x1p0x1 c16k2p0 bilstm16"

int main(int argc, char **argv) {
    const char *out = NULL, *arch = TINY_ARCH, *charset_name = "ascii";
    int height = 32, channels = 1;
    unsigned long long seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--arch") && has_value) arch = argv[++i];
        else if (!strcmp(a, "--charset") && has_value) charset_name = argv[++i];
        else if (!strcmp(a, "--height") && has_value) height = atoi(argv[++i]);
        else if (!strcmp(a, "--channels") && has_value) channels = atoi(argv[++i]);
        else if (!strcmp(a, "--seed") && has_value) seed = strtoull(argv[++i], NULL, 10);
        else if (a[0] != '-' && !out) out = a;
        else {
            fprintf(stderr, "usage: make_test_model OUT.crnn [--arch ARCH] [--charset NAME] "
                            "[--height H] [--channels 1|3] [--seed N]\n");
            return 2;
        }
    }
    if (!out) {
        fprintf(stderr, "make_test_model: no output file given\n");
        return 2;
    }
    crnn_error err;
    crnn_model *m = model_from_arch(arch, charset_name, height, channels, seed, &err);
    if (!m) {
        fprintf(stderr, "make_test_model: %s\n", err.message);
        return 1;
    }
    /* The blank's bias: see the header. */
    model_layer_tensor(m, m->params, m->n_layers - 1, "bias")[0] = -2.0f;
    crnn_status s = model_save(m, out, 0, &err);
    crnn_model_free(m);
    if (s != CRNN_OK) {
        fprintf(stderr, "make_test_model: %s\n", err.message);
        return 1;
    }
    return 0;
}

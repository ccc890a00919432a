/* arch.c — architecture strings: a compact, human-writable description of the layer stack. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layer.h"
#include "layers/linear.h"
#include "train/train.h"

/* The paper's 7-conv / 2-BiLSTM network (Shi, Bai, Yao 2015, Table 4), with its 1×2 pools
   written as our 2×2 kernels with stride 2×1 and padding 0×1, as common implementations do. */
#define ARCH_PAPER "c64 m2 c128 m2 c256 c256 m2x2s2x1p0x1 c512 c512 m2x2s2x1p0x1 c512k2p0 " \
                   "bilstm256 bilstm256"
/* The same shape scaled to what trains well on two cores (the first default model). */
#define ARCH_SMALL "c32 m2 c64 m2 c96 c96 m2x2s2x1p0x1 c160 c160 m2x2s2x1p0x1 c192k2p0 " \
                   "bilstm128 bilstm128"

/* The default model's: "small" thinned where the time goes (the 16×W/2 and
   4×W/4 stages, the LSTMs) so that two cores recognise over 500 crops/s; 0.87 M params. */
#define ARCH_FAST "c32 m2 c48 m2 c80 c80 m2x2s2x1p0x1 c128 c128 m2x2s2x1p0x1 c160k2p0 " \
                  "bilstm96 bilstm96"

const char *arch_expand(const char *arch) {
    if (!strcmp(arch, "paper")) return ARCH_PAPER;
    if (!strcmp(arch, "small")) return ARCH_SMALL;
    if (!strcmp(arch, "fast")) return ARCH_FAST;
    return arch;
}

/* "expected A, B or C": every token the layer table reads. */
static void expected_tokens(char *out, size_t n) {
    int n_kinds, listed = 0, total = 0;
    const layer_kind *const *kinds = layer_kinds(&n_kinds);
    for (int k = 0; k < n_kinds; k++) total += kinds[k]->parse != NULL;
    size_t used = (size_t)snprintf(out, n, "expected ");
    for (int k = 0; k < n_kinds && used < n; k++) {
        if (!kinds[k]->parse) continue;
        listed++;
        const char *sep = listed == 1 ? "" : listed == total ? " or " : ", ";
        used += (size_t)snprintf(out + used, n - used, "%s%s", sep, kinds[k]->syntax);
    }
}

crnn_status arch_parse(const char *arch_in, model_spec *spec, crnn_error *err) {
    const char *arch = arch_expand(arch_in);
    char *copy = strdup(arch);
    if (!copy) return set_error(err, CRNN_ERR_NOMEM, "out of memory");
    int n = 0, n_kinds;
    const layer_kind *const *kinds = layer_kinds(&n_kinds);
    crnn_status st = CRNN_OK;
    for (char *save = NULL, *tok = strtok_r(copy, " ,\t\n", &save); tok;
         tok = strtok_r(NULL, " ,\t\n", &save)) {
        if (n >= MODEL_MAX_LAYERS - 1) {
            st = set_error(err, CRNN_ERR_ARG, "architecture: more than %d layers",
                           MODEL_MAX_LAYERS - 1);
            break;
        }
        int *p = spec->layers[n].p, read = 0;
        for (int k = 0; k < n_kinds && !read; k++) {
            if (!kinds[k]->parse) continue;
            memset(p, 0, sizeof(int) * 8);
            read = kinds[k]->parse(tok, p);
            if (read) spec->layers[n].kind = kinds[k]->id;
        }
        if (read != 1) {
            char expected[400];
            expected_tokens(expected, sizeof expected);
            st = set_error(err, CRNN_ERR_ARG, "architecture: cannot read layer '%s' (%s)", tok,
                           expected);
            break;
        }
        n++;
    }
    free(copy);
    if (st != CRNN_OK) return st;
    if (n == 0) return set_error(err, CRNN_ERR_ARG, "architecture '%s' has no layers", arch_in);
    spec->layers[n].kind = LAYER_LINEAR;
    memset(spec->layers[n].p, 0, sizeof(int) * 8);
    spec->layers[n].p[0] = spec->n_classes;
    spec->n_layers = n + 1;
    return CRNN_OK;
}

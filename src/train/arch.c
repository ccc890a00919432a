/* arch.c — architecture strings: a compact, human-writable description of the layer stack. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "train/train.h"

/* The paper's 7-conv / 2-BiLSTM network (Shi, Bai, Yao 2015, Table 4), with its 1×2 pools
   written as our 2×2 kernels with stride 2×1 and padding 0×1, as common implementations do. */
#define ARCH_PAPER "c64 m2 c128 m2 c256 c256 m2x2s2x1p0x1 c512 c512 m2x2s2x1p0x1 c512k2p0 " \
                   "bilstm256 bilstm256"
/* The same shape scaled to what trains well on two cores (the first default model). */
#define ARCH_SMALL "c32 m2 c64 m2 c96 c96 m2x2s2x1p0x1 c160 c160 m2x2s2x1p0x1 c192k2p0 " \
                   "bilstm128 bilstm128"

/* The default model since session 2: "small" thinned where the time goes (the 16×W/2 and
   4×W/4 stages, the LSTMs) so that two cores recognise over 500 crops/s; 0.87 M params. */
#define ARCH_FAST "c32 m2 c48 m2 c80 c80 m2x2s2x1p0x1 c128 c128 m2x2s2x1p0x1 c160k2p0 " \
                  "bilstm96 bilstm96"

const char *arch_expand(const char *arch) {
    if (!strcmp(arch, "paper")) return ARCH_PAPER;
    if (!strcmp(arch, "small")) return ARCH_SMALL;
    if (!strcmp(arch, "fast")) return ARCH_FAST;
    return arch;
}

/* Reads "<a>[x<b>]" after a one-letter key; b defaults to a. */
static int read_pair(const char **p, int *a, int *b) {
    if (!isdigit((unsigned char)**p)) return 0;
    *a = (int)strtol(*p, (char **)p, 10);
    *b = *a;
    if (**p == 'x' && isdigit((unsigned char)(*p)[1])) {
        (*p)++;
        *b = (int)strtol(*p, (char **)p, 10);
    }
    return 1;
}

crnn_status arch_parse(const char *arch_in, model_spec *spec, crnn_error *err) {
    const char *arch = arch_expand(arch_in);
    char *copy = strdup(arch);
    if (!copy) return set_error(err, CRNN_ERR_NOMEM, "out of memory");
    int n = 0;
    crnn_status st = CRNN_OK;
    for (char *save = NULL, *tok = strtok_r(copy, " ,\t\n", &save); tok;
         tok = strtok_r(NULL, " ,\t\n", &save)) {
        if (n >= MODEL_MAX_LAYERS - 1) {
            st = set_error(err, CRNN_ERR_ARG, "architecture: more than %d layers",
                           MODEL_MAX_LAYERS - 1);
            break;
        }
        int *p = spec->layers[n].p;
        memset(p, 0, sizeof(int) * 8);
        const char *s = tok;
        int ok = 1;
        if (s[0] == 'c' && isdigit((unsigned char)s[1])) {
            s++;
            spec->layers[n].kind = LAYER_CONV;
            p[0] = (int)strtol(s, (char **)&s, 10);
            p[1] = p[2] = 3;
            p[3] = p[4] = 1;
            p[5] = p[6] = 1;
            p[7] = CONV_FLAG_BN | CONV_FLAG_RELU;
            int pad_given = 0;
            while (*s && ok) {
                char key = *s++;
                if (key == 'k') ok = read_pair(&s, &p[1], &p[2]);
                else if (key == 's') ok = read_pair(&s, &p[3], &p[4]);
                else if (key == 'p') { ok = read_pair(&s, &p[5], &p[6]); pad_given = 1; }
                else if (key == 'n') p[7] &= ~CONV_FLAG_BN;
                else ok = 0;
            }
            if (!pad_given) { p[5] = p[1] / 2; p[6] = p[2] / 2; }
        } else if (s[0] == 'm' && isdigit((unsigned char)s[1])) {
            s++;
            spec->layers[n].kind = LAYER_MAXPOOL;
            ok = read_pair(&s, &p[0], &p[1]);
            p[2] = p[0];
            p[3] = p[1];
            while (*s && ok) {
                char key = *s++;
                if (key == 's') ok = read_pair(&s, &p[2], &p[3]);
                else if (key == 'p') ok = read_pair(&s, &p[4], &p[5]);
                else ok = 0;
            }
        } else {
            int bidir = 0, kind = 0;
            if (!strncmp(s, "bi", 2)) { bidir = 1; s += 2; }
            if (!strncmp(s, "lstm", 4)) { kind = LAYER_LSTM; s += 4; }
            else if (!strncmp(s, "gru", 3)) { kind = LAYER_GRU; s += 3; }
            if (!kind || !isdigit((unsigned char)*s)) ok = 0;
            else {
                spec->layers[n].kind = kind;
                p[0] = (int)strtol(s, (char **)&s, 10);
                p[1] = bidir;
                if (*s) ok = 0;
            }
        }
        if (!ok) {
            st = set_error(err, CRNN_ERR_ARG, "architecture: cannot read layer '%s' (expected "
                           "c<out>[k..][s..][p..][n], m<k>[s..][p..], [bi]lstm<H> or [bi]gru<H>)",
                           tok);
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

/* convrnn.c — the convrnn entry of the layer table (the layer itself: nn/convrnn.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/convrnn.h"

static int dirs(const model_layer *l) { return CONVRNN_FLAGS(l) & CONVRNN_FLAG_BIDIR ? 2 : 1; }
static int is_lstm(const model_layer *l) { return (CONVRNN_FLAGS(l) & CONVRNN_FLAG_LSTM) != 0; }
static int gate_rows(const model_layer *l) { return (is_lstm(l) ? 4 : 3) * CONVRNN_HIDDEN(l); }
static int frame_features(const model_layer *l) { return l->in_c * CONVRNN_KH(l); }

static convrnn_shape shape_of(const model_layer *l) {
    convrnn_shape s = {l->in_c, CONVRNN_HIDDEN(l), is_lstm(l), dirs(l) == 2,
                       (CONVRNN_FLAGS(l) & CONVRNN_FLAG_MEAN) != 0,
                       {CONVRNN_KH(l), CONVRNN_KW(l), CONVRNN_SH(l), CONVRNN_SW(l), CONVRNN_PH(l),
                        CONVRNN_PW(l)}};
    return s;
}

/* [bi]cgru<H> or [bi]clstm<H>, then the convolution's k, s and p keys (3×3, stride 1, "same"
   padding unless said), and a for the mean of the outputs instead of the last state. */
static int parse(const char *s, int p[8]) {
    int flags = 0;
    if (strncmp(s, "bi", 2) == 0) {
        flags |= CONVRNN_FLAG_BIDIR;
        s += 2;
    }
    if (strncmp(s, "clstm", 5) == 0) {
        flags |= CONVRNN_FLAG_LSTM;
        s += 5;
    } else if (strncmp(s, "cgru", 4) == 0) {
        s += 4;
    } else {
        return 0;
    }
    if (*s < '0' || *s > '9') return 0;
    p[0] = (int)strtol(s, (char **)&s, 10);
    p[1] = p[2] = 3;
    p[3] = p[4] = 1;
    int pad_given = 0, ok = 1;
    while (*s && ok) {
        char key = *s++;
        if (key == 'k') ok = token_pair(&s, &p[1], &p[2]);
        else if (key == 's') ok = token_pair(&s, &p[3], &p[4]);
        else if (key == 'p') { ok = token_pair(&s, &p[5], &p[6]); pad_given = 1; }
        else if (key == 'a') flags |= CONVRNN_FLAG_MEAN;
        else ok = 0;
    }
    if (!pad_given) {
        p[5] = p[1] / 2;
        p[6] = p[2] / 2;
    }
    p[7] = flags;
    return ok ? 1 : -1;
}

static const char *shape(model_layer *l, char *why, size_t n) {
    if (CONVRNN_HIDDEN(l) < 1 || CONVRNN_HIDDEN(l) > MODEL_MAX_HIDDEN || CONVRNN_KH(l) < 1 ||
        CONVRNN_KH(l) > MODEL_MAX_KERNEL || CONVRNN_KW(l) < 1 || CONVRNN_KW(l) > MODEL_MAX_KERNEL ||
        CONVRNN_SH(l) < 1 || CONVRNN_SH(l) > 8 || CONVRNN_SW(l) < 1 || CONVRNN_SW(l) > 8 ||
        CONVRNN_PH(l) < 0 || CONVRNN_PH(l) >= CONVRNN_KH(l) || CONVRNN_PW(l) < 0 ||
        CONVRNN_PW(l) >= CONVRNN_KW(l) || (CONVRNN_FLAGS(l) & ~7)) {
        snprintf(why, n, "bad hyper-parameters hidden=%d k=%dx%d stride=%dx%d pad=%dx%d "
                 "flags=%d", CONVRNN_HIDDEN(l), CONVRNN_KH(l), CONVRNN_KW(l), CONVRNN_SH(l),
                 CONVRNN_SW(l), CONVRNN_PH(l), CONVRNN_PW(l), CONVRNN_FLAGS(l));
        return why;
    }
    l->out_c = CONVRNN_HIDDEN(l) * dirs(l);
    l->out_h = window_out_size(l->in_h, CONVRNN_KH(l), CONVRNN_SH(l), CONVRNN_PH(l));
    return NULL;
}

static int out_width(const model_layer *l, int w) {
    return window_out_size(w, CONVRNN_KW(l), CONVRNN_SW(l), CONVRNN_PW(l));
}

static void tensors(const model_layer *l, tensor_list *tl) {
    int G = gate_rows(l), H = CONVRNN_HIDDEN(l);
    for (int d = 0; d < dirs(l); d++) {
        char name[16];
        const char *dn = d ? "bwd" : "fwd";
        snprintf(name, sizeof name, "%s.w_ih", dn);
        tensor_declare(tl, name, 2, G, frame_features(l), 0, 0);
        snprintf(name, sizeof name, "%s.w_hh", dn);
        tensor_declare(tl, name, 2, G, H, 0, 0);
        snprintf(name, sizeof name, "%s.b_ih", dn);
        tensor_declare(tl, name, 1, G, 0, 0, 0);
        snprintf(name, sizeof name, "%s.b_hh", dn);
        tensor_declare(tl, name, 1, G, 0, 0, 0);
    }
}

/* As the recurrent layers: PyTorch's uniform ±1/√H, an LSTM's forget-gate bias 1. */
static void init(const model_layer *l, float *const *t, rng_t *r) {
    int H = CONVRNN_HIDDEN(l), G = gate_rows(l);
    float bound = 1.0f / sqrtf((float)H);
    for (int d = 0; d < dirs(l); d++) {
        size_t counts[4] = {(size_t)G * frame_features(l), (size_t)G * H, (size_t)G, (size_t)G};
        for (int k = 0; k < 4; k++)
            for (size_t j = 0; j < counts[k]; j++)
                t[CONVRNN_TENSOR(d, k)][j] = rng_range(r, -bound, bound);
        if (is_lstm(l))
            for (int j = 0; j < H; j++) t[CONVRNN_TENSOR(d, CONVRNN_B_IH)][H + j] = 1.0f;
    }
}

/* Per output position: kw input projections and kw − 1 recurrent products per direction. */
static double macs(const model_layer *l) {
    double per_window = (double)gate_rows(l) * ((double)frame_features(l) * CONVRNN_KW(l) +
                                                (double)CONVRNN_HIDDEN(l) * (CONVRNN_KW(l) - 1));
    return (double)l->out_h * dirs(l) * per_window;
}

static void describe(const model_layer *l, char *out, size_t n) {
    (void)l;
    snprintf(out, n, "convrnn");
}

static layer_need need(const model_layer *l, const act_shape *in, const act_shape *out,
                       int training) {
    (void)in;
    convrnn_shape s = shape_of(l);
    layer_need n;
    convrnn_sizes(&s, out->g.total, training, &n.saved, &n.scratch, &n.back_scratch);
    return n;
}

static void forward(const layer_call *c) {
    convrnn_shape s = shape_of(c->l);
    const float *w[8];
    for (int k = 0; k < c->l->n_tensors; k++) w[k] = layer_param(c, k);
    convrnn_forward(c->y, c->saved, c->scratch, c->x, w, &s, &c->in->g, &c->out->g,
                    c->training ? NULL : c->team);
}

static void backward(const layer_call *c) {
    convrnn_shape s = shape_of(c->l);
    const float *w[8];
    float *dw[8];
    for (int k = 0; k < c->l->n_tensors; k++) {
        w[k] = layer_param(c, k);
        dw[k] = layer_grad(c, k);
    }
    convrnn_backward(c->dx, dw, c->scratch, c->dy, c->saved, w, &s, &c->in->g, &c->out->g);
}

const layer_kind convrnn_kind = {
    .id = LAYER_CONVRNN,
    .name = "convrnn",
    .on_sequence = 0,
    .syntax = "[bi]cgru<H>|[bi]clstm<H>[k..][s..][p..][a]",
    .parse = parse,
    .shape = shape,
    .out_width = out_width,
    .tensors = tensors,
    .init = init,
    .macs = macs,
    .describe = describe,
    .need = need,
    .forward = forward,
    .backward = backward,
};

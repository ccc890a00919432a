/* recurrent.c — the lstm and gru entries of the layer table: one or two directions of
   nn/lstm.c or nn/gru.c over a sequence, writing [forward ; backward] side by side. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/recurrent.h"

static int is_lstm(const model_layer *l) { return l->kind == LAYER_LSTM; }
static int dirs(const model_layer *l) { return 1 + RNN_BIDIR(l); }
/* Rows of the gate matrices: i, f, g, o (LSTM) or r, z, n (GRU), H each. */
static int gate_rows(const model_layer *l) { return (is_lstm(l) ? 4 : 3) * RNN_HIDDEN(l); }

/* [bi]lstm<H> or [bi]gru<H> */
static int parse_named(const char *s, const char *name, int p[8]) {
    int bidir = strncmp(s, "bi", 2) == 0;
    if (bidir) s += 2;
    size_t n = strlen(name);
    if (strncmp(s, name, n) != 0) return 0;
    s += n;
    if (*s < '0' || *s > '9') return 0;
    p[0] = (int)strtol(s, (char **)&s, 10);
    p[1] = bidir;
    return *s ? -1 : 1;
}
static int parse_lstm(const char *s, int p[8]) { return parse_named(s, "lstm", p); }
static int parse_gru(const char *s, int p[8]) { return parse_named(s, "gru", p); }

static const char *shape(model_layer *l, char *why, size_t n) {
    int H = RNN_HIDDEN(l);
    if (H < 1 || H > MODEL_MAX_HIDDEN || (RNN_BIDIR(l) != 0 && RNN_BIDIR(l) != 1) ||
        !params_zero_from(l->p, 2)) {
        snprintf(why, n, "bad hyper-parameters hidden=%d bidirectional=%d", H, RNN_BIDIR(l));
        return why;
    }
    l->out_c = H * dirs(l);
    return NULL;
}

static void tensors(const model_layer *l, tensor_list *tl) {
    int G = gate_rows(l), H = RNN_HIDDEN(l);
    for (int d = 0; d < dirs(l); d++) {
        char name[16];
        const char *dn = d ? "bwd" : "fwd";
        snprintf(name, sizeof name, "%s.w_ih", dn);
        tensor_declare(tl, name, 2, G, l->in_c, 0, 0);
        snprintf(name, sizeof name, "%s.w_hh", dn);
        tensor_declare(tl, name, 2, G, H, 0, 0);
        snprintf(name, sizeof name, "%s.b_ih", dn);
        tensor_declare(tl, name, 1, G, 0, 0, 0);
        snprintf(name, sizeof name, "%s.b_hh", dn);
        tensor_declare(tl, name, 1, G, 0, 0, 0);
    }
}

/* PyTorch's uniform ±1/√H; an LSTM's forget-gate bias of 1 lets gradients through time from
   the start. */
static void init(const model_layer *l, float *const *t, rng_t *r) {
    int H = RNN_HIDDEN(l), G = gate_rows(l);
    float bound = 1.0f / sqrtf((float)H);
    for (int d = 0; d < dirs(l); d++) {
        size_t counts[4] = {(size_t)G * l->in_c, (size_t)G * H, (size_t)G, (size_t)G};
        for (int k = 0; k < 4; k++)
            for (size_t j = 0; j < counts[k]; j++)
                t[RNN_TENSOR(d, k)][j] = rng_range(r, -bound, bound);
        if (is_lstm(l))
            for (int j = 0; j < H; j++) t[RNN_TENSOR(d, RNN_B_IH)][H + j] = 1.0f;
    }
}

static double macs(const model_layer *l) {
    return (double)dirs(l) * gate_rows(l) * (l->in_c + RNN_HIDDEN(l));
}

static void describe(const model_layer *l, char *out, size_t n) {
    snprintf(out, n, "%s%s(%d)", RNN_BIDIR(l) ? "bi" : "", is_lstm(l) ? "lstm" : "gru",
             RNN_HIDDEN(l));
}

/* Per direction: state (B, 2H) and step (B, 4H) scratch; the gates (B, T, 4H) are saved for
   backward in training, with an LSTM's cells (B, T, H), and scratch at inference. Backward
   scratch as nn.h asks of lstm_backward and gru_backward, directions one after the other. */
static size_t state_floats(const model_layer *l, int B) { return (size_t)B * 2 * RNN_HIDDEN(l); }
static size_t step_floats(const model_layer *l, int B) { return (size_t)B * 4 * RNN_HIDDEN(l); }
static size_t gates_floats(const model_layer *l, size_t BT) { return BT * 4 * RNN_HIDDEN(l); }
static size_t cells_floats(const model_layer *l, size_t BT) {
    return is_lstm(l) ? BT * RNN_HIDDEN(l) : 0;
}

static layer_need need(const model_layer *l, const act_shape *in, const act_shape *out,
                       int training) {
    (void)out;
    const int B = in->g.n, H = RNN_HIDDEN(l);
    const size_t BT = in->g.total, per_dir = gates_floats(l, BT) + cells_floats(l, BT);
    layer_need n = {0, 0, 0};
    n.scratch = 2 * (state_floats(l, B) + step_floats(l, B));
    if (training) n.saved = (size_t)dirs(l) * per_dir;
    else n.scratch += (size_t)dirs(l) * gates_floats(l, BT);
    if (is_lstm(l)) n.back_scratch = BT * 4 * H + BT * H + (size_t)B * 6 * H;
    else n.back_scratch = 2 * BT * 3 * H + BT * H + (size_t)B * 4 * H;
    return n;
}

/* Direction d of the layer: one part of its team job. Each direction has its own state and
   step scratch, so that the two can run side by side on two threads (inference with
   network_set_threads). */
static void direction_forward(void *arg, int d, int nd) {
    (void)nd;
    const layer_call *c = arg;
    const model_layer *l = c->l;
    const int B = c->in->g.n, T = c->in->T, H = RNN_HIDDEN(l);
    const size_t BT = c->in->g.total, state_n = state_floats(l, B), step_n = step_floats(l, B);
    const size_t per_dir = gates_floats(l, BT) + cells_floats(l, BT);
    float *gates_base = c->training ? c->saved : c->scratch + 2 * (state_n + step_n);
    const size_t gates_stride = c->training ? per_dir : gates_floats(l, BT);
    const float *w_ih = layer_param(c, RNN_TENSOR(d, RNN_W_IH));
    const float *w_hh = layer_param(c, RNN_TENSOR(d, RNN_W_HH));
    const float *b_ih = layer_param(c, RNN_TENSOR(d, RNN_B_IH));
    const float *b_hh = layer_param(c, RNN_TENSOR(d, RNN_B_HH));
    float *gates = gates_base + d * gates_stride;
    float *state = c->scratch + d * state_n, *step = c->scratch + 2 * state_n + d * step_n;
    if (is_lstm(l))
        lstm_forward(c->y, l->out_c, d * H, gates,
                     c->training ? gates + gates_floats(l, BT) : NULL, state, step, c->x,
                     w_ih, w_hh, b_ih, b_hh, c->in->g.w, B, T, l->in_c, H, d);
    else
        gru_forward(c->y, l->out_c, d * H, gates, state, step, c->x, w_ih, w_hh, b_ih, b_hh,
                    c->in->g.w, B, T, l->in_c, H, d);
}

static void forward(const layer_call *c) {
    layer_call job = *c; /* the parts' argument (team_fn takes it writable) */
    team_run(c->training ? NULL : c->team, dirs(c->l), direction_forward, &job);
}

static void backward(const layer_call *c) {
    const model_layer *l = c->l;
    const int B = c->in->g.n, T = c->in->T, H = RNN_HIDDEN(l);
    const size_t BT = c->in->g.total, per_dir = gates_floats(l, BT) + cells_floats(l, BT);
    for (int d = 0; d < dirs(l); d++) {
        const float *gates = c->saved + d * per_dir;
        float *dw_ih = layer_grad(c, RNN_TENSOR(d, RNN_W_IH));
        float *dw_hh = layer_grad(c, RNN_TENSOR(d, RNN_W_HH));
        float *db_ih = layer_grad(c, RNN_TENSOR(d, RNN_B_IH));
        float *db_hh = layer_grad(c, RNN_TENSOR(d, RNN_B_HH));
        const float *w_ih = layer_param(c, RNN_TENSOR(d, RNN_W_IH));
        const float *w_hh = layer_param(c, RNN_TENSOR(d, RNN_W_HH));
        if (is_lstm(l)) {
            float *dgates = c->scratch, *hprev = dgates + BT * 4 * H, *step = hprev + BT * H;
            lstm_backward(c->dx, dw_ih, dw_hh, db_ih, db_hh, dgates, hprev, step, c->dy,
                          l->out_c, d * H, c->y, gates, gates + gates_floats(l, BT), c->x, w_ih,
                          w_hh, c->in->g.w, B, T, l->in_c, H, d);
        } else {
            float *dx = c->scratch, *dh = dx + BT * 3 * H, *hprev = dh + BT * 3 * H;
            float *step = hprev + BT * H;
            gru_backward(c->dx, dw_ih, dw_hh, db_ih, db_hh, dx, dh, hprev, step, c->dy, l->out_c,
                         d * H, c->y, gates, c->x, w_ih, w_hh, c->in->g.w, B, T, l->in_c, H, d);
        }
    }
}

const layer_kind lstm_kind = {
    .id = LAYER_LSTM,
    .name = "lstm",
    .on_sequence = 1,
    .syntax = "[bi]lstm<H>",
    .parse = parse_lstm,
    .shape = shape,
    .tensors = tensors,
    .init = init,
    .macs = macs,
    .describe = describe,
    .need = need,
    .forward = forward,
    .backward = backward,
};

const layer_kind gru_kind = {
    .id = LAYER_GRU,
    .name = "gru",
    .on_sequence = 1,
    .syntax = "[bi]gru<H>",
    .parse = parse_gru,
    .shape = shape,
    .tensors = tensors,
    .init = init,
    .macs = macs,
    .describe = describe,
    .need = need,
    .forward = forward,
    .backward = backward,
};

/* test_convrnn.c — the Convolutional RNN layer (src/nn/convrnn.c, src/layers/convrnn.c).

   (a) Forward against a plain-loop reference in double written here from the definition
       (Keren & Schuller 2016 as docs/model-format.md states it): for every output position the
       window's columns are the frames, left to right, features c·kh + ki, zero outside the
       image; PyTorch's LSTM and GRU equations from a zero state; each direction's last hidden
       state (the right-to-left one's after the first column) or the mean of its outputs. LSTM
       and GRU, one and two directions, both poolings, strides, paddings, mixed widths.
       Buffers at exactly the sizes convrnn_sizes documents, with guard zones; inference
       (nothing saved) equals training; 2 and 3 threads equal 1.
   (b) Backward against central differences of that reference (layer_check.h): the input and
       every weight, accumulated over two calls.
   (c) Through the layer table: the architecture tokens, and a small network with ConvRNN
       layers on a map and on the column sequence, whose network_backward gradients match
       finite differences of its CTC loss, whose inference equals its training forward, and
       whose images read the same alone as in a batch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctc/ctc.h"
#include "layer_check.h"
#include "layers/convrnn.h"
#include "model/model.h"
#include "nn/network.h"
#include "test.h"
#include "train/train.h"

#define MAXH 6
#define MAXF 64

static double sigm(double x) { return 1.0 / (1.0 + exp(-x)); }

/* One LSTM or GRU step from state (h, c) on frame x, in place (PyTorch's equations). */
static void ref_step(double *h, double *c, const double *x, const double *wih, const double *whh,
                     const double *bih, const double *bhh, int F, int H, int lstm) {
    int G = (lstm ? 4 : 3) * H;
    double a[4 * MAXH], r[4 * MAXH], hn[MAXH];
    for (int k = 0; k < G; k++) {
        a[k] = bih[k];
        for (int i = 0; i < F; i++) a[k] += wih[(size_t)k * F + i] * x[i];
        r[k] = bhh[k];
        for (int j = 0; j < H; j++) r[k] += whh[(size_t)k * H + j] * h[j];
    }
    for (int j = 0; j < H; j++) {
        if (lstm) {
            double ig = sigm(a[j] + r[j]), fg = sigm(a[H + j] + r[H + j]);
            double gg = tanh(a[2 * H + j] + r[2 * H + j]), og = sigm(a[3 * H + j] + r[3 * H + j]);
            c[j] = fg * c[j] + ig * gg;
            hn[j] = og * tanh(c[j]);
        } else {
            double rg = sigm(a[j] + r[j]), zg = sigm(a[H + j] + r[H + j]);
            double ng = tanh(a[2 * H + j] + rg * r[2 * H + j]);
            hn[j] = (1 - zg) * ng + zg * h[j];
        }
    }
    memcpy(h, hn, sizeof(double) * (size_t)H);
}

/* out (dirs·H, Pout) from inp (cin, Pin); w[d][0..3] = w_ih, w_hh, b_ih, b_hh. */
static void ref_convrnn(double *out, const double *inp, double *const w[2][4],
                        const convrnn_shape *s, const geo *gi, const geo *go) {
    const window2d k = s->k;
    const int F = s->cin * k.kh, H = s->hidden, dirs = s->bidir ? 2 : 1;
    for (int b = 0; b < go->n; b++)
        for (int oy = 0; oy < go->h; oy++)
            for (int ox = 0; ox < go->w[b]; ox++) {
                size_t n = go->off[b] + (size_t)oy * go->w[b] + ox;
                double frames[MAXB * 2][MAXF]; /* kw ≤ 2·MAXB frames */
                for (int j = 0; j < k.kw; j++)
                    for (int c = 0; c < s->cin; c++)
                        for (int ki = 0; ki < k.kh; ki++) {
                            int iy = oy * k.sh - k.ph + ki, ix = ox * k.sw - k.pw + j;
                            int in = iy >= 0 && iy < gi->h && ix >= 0 && ix < gi->w[b];
                            frames[j][c * k.kh + ki] =
                                in ? inp[(size_t)c * gi->total + gi->off[b] +
                                         (size_t)iy * gi->w[b] + ix]
                                   : 0.0;
                        }
                for (int d = 0; d < dirs; d++) {
                    double h[MAXH] = {0}, c[MAXH] = {0}, sum[MAXH] = {0};
                    for (int t = 0; t < k.kw; t++) {
                        int j = d ? k.kw - 1 - t : t;
                        ref_step(h, c, frames[j], w[d][0], w[d][1], w[d][2], w[d][3], F, H,
                                 s->lstm);
                        for (int u = 0; u < H; u++) sum[u] += h[u];
                    }
                    for (int u = 0; u < H; u++)
                        out[(size_t)(d * H + u) * go->total + n] = s->mean ? sum[u] / k.kw : h[u];
                }
            }
}

typedef struct {
    convrnn_shape s;
    geo gi, go;
    int dirs, G, F;
    float *w[2][4];
    size_t wn[4];
} layer_case;

static void case_init(layer_case *L, int lstm, int bidir, int mean, int cin, int H, window2d k,
                      int B, int h, const int *widths) {
    convrnn_shape s = {cin, H, lstm, bidir, mean, k};
    L->s = s;
    geo_init(&L->gi, B, h, widths);
    geo_out(&L->go, &L->gi, k);
    L->dirs = bidir ? 2 : 1;
    L->G = (lstm ? 4 : 3) * H;
    L->F = cin * k.kh;
    size_t wn[4] = {(size_t)L->G * L->F, (size_t)L->G * H, (size_t)L->G, (size_t)L->G};
    memcpy(L->wn, wn, sizeof wn);
    for (int d = 0; d < L->dirs; d++)
        for (int i = 0; i < 4; i++) L->w[d][i] = frand(wn[i], -0.9f, 0.9f);
}

static void case_free(layer_case *L) {
    for (int d = 0; d < L->dirs; d++)
        for (int i = 0; i < 4; i++) free(L->w[d][i]);
}

static const float *const *weights(const layer_case *L, const float *flat[8]) {
    for (int d = 0; d < L->dirs; d++)
        for (int i = 0; i < 4; i++) flat[4 * d + i] = L->w[d][i];
    return flat;
}

/* Runs the layer's forward at exactly its documented buffer sizes; returns the output
   (dirs·H × Pout) and, when training, the saved buffer in *saved_out. */
static float *run_forward(const layer_case *L, const float *inp, int training, int threads,
                          float **saved_out, size_t *saved_n_out) {
    size_t saved_n, scratch_n, back_n;
    convrnn_sizes(&L->s, L->go.total, training, &saved_n, &scratch_n, &back_n);
    size_t n_out = (size_t)L->dirs * L->s.hidden * L->go.total;
    float *out = galloc(n_out), *scratch = galloc(scratch_n);
    float *saved = training ? galloc(saved_n) : NULL;
    map_geom gi = mg(&L->gi), go = mg(&L->go);
    const float *w[8];
    team *tm = threads > 1 ? team_new(threads) : NULL; /* the threads of the recogniser's team */
    CHECK_MSG(threads < 2 || tm, "no team of %d threads", threads);
    convrnn_forward(out, saved, scratch, inp, weights(L, w), &L->s, &gi, &go, tm);
    team_free(tm);
    CHECK_MSG(guard_ok(out, n_out) && guard_ok(scratch, scratch_n) &&
              (!saved || guard_ok(saved, saved_n)), "convrnn forward wrote past a buffer");
    free(scratch);
    if (saved_out) {
        *saved_out = saved;
        *saved_n_out = saved_n;
    } else {
        free(saved);
    }
    return out;
}

static double *ref_of(const layer_case *L, const float *inp, double *dw[2][4]) {
    double *di = to_d(inp, (size_t)L->s.cin * L->gi.total);
    double *ref = dalloc((size_t)L->dirs * L->s.hidden * L->go.total);
    for (int d = 0; d < L->dirs; d++)
        for (int i = 0; i < 4; i++) dw[d][i] = to_d(L->w[d][i], L->wn[i]);
    ref_convrnn(ref, di, dw, &L->s, &L->gi, &L->go);
    free(di);
    return ref;
}

/* (a) */
static void test_convrnn_forward(void) {
    static const window2d ks[] = {
        {3, 3, 1, 1, 1, 1}, {2, 4, 2, 2, 1, 0}, {3, 1, 1, 1, 0, 0}, {4, 3, 1, 2, 0, 2},
        {1, 5, 1, 1, 0, 2}, {3, 2, 2, 1, 2, 1},
    };
    int n_cases = 0;
    for (int ci = 0; ci < 16; ci++) {
        int lstm = ci & 1, bidir = (ci >> 1) & 1, mean = (ci >> 2) & 1;
        window2d k = ks[ci % (int)(sizeof ks / sizeof ks[0])];
        int B = test_randint(1, 3), cin = test_randint(1, 3), H = test_randint(1, MAXH);
        int h = test_randint(k.kh, 6), w[MAXB];
        rand_widths(w, B, k.kw, 9);
        layer_case L;
        case_init(&L, lstm, bidir, mean, cin, H, k, B, h, w);
        float *inp = frand((size_t)cin * L.gi.total, -1.5f, 1.5f);
        double *dw[2][4];
        double *ref = ref_of(&L, inp, dw);
        size_t n_out = (size_t)L.dirs * H * L.go.total, saved_n;
        float *saved, *train = run_forward(&L, inp, 1, 1, &saved, &saved_n);
        float *infer = run_forward(&L, inp, 0, 1, NULL, NULL);
        double e = max_diff_fd(train, ref, n_out);
        CHECK_MSG(e <= FWD_TOL, "convrnn %s %s %s k=%dx%d s=%dx%d p=%dx%d cin=%d H=%d: forward "
                  "differs from the reference by %g", lstm ? "lstm" : "gru",
                  bidir ? "bidirectional" : "one direction", mean ? "mean" : "last", k.kh, k.kw,
                  k.sh, k.sw, k.ph, k.pw, cin, H, e);
        CHECK_MSG(max_diff_ff(infer, train, n_out) == 0, "inference differs from training");
        for (int threads = 2; threads <= 3; threads++) {
            float *par = run_forward(&L, inp, 0, threads, NULL, NULL);
            double et = max_diff_ff(par, train, n_out);
            CHECK_MSG(et <= 1e-6, "%d threads differ from one by %g", threads, et);
            free(par);
        }
        n_cases++;
        for (int d = 0; d < L.dirs; d++)
            for (int i = 0; i < 4; i++) free(dw[d][i]);
        free(ref), free(train), free(infer), free(saved), free(inp);
        case_free(&L);
    }
    CHECK(n_cases == 16);
}

typedef struct {
    const layer_case *L;
    double *inp, *R, *out;
    double *w[2][4];
} grad_ctx;

static double ref_loss(void *p) {
    grad_ctx *c = p;
    ref_convrnn(c->out, c->inp, c->w, &c->L->s, &c->L->gi, &c->L->go);
    return dot(c->out, c->R, (size_t)c->L->dirs * c->L->s.hidden * c->L->go.total);
}

/* (b) */
static void test_convrnn_backward(void) {
    static const char *names[2][4] = {{"fwd.w_ih", "fwd.w_hh", "fwd.b_ih", "fwd.b_hh"},
                                      {"bwd.w_ih", "bwd.w_hh", "bwd.b_ih", "bwd.b_hh"}};
    static const window2d ks[4] = {{3, 3, 1, 1, 1, 1}, {2, 3, 1, 2, 0, 1}, {3, 2, 2, 1, 1, 0},
                                   {2, 4, 1, 1, 1, 2}};
    for (int ci = 0; ci < 8; ci++) {
        int lstm = ci & 1, bidir = (ci >> 1) & 1, mean = (ci >> 2) & 1;
        int w[2] = {4, 6}, H = 2 + (ci & 1), cin = 2;
        layer_case L;
        case_init(&L, lstm, bidir, mean, cin, H, ks[ci % 4], 2, 4, w);
        size_t n_in = (size_t)cin * L.gi.total, n_out = (size_t)L.dirs * H * L.go.total;
        float *inp = frand(n_in, -1.5f, 1.5f), *saved, *R = frand(n_out, -1, 1);
        size_t saved_n, s1, s2, back_n;
        float *out = run_forward(&L, inp, 1, 1, &saved, &saved_n);
        convrnn_sizes(&L.s, L.go.total, 1, &s1, &s2, &back_n);
        float *back = galloc(back_n), *dinp = galloc(n_in), *dwf[8];
        grad_ctx c = {&L, to_d(inp, n_in), to_d(R, n_out), dalloc(n_out), {{0}}};
        gparam ps[9];
        gp_set(&ps[0], "inp", c.inp, n_in, dinp);
        int np = 1;
        for (int d = 0; d < L.dirs; d++)
            for (int i = 0; i < 4; i++) {
                c.w[d][i] = to_d(L.w[d][i], L.wn[i]);
                dwf[4 * d + i] = galloc(L.wn[i]);
                gp_set(&ps[np++], names[d][i], c.w[d][i], L.wn[i], dwf[4 * d + i]);
            }
        gp_numeric(ps, np, ref_loss, &c);
        char what[96];
        snprintf(what, sizeof what, "convrnn backward (%s, %s, %s)", lstm ? "lstm" : "gru",
                 bidir ? "bidirectional" : "one direction", mean ? "mean" : "last");
        map_geom gi = mg(&L.gi), go = mg(&L.go);
        const float *wf[8];
        for (int call = 1; call <= 2; call++) {
            convrnn_backward(dinp, dwf, back, R, saved, weights(&L, wf), &L.s, &gi, &go);
            gp_check(ps, np, call, what);
        }
        int ok = guard_ok(back, back_n) && guard_ok(dinp, n_in) && guard_ok(saved, saved_n);
        for (int k = 0; k < 4 * L.dirs; k++) ok &= guard_ok(dwf[k], L.wn[k % 4]);
        CHECK_MSG(ok, "%s: a buffer was written past its documented size", what);
        gp_free(ps, np);
        for (int d = 0; d < L.dirs; d++)
            for (int i = 0; i < 4; i++) free(c.w[d][i]), free(dwf[4 * d + i]);
        free(c.inp), free(c.R), free(c.out), free(inp), free(saved), free(R), free(out);
        free(back), free(dinp);
        case_free(&L);
    }
}

/* (c) the architecture tokens */
static void test_convrnn_tokens(void) {
    model_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.n_classes = 11;
    crnn_error err;
    CHECK_MSG(arch_parse("c8 bicgru16k3x4s1x2p1x0a m2 clstm8", &spec, &err) == CRNN_OK, "%s",
              err.message);
    const int *p = spec.layers[1].p;
    CHECK(spec.n_layers == 5 && spec.layers[1].kind == LAYER_CONVRNN);
    CHECK(p[0] == 16 && p[1] == 3 && p[2] == 4 && p[3] == 1 && p[4] == 2 && p[5] == 1 &&
          p[6] == 0 && p[7] == (CONVRNN_FLAG_BIDIR | CONVRNN_FLAG_MEAN));
    p = spec.layers[3].p; /* defaults: 3×3, stride 1, "same" padding, last state */
    CHECK(spec.layers[3].kind == LAYER_CONVRNN && p[0] == 8 && p[1] == 3 && p[2] == 3 &&
          p[3] == 1 && p[4] == 1 && p[5] == 1 && p[6] == 1 && p[7] == CONVRNN_FLAG_LSTM);
    CHECK(arch_parse("cgru8q", &spec, &err) == CRNN_ERR_ARG && strstr(err.message, "cgru8q") &&
          strstr(err.message, "cgru<H>"));
    CHECK(arch_parse("cgru", &spec, &err) == CRNN_ERR_ARG);
}

/* (c) a network: conv → ConvRNN (map, bidirectional GRU, last state) → ConvRNN as tall as the
   map (the column sequence, LSTM, mean, stride 1, window 3 columns) → BiGRU → linear. No
   ReLU, pooling or batch-norm, so the loss is smooth and finite differences are exact up to
   float noise. */
#define NB 3
#define NCLASS 5

static crnn_model *network_model(void) {
    static const uint32_t charset[NCLASS] = {0, 'a', 'b', 'c', 'd'};
    model_spec s;
    memset(&s, 0, sizeof s);
    s.input_height = 8;
    s.input_channels = 1;
    s.norm_mean = 0.5f;
    s.norm_std = 0.25f;
    s.n_classes = NCLASS;
    s.charset = charset;
    crnn_error err;
    crnn_model *m = NULL;
    if (arch_parse("c3n bicgru3k3x3s2x1 clstm4k4x3p0x1a bigru3", &s, &err) == CRNN_OK) {
        s.layers[0].p[7] = 0; /* the conv: no ReLU either */
        m = model_build(&s, "convrnn-net", &err);
    }
    if (!m) {
        fprintf(stderr, "convrnn network: %s\n", err.message);
        exit(1);
    }
    for (int i = 0; i < m->n_tensors; i++) {
        const model_tensor *t = &m->tensors[i];
        size_t fan = t->ndim > 1 ? t->count / (size_t)t->dims[0] : 1;
        float a = t->ndim > 1 ? 1.5f / sqrtf((float)fan) : 0.3f;
        for (size_t j = 0; j < t->count; j++) m->params[t->offset + j] = test_randf(-a, a);
    }
    return m;
}

typedef struct {
    int w[NB];
    float *input;
    int labels[NB][8], nlab[NB];
} net_batch;

static double net_loss(network *net, const crnn_model *m, const net_batch *bt, float **dlogits) {
    crnn_error err;
    if (network_forward(net, m, bt->input, bt->w, NB, 1, &err) != CRNN_OK) {
        fprintf(stderr, "network_forward: %s\n", err.message);
        exit(1);
    }
    int nb, T, C;
    const int *len;
    const float *lp = network_log_probs(net, &nb, &T, &C, &len);
    if (dlogits) *dlogits = calloc((size_t)NB * T * C, sizeof(float));
    double total = 0;
    for (int b = 0; b < NB; b++)
        total += ctc_loss(lp + (size_t)b * T * C, len[b], C, bt->labels[b], bt->nlab[b],
                          dlogits ? *dlogits + (size_t)b * T * C : NULL);
    return total;
}

static void test_convrnn_network(void) {
    crnn_model *m = network_model();
    CHECK(m->first_seq_layer == 3 && m->layers[2].out_h == 1);
    net_batch bt;
    static const int widths[NB] = {9, 14, 6};
    size_t P = 0;
    for (int b = 0; b < NB; b++) P += (size_t)m->input_height * (bt.w[b] = widths[b]);
    bt.input = malloc(P * sizeof(float));
    for (size_t i = 0; i < P; i++) bt.input[i] = test_randf(-1.5f, 1.5f);
    for (int b = 0; b < NB; b++) {
        int T = model_output_width(m, bt.w[b]);
        bt.nlab[b] = T / 3 < 1 ? 1 : T / 3;
        for (int i = 0; i < bt.nlab[b]; i++) bt.labels[b][i] = 1 + (b + i) % (NCLASS - 1);
    }
    network *net = network_new();
    float *dlogits;
    double base = net_loss(net, m, &bt, &dlogits);
    CHECK(isfinite(base) && base > 0);
    float *grads = calloc(m->n_params, sizeof(float));
    crnn_error err;
    CHECK(network_backward(net, m, grads, dlogits, &err) == CRNN_OK);
    int checked = 0, significant = 0;
    for (int ti = 0; ti < m->n_tensors; ti++) {
        const model_tensor *t = &m->tensors[ti];
        for (int k = 0; k < 6; k++) {
            size_t i = t->offset + (size_t)test_randint(0, (int)t->count - 1);
            float s = m->params[i];
            m->params[i] = s + 1e-3f;
            double hu = (double)m->params[i] - s, up = net_loss(net, m, &bt, NULL);
            m->params[i] = s - 1e-3f;
            double hd = s - (double)m->params[i], dn = net_loss(net, m, &bt, NULL);
            m->params[i] = s;
            double central = (up - dn) / (hu + hd), g = grads[i];
            checked++;
            significant += fabs(central) > 1e-2;
            CHECK_MSG(fabs(g - central) <= 1e-3 + 1e-2 * fabs(central), "%s[%zu]: backward %.6g, "
                      "finite differences %.6g", t->name, i - t->offset, g, central);
        }
    }
    CHECK_MSG(significant * 2 >= checked, "only %d of %d gradients significant", significant,
              checked);
    /* Inference equals the training forward (nothing here differs between the two), and each
       image reads the same alone as in the batch. */
    net_loss(net, m, &bt, NULL);
    int T, C, nb;
    const int *len;
    const float *lp = network_log_probs(net, &nb, &T, &C, &len);
    float *train = malloc((size_t)NB * T * C * sizeof(float));
    memcpy(train, lp, (size_t)NB * T * C * sizeof(float));
    int lens[NB];
    memcpy(lens, len, sizeof lens);
    network *inf = network_new();
    network_set_threads(inf, 2);
    CHECK(network_forward(inf, m, bt.input, bt.w, NB, 0, &err) == CRNN_OK);
    const float *ilp = network_log_probs(inf, NULL, NULL, NULL, NULL);
    double e = 0;
    for (size_t i = 0; i < (size_t)NB * T * C; i++) e = fmax(e, fabs(ilp[i] - train[i]));
    CHECK_MSG(e <= 1e-5, "inference (2 threads) differs from training by %g", e);
    size_t off = 0;
    for (int b = 0; b < NB; b++) {
        CHECK(network_forward(inf, m, bt.input + off, &bt.w[b], 1, 0, &err) == CRNN_OK);
        const float *alone = network_log_probs(inf, NULL, NULL, NULL, NULL);
        double ea = 0;
        for (size_t i = 0; i < (size_t)lens[b] * C; i++)
            ea = fmax(ea, fabs(alone[i] - train[(size_t)b * T * C + i]));
        CHECK_MSG(ea <= 1e-5, "image %d alone differs from the batch by %g", b, ea);
        off += (size_t)m->input_height * bt.w[b];
    }
    char desc[256];
    crnn_model_describe(m, desc, sizeof desc);
    CHECK_MSG(strstr(desc, "1 conv, 2 convrnn, bigru(3)") != NULL, "%s", desc);
    free(train), free(dlogits), free(grads), free(bt.input);
    network_free(net);
    network_free(inf);
    crnn_model_free(m);
}

int main(void) {
    RUN(test_convrnn_forward);
    RUN(test_convrnn_backward);
    RUN(test_convrnn_tokens);
    RUN(test_convrnn_network);
    TEST_EXIT();
}

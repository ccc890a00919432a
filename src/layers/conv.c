/* conv.c — the conv2d entry of the layer table: convolution (nn/conv2d.c), then batch-norm
   (nn/batchnorm.c) and ReLU when its flags ask. At inference batch-norm is folded into the
   weights when the model is loaded, so only training computes it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/conv.h"

static window2d window(const model_layer *l) {
    window2d k = {CONV_KH(l), CONV_KW(l), CONV_SH(l), CONV_SW(l), CONV_PH(l), CONV_PW(l)};
    return k;
}

static int has_bn(const model_layer *l) { return (CONV_FLAGS(l) & CONV_FLAG_BN) != 0; }
static int is_depthwise(const model_layer *l) {
    return (CONV_FLAGS(l) & CONV_FLAG_DEPTHWISE) != 0;
}
/* Weights that feed one output channel: the whole window of every input channel, or of its
   own channel only when depthwise. */
static size_t weights_per_out(const model_layer *l) {
    return (size_t)(is_depthwise(l) ? 1 : l->in_c) * CONV_KH(l) * CONV_KW(l);
}

/* c<out>[k<kh>[x<kw>]][s<sh>[x<sw>]][p<ph>[x<pw>]][n]: 3×3, stride 1, "same" padding and
   batch-norm + ReLU unless said otherwise; n drops batch-norm. dw[k..][s..][p..][n]: the same
   for a depthwise convolution, as many channels out as in (p[0] stays 0 until shape() knows
   them). */
static int parse(const char *s, int p[8]) {
    int depthwise = s[0] == 'd' && s[1] == 'w';
    if (depthwise) {
        s += 2;
    } else {
        if (s[0] != 'c' || s[1] < '0' || s[1] > '9') return 0;
        s++;
        p[0] = (int)strtol(s, (char **)&s, 10);
    }
    p[1] = p[2] = 3;
    p[3] = p[4] = 1;
    p[7] = CONV_FLAG_BN | CONV_FLAG_RELU | (depthwise ? CONV_FLAG_DEPTHWISE : 0);
    int pad_given = 0, ok = 1;
    while (*s && ok) {
        char key = *s++;
        if (key == 'k') ok = token_pair(&s, &p[1], &p[2]);
        else if (key == 's') ok = token_pair(&s, &p[3], &p[4]);
        else if (key == 'p') { ok = token_pair(&s, &p[5], &p[6]); pad_given = 1; }
        else if (key == 'n') p[7] &= ~CONV_FLAG_BN;
        else ok = 0;
    }
    if (!pad_given) {
        p[5] = p[1] / 2;
        p[6] = p[2] / 2;
    }
    return ok ? 1 : -1;
}

static const char *shape(model_layer *l, char *why, size_t n) {
    if (is_depthwise(l) && CONV_OUT(l) == 0) CONV_OUT(l) = l->in_c; /* from "dw" */
    if (is_depthwise(l) && CONV_OUT(l) != l->in_c) {
        snprintf(why, n, "depthwise convolution with %d channels out of %d in (must be equal)",
                 CONV_OUT(l), l->in_c);
        return why;
    }
    if (CONV_OUT(l) < 1 || CONV_OUT(l) > MODEL_MAX_CHANNELS || CONV_KH(l) < 1 ||
        CONV_KH(l) > MODEL_MAX_KERNEL || CONV_KW(l) < 1 || CONV_KW(l) > MODEL_MAX_KERNEL ||
        CONV_SH(l) < 1 || CONV_SH(l) > 8 || CONV_SW(l) < 1 || CONV_SW(l) > 8 || CONV_PH(l) < 0 ||
        CONV_PH(l) >= CONV_KH(l) || CONV_PW(l) < 0 || CONV_PW(l) >= CONV_KW(l) ||
        (CONV_FLAGS(l) & ~7)) {
        snprintf(why, n, "bad hyper-parameters out=%d k=%dx%d stride=%dx%d pad=%dx%d flags=%d",
                 CONV_OUT(l), CONV_KH(l), CONV_KW(l), CONV_SH(l), CONV_SW(l), CONV_PH(l),
                 CONV_PW(l), CONV_FLAGS(l));
        return why;
    }
    l->out_c = CONV_OUT(l);
    l->out_h = window_out_size(l->in_h, CONV_KH(l), CONV_SH(l), CONV_PH(l));
    return NULL;
}

static int out_width(const model_layer *l, int w) {
    return window_out_size(w, CONV_KW(l), CONV_SW(l), CONV_PW(l));
}

static void tensors(const model_layer *l, tensor_list *tl) {
    tensor_declare(tl, "weight", 4, l->out_c, is_depthwise(l) ? 1 : l->in_c, CONV_KH(l),
                   CONV_KW(l));
    tensor_declare(tl, "bias", 1, l->out_c, 0, 0, 0);
    if (has_bn(l)) {
        tensor_declare(tl, "bn_weight", 1, l->out_c, 0, 0, 0);
        tensor_declare(tl, "bn_bias", 1, l->out_c, 0, 0, 0);
        tensor_declare(tl, "bn_mean", 1, l->out_c, 0, 0, 0);
        tensor_declare(tl, "bn_var", 1, l->out_c, 0, 0, 0);
    }
}

/* He-uniform weights (the signal keeps its scale through ReLUs), zero bias, batch-norm the
   identity with unit running variance. */
static void init(const model_layer *l, float *const *t, rng_t *r) {
    size_t fan_in = weights_per_out(l);
    float bound = sqrtf(6.0f / (float)fan_in);
    for (size_t k = 0; k < fan_in * (size_t)l->out_c; k++)
        t[CONV_WEIGHT][k] = rng_range(r, -bound, bound);
    for (int k = 0; k < l->out_c; k++) {
        t[CONV_BIAS][k] = 0;
        if (has_bn(l)) {
            t[CONV_BN_WEIGHT][k] = 1;
            t[CONV_BN_BIAS][k] = 0;
            t[CONV_BN_MEAN][k] = 0;
            t[CONV_BN_VAR][k] = 1;
        }
    }
}

/* The batch-norm of channel o as the affine map x·scale + shift of the convolution's output. */
static void bn_affine(const float *const *t, int o, float *scale, float *shift) {
    *scale = t[CONV_BN_WEIGHT][o] / sqrtf(t[CONV_BN_VAR][o] + BN_EPS);
    *shift = t[CONV_BN_BIAS][o] - t[CONV_BN_MEAN][o] * *scale;
}

/* A negative variance has no square root, and a finite file can still fold into infinite
   weights (a huge gamma over a tiny variance): either would turn every output into NaN. */
static int check(const model_layer *l, const float *const *t, char *why, size_t n) {
    if (!has_bn(l)) return -1;
    size_t per_out = weights_per_out(l);
    for (int o = 0; o < l->out_c; o++) {
        if (t[CONV_BN_VAR][o] < 0) {
            snprintf(why, n, "channel %d is negative (%g), not a variance", o,
                     (double)t[CONV_BN_VAR][o]);
            return CONV_BN_VAR;
        }
        float scale = t[CONV_BN_WEIGHT][o] / sqrtf(t[CONV_BN_VAR][o] + BN_EPS);
        float bias = (t[CONV_BIAS][o] - t[CONV_BN_MEAN][o]) * scale + t[CONV_BN_BIAS][o];
        int finite = isfinite(scale) && isfinite(bias);
        for (size_t k = 0; k < per_out && finite; k++)
            finite = isfinite(t[CONV_WEIGHT][o * per_out + k] * scale);
        if (!finite) {
            snprintf(why, n, "channel %d (%g, over a variance of %g) folds the convolution into "
                     "non-finite weights", o, (double)t[CONV_BN_WEIGHT][o],
                     (double)t[CONV_BN_VAR][o]);
            return CONV_BN_WEIGHT;
        }
    }
    return -1;
}

/* w' = w·γ/√(var+ε), b' = (b − mean)·γ/√(var+ε) + β */
static void fold(const model_layer *l, float *const *t) {
    if (!has_bn(l)) return;
    size_t per_out = weights_per_out(l);
    for (int o = 0; o < l->out_c; o++) {
        float scale = t[CONV_BN_WEIGHT][o] / sqrtf(t[CONV_BN_VAR][o] + BN_EPS);
        for (size_t k = 0; k < per_out; k++) t[CONV_WEIGHT][o * per_out + k] *= scale;
        t[CONV_BIAS][o] = (t[CONV_BIAS][o] - t[CONV_BN_MEAN][o]) * scale + t[CONV_BN_BIAS][o];
    }
}

static void describe(const model_layer *l, char *out, size_t n) {
    (void)l;
    snprintf(out, n, "conv");
}

static double macs(const model_layer *l) {
    return (double)l->out_h * l->out_c * (double)weights_per_out(l);
}

/* Unfolding scratch: the largest single image, and up to 8 M floats (32 MB) so that several
   images share one product. A depthwise convolution unfolds nothing. */
static size_t cols_floats(const model_layer *l, const act_shape *out) {
    if (is_depthwise(l)) return 0;
    size_t K = (size_t)l->in_c * CONV_KH(l) * CONV_KW(l), widest = 0;
    for (int b = 0; b < out->g.n; b++)
        if ((size_t)out->g.w[b] > widest) widest = (size_t)out->g.w[b];
    size_t single = K * (size_t)out->g.h * widest, all = K * out->g.total;
    size_t want = all < (8u << 20) ? all : (8u << 20);
    return single > want ? single : want;
}

/* saved (training with batch-norm): the convolution's output (out_c × P), then per channel
   the batch mean, 1/std and unbiased variance. */
static layer_need need(const model_layer *l, const act_shape *in, const act_shape *out,
                       int training) {
    (void)in;
    layer_need n = {0, 0, 0};
    size_t cols = cols_floats(l, out), n_out = (size_t)l->out_c * out->g.total;
    if (training && has_bn(l)) n.saved = n_out + 3 * (size_t)l->out_c;
    n.scratch = cols;
    n.back_scratch = cols + n_out * ((CONV_FLAGS(l) & CONV_FLAG_RELU ? 1 : 0) + has_bn(l));
    return n;
}

/* ReLU in place over contiguous channel ranges, one range a part of the layer's team job. */
typedef struct {
    float *p;
    size_t per_channel;
    int channels;
} relu_job;

static void relu_part(void *arg, int part, int parts) {
    const relu_job *j = arg;
    size_t a = j->per_channel * (size_t)(j->channels * part / parts);
    size_t e = j->per_channel * (size_t)(j->channels * (part + 1) / parts);
    relu_forward(j->p + a, j->p + a, e - a);
}

/* One part of a depthwise convolution's team job: a range of channels. */
typedef struct {
    const layer_call *c;
    float *out;
} depthwise_job;

static void depthwise_part(void *arg, int part, int parts) {
    const depthwise_job *j = arg;
    const layer_call *c = j->c;
    const int C = c->l->out_c, c0 = C * part / parts, c1 = C * (part + 1) / parts;
    const size_t kk = (size_t)CONV_KH(c->l) * CONV_KW(c->l);
    depthwise2d_forward(j->out + (size_t)c0 * c->out->g.total, c->x + (size_t)c0 * c->in->g.total,
                        layer_param(c, CONV_WEIGHT) + (size_t)c0 * kk,
                        layer_param(c, CONV_BIAS) + c0, c1 - c0, window(c->l), &c->in->g,
                        &c->out->g);
}

/* out (out_c × P) = the convolution of c->x, before batch-norm and ReLU. */
static void convolve(const layer_call *c, float *out, team *tm) {
    const model_layer *l = c->l;
    if (is_depthwise(l)) {
        depthwise_job job = {c, out};
        team_run(tm, team_threads(tm), depthwise_part, &job);
        return;
    }
    conv2d_forward(out, c->scratch, c->scratch_n, c->x, layer_param(c, CONV_WEIGHT),
                   layer_param(c, CONV_BIAS), l->in_c, l->out_c, window(l), &c->in->g,
                   &c->out->g, tm);
}

static void forward(const layer_call *c) {
    const model_layer *l = c->l;
    const size_t P = c->out->g.total;
    int bn = has_bn(l) && !c->m->bn_folded;
    team *tm = c->training ? NULL : c->team;
    if (bn && c->training) {
        float *pre = c->saved, *mean = pre + (size_t)l->out_c * P, *rstd = mean + l->out_c;
        float *var = rstd + l->out_c;
        convolve(c, pre, NULL);
        batchnorm_forward(c->y, mean, rstd, var, pre, layer_param(c, CONV_BN_WEIGHT),
                          layer_param(c, CONV_BN_BIAS), l->out_c, P);
    } else {
        convolve(c, c->y, tm);
        if (bn) { /* evaluation of an unfolded model (training's validation): running stats */
            const float *t[6];
            for (int k = 0; k < 6; k++) t[k] = layer_param(c, k);
            for (int o = 0; o < l->out_c; o++) {
                float sc, sh;
                bn_affine(t, o, &sc, &sh);
                float *row = c->y + (size_t)o * P;
                for (size_t p = 0; p < P; p++) row[p] = row[p] * sc + sh;
            }
        }
    }
    if (CONV_FLAGS(l) & CONV_FLAG_RELU) {
        relu_job job = {c->y, P, l->out_c};
        team_run(tm, team_threads(tm), relu_part, &job);
    }
}

static void backward(const layer_call *c) {
    const model_layer *l = c->l;
    const size_t P = c->out->g.total, n_out = (size_t)l->out_c * P;
    size_t cols = cols_floats(l, c->out);
    float *tmp = c->scratch + cols;
    const float *dout = c->dy;
    if (CONV_FLAGS(l) & CONV_FLAG_RELU) {
        memset(tmp, 0, n_out * sizeof(float));
        relu_backward(tmp, dout, c->y, n_out);
        dout = tmp;
        tmp += n_out;
    }
    if (has_bn(l)) {
        const float *pre = c->saved, *mean = pre + n_out, *rstd = mean + l->out_c;
        memset(tmp, 0, n_out * sizeof(float));
        batchnorm_backward(tmp, layer_grad(c, CONV_BN_WEIGHT), layer_grad(c, CONV_BN_BIAS), dout,
                           pre, layer_param(c, CONV_BN_WEIGHT), mean, rstd, l->out_c, P);
        dout = tmp;
    }
    if (is_depthwise(l)) {
        depthwise2d_backward(c->dx, layer_grad(c, CONV_WEIGHT), layer_grad(c, CONV_BIAS), dout,
                             c->x, layer_param(c, CONV_WEIGHT), l->out_c, window(l), &c->in->g,
                             &c->out->g);
        return;
    }
    conv2d_backward(c->dx, layer_grad(c, CONV_WEIGHT), layer_grad(c, CONV_BIAS), c->scratch, cols,
                    dout, c->x, layer_param(c, CONV_WEIGHT), l->in_c, l->out_c, window(l),
                    &c->in->g, &c->out->g);
}

static void update_running(const layer_call *c, float *params, float momentum) {
    const model_layer *l = c->l;
    if (!has_bn(l)) return;
    const float *mean = c->saved + (size_t)l->out_c * c->out->g.total;
    const float *var = mean + 2 * (size_t)l->out_c;
    batchnorm_update_running(params + layer_offset(c->m, l, CONV_BN_MEAN),
                             params + layer_offset(c->m, l, CONV_BN_VAR), mean, var, momentum,
                             l->out_c);
}

const layer_kind conv_kind = {
    .id = LAYER_CONV,
    .name = "conv2d",
    .on_sequence = 0,
    .syntax = "c<out>[k..][s..][p..][n], dw[k..][s..][p..][n]",
    .parse = parse,
    .shape = shape,
    .out_width = out_width,
    .tensors = tensors,
    .init = init,
    .check = check,
    .fold = fold,
    .macs = macs,
    .describe = describe,
    .need = need,
    .forward = forward,
    .backward = backward,
    .update_running = update_running,
};

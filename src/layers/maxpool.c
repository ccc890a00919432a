/* maxpool.c — the maxpool entry of the layer table (the pooling itself: nn/maxpool.c). */
#include <stdio.h>

#include "layers/maxpool.h"

static window2d window(const model_layer *l) {
    window2d k = {POOL_KH(l), POOL_KW(l), POOL_SH(l), POOL_SW(l), POOL_PH(l), POOL_PW(l)};
    return k;
}

/* m<kh>[x<kw>][s<sh>[x<sw>]][p<ph>[x<pw>]]: the stride defaults to the kernel, no padding. */
static int parse(const char *s, int p[8]) {
    if (s[0] != 'm' || s[1] < '0' || s[1] > '9') return 0;
    s++;
    token_pair(&s, &p[0], &p[1]);
    p[2] = p[0];
    p[3] = p[1];
    int ok = 1;
    while (*s && ok) {
        char key = *s++;
        if (key == 's') ok = token_pair(&s, &p[2], &p[3]);
        else if (key == 'p') ok = token_pair(&s, &p[4], &p[5]);
        else ok = 0;
    }
    return ok ? 1 : -1;
}

static const char *shape(model_layer *l, char *why, size_t n) {
    if (POOL_KH(l) < 1 || POOL_KH(l) > MODEL_MAX_KERNEL || POOL_KW(l) < 1 ||
        POOL_KW(l) > MODEL_MAX_KERNEL || POOL_SH(l) < 1 || POOL_SH(l) > 8 || POOL_SW(l) < 1 ||
        POOL_SW(l) > 8 || POOL_PH(l) < 0 || POOL_PH(l) >= POOL_KH(l) || POOL_PW(l) < 0 ||
        POOL_PW(l) >= POOL_KW(l) || !params_zero_from(l->p, 6)) {
        snprintf(why, n, "bad hyper-parameters k=%dx%d stride=%dx%d pad=%dx%d", POOL_KH(l),
                 POOL_KW(l), POOL_SH(l), POOL_SW(l), POOL_PH(l), POOL_PW(l));
        return why;
    }
    l->out_c = l->in_c;
    l->out_h = window_out_size(l->in_h, POOL_KH(l), POOL_SH(l), POOL_PH(l));
    return NULL;
}

static int out_width(const model_layer *l, int w) {
    return window_out_size(w, POOL_KW(l), POOL_SW(l), POOL_PW(l));
}

static void tensors(const model_layer *l, tensor_list *tl) { (void)l, (void)tl; }

static double macs(const model_layer *l) { (void)l; return 0; }

static void describe(const model_layer *l, char *out, size_t n) {
    (void)l;
    snprintf(out, n, "pool");
}

/* saved (training): the winner of every output, as ints. */
static layer_need need(const model_layer *l, const act_shape *in, const act_shape *out,
                       int training) {
    (void)in;
    layer_need n = {0, 0, 0};
    if (training) n.saved = (size_t)l->out_c * out->g.total; /* an int fills a float's place */
    return n;
}

/* One part of the layer's team job: a range of channels. */
static void pool_part(void *arg, int part, int parts) {
    const layer_call *c = arg;
    const model_layer *l = c->l;
    int *argmax = c->training ? (int *)c->saved : NULL;
    const size_t Pin = c->in->g.total, Pout = c->out->g.total;
    int c0 = l->out_c * part / parts, c1 = l->out_c * (part + 1) / parts;
    maxpool_forward(c->y + (size_t)c0 * Pout, argmax ? argmax + (size_t)c0 * Pout : NULL,
                    c->x + (size_t)c0 * Pin, c1 - c0, window(l), &c->in->g, &c->out->g);
}

static void forward(const layer_call *c) {
    team *tm = c->training ? NULL : c->team;
    layer_call job = *c; /* the parts' argument (team_fn takes it writable) */
    team_run(tm, team_threads(tm), pool_part, &job);
}

static void backward(const layer_call *c) {
    if (c->dx)
        maxpool_backward(c->dx, c->dy, (const int *)c->saved, c->l->out_c, c->in->g.total,
                         c->out->g.total);
}

const layer_kind maxpool_kind = {
    .id = LAYER_MAXPOOL,
    .name = "maxpool",
    .on_sequence = 0,
    .syntax = "m<k>[s..][p..]",
    .parse = parse,
    .shape = shape,
    .out_width = out_width,
    .tensors = tensors,
    .macs = macs,
    .describe = describe,
    .need = need,
    .forward = forward,
    .backward = backward,
};

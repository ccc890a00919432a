/* linear.c — the linear entry of the layer table (nn/linear.c). The architecture string never
   writes one: arch.c appends the classifier to the charset's classes. */
#include <math.h>
#include <stdio.h>

#include "layers/linear.h"

static const char *shape(model_layer *l, char *why, size_t n) {
    if (LINEAR_OUT(l) < 1 || LINEAR_OUT(l) > MODEL_MAX_CLASSES || !params_zero_from(l->p, 1)) {
        snprintf(why, n, "bad output size %d", LINEAR_OUT(l));
        return why;
    }
    l->out_c = LINEAR_OUT(l);
    return NULL;
}

static void tensors(const model_layer *l, tensor_list *tl) {
    tensor_declare(tl, "weight", 2, l->out_c, l->in_c, 0, 0);
    tensor_declare(tl, "bias", 1, l->out_c, 0, 0, 0);
}

/* Uniform with variance 1/fan-in, zero bias. */
static void init(const model_layer *l, float *const *t, rng_t *r) {
    float bound = sqrtf(3.0f / (float)l->in_c);
    for (size_t k = 0; k < (size_t)l->out_c * l->in_c; k++)
        t[LINEAR_WEIGHT][k] = rng_range(r, -bound, bound);
    for (int k = 0; k < l->out_c; k++) t[LINEAR_BIAS][k] = 0;
}

static double macs(const model_layer *l) { return (double)l->in_c * l->out_c; }

static layer_need need(const model_layer *l, const act_shape *in, const act_shape *out,
                       int training) {
    (void)l, (void)in, (void)out, (void)training;
    layer_need n = {0, 0, 0};
    return n;
}

static void forward(const layer_call *c) {
    linear_forward(c->y, c->x, layer_param(c, LINEAR_WEIGHT), layer_param(c, LINEAR_BIAS),
                   (int)c->in->g.total, c->l->in_c, c->l->out_c);
}

static void backward(const layer_call *c) {
    linear_backward(c->dx, layer_grad(c, LINEAR_WEIGHT), layer_grad(c, LINEAR_BIAS), c->dy, c->x,
                    layer_param(c, LINEAR_WEIGHT), (int)c->in->g.total, c->l->in_c, c->l->out_c);
}

const layer_kind linear_kind = {
    .id = LAYER_LINEAR,
    .name = "linear",
    .on_sequence = 1,
    .syntax = "(the classifier, appended)",
    .shape = shape,
    .tensors = tensors,
    .init = init,
    .macs = macs,
    .need = need,
    .forward = forward,
    .backward = backward,
};

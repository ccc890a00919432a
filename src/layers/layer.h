/* layer.h — the table of layer kinds. Everything the project knows about one kind of layer is
   one entry: how the trainer's architecture string writes it, which hyper-parameters the model
   file may hold for it and what shape it makes, which tensors it owns and how they start, how
   much memory it needs for a batch, and its forward and backward passes. Model loading
   (model.c), the network (network.c), the architecture parser (arch.c) and initialisation
   (init.c) only walk this table; adding a kind is writing one entry (a file in this folder)
   and listing it in kinds.c.

   Activations between layers are either a map or a sequence (nn.h):
   - a map is C × P, the images of the batch side by side, each h rows of its own width;
   - a sequence is B × T × C, sample b using its first len[b] steps.
   Map kinds come first; the network turns the last map into the sequence of its columns
   (map-to-sequence) before the first sequence kind. */
#ifndef CRNN_LAYERS_LAYER_H
#define CRNN_LAYERS_LAYER_H

#include <stddef.h>

#include "model/model.h"
#include "nn/nn.h"
#include "util/util.h"

/* The activation at one boundary of the network, for the current batch. */
typedef struct {
    int c;       /* channels (map) or features per step (sequence) */
    map_geom g;  /* map: rows, columns and offsets of each image, P = g.total;
                    sequence: g.n = B, g.w = the lengths, g.total = B·T */
    int T;       /* sequence: the longest length */
} act_shape;

/* Floats a layer needs for one batch, besides its output (which the network sizes). */
typedef struct {
    size_t saved;        /* training: written by forward, read by backward */
    size_t scratch;      /* forward: only while it runs */
    size_t back_scratch; /* backward: only while it runs */
} layer_need;

/* One call of a layer's forward or backward pass. */
typedef struct {
    const crnn_model *m;
    const model_layer *l;
    const act_shape *in, *out;
    const float *x;      /* input activation */
    float *y;            /* output activation */
    float *saved;        /* training: layer_need.saved floats; NULL at inference */
    float *scratch;      /* layer_need.scratch (forward) or .back_scratch (backward) floats */
    size_t scratch_n;
    int training;
    team *team;          /* inference: threads that may share this layer (util/team.h), or
                            NULL: the caller alone (always in training) */
    /* backward only */
    const float *dy;     /* d loss / d y */
    float *dx;           /* d loss / d x, accumulated (+=); NULL where nobody needs it */
    float *grads;        /* d loss / d params, laid out like m->params, accumulated */
} layer_call;

/* Declaring a layer's tensors: the model gives each the name "layer<i>.<suffix>". */
typedef struct tensor_list tensor_list;
void tensor_declare(tensor_list *tl, const char *suffix, int ndim, int d0, int d1, int d2,
                    int d3);

typedef struct layer_kind {
    int id;              /* the kind number in the model file (docs/model-format.md) */
    const char *name;    /* as the format and error messages name it */
    int on_sequence;     /* 0: a map kind, 1: a sequence kind */
    const char *syntax;  /* the architecture tokens it reads, for help and errors */

    /* Architecture token → p[8] (zeroed by the caller): 1 if token is this kind's and was
       read, 0 if it is not this kind's, -1 if it is this kind's but malformed. */
    int (*parse)(const char *token, int p[8]);

    /* Checks l->p against the format's limits and derives l->out_c (and, on maps, l->out_h)
       from l->in_c and l->in_h. Returns NULL, or why the hyper-parameters are refused. */
    const char *(*shape)(model_layer *l, char *why, size_t n);
    /* Map kinds: output columns of an image w columns wide (0 or less: too narrow). */
    int (*out_width)(const model_layer *l, int w);
    /* Declares the layer's tensors (at most MODEL_LAYER_TENSORS), in the order its other
       functions index them (t[k]). */
    void (*tensors)(const model_layer *l, tensor_list *tl);
    /* First weights, drawn from r in a fixed order (part of what --seed reproduces). */
    void (*init)(const model_layer *l, float *const *t, rng_t *r);
    /* Loading: values the layer cannot compute with. -1 if all are usable, else the index of
       the tensor at fault, with why. */
    int (*check)(const model_layer *l, const float *const *t, char *why, size_t n);
    /* Loading for inference: folds what training keeps apart (batch-norm); NULL: nothing. */
    void (*fold)(const model_layer *l, float *const *t);
    /* Multiply-adds per output column (map) or step (sequence), for benchmarks. */
    double (*macs)(const model_layer *l);
    /* For crnn_model_describe: a sequence layer's summary ("bilstm(256)"); for map kinds
       (l is NULL then) the noun their layers are counted under ("conv"). */
    void (*describe)(const model_layer *l, char *out, size_t n);

    layer_need (*need)(const model_layer *l, const act_shape *in, const act_shape *out,
                       int training);
    void (*forward)(const layer_call *c);
    void (*backward)(const layer_call *c);
    /* Training: blends the statistics of the last forward (in c->saved) into the model's
       running statistics, params laid out like m->params; NULL when the kind keeps none. */
    void (*update_running)(const layer_call *c, float *params, float momentum);
} layer_kind;

/* ---- kinds.c ---- */
/* The kind with this file number, or NULL. */
const layer_kind *layer_kind_of(int id);
/* Every kind, in the table's order; n receives the count. */
const layer_kind *const *layer_kinds(int *n);

/* A layer's tensor k (its kind's declaration order) and its offset in params/grads. */
static inline size_t layer_offset(const crnn_model *m, const model_layer *l, int k) {
    return m->tensors[l->first_tensor + k].offset;
}
static inline const float *layer_param(const layer_call *c, int k) {
    return c->m->params + layer_offset(c->m, c->l, k);
}
static inline float *layer_grad(const layer_call *c, int k) {
    return c->grads + layer_offset(c->m, c->l, k);
}

/* Helpers the kinds share (kinds.c). */
/* Output size of a window sliding over in positions: floor((in + 2·pad − k) / s) + 1. */
int window_out_size(int in, int k, int s, int pad);
/* Reads "<a>[x<b>]" at *s (b defaults to a), advancing *s; 0 if no number is there. */
int token_pair(const char **s, int *a, int *b);
/* p[from..7] all zero. */
int params_zero_from(const int p[8], int from);

#endif

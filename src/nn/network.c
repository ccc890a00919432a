/* network.c — a model's layer list run over a batch, forward and backward, each layer through
   its kind's entry in the layer table (src/layers/).

   Before a forward pass a plan sizes everything the batch needs, as llm.c's act_sizes does:
   every layer's output, what training keeps for backward, the map-to-sequence step, the
   log-probabilities, and one work region that holds the largest scratch any layer asks for
   (and, for backward, two gradient buffers beside it). All of it lives in one arena, grown
   only when a batch needs more. At inference the layers' outputs take two slots in turn. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layer.h"
#include "nn/network.h"
#include "util/util.h"

/* Every region starts on a 64-byte boundary. */
#define ALIGN_FLOATS 16

struct network {
    team *team;        /* inference: threads that share each layer (network_set_threads), or
                          NULL: the caller alone */
    int valid;         /* the last forward succeeded: its outputs can be read */
    int training;      /* that forward's mode */
    int B, T, C, n_layers, fs;
    /* Geometry: columns (and offsets) of each image at the map boundaries 0..fs, lengths. */
    int *cols_at;      /* (fs + 1) × B, then the B lengths */
    size_t *offs_at;   /* (fs + 1) × B */
    size_t geom_cap;   /* images × boundaries the two hold */
    act_shape shape[MODEL_MAX_LAYERS + 1]; /* boundary i: input of layer i, output of i − 1 */
    act_shape seq;     /* the sequence that map-to-sequence makes of boundary fs */
    const float *input;
    /* The arena, and where the plan put each part (offsets in floats). */
    float *arena;
    size_t arena_cap;
    size_t out_at[MODEL_MAX_LAYERS], saved_at[MODEL_MAX_LAYERS], seq_at, logp_at, work_at;
    size_t work_n;     /* floats of the work region */
    size_t grad_n;     /* training: floats of each gradient buffer in the work region */
};

network *network_new(void) {
    network *net = calloc(1, sizeof(network));
    return net;
}

void network_set_threads(network *net, int threads) {
    threads = threads < 1 ? 1 : threads > NETWORK_MAX_THREADS ? NETWORK_MAX_THREADS : threads;
    if (team_threads(net->team) == threads) return;
    team_free(net->team);
    net->team = threads > 1 ? team_new(threads) : NULL; /* no threads to be had: alone */
}

void network_free(network *net) {
    if (!net) return;
    team_free(net->team);
    free(net->cols_at);
    free(net->offs_at);
    free(net->arena);
    free(net);
}

size_t network_memory(const network *net) {
    return net->arena_cap * sizeof(float) + net->geom_cap * (sizeof(int) + sizeof(size_t));
}

static size_t aligned(size_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

/* Floats of the activation at a boundary. */
static size_t act_floats(const act_shape *a) { return (size_t)a->c * a->g.total; }

static const act_shape *input_of(const network *net, int l) {
    return l == net->fs ? &net->seq : &net->shape[l];
}

/* Columns, offsets and lengths of every boundary for these widths. Refuses (CRNN_ERR_LIMIT) a
   map of more than INT_MAX columns: BLAS takes its sizes as int. */
static crnn_status set_geometry(network *net, const crnn_model *m, const int *widths, int B,
                                crnn_error *err) {
    const int fs = m->first_seq_layer;
    for (int b = 0; b < B; b++)
        if (widths[b] < m->min_width || widths[b] > CRNN_MAX_INPUT_WIDTH)
            return set_error(err, CRNN_ERR_ARG, "image %d of the batch is %d columns wide; the "
                             "model needs %d..%d", b, widths[b], m->min_width,
                             CRNN_MAX_INPUT_WIDTH);
    size_t need = (size_t)(fs + 2) * B;
    if (need > net->geom_cap) {
        free(net->cols_at);
        free(net->offs_at);
        net->cols_at = malloc(need * sizeof(int));
        net->offs_at = malloc(need * sizeof(size_t));
        net->geom_cap = net->cols_at && net->offs_at ? need : 0;
        if (!net->geom_cap) return set_error(err, CRNN_ERR_NOMEM, "out of memory for batch geometry");
    }
    net->B = B;
    net->n_layers = m->n_layers;
    net->fs = fs;
    for (int i = 0; i <= fs; i++) {
        act_shape *a = &net->shape[i];
        int *w = net->cols_at + (size_t)i * B;
        size_t *off = net->offs_at + (size_t)i * B, total = 0;
        const model_layer *prev = i > 0 ? &m->layers[i - 1] : NULL;
        a->c = prev ? prev->out_c : m->input_channels;
        a->g.h = prev ? prev->out_h : m->input_height;
        for (int b = 0; b < B; b++) {
            w[b] = prev ? layer_kind_of(prev->kind)->out_width(prev, a[-1].g.w[b]) : widths[b];
            off[b] = total;
            total += (size_t)a->g.h * w[b];
        }
        if (total > INT_MAX)
            return set_error(err, CRNN_ERR_LIMIT, "batch too large: %s holds %zu columns, more "
                             "than the %d a matrix product can index; recognise fewer or "
                             "narrower images at once", i ? "a layer's output" : "the input",
                             total, INT_MAX);
        a->g.n = B;
        a->g.w = w;
        a->g.off = off;
        a->g.total = total;
        a->T = 0;
    }
    int *len = net->cols_at + (size_t)(fs + 1) * B, T = 0;
    memcpy(len, net->shape[fs].g.w, sizeof(int) * (size_t)B);
    for (int b = 0; b < B; b++) T = len[b] > T ? len[b] : T;
    net->T = T;
    net->C = m->n_classes;
    act_shape seq = {net->shape[fs].c * net->shape[fs].g.h, {B, 0, len, NULL, (size_t)B * T}, T};
    net->seq = seq;
    for (int l = fs; l < m->n_layers; l++) {
        net->shape[l + 1] = seq;
        net->shape[l + 1].c = m->layers[l].out_c;
    }
    return CRNN_OK;
}

/* Places everything in the arena (module comment) and grows it if needed. */
static crnn_status plan(network *net, const crnn_model *m, int training, crnn_error *err) {
    size_t at = 0, slot[2] = {0, 0}, scratch = 0, back = 0, grad = 0;
    for (int l = 0; l < m->n_layers; l++) {
        const model_layer *ly = &m->layers[l];
        const act_shape *in = input_of(net, l), *out = &net->shape[l + 1];
        layer_need n = layer_kind_of(ly->kind)->need(ly, in, out, training);
        size_t n_out = act_floats(out);
        if (training) {
            net->out_at[l] = at;
            at += aligned(n_out);
            net->saved_at[l] = at;
            at += aligned(n.saved);
        } else if (n_out > slot[l & 1]) {
            slot[l & 1] = n_out;
        }
        if (n.scratch > scratch) scratch = n.scratch;
        if (n.back_scratch > back) back = n.back_scratch;
        if ((l > 0 || l == net->fs) && act_floats(in) > grad) grad = act_floats(in); /* d input */
    }
    if (!training) { /* layer l writes slot l & 1 */
        for (int l = 0; l < m->n_layers; l++) net->out_at[l] = l & 1 ? aligned(slot[0]) : 0;
        at = aligned(slot[0]) + aligned(slot[1]);
    }
    if (act_floats(&net->shape[net->fs]) > grad) grad = act_floats(&net->shape[net->fs]);
    net->seq_at = at;
    at += aligned(act_floats(&net->seq));
    net->logp_at = at;
    at += aligned((size_t)net->B * net->T * net->C);
    net->work_at = at;
    net->grad_n = training ? aligned(grad) : 0;
    net->work_n = training && 2 * net->grad_n + back > scratch ? 2 * net->grad_n + back : scratch;
    at += aligned(net->work_n);
    if (at > net->arena_cap) {
        free(net->arena);
        net->arena = malloc(at * sizeof(float));
        net->arena_cap = net->arena ? at : 0;
        if (!net->arena)
            return set_error(err, CRNN_ERR_NOMEM, "out of memory for activations (%zu floats)", at);
    }
    return CRNN_OK;
}

static layer_call call_of(const network *net, const crnn_model *m, int l) {
    layer_call c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.l = &m->layers[l];
    c.in = input_of(net, l);
    c.out = &net->shape[l + 1];
    c.x = l == 0 && net->fs > 0 ? net->input
        : l == net->fs          ? net->arena + net->seq_at
                                : net->arena + net->out_at[l - 1];
    c.y = net->arena + net->out_at[l];
    c.saved = net->training ? net->arena + net->saved_at[l] : NULL;
    c.training = net->training;
    c.team = net->training ? NULL : net->team;
    return c;
}

crnn_status network_forward(network *net, const crnn_model *m, const float *input,
                            const int *widths, int B, int training, crnn_error *err) {
    net->valid = 0;
    if (B < 1 || B > NET_MAX_BATCH)
        return set_error(err, CRNN_ERR_ARG, "batch of %d images outside 1..%d", B, NET_MAX_BATCH);
    if (training && m->bn_folded)
        return set_error(err, CRNN_ERR_ARG, "cannot train a model whose batch-norm is folded");
    crnn_status s = set_geometry(net, m, widths, B, err);
    if (s == CRNN_OK) s = plan(net, m, training, err);
    if (s != CRNN_OK) return s;
    net->training = training;
    net->input = input;
    const int fs = net->fs;
    for (int l = 0; l < m->n_layers; l++) {
        if (l == fs) /* the map's columns become the steps of a sequence */
            map_to_sequence_forward(net->arena + net->seq_at,
                                    fs ? net->arena + net->out_at[fs - 1] : input,
                                    net->shape[fs].c, &net->shape[fs].g, net->T);
        layer_call c = call_of(net, m, l);
        c.scratch = net->arena + net->work_at;
        c.scratch_n = net->work_n;
        layer_kind_of(m->layers[l].kind)->forward(&c);
    }
    log_softmax_forward(net->arena + net->logp_at, net->arena + net->out_at[m->n_layers - 1],
                        B * net->T, net->C);
    net->valid = 1;
    return CRNN_OK;
}

void network_update_running(network *net, const crnn_model *m, float *params, float momentum) {
    if (!net->valid || !net->training) return;
    for (int l = 0; l < m->n_layers; l++) {
        const layer_kind *k = layer_kind_of(m->layers[l].kind);
        if (!k->update_running) continue;
        layer_call c = call_of(net, m, l);
        k->update_running(&c, params, momentum);
    }
}

const float *network_log_probs(const network *net, int *B, int *T, int *C, const int **len) {
    if (!net->valid) return NULL;
    if (B) *B = net->B;
    if (T) *T = net->T;
    if (C) *C = net->C;
    if (len) *len = net->seq.g.w;
    return net->arena + net->logp_at;
}

crnn_status network_backward(network *net, const crnn_model *m, float *grads,
                             const float *dlogits, crnn_error *err) {
    if (!net->valid || !net->training)
        return set_error(err, CRNN_ERR_ARG, "backward needs a training forward first");
    const int fs = net->fs;
    float *grad_buf[2] = {net->arena + net->work_at, net->arena + net->work_at + net->grad_n};
    float *scratch = net->arena + net->work_at + 2 * net->grad_n;
    const size_t scratch_n = net->work_n - 2 * net->grad_n;
    const float *dout = dlogits;
    int g = 0; /* which gradient buffer receives the next input gradient */
    for (int l = m->n_layers - 1; l >= 0; l--) {
        if (l == fs - 1) { /* back through map-to-sequence */
            const act_shape *map = &net->shape[fs];
            float *dmap = grad_buf[g];
            memset(dmap, 0, act_floats(map) * sizeof(float));
            map_to_sequence_backward(dmap, dout, map->c, &map->g, net->T);
            dout = dmap;
            g ^= 1;
        }
        layer_call c = call_of(net, m, l);
        c.scratch = scratch;
        c.scratch_n = scratch_n;
        c.dy = dout;
        c.grads = grads;
        /* The image needs no gradient; every other input does. */
        if (l > 0 || l == fs) {
            c.dx = grad_buf[g];
            memset(c.dx, 0, act_floats(c.in) * sizeof(float));
        }
        layer_kind_of(m->layers[l].kind)->backward(&c);
        dout = c.dx;
        g ^= 1;
    }
    return CRNN_OK;
}

/* network.c — the layer list of a model run over a batch, forward and backward. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/network.h"
#include "util/util.h"

typedef struct {
    float *p;
    size_t cap;
} fbuf;

typedef struct {
    int *p;
    size_t cap;
} ibuf;

#define GEOMS (MODEL_MAX_LAYERS + 1)

struct network {
    int training, B, T, C;
    team *team; /* inference: threads that share each layer (network_set_threads); or NULL */
    /* CNN geometry: index 0 is the input, l + 1 the output of layer l. */
    int h[GEOMS];
    int *w[GEOMS];
    size_t *off[GEOMS];
    size_t total[GEOMS];
    int geom_batch_cap;
    const float *input;
    fbuf act[GEOMS];               /* outputs; inference reuses slots 1 and 2 in turn */
    fbuf pre[MODEL_MAX_LAYERS];    /* training: conv output before batch-norm */
    fbuf bn_mean[MODEL_MAX_LAYERS], bn_rstd[MODEL_MAX_LAYERS];
    ibuf argmax[MODEL_MAX_LAYERS]; /* training: max-pool winners */
    fbuf cols;
    fbuf seq_in;
    fbuf gates[MODEL_MAX_LAYERS][2], cells[MODEL_MAX_LAYERS][2];
    fbuf state, step;
    fbuf logp;
    int *len;
    /* backward scratch */
    fbuf grad[2], tmp[2], rnn_a, rnn_b, rnn_c;
};

static int grow(fbuf *b, size_t n) {
    if (n <= b->cap) return 1;
    size_t cap = n + n / 4 + 64;
    float *p = realloc(b->p, cap * sizeof(float));
    if (!p) return 0;
    b->p = p;
    b->cap = cap;
    return 1;
}

static int grow_i(ibuf *b, size_t n) {
    if (n <= b->cap) return 1;
    size_t cap = n + n / 4 + 64;
    int *p = realloc(b->p, cap * sizeof(int));
    if (!p) return 0;
    b->p = p;
    b->cap = cap;
    return 1;
}

static size_t fbuf_bytes(const fbuf *b) { return b->cap * sizeof(float); }

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
    for (int i = 0; i < GEOMS; i++) {
        free(net->w[i]);
        free(net->off[i]);
        free(net->act[i].p);
    }
    for (int i = 0; i < MODEL_MAX_LAYERS; i++) {
        free(net->pre[i].p);
        free(net->bn_mean[i].p);
        free(net->bn_rstd[i].p);
        free(net->argmax[i].p);
        for (int d = 0; d < 2; d++) {
            free(net->gates[i][d].p);
            free(net->cells[i][d].p);
        }
    }
    free(net->cols.p);
    free(net->seq_in.p);
    free(net->state.p);
    free(net->step.p);
    free(net->logp.p);
    free(net->len);
    for (int i = 0; i < 2; i++) {
        free(net->grad[i].p);
        free(net->tmp[i].p);
    }
    free(net->rnn_a.p);
    free(net->rnn_b.p);
    free(net->rnn_c.p);
    free(net);
}

size_t network_memory(const network *net) {
    size_t n = fbuf_bytes(&net->cols) + fbuf_bytes(&net->seq_in) + fbuf_bytes(&net->state) +
               fbuf_bytes(&net->step) + fbuf_bytes(&net->logp) + fbuf_bytes(&net->rnn_a) +
               fbuf_bytes(&net->rnn_b) + fbuf_bytes(&net->rnn_c);
    for (int i = 0; i < GEOMS; i++) n += fbuf_bytes(&net->act[i]);
    for (int i = 0; i < MODEL_MAX_LAYERS; i++) {
        n += fbuf_bytes(&net->pre[i]) + net->argmax[i].cap * sizeof(int);
        for (int d = 0; d < 2; d++) n += fbuf_bytes(&net->gates[i][d]) + fbuf_bytes(&net->cells[i][d]);
    }
    for (int i = 0; i < 2; i++) n += fbuf_bytes(&net->grad[i]) + fbuf_bytes(&net->tmp[i]);
    return n;
}

/* Which act slot holds layer l's output: every layer its own in training (backward needs
   them all), two alternating slots at inference. */
static int slot(const network *net, int l) { return net->training ? l + 1 : 1 + (l & 1); }

static map_geom geom(const network *net, int i) {
    map_geom g = {net->B, net->h[i], net->w[i], net->off[i], net->total[i]};
    return g;
}

static window2d conv_window(const model_layer *l) {
    window2d k = {CONV_KH(l), CONV_KW(l), CONV_SH(l), CONV_SW(l), CONV_PH(l), CONV_PW(l)};
    return k;
}

static window2d pool_window(const model_layer *l) {
    window2d k = {POOL_KH(l), POOL_KW(l), POOL_SH(l), POOL_SW(l), POOL_PH(l), POOL_PW(l)};
    return k;
}

static int out_size(int in, int k, int s, int pad) {
    return in + 2 * pad < k ? 0 : (in + 2 * pad - k) / s + 1;
}

static crnn_status set_geometry(network *net, const crnn_model *m, const int *widths, int B,
                                crnn_error *err) {
    if (B > net->geom_batch_cap) {
        for (int i = 0; i < GEOMS; i++) {
            free(net->w[i]);
            free(net->off[i]);
            net->w[i] = malloc(sizeof(int) * (size_t)B);
            net->off[i] = malloc(sizeof(size_t) * (size_t)B);
            if (!net->w[i] || !net->off[i]) {
                net->geom_batch_cap = 0;
                return set_error(err, CRNN_ERR_NOMEM, "out of memory for batch geometry");
            }
        }
        free(net->len);
        net->len = malloc(sizeof(int) * (size_t)B);
        if (!net->len) {
            net->geom_batch_cap = 0;
            return set_error(err, CRNN_ERR_NOMEM, "out of memory for batch geometry");
        }
        net->geom_batch_cap = B;
    }
    net->B = B;
    net->h[0] = m->input_height;
    for (int b = 0; b < B; b++) {
        if (widths[b] < m->min_width || widths[b] > CRNN_MAX_INPUT_WIDTH)
            return set_error(err, CRNN_ERR_ARG, "image %d of the batch is %d columns wide; the "
                             "model needs %d..%d", b, widths[b], m->min_width,
                             CRNN_MAX_INPUT_WIDTH);
        net->w[0][b] = widths[b];
    }
    for (int l = 0; l < m->first_seq_layer; l++) {
        const model_layer *ly = &m->layers[l];
        window2d k = ly->kind == LAYER_CONV ? conv_window(ly) : pool_window(ly);
        net->h[l + 1] = ly->out_h;
        for (int b = 0; b < B; b++) net->w[l + 1][b] = out_size(net->w[l][b], k.kw, k.sw, k.pw);
    }
    for (int i = 0; i <= m->first_seq_layer; i++) {
        size_t total = 0;
        for (int b = 0; b < B; b++) {
            net->off[i][b] = total;
            total += (size_t)net->h[i] * net->w[i][b];
        }
        net->total[i] = total;
    }
    int T = 0;
    for (int b = 0; b < B; b++) {
        net->len[b] = net->w[m->first_seq_layer][b];
        if (net->len[b] > T) T = net->len[b];
    }
    net->T = T;
    return CRNN_OK;
}

#define NEED(buf, n)                                                                         \
    do {                                                                                     \
        if (!grow((buf), (n))) return set_error(err, CRNN_ERR_NOMEM, "out of memory (%zu floats)", \
                                                (size_t)(n));                                 \
    } while (0)

/* Scratch for im2col: room for the largest single image, and up to ~32 MB for grouping. */
static size_t cols_needed(const network *net, const crnn_model *m) {
    size_t need = 0;
    for (int l = 0; l < m->first_seq_layer; l++) {
        const model_layer *ly = &m->layers[l];
        if (ly->kind != LAYER_CONV) continue;
        size_t K = (size_t)ly->in_c * CONV_KH(ly) * CONV_KW(ly), widest = 0;
        for (int b = 0; b < net->B; b++)
            if ((size_t)net->w[l + 1][b] > widest) widest = (size_t)net->w[l + 1][b];
        size_t single = K * (size_t)net->h[l + 1] * widest;
        size_t all = K * net->total[l + 1];
        size_t want = all < (8u << 20) ? all : (8u << 20);
        if (single > want) want = single;
        if (want > need) need = want;
    }
    return need;
}

/* The layers' shares of one inference pass, run by the network's team (team.h): channel
   ranges of ReLU and max-pool, the two directions of a bidirectional recurrent layer. */
typedef struct {
    float *p;
    size_t per_channel;
    int channels;
} relu_job;

static void relu_part(void *arg, int part, int parts) {
    const relu_job *j = arg; /* channel ranges: contiguous */
    size_t a = j->per_channel * (size_t)(j->channels * part / parts);
    size_t e = j->per_channel * (size_t)(j->channels * (part + 1) / parts);
    relu_forward(j->p + a, j->p + a, e - a);
}

typedef struct {
    float *out;
    int *argmax;
    const float *inp;
    int channels;
    window2d k;
    const map_geom *gin, *gout;
} pool_job;

static void pool_part(void *arg, int part, int parts) {
    const pool_job *j = arg;
    int c0 = j->channels * part / parts, c1 = j->channels * (part + 1) / parts;
    maxpool_forward(j->out + (size_t)c0 * j->gout->total,
                    j->argmax ? j->argmax + (size_t)c0 * j->gout->total : NULL,
                    j->inp + (size_t)c0 * j->gin->total, c1 - c0, j->k, j->gin, j->gout);
}

typedef struct {
    network *net;
    const crnn_model *m;
    const model_layer *ly;
    float *out;
    const float *inp;
    int l, li;
    size_t state_n, step_n;
    int training;
} rnn_job;

/* Each direction has its own state and step scratch, so that the two can run side by side. */
static void rnn_direction(void *arg, int d, int dirs) {
    (void)dirs;
    const rnn_job *j = arg;
    network *net = j->net;
    const model_layer *ly = j->ly;
    const size_t *t = ly->rnn[d];
    const float *P = j->m->params;
    int H = RNN_HIDDEN(ly), B = net->B, T = net->T;
    float *state = net->state.p + d * j->state_n, *step = net->step.p + d * j->step_n;
    if (ly->kind == LAYER_LSTM)
        lstm_forward(j->out, ly->out_c, d * H, net->gates[j->li][d].p,
                     j->training ? net->cells[j->l][d].p : NULL, state, step, j->inp, P + t[0],
                     P + t[1], P + t[2], P + t[3], net->len, B, T, ly->in_c, H, d);
    else
        gru_forward(j->out, ly->out_c, d * H, net->gates[j->li][d].p, state, step, j->inp,
                    P + t[0], P + t[1], P + t[2], P + t[3], net->len, B, T, ly->in_c, H, d);
}

crnn_status network_forward(network *net, crnn_model *m, const float *input, const int *widths,
                            int B, int training, float bn_momentum, crnn_error *err) {
    if (B < 1 || B > NET_MAX_BATCH)
        return set_error(err, CRNN_ERR_ARG, "batch of %d images outside 1..%d", B, NET_MAX_BATCH);
    if (training && m->bn_folded)
        return set_error(err, CRNN_ERR_ARG, "cannot train a model whose batch-norm is folded");
    net->training = training;
    net->input = input;
    crnn_status s = set_geometry(net, m, widths, B, err);
    if (s != CRNN_OK) return s;
    size_t cols_cap = cols_needed(net, m);
    NEED(&net->cols, cols_cap);

    const float *cur = input;
    for (int l = 0; l < m->first_seq_layer; l++) {
        model_layer *ly = &m->layers[l];
        map_geom gin = geom(net, l), gout = geom(net, l + 1);
        size_t n_out = (size_t)ly->out_c * gout.total;
        fbuf *out = &net->act[slot(net, l)];
        NEED(out, n_out);
        if (ly->kind == LAYER_CONV) {
            const float *W = m->params + ly->weight, *bias = m->params + ly->bias;
            int bn = (CONV_FLAGS(ly) & CONV_FLAG_BN) && !m->bn_folded;
            if (bn && training) {
                NEED(&net->pre[l], n_out);
                NEED(&net->bn_mean[l], (size_t)ly->out_c);
                NEED(&net->bn_rstd[l], (size_t)ly->out_c);
                conv2d_forward(net->pre[l].p, net->cols.p, net->cols.cap, cur, W, bias, ly->in_c,
                               ly->out_c, conv_window(ly), &gin, &gout, NULL);
                batchnorm_forward(out->p, net->bn_mean[l].p, net->bn_rstd[l].p, net->pre[l].p,
                                  m->params + ly->bn_weight, m->params + ly->bn_bias,
                                  bn_momentum >= 0 ? m->params + ly->bn_mean : NULL,
                                  bn_momentum >= 0 ? m->params + ly->bn_var : NULL, bn_momentum,
                                  ly->out_c, gout.total);
            } else {
                conv2d_forward(out->p, net->cols.p, net->cols.cap, cur, W, bias, ly->in_c,
                               ly->out_c, conv_window(ly), &gin, &gout,
                               training ? NULL : net->team);
                if (bn) { /* evaluation of an unfolded model: running statistics */
                    for (int c = 0; c < ly->out_c; c++) {
                        float sc = m->params[ly->bn_weight + c] /
                                   sqrtf(m->params[ly->bn_var + c] + BN_EPS);
                        float sh = m->params[ly->bn_bias + c] - m->params[ly->bn_mean + c] * sc;
                        float *row = out->p + (size_t)c * gout.total;
                        for (size_t p = 0; p < gout.total; p++) row[p] = row[p] * sc + sh;
                    }
                }
            }
            if (CONV_FLAGS(ly) & CONV_FLAG_RELU) {
                relu_job job = {out->p, gout.total, ly->out_c};
                team_run(training ? NULL : net->team, team_threads(training ? NULL : net->team),
                         relu_part, &job);
            }
        } else {
            int *arg = NULL;
            if (training) {
                if (!grow_i(&net->argmax[l], n_out))
                    return set_error(err, CRNN_ERR_NOMEM, "out of memory");
                arg = net->argmax[l].p;
            }
            pool_job job = {out->p, arg, cur, ly->out_c, pool_window(ly), &gin, &gout};
            team *tm = training ? NULL : net->team;
            team_run(tm, team_threads(tm), pool_part, &job);
        }
        cur = out->p;
    }

    const int fs = m->first_seq_layer, T = net->T;
    const model_layer *last_cnn = fs > 0 ? &m->layers[fs - 1] : NULL;
    int F = (last_cnn ? last_cnn->out_c : m->input_channels) * net->h[fs];
    map_geom gseq = geom(net, fs);
    NEED(&net->seq_in, (size_t)B * T * F);
    map_to_sequence_forward(net->seq_in.p, cur, last_cnn ? last_cnn->out_c : m->input_channels,
                            &gseq, T);
    cur = net->seq_in.p;
    for (int l = fs; l < m->n_layers; l++) {
        const model_layer *ly = &m->layers[l];
        fbuf *out = &net->act[slot(net, l)];
        NEED(out, (size_t)B * T * ly->out_c);
        if (ly->kind == LAYER_LINEAR) {
            linear_forward(out->p, cur, m->params + ly->weight, m->params + ly->bias, B * T,
                           ly->in_c, ly->out_c);
        } else {
            int H = RNN_HIDDEN(ly), lstm = ly->kind == LAYER_LSTM;
            int li = training ? l : 0, dirs = 1 + RNN_BIDIR(ly);
            /* Each direction has its own state and step scratch, so that the two can run
               side by side on two threads (inference with network_set_threads). */
            const size_t state_n = (size_t)B * 2 * H, step_n = (size_t)B * 4 * H;
            NEED(&net->state, 2 * state_n);
            NEED(&net->step, 2 * step_n);
            for (int d = 0; d < dirs; d++) {
                NEED(&net->gates[li][d], (size_t)B * T * 4 * H);
                if (lstm && training) NEED(&net->cells[l][d], (size_t)B * T * H);
            }
            rnn_job job = {net, m, ly, out->p, cur, l, li, state_n, step_n, training};
            team_run(training ? NULL : net->team, dirs, rnn_direction, &job);
        }
        cur = out->p;
    }
    net->C = m->n_classes;
    NEED(&net->logp, (size_t)B * T * net->C);
    log_softmax_forward(net->logp.p, cur, B * T, net->C);
    return CRNN_OK;
}

const float *network_log_probs(const network *net, int *B, int *T, int *C, const int **len) {
    if (B) *B = net->B;
    if (T) *T = net->T;
    if (C) *C = net->C;
    if (len) *len = net->len;
    return net->logp.p;
}

crnn_status network_backward(network *net, const crnn_model *m, float *grads,
                             const float *dlogits, crnn_error *err) {
    if (!net->training)
        return set_error(err, CRNN_ERR_ARG, "backward needs a training forward first");
    const int B = net->B, T = net->T, fs = m->first_seq_layer;
    const float *dout = dlogits;
    int g = 0; /* which grad buffer receives the next input gradient */
    for (int l = m->n_layers - 1; l >= fs; l--) {
        const model_layer *ly = &m->layers[l];
        const float *in = l == fs ? net->seq_in.p : net->act[slot(net, l - 1)].p;
        size_t n_in = (size_t)B * T * ly->in_c;
        NEED(&net->grad[g], n_in);
        float *dinp = net->grad[g].p;
        memset(dinp, 0, n_in * sizeof(float));
        if (ly->kind == LAYER_LINEAR) {
            linear_backward(dinp, grads + ly->weight, grads + ly->bias, dout, in,
                            m->params + ly->weight, B * T, ly->in_c, ly->out_c);
        } else {
            int H = RNN_HIDDEN(ly);
            const float *out = net->act[slot(net, l)].p;
            for (int d = 0; d < 1 + RNN_BIDIR(ly); d++) {
                const size_t *t = ly->rnn[d];
                if (ly->kind == LAYER_LSTM) {
                    NEED(&net->rnn_a, (size_t)B * T * 4 * H);
                    NEED(&net->rnn_b, (size_t)B * T * H);
                    NEED(&net->step, (size_t)B * 6 * H);
                    lstm_backward(dinp, grads + t[0], grads + t[1], grads + t[2], grads + t[3],
                                  net->rnn_a.p, net->rnn_b.p, net->step.p, dout, ly->out_c, d * H,
                                  out, net->gates[l][d].p, net->cells[l][d].p, in,
                                  m->params + t[0], m->params + t[1], net->len, B, T, ly->in_c, H,
                                  d);
                } else {
                    NEED(&net->rnn_a, (size_t)B * T * 3 * H);
                    NEED(&net->rnn_c, (size_t)B * T * 3 * H);
                    NEED(&net->rnn_b, (size_t)B * T * H);
                    NEED(&net->step, (size_t)B * 4 * H);
                    gru_backward(dinp, grads + t[0], grads + t[1], grads + t[2], grads + t[3],
                                 net->rnn_a.p, net->rnn_c.p, net->rnn_b.p, net->step.p, dout,
                                 ly->out_c, d * H, out, net->gates[l][d].p, in, m->params + t[0],
                                 m->params + t[1], net->len, B, T, ly->in_c, H, d);
                }
            }
        }
        dout = dinp;
        g ^= 1;
    }
    if (fs == 0) return CRNN_OK;
    const model_layer *last_cnn = &m->layers[fs - 1];
    map_geom gseq = geom(net, fs);
    size_t n_map = (size_t)last_cnn->out_c * gseq.total;
    NEED(&net->grad[g], n_map);
    float *dmap = net->grad[g].p;
    memset(dmap, 0, n_map * sizeof(float));
    map_to_sequence_backward(dmap, dout, last_cnn->out_c, &gseq, T);
    dout = dmap;
    g ^= 1;
    for (int l = fs - 1; l >= 0; l--) {
        const model_layer *ly = &m->layers[l];
        map_geom gin = geom(net, l), gout = geom(net, l + 1);
        const float *in = l == 0 ? net->input : net->act[slot(net, l - 1)].p;
        size_t n_in = (size_t)ly->in_c * gin.total, n_out = (size_t)ly->out_c * gout.total;
        float *dinp = NULL;
        if (l > 0) {
            NEED(&net->grad[g], n_in);
            dinp = net->grad[g].p;
            memset(dinp, 0, n_in * sizeof(float));
        }
        if (ly->kind == LAYER_CONV) {
            const float *out = net->act[slot(net, l)].p;
            if (CONV_FLAGS(ly) & CONV_FLAG_RELU) {
                NEED(&net->tmp[0], n_out);
                memset(net->tmp[0].p, 0, n_out * sizeof(float));
                relu_backward(net->tmp[0].p, dout, out, n_out);
                dout = net->tmp[0].p;
            }
            if (CONV_FLAGS(ly) & CONV_FLAG_BN) {
                NEED(&net->tmp[1], n_out);
                memset(net->tmp[1].p, 0, n_out * sizeof(float));
                batchnorm_backward(net->tmp[1].p, grads + ly->bn_weight, grads + ly->bn_bias, dout,
                                   net->pre[l].p, m->params + ly->bn_weight, net->bn_mean[l].p,
                                   net->bn_rstd[l].p, ly->out_c, gout.total);
                dout = net->tmp[1].p;
            }
            conv2d_backward(dinp, grads + ly->weight, grads + ly->bias, net->cols.p,
                            net->cols.cap, dout, in, m->params + ly->weight, ly->in_c, ly->out_c,
                            conv_window(ly), &gin, &gout);
        } else if (dinp) {
            maxpool_backward(dinp, dout, net->argmax[l].p, ly->out_c, gin.total, gout.total);
        }
        if (!dinp) break;
        dout = dinp;
        g ^= 1;
    }
    return CRNN_OK;
}

/* step.c — the gradients of one training step, the batch shared among worker threads (data
   parallelism over the cores): each worker runs forward, the CTC loss and backward on its
   share with its own network and gradient buffer (batch-norm statistics per share, "ghost
   batch-norm"), BLAS single-threaded inside; the gradients are then summed. Only worker 0
   blends its batch statistics into the model's running statistics, so the model is written by
   one thread, after its own forward pass. */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ctc/ctc.h"
#include "nn/network.h"
#include "train/loader.h"
#include "train/train.h"

typedef struct {
    network *net;
    float *grads, *dlogits, *input;
    size_t dlogits_cap, input_cap;
    /* this step */
    crnn_model *m;
    const train_batch *b;
    int first, count;  /* samples [first, first + count) of the batch */
    size_t input_off;  /* their first column in each input plane */
    size_t input_cols, batch_cols; /* columns of their planes, and of the batch's */
    float bn_momentum; /* < 0: leave the running statistics alone */
    step_stats stats;
    crnn_status status;
    crnn_error err;
} worker;

struct train_workers {
    int n;
    worker w[TRAIN_MAX_WORKERS];
};

train_workers *train_workers_new(const crnn_model *m, int threads, crnn_error *err) {
    train_workers *tw = calloc(1, sizeof *tw);
    if (!tw) {
        set_error(err, CRNN_ERR_NOMEM, "out of memory for training buffers");
        return NULL;
    }
    tw->n = threads < 1 ? 1 : threads > TRAIN_MAX_WORKERS ? TRAIN_MAX_WORKERS : threads;
    for (int r = 0; r < tw->n; r++) {
        tw->w[r].net = network_new();
        tw->w[r].grads = calloc(m->n_params ? m->n_params : 1, sizeof(float));
        if (!tw->w[r].net || !tw->w[r].grads) {
            train_workers_free(tw);
            set_error(err, CRNN_ERR_NOMEM, "out of memory for training buffers");
            return NULL;
        }
    }
    return tw;
}

void train_workers_free(train_workers *tw) {
    if (!tw) return;
    for (int r = 0; r < tw->n; r++) {
        network_free(tw->w[r].net);
        free(tw->w[r].grads);
        free(tw->w[r].dlogits);
        free(tw->w[r].input);
    }
    free(tw);
}

static int all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

static void *worker_run(void *arg) {
    worker *r = arg;
    const train_batch *b = r->b;
    crnn_model *m = r->m;
    memset(&r->stats, 0, sizeof r->stats);
    memset(r->grads, 0, m->n_params * sizeof(float));
    const float *input = b->input + r->input_off;
    const int planes = m->input_channels;
    if (planes > 1 && r->input_cols < r->batch_cols) {
        /* The batch's input is one plane per channel over all its images: this share's
           columns of each plane are gathered into planes of their own. */
        size_t need = (size_t)planes * r->input_cols;
        if (need > r->input_cap) {
            free(r->input);
            r->input = malloc(need * sizeof(float));
            r->input_cap = r->input ? need : 0;
            if (!r->input) {
                r->status = set_error(&r->err, CRNN_ERR_NOMEM, "out of memory");
                return NULL;
            }
        }
        for (int c = 0; c < planes; c++)
            memcpy(r->input + (size_t)c * r->input_cols,
                   b->input + (size_t)c * r->batch_cols + r->input_off,
                   r->input_cols * sizeof(float));
        input = r->input;
    }
    r->status = network_forward(r->net, m, input, b->widths + r->first, r->count, 1, &r->err);
    if (r->status != CRNN_OK) return NULL;
    if (r->bn_momentum >= 0) network_update_running(r->net, m, m->params, r->bn_momentum);
    int B, T, C;
    const int *len;
    const float *lp = network_log_probs(r->net, &B, &T, &C, &len);
    size_t need = (size_t)B * T * C;
    if (need > r->dlogits_cap) {
        free(r->dlogits);
        r->dlogits = malloc(need * sizeof(float));
        r->dlogits_cap = r->dlogits ? need : 0;
        if (!r->dlogits) {
            r->status = set_error(&r->err, CRNN_ERR_NOMEM, "out of memory");
            return NULL;
        }
    }
    memset(r->dlogits, 0, need * sizeof(float));
    for (int i = 0; i < B; i++) {
        int s = r->first + i;
        float *g = r->dlogits + (size_t)i * T * C;
        const float *lpi = lp + (size_t)i * T * C;
        double li = ctc_loss(lpi, len[i], C, b->labels + b->label_off[s], b->label_len[s], g);
        if (isnan(li) && all_finite(lpi, (size_t)len[i] * C)) { /* ctc.h: out of memory */
            r->status = set_error(&r->err, CRNN_ERR_NOMEM, "out of memory for the CTC loss");
            return NULL;
        }
        if (isinf(li) && li > 0) { /* the loader filters these; count any that slip by */
            r->stats.unalignable++;
            memset(g, 0, sizeof(float) * (size_t)T * C);
            continue;
        }
        r->stats.loss += li;
        r->stats.counted++;
    }
    /* The loss is the mean over the whole batch, so each share scales by the full size (the
       global batch's, when this batch is one rank's share of it). */
    float scale = 1.0f / (float)(b->global_B > 0 ? b->global_B : b->B);
    for (size_t k = 0; k < need; k++) r->dlogits[k] *= scale;
    if (isfinite(r->stats.loss) && r->stats.counted)
        r->status = network_backward(r->net, m, r->grads, r->dlogits, &r->err);
    return NULL;
}

crnn_status train_workers_run(train_workers *tw, crnn_model *m, const train_batch *b,
                              float bn_momentum, step_stats *stats, float **grads,
                              crnn_error *err) {
    if (b->B == 0) { /* a rank whose share of the global batch is empty adds nothing */
        memset(stats, 0, sizeof *stats);
        memset(tw->w[0].grads, 0, m->n_params * sizeof(float));
        *grads = tw->w[0].grads;
        return CRNN_OK;
    }
    /* Share the batch among the workers, each at least one sample. */
    int R = tw->n < b->B ? tw->n : b->B;
    size_t off = 0, batch_cols = 0;
    for (int k = 0; k < b->B; k++) batch_cols += (size_t)m->input_height * b->widths[k];
    for (int r = 0, first = 0; r < R; r++) {
        worker *w = &tw->w[r];
        w->m = m;
        w->b = b;
        w->first = first;
        w->count = b->B / R + (r < b->B % R);
        w->input_off = off;
        w->batch_cols = batch_cols;
        w->bn_momentum = r == 0 ? bn_momentum : -1.0f;
        for (int k = first; k < first + w->count; k++)
            off += (size_t)m->input_height * b->widths[k];
        w->input_cols = off - w->input_off;
        first += w->count;
    }
    pthread_t tids[TRAIN_MAX_WORKERS];
    int started[TRAIN_MAX_WORKERS] = {0};
    for (int r = 1; r < R; r++)
        started[r] = pthread_create(&tids[r], NULL, worker_run, &tw->w[r]) == 0;
    worker_run(&tw->w[0]);
    for (int r = 1; r < R; r++) {
        if (started[r]) pthread_join(tids[r], NULL);
        else worker_run(&tw->w[r]); /* no thread to be had: do it here */
    }
    crnn_status s = CRNN_OK;
    memset(stats, 0, sizeof *stats);
    for (int r = 0; r < R; r++) {
        if (tw->w[r].status != CRNN_OK && s == CRNN_OK) {
            s = tw->w[r].status;
            if (err) *err = tw->w[r].err;
        }
        stats->loss += tw->w[r].stats.loss;
        stats->counted += tw->w[r].stats.counted;
        stats->unalignable += tw->w[r].stats.unalignable;
    }
    if (s != CRNN_OK) return s;
    for (int r = 1; r < R; r++)
        cblas_saxpy((int)m->n_params, 1.0f, tw->w[r].grads, 1, tw->w[0].grads, 1);
    *grads = tw->w[0].grads;
    return CRNN_OK;
}

/* test_network.c — the whole network (src/nn/network.c) over tiny models built with model_build.

   (a) Training forward + backward with d loss / d logits from ctc_loss, over a batch of three
       images of different widths: the gradient of every parameter tensor (several entries of
       each, all entries of small ones) against central finite differences of the batch's
       total CTC loss, each evaluated by a full training-mode forward. Batch-norm uses batch
       statistics there, consistently; bn_momentum 0 keeps the running statistics fixed, which
       is checked too. backward must also accumulate (+=).
   (b) Inference on an unfolded model (batch-norm from running statistics) equals inference
       after model_fold_batchnorm.
   (c) In inference, each image of a mixed-width batch gives what it gives alone (and a batch
       in reverse order gives the same).
   (d) Inference with running statistics set to a batch's own statistics reproduces the
       training forward on that batch.
   Three architectures: conv+BN+ReLU, pools (2×2 and the CRNN (2,1)-stride pool), bi-LSTM then
   bi-GRU (height 8); strided conv, 2×1 pool, pointwise conv+BN, bi-GRU then a one-directional
   LSTM (height 16); depthwise-separable blocks (depthwise 3×3 + BN + ReLU, then pointwise),
   one depthwise conv strided (2, 1) and without ReLU, a bi-LSTM (height 8). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctc/ctc.h"
#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/maxpool.h"
#include "layers/recurrent.h"
#include "model/model.h"
#include "nn/network.h"
#include "test.h"

#define B 3
#define NCLASS 5

static const uint32_t charset[NCLASS] = {0, 'a', 'b', 'c', 'd'};

static crnn_model *build(int variant) {
    model_spec s;
    memset(&s, 0, sizeof s);
    s.input_channels = 1;
    s.norm_mean = 0.5f;
    s.norm_std = 0.25f;
    s.n_classes = NCLASS;
    s.charset = charset;
    s.n_layers = 7;
#define L(i, k, ...)                                                                         \
    do {                                                                                     \
        int p_[8] = {__VA_ARGS__};                                                           \
        s.layers[i].kind = (k);                                                              \
        memcpy(s.layers[i].p, p_, sizeof p_);                                                \
    } while (0)
    if (variant == 0) {
        s.input_height = 8;
        L(0, LAYER_CONV, 3, 3, 3, 1, 1, 1, 1, CONV_FLAG_BN | CONV_FLAG_RELU);
        L(1, LAYER_MAXPOOL, 2, 2, 2, 2, 0, 0);          /* h 8 → 4 */
        L(2, LAYER_CONV, 4, 3, 3, 1, 1, 1, 1, CONV_FLAG_BN);
        L(3, LAYER_MAXPOOL, 2, 2, 2, 1, 0, 1);          /* CRNN pool: h 4 → 2, w → w + 1 */
        L(4, LAYER_LSTM, 3, 1);
        L(5, LAYER_GRU, 3, 1);
        L(6, LAYER_LINEAR, NCLASS);
    } else if (variant == 2) {
        s.input_height = 8;
        L(0, LAYER_CONV, 3, 3, 3, 1, 1, 1, 1, CONV_FLAG_BN | CONV_FLAG_RELU);
        L(1, LAYER_CONV, 3, 3, 3, 1, 1, 1, 1,
          CONV_FLAG_BN | CONV_FLAG_RELU | CONV_FLAG_DEPTHWISE);
        L(2, LAYER_CONV, 4, 1, 1, 1, 1, 0, 0, CONV_FLAG_BN | CONV_FLAG_RELU);
        L(3, LAYER_MAXPOOL, 2, 2, 2, 2, 0, 0);                  /* h 8 → 4 */
        L(4, LAYER_CONV, 4, 3, 3, 2, 1, 1, 1, CONV_FLAG_BN | CONV_FLAG_DEPTHWISE); /* h → 2 */
        L(5, LAYER_LSTM, 3, 1);
        L(6, LAYER_LINEAR, NCLASS);
    } else {
        s.input_height = 16;
        L(0, LAYER_CONV, 3, 3, 3, 2, 2, 1, 1, CONV_FLAG_RELU); /* h 16 → 8 */
        L(1, LAYER_MAXPOOL, 2, 1, 2, 1, 0, 0);                   /* h 8 → 4 */
        L(2, LAYER_CONV, 3, 1, 1, 1, 1, 0, 0, CONV_FLAG_BN | CONV_FLAG_RELU);
        L(3, LAYER_CONV, 3, 2, 3, 2, 1, 0, 1, 0);               /* h 4 → 2 */
        L(4, LAYER_GRU, 3, 1);
        L(5, LAYER_LSTM, 3, 0);
        L(6, LAYER_LINEAR, NCLASS);
    }
#undef L
    crnn_error err;
    crnn_model *m = model_build(&s, "test", &err);
    if (!m) {
        fprintf(stderr, "model_build: %s\n", err.message);
        exit(1);
    }
    /* Random parameters; fan-in scaling keeps activations O(1) so nothing saturates. */
    for (int i = 0; i < m->n_tensors; i++) {
        const model_tensor *t = &m->tensors[i];
        const char *suffix = strrchr(t->name, '.');
        float *p = m->params + t->offset;
        size_t fan = t->ndim > 1 ? t->count / (size_t)t->dims[0] : 1;
        float a = t->ndim > 1 ? 1.5f / sqrtf((float)fan) : 0.3f;
        for (size_t j = 0; j < t->count; j++) {
            if (!strcmp(suffix, ".bn_weight")) p[j] = test_randf(0.6f, 1.5f);
            else if (!strcmp(suffix, ".bn_var")) p[j] = test_randf(0.3f, 2.0f);
            else if (!strcmp(suffix, ".bn_mean")) p[j] = test_randf(-0.5f, 0.5f);
            else p[j] = test_randf(-a, a);
        }
    }
    return m;
}

/* Channel 0 of every batch-normalised conv gets a tiny scale (variance ~1e-5, like a nearly
   dead channel), where BN_EPS matters: without it, a missing or misplaced eps would change
   results by far less than any tolerance. Running statistics to match. */
static void tiny_channel(crnn_model *m) {
    for (int l = 0; l < m->first_seq_layer; l++) {
        model_layer *ly = &m->layers[l];
        if (ly->kind != LAYER_CONV || !(CONV_FLAGS(ly) & CONV_FLAG_BN)) continue;
        int in = CONV_FLAGS(ly) & CONV_FLAG_DEPTHWISE ? 1 : ly->in_c;
        size_t K = (size_t)in * CONV_KH(ly) * CONV_KW(ly);
        float *weight = model_layer_tensor(m, m->params, l, "weight");
        for (size_t k = 0; k < K; k++) weight[k] *= 0.004f;
        model_layer_tensor(m, m->params, l, "bias")[0] *= 0.004f;
        model_layer_tensor(m, m->params, l, "bn_mean")[0] *= 0.004f;
        model_layer_tensor(m, m->params, l, "bn_var")[0] = 2e-5f;
    }
}

typedef struct {
    int w[B];
    float *input;
    int labels[B][16], nlab[B];
} batch;

static void make_batch(batch *bt, const crnn_model *m, const int *w) {
    size_t P = 0;
    for (int b = 0; b < B; b++) {
        bt->w[b] = w[b];
        P += (size_t)m->input_height * w[b];
    }
    bt->input = malloc(P * sizeof(float));
    for (size_t i = 0; i < P; i++) bt->input[i] = test_randf(-1.5f, 1.5f);
    for (int b = 0; b < B; b++) {
        int T = model_output_width(m, w[b]);
        int L;
        do {
            L = test_randint(1, T / 2 < 6 ? T / 2 : 6);
            for (int i = 0; i < L; i++) bt->labels[b][i] = test_randint(1, NCLASS - 1);
        } while (ctc_min_frames(bt->labels[b], L) > T);
        bt->nlab[b] = L;
    }
}

/* Training forward and the batch's total CTC loss; with dlogits, also d loss / d logits
   (B, T, C), zero on padding frames. */
static double batch_loss(network *net, crnn_model *m, const batch *bt, float **dlogits) {
    crnn_error err;
    if (network_forward(net, m, bt->input, bt->w, B, 1, &err) != CRNN_OK) {
        fprintf(stderr, "network_forward: %s\n", err.message);
        exit(1);
    }
    int nb, T, C;
    const int *len;
    const float *lp = network_log_probs(net, &nb, &T, &C, &len);
    if (dlogits) {
        *dlogits = calloc((size_t)B * T * C, sizeof(float));
    }
    double total = 0;
    for (int b = 0; b < B; b++)
        total += ctc_loss(lp + (size_t)b * T * C, len[b], C, bt->labels[b], bt->nlab[b],
                          dlogits ? *dlogits + (size_t)b * T * C : NULL);
    return total;
}

/* (a) */
static void check_gradients(int variant) {
    crnn_model *m = build(variant);
    static const int widths[3][B] = {{13, 7, 10}, {11, 17, 8}, {12, 6, 9}};
    batch bt;
    make_batch(&bt, m, widths[variant]);
    network *net = network_new();
    float *running = malloc(m->n_params * sizeof(float));
    memcpy(running, m->params, m->n_params * sizeof(float));

    float *dlogits;
    double loss = batch_loss(net, m, &bt, &dlogits);
    CHECK_MSG(isfinite(loss) && loss > 0, "variant %d: loss %g", variant, loss);
    float *grads = calloc(m->n_params, sizeof(float));
    crnn_error err;
    CHECK(network_backward(net, m, grads, dlogits, &err) == CRNN_OK);
    /* accumulation: a second backward adds the same again */
    float *twice = malloc(m->n_params * sizeof(float));
    memcpy(twice, grads, m->n_params * sizeof(float));
    CHECK(network_backward(net, m, twice, dlogits, &err) == CRNN_OK);
    double acc_err = 0;
    for (size_t i = 0; i < m->n_params; i++)
        acc_err = fmax(acc_err, fabs(twice[i] - 2 * grads[i]) / (1e-6 + fabs(grads[i])));
    CHECK_MSG(acc_err <= 1e-4, "variant %d: second backward did not add the same gradient "
              "(worst relative %g)", variant, acc_err);

    /* Float forward noise on a loss of ~20 is up to ~5e-7, so central differences over ±1e-3
       carry a few 1e-4 of noise; the tolerance is 1e-3 + 1% against gradients mostly of
       0.01 … 1. But the loss has kinks — a ReLU or a max-pool winner switching — and for the
       convolution and batch-norm parameters they are dense: sweeping a first-layer weight
       shows slope changes of 5-30% every few 1e-4, while the slope right at the parameter
       matches backward. A kink within the step makes every finite difference across it wrong.
       Entries whose central difference misses are therefore also compared, with a looser
       tolerance, against one-sided and central differences over smaller and larger steps (a
       kink usually leaves one side, or a shorter step, clean). A wrong backward misses those
       too for the many smooth entries; how often the fallback was needed is bounded below.
       The sequence layers' parameters sit after every kink, so the loss is smooth in them and
       they get the strict check only. */
    static const float steps[3] = {1e-3f, 5e-4f, 2e-3f}; /* [0]: the strict central check */
    const double base = batch_loss(net, m, &bt, NULL);
    int checked = 0, fallback = 0, significant = 0;
    double worst = 0;
    const char *worst_name = "";
    for (int ti = 0; ti < m->n_tensors; ti++) {
        const model_tensor *t = &m->tensors[ti];
        int stat = strstr(t->name, ".bn_mean") || strstr(t->name, ".bn_var");
        int li = atoi(t->name + strlen("layer"));
        int smooth = li >= m->first_seq_layer;
        int n_pick = t->count <= 10 ? (int)t->count : 10;
        for (int k = 0; k < n_pick; k++) {
            size_t i = t->offset + (t->count <= 10 ? (size_t)k
                                                    : (size_t)test_randint(0, (int)t->count - 1));
            float s = m->params[i];
            double up[3], dn[3], hu[3], hd[3]; /* losses at s ± step, and the steps taken */
            for (int e = 0; e < 3; e++) {
                m->params[i] = s + steps[e];
                hu[e] = (double)m->params[i] - s;
                up[e] = batch_loss(net, m, &bt, NULL);
                m->params[i] = s - steps[e];
                hd[e] = s - (double)m->params[i];
                dn[e] = batch_loss(net, m, &bt, NULL);
                if (stat) break;
            }
            m->params[i] = s;
            double g = grads[i];
            if (stat) { /* running statistics: unused in training mode */
                CHECK_MSG(g == 0 && up[0] == base && dn[0] == base,
                          "variant %d: %s[%zu]: gradient %g, loss moved by %g", variant, t->name,
                          i - t->offset, g, up[0] - base);
                continue;
            }
            double central = (up[0] - dn[0]) / (hu[0] + hd[0]);
            double r = fabs(g - central) / (1e-3 + 1e-2 * fabs(central));
            if (r > 1 && !smooth) {
                double best = INFINITY;
                for (int e = 0; e < 3; e++) {
                    double est[3] = {(up[e] - dn[e]) / (hu[e] + hd[e]), (up[e] - base) / hu[e],
                                     (base - dn[e]) / hd[e]};
                    for (int j = 0; j < 3; j++)
                        best = fmin(best, fabs(g - est[j]) / (2e-3 + 2e-2 * fabs(est[j])));
                }
                if (best <= 1) {
                    fallback++;
                    r = best;
                }
            }
            checked++;
            significant += fabs(central) > 10 * 1e-3; /* well above the absolute tolerance */
            if (r > worst) worst = r, worst_name = t->name;
            CHECK_MSG(r <= 1, "variant %d: %s[%zu]: backward %.6g; finite differences over "
                      "±%g: central %.6g, left %.6g, right %.6g", variant, t->name,
                      i - t->offset, g, steps[0], central, (base - dn[0]) / hd[0],
                      (up[0] - base) / hu[0]);
        }
    }
    if (getenv("TEST_VERBOSE"))
        fprintf(stderr, "  variant %d: loss %.4f, %d checked (%d with |g| > 0.01), %d by the "
                "fallback, worst %.3g of tolerance (%s)\n", variant, loss, checked, significant,
                fallback, worst, worst_name);
    /* the check must have had teeth: most gradients compared are far above the tolerance (the
       rest are mostly conv biases followed by batch-norm, whose true gradient is 0) */
    CHECK_MSG(significant * 2 >= checked, "variant %d: only %d of %d gradients significant",
              variant, significant, checked);
    CHECK_MSG(fallback * 10 <= checked, "variant %d: %d of %d entries needed the fallback",
              variant, fallback, checked);
    /* bn_momentum 0: the running statistics must not have moved through all those forwards */
    CHECK(memcmp(running, m->params, m->n_params * sizeof(float)) == 0);

    /* and with momentum, they do: PyTorch's update with the batch's unbiased variance */
    if (variant == 0) {
        float *rm = model_layer_tensor(m, m->params, 0, "bn_mean");
        float *rv = model_layer_tensor(m, m->params, 0, "bn_var");
        float rm0 = rm[0], rv0 = rv[0];
        CHECK(network_forward(net, m, bt.input, bt.w, B, 1, &err) == CRNN_OK);
        network_update_running(net, m, m->params, 0.5f);
        CHECK(rm[0] != rm0 && rv[0] != rv0);
        memcpy(m->params, running, m->n_params * sizeof(float));
    }

    free(running), free(dlogits), free(grads), free(twice), free(bt.input);
    network_free(net);
    crnn_model_free(m);
}

static void test_gradients_lstm_gru(void) { check_gradients(0); }
static void test_gradients_gru_lstm(void) { check_gradients(1); }
static void test_gradients_depthwise(void) { check_gradients(2); }

/* Runs an inference forward; returns a malloc'ed copy of the log-probs (B', T, C). */
static float *infer(network *net, crnn_model *m, const float *input, const int *w, int nb, int *T,
                    const int **len) {
    crnn_error err;
    crnn_status s = network_forward(net, m, input, w, nb, 0, &err);
    CHECK_MSG(s == CRNN_OK, "inference forward: %s", err.message);
    if (s != CRNN_OK) exit(1);
    int C, b2;
    const float *lp = network_log_probs(net, &b2, T, &C, len);
    float *copy = malloc((size_t)nb * *T * C * sizeof(float));
    memcpy(copy, lp, (size_t)nb * *T * C * sizeof(float));
    return copy;
}

/* (b) and (c) */
static void check_inference(int variant) {
    crnn_model *m = build(variant);
    tiny_channel(m);
    crnn_error err;
    crnn_model *folded = model_clone(m, &err);
    model_fold_batchnorm(folded);
    static const int widths[3][B] = {{6, 17, 11}, {31, 12, 20}, {7, 19, 10}};
    batch bt;
    make_batch(&bt, m, widths[variant]);
    network *net = network_new();
    int T1, T2;
    const int *len;
    float *a = infer(net, m, bt.input, bt.w, B, &T1, &len);
    int lens[B];
    memcpy(lens, len, sizeof lens);
    float *f = infer(net, folded, bt.input, bt.w, B, &T2, &len);
    CHECK(T1 == T2);
    double d = 0;
    for (int b = 0; b < B; b++) {
        CHECK(lens[b] == model_output_width(m, bt.w[b]) && len[b] == lens[b]);
        for (size_t i = 0; i < (size_t)lens[b] * NCLASS; i++)
            d = fmax(d, fabs(a[(size_t)b * T1 * NCLASS + i] - f[(size_t)b * T1 * NCLASS + i]));
    }
    CHECK_MSG(d <= 1e-4, "variant %d: unfolded vs folded batch-norm differ by %g", variant, d);
    /* the folding must actually have changed the weights (or the check above proves nothing) */
    CHECK(memcmp(m->params, folded->params, m->n_params * sizeof(float)) != 0);

    /* each image alone, for both models */
    size_t off = 0;
    for (int b = 0; b < B; b++) {
        const float *img = bt.input + off;
        off += (size_t)m->input_height * bt.w[b];
        for (int k = 0; k < 2; k++) {
            int T;
            float *one = infer(net, k ? folded : m, img, &bt.w[b], 1, &T, &len);
            CHECK(T == lens[b] && len[0] == lens[b]);
            const float *ref = (k ? f : a) + (size_t)b * T1 * NCLASS;
            double e = 0;
            for (size_t i = 0; i < (size_t)T * NCLASS; i++) e = fmax(e, fabs(one[i] - ref[i]));
            CHECK_MSG(e <= 1e-5, "variant %d %s: image %d (w=%d) alone differs from in the batch "
                      "by %g", variant, k ? "folded" : "unfolded", b, bt.w[b], e);
            free(one);
        }
    }
    /* the batch in reverse order: nothing may depend on position either */
    {
        int rw[B];
        size_t P = off, o = 0;
        float *rin = malloc(P * sizeof(float));
        for (int b = B - 1; b >= 0; b--) {
            rw[B - 1 - b] = bt.w[b];
            size_t start = 0;
            for (int j = 0; j < b; j++) start += (size_t)m->input_height * bt.w[j];
            size_t n = (size_t)m->input_height * bt.w[b];
            memcpy(rin + o, bt.input + start, n * sizeof(float));
            o += n;
        }
        int T;
        float *r = infer(net, folded, rin, rw, B, &T, &len);
        double e = 0;
        for (int b = 0; b < B; b++)
            for (size_t i = 0; i < (size_t)lens[b] * NCLASS; i++)
                e = fmax(e, fabs(r[(size_t)(B - 1 - b) * T * NCLASS + i] -
                                 f[(size_t)b * T1 * NCLASS + i]));
        CHECK_MSG(e <= 1e-5, "variant %d: reversed batch differs by %g", variant, e);
        free(rin), free(r);
    }

    /* the layers shared among 2 and 3 threads (convolutions split by channel, the BiLSTM's
       directions side by side): the same log-probabilities, batched and one image alone */
    for (int threads = 2; threads <= 3; threads++) {
        network *pn = network_new();
        network_set_threads(pn, threads);
        int T;
        float *p = infer(pn, folded, bt.input, bt.w, B, &T, &len);
        double e = 0;
        for (int b = 0; b < B; b++)
            for (size_t i = 0; i < (size_t)lens[b] * NCLASS; i++)
                e = fmax(e, fabs(p[(size_t)b * T * NCLASS + i] - f[(size_t)b * T1 * NCLASS + i]));
        CHECK_MSG(e <= 1e-5, "variant %d: %d threads differ from one by %g", variant, threads, e);
        free(p);
        float *one = infer(pn, folded, bt.input, bt.w, 1, &T, &len);
        e = 0;
        for (size_t i = 0; i < (size_t)lens[0] * NCLASS; i++) e = fmax(e, fabs(one[i] - f[i]));
        CHECK_MSG(e <= 1e-5, "variant %d: image 0 alone on %d threads differs by %g", variant,
                  threads, e);
        free(one);
        network_free(pn);
    }

    /* refusals: training a folded model; an image narrower than the model allows */
    CHECK(network_forward(net, folded, bt.input, bt.w, B, 1, &err) == CRNN_ERR_ARG);
    if (m->min_width > 1) {
        int narrow = m->min_width - 1;
        CHECK(network_forward(net, m, bt.input, &narrow, 1, 0, &err) == CRNN_ERR_ARG);
    }
    free(a), free(f), free(bt.input);
    network_free(net);
    crnn_model_free(m);
    crnn_model_free(folded);
}

/* Inference with running statistics equal to the batch's own statistics must reproduce the
   training forward: ties the evaluation path of an unfolded model (and so, through (b), the
   folded one) to batch-norm's training path, which test_layers checks against a reference.
   A training forward with momentum 1 stores exactly the batch statistics, the variance
   unbiased (× P/(P−1)); undoing that factor gives the statistics training normalised with. */
static void check_running_stats(int variant) {
    crnn_model *m = build(variant);
    tiny_channel(m);
    static const int widths[3][B] = {{9, 14, 5}, {18, 11, 25}, {10, 15, 6}};
    batch bt;
    make_batch(&bt, m, widths[variant]);
    network *net = network_new();
    crnn_error err;
    CHECK(network_forward(net, m, bt.input, bt.w, B, 1, &err) == CRNN_OK);
    network_update_running(net, m, m->params, 1.0f);
    int T, C, nb;
    const int *len;
    const float *lp = network_log_probs(net, &nb, &T, &C, &len);
    float *train = malloc((size_t)B * T * C * sizeof(float));
    memcpy(train, lp, (size_t)B * T * C * sizeof(float));
    int w[B];
    memcpy(w, bt.w, sizeof w);
    for (int l = 0; l < m->first_seq_layer; l++) {
        const model_layer *ly = &m->layers[l];
        int kw = ly->kind == LAYER_CONV ? CONV_KW(ly) : POOL_KW(ly);
        int sw = ly->kind == LAYER_CONV ? CONV_SW(ly) : POOL_SW(ly);
        int pw = ly->kind == LAYER_CONV ? CONV_PW(ly) : POOL_PW(ly);
        size_t P = 0;
        for (int b = 0; b < B; b++) {
            w[b] = (w[b] + 2 * pw - kw) / sw + 1;
            P += (size_t)ly->out_h * w[b];
        }
        if (ly->kind == LAYER_CONV && (CONV_FLAGS(ly) & CONV_FLAG_BN))
            for (int c = 0; c < ly->out_c; c++)
                model_layer_tensor(m, m->params, l, "bn_var")[c] *= (float)(P - 1) / (float)P;
    }
    int Ti;
    float *inf = infer(net, m, bt.input, bt.w, B, &Ti, &len);
    double d = 0;
    for (int b = 0; b < B; b++)
        for (size_t i = 0; i < (size_t)len[b] * C; i++)
            d = fmax(d, fabs(inf[(size_t)b * T * C + i] - train[(size_t)b * T * C + i]));
    CHECK_MSG(Ti == T && d <= 1e-4, "variant %d: inference with the batch's statistics differs "
              "from the training forward by %g", variant, d);
    free(train), free(inf), free(bt.input);
    network_free(net);
    crnn_model_free(m);
}

static void test_running_stats_lstm_gru(void) { check_running_stats(0); }
static void test_running_stats_gru_lstm(void) { check_running_stats(1); }
static void test_running_stats_depthwise(void) { check_running_stats(2); }

static void test_inference_lstm_gru(void) { check_inference(0); }
static void test_inference_gru_lstm(void) { check_inference(1); }
static void test_inference_depthwise(void) { check_inference(2); }

/* BLAS takes sizes as int. A batch at the limits (4096 images 4096 columns wide at height
   256) is 2^32 columns of one map: refused before anything is allocated or read, rather than
   handed to sgemm as (int)P — which wraps — after reserving 16 GB. */
static void test_batch_beyond_int(void) {
    static const uint32_t cs[2] = {0, 'a'};
    model_spec s;
    memset(&s, 0, sizeof s);
    s.input_height = 256;
    s.input_channels = 1;
    s.norm_std = 1;
    s.n_classes = 2;
    s.charset = cs;
    s.n_layers = 2;
    s.layers[0].kind = LAYER_MAXPOOL; /* 2×2, stride 2 */
    s.layers[0].p[0] = s.layers[0].p[1] = s.layers[0].p[2] = s.layers[0].p[3] = 2;
    s.layers[1].kind = LAYER_LINEAR;
    s.layers[1].p[0] = 2;
    crnn_error err;
    crnn_model *m = model_build(&s, "wide", &err);
    CHECK_MSG(m != NULL, "%s", err.message);
    if (!m) return;
    int *w = malloc(sizeof(int) * NET_MAX_BATCH);
    for (int b = 0; b < NET_MAX_BATCH; b++) w[b] = CRNN_MAX_INPUT_WIDTH;
    float never_read = 0;
    network *net = network_new();
    crnn_status st = network_forward(net, m, &never_read, w, NET_MAX_BATCH, 0, &err);
    CHECK_MSG(st == CRNN_ERR_LIMIT && strstr(err.message, "4294967296 columns"), "%s: %s",
              crnn_status_name(st), err.message);
    CHECK(network_log_probs(net, NULL, NULL, NULL, NULL) == NULL);
    CHECK_MSG(network_memory(net) < (1u << 20), "%zu bytes held", network_memory(net));
    network_free(net);
    free(w);
    crnn_model_free(m);
}

/* crnn.h promises that threads may share one model, so no pass may write to it: with the
   parameters on read-only pages, training and inference forwards (and a backward) run; only
   network_update_running, which the trainer calls on its own copy, writes. The training
   forward used to update the running statistics itself (and recognizer.c and validate.c cast
   the model's const away to call it). */
static void test_model_read_only(void) {
    crnn_model *m = build(0);
    static const int widths[B] = {9, 14, 5};
    batch bt;
    make_batch(&bt, m, widths);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t bytes = (m->n_params * sizeof(float) + page - 1) / page * page;
    float *ro = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(ro != MAP_FAILED);
    if (ro == MAP_FAILED) return;
    memcpy(ro, m->params, m->n_params * sizeof(float));
    float *own = m->params;
    m->params = ro;
    CHECK(mprotect(ro, bytes, PROT_READ) == 0);
    network *net = network_new();
    float *dlogits;
    double loss = batch_loss(net, m, &bt, &dlogits); /* a training forward */
    float *grads = calloc(m->n_params, sizeof(float));
    crnn_error err;
    CHECK(isfinite(loss) && network_backward(net, m, grads, dlogits, &err) == CRNN_OK);
    network_update_running(net, m, own, 0.5f); /* into a writable copy: fine */
    CHECK(memcmp(own, ro, m->n_params * sizeof(float)) != 0);
    crnn_model *folded = model_clone(m, &err); /* inference wants batch-norm folded */
    model_fold_batchnorm(folded);
    CHECK(network_forward(net, folded, bt.input, bt.w, B, 0, &err) == CRNN_OK);
    crnn_model_free(folded);
    CHECK(mprotect(ro, bytes, PROT_READ | PROT_WRITE) == 0);
    m->params = own;
    munmap(ro, bytes);
    network_free(net);
    free(grads), free(dlogits), free(bt.input);
    crnn_model_free(m);
}

int main(void) {
    RUN(test_batch_beyond_int);
    RUN(test_model_read_only);
    RUN(test_gradients_lstm_gru);
    RUN(test_gradients_gru_lstm);
    RUN(test_gradients_depthwise);
    RUN(test_inference_lstm_gru);
    RUN(test_inference_gru_lstm);
    RUN(test_inference_depthwise);
    RUN(test_running_stats_lstm_gru);
    RUN(test_running_stats_gru_lstm);
    RUN(test_running_stats_depthwise);
    TEST_EXIT();
}

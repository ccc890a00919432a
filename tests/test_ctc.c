/* test_ctc.c — the CTC loss, its gradient and the greedy decoder.

   Loss: against brute force — all C^T frame paths for T ≤ 6, C ≤ 4, each collapsed (repeats
   merged, then blanks removed) and the probabilities of those that spell the label summed —
   on many random cases with repeated labels and empty labels; INFINITY (and no gradient
   written) exactly when the label cannot fit. For longer sequences, against an independent
   probability-space forward recursion with per-frame rescaling (Graves 2006, §4.2).

   Gradient w.r.t. the logits that enter log_softmax: against central differences of the brute
   force loss as a function of the logits in double (strict), and against central differences
   of ctc_loss itself fed through log_softmax_forward in float (what training sees).

   Greedy decoding: hand-made frame sequences. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctc/ctc.h"
#include "decode/best_path.h"
#include "nn/nn.h"
#include "test.h"

#define MAXT 64
#define MAXC 8
#define SENTINEL 12345.0f

/* Collapse a frame path: merge repeats, drop blanks. Returns the length. */
static int collapse(const int *path, int T, int *out) {
    int n = 0, prev = -1;
    for (int t = 0; t < T; t++) {
        if (path[t] != prev && path[t] != 0) out[n++] = path[t];
        prev = path[t];
    }
    return n;
}

/* Σ over all C^T paths that collapse to labels of Π_t p[t][path_t]. */
static double brute_prob(const double *p, int T, int C, const int *labels, int L) {
    int path[MAXT], col[MAXT];
    long n = 1;
    for (int t = 0; t < T; t++) n *= C;
    double sum = 0;
    for (long i = 0; i < n; i++) {
        long v = i;
        for (int t = 0; t < T; t++) {
            path[t] = (int)(v % C);
            v /= C;
        }
        int m = collapse(path, T, col);
        if (m != L || (L && memcmp(col, labels, sizeof(int) * (size_t)L))) continue;
        double pr = 1;
        for (int t = 0; t < T; t++) pr *= p[(size_t)t * C + path[t]];
        sum += pr;
    }
    return sum;
}

/* Brute-force loss as a function of double logits (softmax per frame in double). */
static double brute_loss_logits(const double *x, int T, int C, const int *labels, int L) {
    double p[MAXT * MAXC];
    for (int t = 0; t < T; t++) {
        double mx = x[t * C], s = 0;
        for (int c = 1; c < C; c++) mx = fmax(mx, x[t * C + c]);
        for (int c = 0; c < C; c++) s += exp(x[t * C + c] - mx);
        for (int c = 0; c < C; c++) p[t * C + c] = exp(x[t * C + c] - mx) / s;
    }
    return -log(brute_prob(p, T, C, labels, L));
}

/* Independent reference for longer sequences: the α recursion in probability space, each frame
   rescaled to sum 1 so nothing underflows; −log p = −Σ log(scale). Written from the paper, not
   from ctc_loss.c: the extended sequence is built explicitly. x holds logits (softmax per frame)
   when from_logits is set, else log-probabilities taken as they are. */
static double scaled_loss(const double *x, int T, int C, const int *labels, int L,
                          int from_logits) {
    int ext[2 * MAXT + 1], S = 2 * L + 1;
    for (int s = 0; s < S; s++) ext[s] = s % 2 ? labels[s / 2] : 0;
    double a[2 * MAXT + 1] = {0}, na[2 * MAXT + 1], p[MAXC], logp = 0;
    if (S > 2 * MAXT + 1 || C > MAXC) abort(); /* T itself may exceed MAXT */
    for (int t = 0; t < T; t++) {
        double mx = x[t * C], sum = 0;
        for (int c = 1; c < C; c++) mx = fmax(mx, x[t * C + c]);
        for (int c = 0; c < C; c++) sum += exp(x[t * C + c] - mx);
        for (int c = 0; c < C; c++)
            p[c] = from_logits ? exp(x[t * C + c] - mx) / sum : exp(x[t * C + c]);
        for (int s = 0; s < S; s++) {
            double v;
            if (t == 0) v = s < 2 ? 1 : 0;
            else {
                v = a[s];
                if (s >= 1) v += a[s - 1];
                if (s >= 2 && ext[s] != 0 && ext[s] != ext[s - 2]) v += a[s - 2];
            }
            na[s] = v * p[ext[s]];
        }
        double z = 0;
        for (int s = 0; s < S; s++) z += na[s];
        if (z == 0) return INFINITY;
        for (int s = 0; s < S; s++) a[s] = na[s] / z;
        logp += log(z);
    }
    double end = a[S - 1] + (S > 1 ? a[S - 2] : 0);
    if (end == 0) return INFINITY;
    return -(logp + log(end));
}

/* The same, given log-probabilities used as they are (no renormalisation), for comparing
   with ctc_loss on the very same float inputs. */
static double scaled_loss_lp(const double *lp, int T, int C, const int *labels, int L) {
    return scaled_loss(lp, T, C, labels, L, 0);
}

static double scaled_loss_logits(const double *x, int T, int C, const int *labels, int L) {
    return scaled_loss(x, T, C, labels, L, 1);
}

typedef double (*logit_loss)(const double *x, int T, int C, const int *labels, int L);

/* d loss / d logits by central differences in double. */
static void numeric_grad(double *g, logit_loss f, const float *logits, int T, int C,
                         const int *labels, int L) {
    double x[MAXT * MAXC];
    for (int i = 0; i < T * C; i++) x[i] = logits[i];
    for (int i = 0; i < T * C; i++) {
        double s = x[i], h = 1e-6;
        x[i] = s + h;
        double lp = f(x, T, C, labels, L);
        x[i] = s - h;
        double lm = f(x, T, C, labels, L);
        x[i] = s;
        g[i] = (lp - lm) / (2 * h);
    }
}

/* ctc_loss of float logits through the library's own log-softmax (what training computes). */
static double lib_loss_logits(const float *logits, int T, int C, const int *labels, int L) {
    float lp[MAXT * MAXC];
    log_softmax_forward(lp, logits, T, C);
    return ctc_loss(lp, T, C, labels, L, NULL);
}

static void random_labels(int *labels, int L, int C, int repeats) {
    for (int i = 0; i < L; i++) {
        labels[i] = test_randint(1, C - 1);
        if (repeats && i > 0 && test_uniform() < 0.5) labels[i] = labels[i - 1];
    }
}

static void test_loss_brute_force(void) {
    int infeasible = 0, feasible = 0, with_repeats = 0, empty = 0;
    for (int rep = 0; rep < 400; rep++) {
        int T = test_randint(1, 6), C = test_randint(2, 4);
        int L = test_randint(0, T < 5 ? T : 5), labels[8];
        random_labels(labels, L, C, rep % 3 == 0);
        float logits[MAXT * MAXC], lp[MAXT * MAXC], grad[MAXT * MAXC];
        float scale = rep % 4 == 0 ? 6.0f : 2.0f; /* some cases with peaked distributions */
        for (int i = 0; i < T * C; i++) logits[i] = test_randf(-scale, scale);
        log_softmax_forward(lp, logits, T, C);
        for (int i = 0; i < T * C; i++) grad[i] = SENTINEL;
        double loss = ctc_loss(lp, T, C, labels, L, grad);
        double p[MAXT * MAXC];
        for (int i = 0; i < T * C; i++) p[i] = exp((double)lp[i]);
        double bp = brute_prob(p, T, C, labels, L);
        int reps = 0;
        for (int i = 1; i < L; i++) reps += labels[i] == labels[i - 1];
        with_repeats += reps > 0;
        empty += L == 0;
        if (bp == 0) {
            infeasible++;
            CHECK_MSG(isinf(loss) && loss > 0, "T=%d L=%d (unalignable): loss %g, want +inf", T,
                      L, loss);
            CHECK_MSG(ctc_min_frames(labels, L) > T, "T=%d L=%d: ctc_min_frames %d", T, L,
                      ctc_min_frames(labels, L));
            int untouched = 1;
            for (int i = 0; i < T * C; i++) untouched &= grad[i] == SENTINEL;
            CHECK_MSG(untouched, "T=%d L=%d: gradient written for an unalignable label", T, L);
            continue;
        }
        feasible++;
        CHECK_MSG(ctc_min_frames(labels, L) <= T, "T=%d L=%d alignable but min_frames %d", T, L,
                  ctc_min_frames(labels, L));
        double want = -log(bp);
        CHECK_MSG(fabs(loss - want) <= 1e-9 * (1 + fabs(want)),
                  "rep %d T=%d C=%d L=%d: ctc_loss %.12g, brute force %.12g", rep, T, C, L, loss,
                  want);
        /* Gradient: strict check against the double brute-force function of the logits. The
           only difference is float rounding of the log-probabilities (~1e-7). */
        double ng[MAXT * MAXC];
        numeric_grad(ng, brute_loss_logits, logits, T, C, labels, L);
        double worst = 0;
        int wi = 0;
        for (int i = 0; i < T * C; i++)
            if (fabs(grad[i] - ng[i]) > worst) worst = fabs(grad[i] - ng[i]), wi = i;
        CHECK_MSG(worst <= 1e-5, "rep %d T=%d C=%d L=%d: grad[%d] = %.8g, numeric %.8g", rep, T,
                  C, L, wi, grad[wi], ng[wi]);
        /* softmax and occupancy both sum to 1 in each frame */
        for (int t = 0; t < T; t++) {
            double s = 0;
            for (int c = 0; c < C; c++) s += grad[t * C + c];
            CHECK_MSG(fabs(s) <= 1e-5, "rep %d: frame %d gradient sums to %g", rep, t, s);
        }
    }
    /* the random cases must actually have covered what they are meant to */
    CHECK(infeasible >= 10 && feasible >= 200 && with_repeats >= 30 && empty >= 20);
}

/* Central differences of ctc_loss itself, logits → log_softmax_forward → ctc_loss, all float
   as in training. Float noise in the loss (~1e-6) over 2·eps = 1e-2 gives ~1e-4; the tolerance
   is 1e-3 against gradients of order 0.1 … 1. */
static void test_grad_through_log_softmax(void) {
    for (int rep = 0; rep < 40; rep++) {
        int T = test_randint(2, 12), C = test_randint(2, 6), L, labels[8];
        do {
            L = test_randint(0, T / 2 < 6 ? T / 2 : 6);
            random_labels(labels, L, C, rep % 2);
        } while (ctc_min_frames(labels, L) > T);
        float logits[MAXT * MAXC], lp[MAXT * MAXC], grad[MAXT * MAXC];
        for (int i = 0; i < T * C; i++) logits[i] = test_randf(-2, 2);
        log_softmax_forward(lp, logits, T, C);
        ctc_loss(lp, T, C, labels, L, grad);
        const float eps = 5e-3f;
        double worst = 0;
        int wi = 0;
        double num_wi = 0;
        for (int i = 0; i < T * C; i++) {
            float s = logits[i];
            logits[i] = s + eps;
            double up = lib_loss_logits(logits, T, C, labels, L);
            float hu = logits[i] - s; /* the step actually taken in float */
            logits[i] = s - eps;
            double dn = lib_loss_logits(logits, T, C, labels, L);
            float hd = s - logits[i];
            logits[i] = s;
            double num = (up - dn) / ((double)hu + (double)hd);
            if (fabs(num - grad[i]) > worst) worst = fabs(num - grad[i]), wi = i, num_wi = num;
        }
        CHECK_MSG(worst <= 1e-3, "rep %d T=%d C=%d L=%d: grad[%d] = %.6g, finite differences "
                  "%.6g", rep, T, C, L, wi, grad[wi], num_wi);
    }
}

/* Longer sequences against the rescaled probability-space recursion: loss and gradient. */
static void test_loss_long(void) {
    for (int rep = 0; rep < 30; rep++) {
        int T = test_randint(8, 60), C = test_randint(2, MAXC), L, labels[MAXT];
        do {
            L = test_randint(0, T / 2 < 20 ? T / 2 : 20);
            random_labels(labels, L, C, rep % 2);
        } while (ctc_min_frames(labels, L) > T);
        float logits[MAXT * MAXC], lp[MAXT * MAXC], grad[MAXT * MAXC];
        float scale = rep % 3 == 0 ? 12.0f : 3.0f; /* peaked: tiny path probabilities */
        for (int i = 0; i < T * C; i++) logits[i] = test_randf(-scale, scale);
        log_softmax_forward(lp, logits, T, C);
        double loss = ctc_loss(lp, T, C, labels, L, grad);
        double x[MAXT * MAXC];
        for (int i = 0; i < T * C; i++) x[i] = lp[i];
        double want = scaled_loss_lp(x, T, C, labels, L);
        CHECK_MSG(isfinite(loss) && fabs(loss - want) <= 1e-9 * (1 + fabs(want)),
                  "rep %d T=%d C=%d L=%d: ctc_loss %.12g, reference %.12g", rep, T, C, L, loss,
                  want);
        if (T > 30) continue; /* numeric gradient: keep the run short */
        double ng[MAXT * MAXC];
        numeric_grad(ng, scaled_loss_logits, logits, T, C, labels, L);
        double worst = 0;
        int wi = 0;
        for (int i = 0; i < T * C; i++)
            if (fabs(grad[i] - ng[i]) > worst) worst = fabs(grad[i] - ng[i]), wi = i;
        CHECK_MSG(worst <= 2e-5, "rep %d T=%d C=%d L=%d: grad[%d] = %.8g, numeric %.8g", rep, T,
                  C, L, wi, grad[wi], ng[wi]);
    }
    /* Very long: every path's probability is far below DBL_MIN (each frame gives the right
       class only p = e/(e+2) ≈ 0.58, so even the best path has p ≈ e^-1100), so only a
       log-space implementation gets a finite answer; the rescaled reference agrees. */
    {
        enum { T = 2000, C = 3 };
        static float lp[T * C], grad[T * C];
        static double x[T * C];
        int labels[2] = {1, 2};
        for (int t = 0; t < T; t++) {
            float logits[C] = {0, 0, 0};
            logits[t < T / 2 ? 1 : 2] = 1.0f;
            log_softmax_forward(lp + t * C, logits, 1, C);
        }
        for (int i = 0; i < T * C; i++) x[i] = lp[i];
        double loss = ctc_loss(lp, T, C, labels, 2, grad);
        double want = scaled_loss_lp(x, T, C, labels, 2);
        CHECK_MSG(want > 745 && isfinite(want), "reference %g", want); /* really below DBL_MIN */
        CHECK_MSG(isfinite(loss) && fabs(loss - want) <= 1e-9 * want,
                  "T=2000: ctc_loss %.12g, reference %.12g", loss, want);
        int finite = 1;
        for (int i = 0; i < T * C; i++) finite &= isfinite(grad[i]) && fabsf(grad[i]) <= 1;
        CHECK(finite);
    }
}

static void test_loss_special_cases(void) {
    float lp[MAXT * MAXC], logits[MAXT * MAXC], grad[MAXT * MAXC];
    int C = 3;
    for (int i = 0; i < 8 * C; i++) logits[i] = test_randf(-2, 2);
    log_softmax_forward(lp, logits, 8, C);
    int aa[2] = {1, 1}, ab[2] = {1, 2}, aba[3] = {1, 2, 1};
    /* "aa" needs a blank between: 3 frames, not 2 */
    for (int i = 0; i < 2 * C; i++) grad[i] = SENTINEL;
    double l = ctc_loss(lp, 2, C, aa, 2, grad);
    CHECK_MSG(isinf(l) && l > 0, "\"aa\" in 2 frames: %g", l);
    int untouched = 1;
    for (int i = 0; i < 2 * C; i++) untouched &= grad[i] == SENTINEL;
    CHECK(untouched);
    CHECK(ctc_min_frames(aa, 2) == 3);
    CHECK(ctc_min_frames(ab, 2) == 2);
    CHECK(ctc_min_frames(aba, 3) == 3);
    CHECK(ctc_min_frames(NULL, 0) == 0);
    /* "aa" in 3 frames: exactly one path, a _ a */
    l = ctc_loss(lp, 3, C, aa, 2, NULL);
    CHECK_NEAR(l, -((double)lp[1] + lp[C + 0] + lp[2 * C + 1]), 1e-9);
    /* "ab" in 2 frames: exactly the path a b */
    l = ctc_loss(lp, 2, C, ab, 2, NULL);
    CHECK_NEAR(l, -((double)lp[1] + lp[C + 2]), 1e-9);
    /* more labels than frames */
    l = ctc_loss(lp, 2, C, aba, 3, NULL);
    CHECK(isinf(l) && l > 0);
    /* empty label: the all-blank path only */
    double want = 0;
    for (int t = 0; t < 5; t++) want -= lp[t * C];
    l = ctc_loss(lp, 5, C, NULL, 0, grad);
    CHECK_NEAR(l, want, 1e-9);
    /* ...and its gradient is softmax − one-hot(blank) */
    double e = 0;
    for (int t = 0; t < 5; t++)
        for (int c = 0; c < C; c++)
            e = fmax(e, fabs(grad[t * C + c] - (exp((double)lp[t * C + c]) - (c == 0))));
    CHECK_MSG(e <= 1e-6, "empty label gradient off by %g", e);
    /* one frame, one label */
    int a[1] = {2};
    l = ctc_loss(lp, 1, C, a, 1, NULL);
    CHECK_NEAR(l, -(double)lp[2], 1e-9);
}

/* ---- greedy decoding ---- */

/* Frame t's best class is best[t] with probability pb[t]; the rest share what is left. */
static void frames_lp(float *lp, int T, int C, const int *best, const float *pb) {
    for (int t = 0; t < T; t++)
        for (int c = 0; c < C; c++)
            lp[t * C + c] = logf(c == best[t] ? pb[t] : (1 - pb[t]) / (C - 1));
}

static void test_greedy(void) {
    enum { C = 4 };
    float lp[32 * C], conf[16];
    int labels[16], frames[16], n;
    {   /* repeats merged; a blank between equal labels keeps both */
        int best[] = {1, 1, 0, 1, 2, 2, 0};
        float pb[] = {0.6f, 0.9f, 0.8f, 0.7f, 0.95f, 0.55f, 0.9f};
        frames_lp(lp, 7, C, best, pb);
        n = best_path_decode(lp, 7, C, labels, conf, frames, 16);
        CHECK(n == 3);
        CHECK(labels[0] == 1 && labels[1] == 1 && labels[2] == 2);
        CHECK_NEAR(conf[0], 0.9, 1e-6); /* the run's most confident frame */
        CHECK_NEAR(conf[1], 0.7, 1e-6);
        CHECK_NEAR(conf[2], 0.95, 1e-6);
        CHECK(frames[0] == 1 && frames[1] == 3 && frames[2] == 4);
    }
    {   /* leading/trailing blanks, alternating labels, a later peak in a run */
        int best[] = {0, 0, 3, 2, 3, 3, 3, 0};
        float pb[] = {0.9f, 0.9f, 0.5f, 0.6f, 0.5f, 0.7f, 0.8f, 0.9f};
        frames_lp(lp, 8, C, best, pb);
        n = best_path_decode(lp, 8, C, labels, conf, NULL, 16); /* frames may be NULL */
        CHECK(n == 3);
        CHECK(labels[0] == 3 && labels[1] == 2 && labels[2] == 3);
        CHECK_NEAR(conf[0], 0.5, 1e-6);
        CHECK_NEAR(conf[1], 0.6, 1e-6);
        CHECK_NEAR(conf[2], 0.8, 1e-6);
    }
    {   /* all blank */
        int best[] = {0, 0, 0};
        float pb[] = {0.9f, 0.6f, 0.7f};
        frames_lp(lp, 3, C, best, pb);
        CHECK(best_path_decode(lp, 3, C, labels, conf, frames, 16) == 0);
    }
    {   /* at most max labels: a truncated run must not touch the labels already written */
        int best[] = {1, 2, 2, 3};
        float pb[] = {0.6f, 0.7f, 0.99f, 0.9f};
        frames_lp(lp, 4, C, best, pb);
        for (int i = 0; i < 16; i++) labels[i] = -1, conf[i] = -1, frames[i] = -1;
        n = best_path_decode(lp, 4, C, labels, conf, frames, 1);
        CHECK(n == 1);
        CHECK(labels[0] == 1 && labels[1] == -1);
        CHECK_MSG(fabs(conf[0] - 0.6) <= 1e-6 && frames[0] == 0,
                  "label 1's confidence %g at frame %d: taken from the dropped run of 2", conf[0],
                  frames[0]);
        CHECK(conf[1] == -1 && frames[1] == -1);
        n = best_path_decode(lp, 4, C, labels, conf, frames, 2);
        CHECK(n == 2 && labels[1] == 2);
        CHECK_NEAR(conf[1], 0.99, 1e-6);
        CHECK(frames[1] == 2);
    }
    {   /* the decoder agrees with collapsing the per-frame argmax on random frames */
        for (int rep = 0; rep < 50; rep++) {
            int T = test_randint(1, 30), path[32], want[32];
            for (int i = 0; i < T * C; i++) lp[i] = test_randf(-5, 0);
            for (int t = 0; t < T; t++) {
                path[t] = 0;
                for (int c = 1; c < C; c++)
                    if (lp[t * C + c] > lp[t * C + path[t]]) path[t] = c;
            }
            int m = collapse(path, T, want);
            n = best_path_decode(lp, T, C, labels, conf, frames, 16);
            CHECK(n == (m < 16 ? m : 16));
            CHECK(n == 0 || memcmp(labels, want, sizeof(int) * (size_t)n) == 0);
            for (int i = 0; i < n; i++)
                CHECK(path[frames[i]] == labels[i] &&
                      fabsf(conf[i] - expf(lp[frames[i] * C + labels[i]])) <= 1e-6f);
        }
    }
}

int main(void) {
    RUN(test_loss_brute_force);
    RUN(test_grad_through_log_softmax);
    RUN(test_loss_long);
    RUN(test_loss_special_cases);
    RUN(test_greedy);
    TEST_EXIT();
}

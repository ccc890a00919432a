/* ctc_loss.c — CTC loss and its gradient (Graves et al. 2006), in log space so that long
   sequences with confident predictions never underflow. The extended label sequence l' puts a
   blank before, between and after the labels: S = 2L + 1 states. */
#include <math.h>
#include <stdlib.h>

#include "ctc/ctc.h"

static inline double log_add(double a, double b) {
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

int ctc_min_frames(const int *labels, int L) {
    int n = L;
    for (int i = 1; i < L; i++)
        if (labels[i] == labels[i - 1]) n++;
    return n;
}

/* The forward (alpha) recursion shared by the loss and the likelihood: fills alpha (T × S,
   S = 2L + 1) and returns log p(labels | log_probs). The caller has checked that the labels
   fit in T frames. */
static double ctc_forward(const float *lp, int T, int C, const int *labels, int L, double *alpha) {
    const int S = 2 * L + 1;
#define LAB(s) ((s) & 1 ? labels[(s) >> 1] : 0)
#define A(t, s) alpha[(size_t)(t) * S + (s)]
    for (int s = 0; s < S; s++) A(0, s) = -INFINITY;
    A(0, 0) = lp[0];
    if (S > 1) A(0, 1) = lp[LAB(1)];
    for (int t = 1; t < T; t++) {
        const float *row = lp + (size_t)t * C;
        for (int s = 0; s < S; s++) {
            double a = A(t - 1, s);
            if (s >= 1) a = log_add(a, A(t - 1, s - 1));
            if (s >= 2 && (s & 1) && LAB(s) != LAB(s - 2)) a = log_add(a, A(t - 1, s - 2));
            A(t, s) = a == -INFINITY ? -INFINITY : a + row[LAB(s)];
        }
    }
    double log_p = A(T - 1, S - 1);
    if (S > 1) log_p = log_add(log_p, A(T - 1, S - 2));
#undef LAB
#undef A
    return log_p;
}

double ctc_log_likelihood(const float *lp, int T, int C, const int *labels, int L) {
    if (L < 0 || T < 1 || ctc_min_frames(labels, L) > T) return -INFINITY;
    double *alpha = malloc(sizeof(double) * (size_t)T * (size_t)(2 * L + 1));
    if (!alpha) return NAN;
    double log_p = ctc_forward(lp, T, C, labels, L, alpha);
    free(alpha);
    return log_p;
}

double ctc_loss(const float *lp, int T, int C, const int *labels, int L, float *grad) {
    if (L < 0 || T < 1 || ctc_min_frames(labels, L) > T) return INFINITY;
    const int S = 2 * L + 1;
    double *alpha = malloc(sizeof(double) * (size_t)T * S);
    double *beta = malloc(sizeof(double) * (size_t)T * S);
    if (!alpha || !beta) {
        free(alpha);
        free(beta);
        return NAN;
    }
#define LAB(s) ((s) & 1 ? labels[(s) >> 1] : 0)
#define A(t, s) alpha[(size_t)(t) * S + (s)]
#define Bt(t, s) beta[(size_t)(t) * S + (s)]
    double log_p = ctc_forward(lp, T, C, labels, L, alpha);
    if (grad && log_p > -INFINITY) {
        for (int s = 0; s < S; s++) Bt(T - 1, s) = -INFINITY;
        Bt(T - 1, S - 1) = lp[(size_t)(T - 1) * C];
        if (S > 1) Bt(T - 1, S - 2) = lp[(size_t)(T - 1) * C + LAB(S - 2)];
        for (int t = T - 2; t >= 0; t--) {
            const float *row = lp + (size_t)t * C;
            for (int s = 0; s < S; s++) {
                double b = Bt(t + 1, s);
                if (s + 1 < S) b = log_add(b, Bt(t + 1, s + 1));
                if (s + 2 < S && (s & 1) && LAB(s) != LAB(s + 2)) b = log_add(b, Bt(t + 1, s + 2));
                Bt(t, s) = b == -INFINITY ? -INFINITY : b + row[LAB(s)];
            }
        }
        for (int t = 0; t < T; t++) {
            const float *row = lp + (size_t)t * C;
            float *g = grad + (size_t)t * C;
            for (int k = 0; k < C; k++) g[k] = expf(row[k]);
            for (int s = 0; s < S; s++) {
                double ab = A(t, s) + Bt(t, s);
                if (ab == -INFINITY) continue;
                int k = LAB(s);
                g[k] -= (float)exp(ab - row[k] - log_p);
            }
        }
    }
#undef LAB
#undef A
#undef Bt
    free(alpha);
    free(beta);
    return -log_p;
}

/* frames.c — one image's frames as scaled probabilities, and the exact CTC score of one label
   sequence on them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctc/ctc.h"
#include "decode/frames.h"
#include "util/util.h"

/* Scaled values stay below e^650 (see ctc_frames_prepare). */
#define MAX_LOG_SPAN 650.0

crnn_status ctc_frames_prepare(ctc_frames *f, const float *lp, int T, int C, const int *rep,
                               crnn_error *err) {
    size_t need = (size_t)T * (size_t)C + (size_t)T;
    if (need > f->cap) {
        double *p = realloc(f->p, sizeof(double) * need);
        if (!p) return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
        f->p = p;
        f->cap = need;
    }
    f->T = T;
    f->C = C;
    f->inv_tail = f->p + (size_t)T * C;
    double *logc = f->inv_tail; /* holds log c_t until the tail products replace it */
    memset(f->p, 0, sizeof(double) * (size_t)T * C);
    double total = 0;
    for (int t = 0; t < T; t++) {
        const float *row = lp + (size_t)t * C;
        double best = 0;
        for (int k = 0; k < C; k++) {
            int r = rep ? rep[k] : k;
            if (r < 0) continue;
            double *q = &f->p[(size_t)r * T + t];
            *q += exp((double)row[k]);
        }
        for (int k = 0; k < C; k++)
            if (f->p[(size_t)k * T + t] > best) best = f->p[(size_t)k * T + t];
        logc[t] = best > 0 ? log(best) : 0;
        total += logc[t];
    }
    /* A long input with flat frames: divide by a power of c_t < 1 so the scaled values of
       plausible words stay within range (only the most hopeless words underflow). */
    double gamma = total < -MAX_LOG_SPAN ? -MAX_LOG_SPAN / total : 1.0;
    f->log_norm = 0;
    for (int t = 0; t < T; t++) {
        double lc = gamma * logc[t], inv = exp(-lc);
        for (int k = 0; k < C; k++) f->p[(size_t)k * T + t] *= inv;
        logc[t] = lc;
        f->log_norm += lc;
    }
    double tail = 1;
    for (int t = T - 1; t >= 0; t--) {
        double lc = logc[t];
        f->inv_tail[t] = tail;
        tail *= exp(-lc);
    }
    return CRNN_OK;
}

void ctc_frames_free(ctc_frames *f) {
    free(f->p);
    memset(f, 0, sizeof *f);
}

double ctc_frames_score(const ctc_frames *f, const int *labels, int L, double floor,
                        double *a) {
    const int T = f->T, S = 2 * L + 1;
    if (T < 1 || ctc_min_frames(labels, L) > T) return -INFINITY;
    const double *blank = f->p;
    double lim = floor > -INFINITY ? exp(floor - f->log_norm) * CTC_BOUND_SLACK : 0;
#define LAB(s) ((s) & 1 ? labels[(s) >> 1] : 0)
#define P(s, t) ((s) & 1 ? f->p[(size_t)labels[(s) >> 1] * T + (t)] : blank[t])
    for (int s = 0; s < S; s++) a[s] = 0;
    a[0] = blank[0];
    if (S > 1) a[1] = P(1, 0);
    for (int t = 1; t < T; t++) {
        int top = 2 * t + 1 < S - 1 ? 2 * t + 1 : S - 1;
        double sum = 0;
        /* in place, from the last state down: a[s - 1] and a[s - 2] still hold frame t - 1 */
        for (int s = top; s >= 0; s--) {
            double v = a[s];
            if (s >= 1) v += a[s - 1];
            if (s >= 2 && (s & 1) && LAB(s) != LAB(s - 2)) v += a[s - 2];
            a[s] = v * P(s, t);
            sum += a[s];
        }
        /* every path still has frames t+1.. to go, each costing at least its c_t: the mass
           now, scaled forward, bounds the final score */
        if (sum * f->inv_tail[t] < lim) return -INFINITY;
    }
#undef LAB
#undef P
    double v = a[S - 1] + (S > 1 ? a[S - 2] : 0);
    return v > 0 ? log(v) + f->log_norm : -INFINITY;
}

double ctc_sequence_log_prob(const float *lp, int T, int C, const int *labels, int L,
                             double *a) {
    const int S = 2 * L + 1;
    if (L < 0 || T < 1 || ctc_min_frames(labels, L) > T) return -INFINITY;
#define LAB(s) ((s) & 1 ? labels[(s) >> 1] : 0)
    for (int s = 0; s < S; s++) a[s] = 0;
    a[0] = exp((double)lp[0]);
    if (S > 1) a[1] = exp((double)lp[LAB(1)]);
    double log_scale = 0;
    for (int t = 0;; t++) {
        /* rescaled every frame: the values stay near 1 however long the input */
        double sum = 0;
        for (int s = 0; s < S; s++) sum += a[s];
        if (!(sum > 0)) return -INFINITY;
        log_scale += log(sum);
        for (int s = 0; s < S; s++) a[s] /= sum;
        if (t == T - 1) break;
        const float *row = lp + (size_t)(t + 1) * C;
        for (int s = S - 1; s >= 0; s--) { /* in place, from the last state down */
            double v = a[s];
            if (s >= 1) v += a[s - 1];
            if (s >= 2 && (s & 1) && LAB(s) != LAB(s - 2)) v += a[s - 2];
            a[s] = v * exp((double)row[LAB(s)]);
        }
    }
#undef LAB
    double v = a[S - 1] + (S > 1 ? a[S - 2] : 0);
    return v > 0 ? log(v) + log_scale : -INFINITY;
}

/* align.c — CTC forced alignment: the Viterbi path through the extended label sequence (blank,
   l1, blank, l2, ..., blank), in log space. Decoders other than best path use it to say which
   frames each character came from and how sure the network was of it. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "ctc/ctc.h"

double ctc_align(const float *lp, int T, int C, const int *labels, int L, int *start, int *end,
                 float *confidence) {
    if (L < 0 || T < 1 || ctc_min_frames(labels, L) > T) return -INFINITY;
    const int S = 2 * L + 1;
    /* back[t * S + s]: how many states back the best predecessor of s at t was (0, 1 or 2) */
    uint8_t *back = malloc((size_t)T * (size_t)S);
    double *prev = malloc(sizeof(double) * (size_t)S);
    double *cur = malloc(sizeof(double) * (size_t)S);
    if (!back || !prev || !cur) {
        free(back);
        free(prev);
        free(cur);
        return NAN;
    }
#define LAB(s) ((s) & 1 ? labels[(s) >> 1] : 0)
    for (int s = 0; s < S; s++) prev[s] = -INFINITY;
    prev[0] = lp[0];
    if (S > 1) prev[1] = lp[LAB(1)];
    for (int s = 0; s < S; s++) back[s] = 0;
    for (int t = 1; t < T; t++) {
        const float *row = lp + (size_t)t * C;
        uint8_t *bk = back + (size_t)t * S;
        for (int s = 0; s < S; s++) {
            double best = prev[s];
            int b = 0;
            /* Ties prefer staying in the state: deterministic, and on a tie the path matches
               the run lengths best path would give. */
            if (s >= 1 && prev[s - 1] > best) { best = prev[s - 1]; b = 1; }
            if (s >= 2 && (s & 1) && LAB(s) != LAB(s - 2) && prev[s - 2] > best) {
                best = prev[s - 2];
                b = 2;
            }
            cur[s] = best == -INFINITY ? -INFINITY : best + row[LAB(s)];
            bk[s] = (uint8_t)b;
        }
        double *tmp = prev;
        prev = cur;
        cur = tmp;
    }
    int s = S - 1;
    if (S > 1 && prev[S - 2] > prev[S - 1]) s = S - 2;
    double log_p = prev[s];
    if (log_p > -INFINITY) {
        for (int i = 0; i < L; i++) {
            if (start) start[i] = -1;
            if (end) end[i] = -1;
            if (confidence) confidence[i] = 0;
        }
        for (int t = T - 1; t >= 0; t--) {
            if (s & 1) {
                int i = s >> 1;
                float p = expf(lp[(size_t)t * C + labels[i]]);
                if (end && end[i] < 0) end[i] = t;
                if (start) start[i] = t;
                if (confidence && p > confidence[i]) confidence[i] = p;
            }
            s -= back[(size_t)t * S + s];
        }
    }
#undef LAB
    free(back);
    free(prev);
    free(cur);
    return log_p;
}

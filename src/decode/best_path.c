/* best_path.c — best-path decoding: the most likely class of each frame, repeats merged,
   blanks dropped. */
#include <math.h>
#include <stddef.h>

#include "decode/best_path.h"

int best_path_decode(const float *lp, int T, int C, int *labels, float *confidence, int *frames,
                     int max) {
    int n = 0, prev = 0;
    int emitted = 0; /* whether the current run got a slot: one cut off by max must not update
                        the confidence of the label before it */
    for (int t = 0; t < T; t++) {
        const float *row = lp + (size_t)t * C;
        int best = 0;
        for (int k = 1; k < C; k++)
            if (row[k] > row[best]) best = k;
        float p = expf(row[best]);
        if (best != 0 && best == prev) {
            if (emitted && p > confidence[n - 1]) { /* same run: keep its most confident frame */
                confidence[n - 1] = p;
                if (frames) frames[n - 1] = t;
            }
        } else if (best != 0 && n < max) {
            labels[n] = best;
            confidence[n] = p;
            if (frames) frames[n] = t;
            n++;
            emitted = 1;
        } else {
            emitted = 0;
        }
        prev = best;
    }
    return n;
}

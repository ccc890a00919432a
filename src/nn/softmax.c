/* softmax.c — log-softmax; the maximum is subtracted only for numerical stability. */
#include <math.h>

#include "nn/nn.h"

void log_softmax_forward(float *out, const float *inp, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *y = out + (size_t)n * C;
        float mx = x[0];
        for (int c = 1; c < C; c++) mx = x[c] > mx ? x[c] : mx;
        double s = 0;
        for (int c = 0; c < C; c++) s += exp((double)(x[c] - mx));
        float lse = mx + (float)log(s);
        for (int c = 0; c < C; c++) y[c] = x[c] - lse;
    }
}

void log_softmax_backward(float *dinp, const float *dout, const float *out, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *dy = dout + (size_t)n * C, *y = out + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        double s = 0;
        for (int c = 0; c < C; c++) s += dy[c];
        for (int c = 0; c < C; c++) dx[c] += dy[c] - expf(y[c]) * (float)s;
    }
}

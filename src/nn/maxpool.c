/* maxpool.c — max-pooling per image; padded positions never win. */
#include <float.h>

#include "nn/nn.h"

void maxpool_forward(float *out, int *argmax, const float *inp, int C, window2d k,
                     const map_geom *gin, const map_geom *gout) {
    for (int c = 0; c < C; c++) {
        const float *in_row = inp + (size_t)c * gin->total;
        float *out_row = out + (size_t)c * gout->total;
        int *arg_row = argmax ? argmax + (size_t)c * gout->total : NULL;
        for (int b = 0; b < gin->n; b++) {
            const float *src = in_row + gin->off[b];
            int win = gin->w[b], wout = gout->w[b];
            for (int oy = 0; oy < gout->h; oy++) {
                for (int ox = 0; ox < wout; ox++) {
                    float best = -FLT_MAX;
                    int best_i = -1;
                    for (int ki = 0; ki < k.kh; ki++) {
                        int iy = oy * k.sh - k.ph + ki;
                        if (iy < 0 || iy >= gin->h) continue;
                        for (int kj = 0; kj < k.kw; kj++) {
                            int ix = ox * k.sw - k.pw + kj;
                            if (ix < 0 || ix >= win) continue;
                            float v = src[iy * win + ix];
                            if (best_i < 0 || v > best) {
                                best = v;
                                best_i = iy * win + ix;
                            }
                        }
                    }
                    size_t o = gout->off[b] + (size_t)oy * wout + ox;
                    out_row[o] = best;
                    if (arg_row) arg_row[o] = (int)gin->off[b] + best_i;
                }
            }
        }
    }
}

void maxpool_backward(float *dinp, const float *dout, const int *argmax, int C, size_t Pin,
                      size_t Pout) {
    for (int c = 0; c < C; c++) {
        float *d = dinp + (size_t)c * Pin;
        const float *g = dout + (size_t)c * Pout;
        const int *a = argmax + (size_t)c * Pout;
        for (size_t p = 0; p < Pout; p++) d[a[p]] += g[p];
    }
}

/* maxpool.c — max-pooling per image; padded positions never win. */
#include <float.h>

#include "nn/nn.h"

static inline float max2(float a, float b) { return a > b ? a : b; }

void maxpool_forward(float *out, int *argmax, const float *inp, int C, window2d k,
                     const map_geom *gin, const map_geom *gout) {
    for (int c = 0; c < C; c++) {
        const float *in_row = inp + (size_t)c * gin->total;
        float *out_row = out + (size_t)c * gout->total;
        int *arg_row = argmax ? argmax + (size_t)c * gout->total : NULL;
        for (int b = 0; b < gin->n; b++) {
            const float *src = in_row + gin->off[b];
            int win = gin->w[b], wout = gout->w[b];
            /* Output columns whose window lies wholly inside the image skip the bounds
               checks (all but the edges); the rest take the careful path. */
            int x_lo = 0, x_hi = wout;
            while (x_lo < wout && x_lo * k.sw - k.pw < 0) x_lo++;
            while (x_hi > x_lo && (x_hi - 1) * k.sw - k.pw + k.kw > win) x_hi--;
            for (int oy = 0; oy < gout->h; oy++) {
                int y0 = oy * k.sh - k.ph;
                int rows_inside = y0 >= 0 && y0 + k.kh <= gin->h;
                size_t o_row = gout->off[b] + (size_t)oy * wout;
                int fast = !arg_row && rows_inside && k.kh == 2 && k.kw == 2 && x_hi > x_lo;
                if (fast) {
                    /* Inference with the CRNN's 2×2 windows: branch-free maxima that the
                       compiler vectorises (a tenth of the whole forward pass otherwise). */
                    const float *r0 = src + (size_t)y0 * win - k.pw, *r1 = r0 + win;
                    float *o = out_row + o_row;
                    if (k.sw == 1) {
                        for (int ox = x_lo; ox < x_hi; ox++) {
                            float a = max2(r0[ox], r0[ox + 1]), c2 = max2(r1[ox], r1[ox + 1]);
                            o[ox] = max2(a, c2);
                        }
                    } else {
                        for (int ox = x_lo; ox < x_hi; ox++) {
                            int x0 = ox * k.sw;
                            float a = max2(r0[x0], r0[x0 + 1]), c2 = max2(r1[x0], r1[x0 + 1]);
                            o[ox] = max2(a, c2);
                        }
                    }
                }
                for (int ox = 0; ox < wout; ox++) {
                    if (fast && ox == x_lo) {
                        ox = x_hi - 1; /* done above */
                        continue;
                    }
                    float best = -FLT_MAX;
                    int best_i = -1;
                    if (rows_inside && ox >= x_lo && ox < x_hi) {
                        int x0 = ox * k.sw - k.pw;
                        for (int ki = 0; ki < k.kh; ki++) {
                            const float *r = src + (size_t)(y0 + ki) * win + x0;
                            for (int kj = 0; kj < k.kw; kj++)
                                if (best_i < 0 || r[kj] > best) {
                                    best = r[kj];
                                    best_i = (y0 + ki) * win + x0 + kj;
                                }
                        }
                    } else {
                        for (int ki = 0; ki < k.kh; ki++) {
                            int iy = y0 + ki;
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
                    }
                    out_row[o_row + ox] = best;
                    if (arg_row) arg_row[o_row + ox] = (int)gin->off[b] + best_i;
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

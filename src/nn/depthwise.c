/* depthwise.c — depthwise 2-D convolution: channel c of the output is channel c of the input
   convolved with its own kh × kw kernel. The spatial half of a depthwise-separable
   convolution (MobileNet, PP-LCNet); a 1×1 conv2d does the mixing across channels.

   There is nothing to share between channels, so no im2col and no sgemm: each kernel tap is
   an axpy of one input row onto one output row. With stride 1 along the row that axpy is
   contiguous and the compiler vectorises it; this is memory-bound either way. */
#include <string.h>

#include "nn/nn.h"

void depthwise2d_forward(float *out, const float *inp, const float *weight, const float *bias,
                         int C, window2d k, const map_geom *gin, const map_geom *gout) {
    for (int c = 0; c < C; c++) {
        const float *in_row = inp + (size_t)c * gin->total, *wc = weight + (size_t)c * k.kh * k.kw;
        float *out_row = out + (size_t)c * gout->total;
        float b0 = bias ? bias[c] : 0.0f;
        for (int b = 0; b < gin->n; b++) {
            const float *src = in_row + gin->off[b];
            float *dst = out_row + gout->off[b];
            int win = gin->w[b], wout = gout->w[b];
            for (size_t p = 0; p < (size_t)gout->h * wout; p++) dst[p] = b0;
            for (int kj = 0; kj < k.kw; kj++) {
                int lo, hi;
                window_valid_columns(wout, win, k, kj, &lo, &hi);
                if (hi <= lo) continue;
                for (int oy = 0; oy < gout->h; oy++) {
                    float *d = dst + (size_t)oy * wout;
                    for (int ki = 0; ki < k.kh; ki++) {
                        int iy = oy * k.sh - k.ph + ki;
                        if (iy < 0 || iy >= gin->h) continue;
                        const float w = wc[ki * k.kw + kj];
                        const float *s = src + (size_t)iy * win;
                        const int shift = kj - k.pw; /* input column = ox·sw + shift */
                        if (k.sw == 1)
                            for (int ox = lo; ox < hi; ox++) d[ox] += w * s[ox + shift];
                        else
                            for (int ox = lo; ox < hi; ox++) d[ox] += w * s[ox * k.sw + shift];
                    }
                }
            }
        }
    }
}

void depthwise2d_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                          const float *inp, const float *weight, int C, window2d k,
                          const map_geom *gin, const map_geom *gout) {
    for (int c = 0; c < C; c++) {
        const float *in_row = inp + (size_t)c * gin->total, *dout_row = dout + (size_t)c * gout->total;
        const float *wc = weight + (size_t)c * k.kh * k.kw;
        float *dwc = dweight + (size_t)c * k.kh * k.kw;
        float *din_row = dinp ? dinp + (size_t)c * gin->total : NULL;
        double db = 0;
        for (size_t p = 0; p < gout->total; p++) db += dout_row[p];
        dbias[c] += (float)db;
        for (int ki = 0; ki < k.kh; ki++)
            for (int kj = 0; kj < k.kw; kj++) {
                double dw = 0; /* a sum over every output of the batch: double keeps it exact */
                for (int b = 0; b < gin->n; b++) {
                    int win = gin->w[b], wout = gout->w[b], lo, hi;
                    window_valid_columns(wout, win, k, kj, &lo, &hi);
                    if (hi <= lo) continue;
                    for (int oy = 0; oy < gout->h; oy++) {
                        int iy = oy * k.sh - k.ph + ki;
                        if (iy < 0 || iy >= gin->h) continue;
                        const float *g = dout_row + gout->off[b] + (size_t)oy * wout;
                        size_t at = gin->off[b] + (size_t)iy * win; /* the input row */
                        const float *s = in_row + at;
                        const int shift = kj - k.pw;
                        float row = 0;
                        for (int ox = lo; ox < hi; ox++) row += g[ox] * s[ox * k.sw + shift];
                        dw += row;
                        if (din_row) {
                            float *d = din_row + at, w = wc[ki * k.kw + kj];
                            for (int ox = lo; ox < hi; ox++) d[ox * k.sw + shift] += w * g[ox];
                        }
                    }
                }
                dwc[ki * k.kw + kj] += (float)dw;
            }
    }
}

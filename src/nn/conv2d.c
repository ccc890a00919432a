/* conv2d.c — 2-D convolution as im2col + one sgemm per group of images. */
#include <cblas.h>
#include <string.h>

#include "nn/nn.h"
#include "util/team.h"

/* Unfolds image b into columns [c0, c0 + hout·wout) of cols (rows Cin·kh·kw, stride ld): the
   rows of units [u_begin, u_end), a unit being one (input channel c, kernel row ki) pair,
   u = c·kh + ki, so that threads can share even a one-channel input. */
static void im2col(float *cols, size_t ld, size_t c0, const float *inp, size_t in_ld,
                   size_t in_off, int u_begin, int u_end, int hin, int win, int hout, int wout,
                   window2d k) {
    if (k.sh == 1 && k.sw == 1 && hout == hin && wout == win) {
        /* "Same" convolution (every 3×3 pad-1 layer): each row of cols is the whole image
           shifted by (ki − ph, kj − pw), so one memcpy per plane rather than one per line of
           a few dozen floats; the cells the shift wraps or pushes out are zeroed after. */
        const size_t plane = (size_t)hin * (size_t)win;
        for (int u = u_begin; u < u_end; u++) {
            int c = u / k.kh, ki = u % k.kh;
            const float *src = inp + (size_t)c * in_ld + in_off;
            int dy = ki - k.ph;
            int y_lo = dy < 0 ? -dy : 0, y_hi = dy > 0 ? hout - dy : hout; /* valid rows */
            for (int kj = 0; kj < k.kw; kj++) {
                float *dst = cols + ((size_t)(c * k.kh + ki) * k.kw + kj) * ld + c0;
                int dx = kj - k.pw;
                if (y_hi <= y_lo || dx >= wout || -dx >= wout) {
                    memset(dst, 0, sizeof(float) * plane);
                    continue;
                }
                long shift = (long)dy * win + dx; /* output index + shift = input index */
                long a = (long)y_lo * wout, b = (long)y_hi * wout;
                if (a + shift < 0) a = -shift;
                if (b + shift > (long)plane) b = (long)plane - shift;
                memset(dst, 0, sizeof(float) * (size_t)a);
                memcpy(dst + a, src + a + shift, sizeof(float) * (size_t)(b - a));
                memset(dst + b, 0, sizeof(float) * (plane - (size_t)b));
                if (dx < 0)
                    for (int y = y_lo; y < y_hi; y++)
                        for (int x = 0; x < -dx; x++) dst[(size_t)y * wout + x] = 0;
                else if (dx > 0)
                    for (int y = y_lo; y < y_hi; y++)
                        for (int x = wout - dx; x < wout; x++) dst[(size_t)y * wout + x] = 0;
            }
        }
        return;
    }
    for (int u = u_begin; u < u_end; u++) {
        int c = u / k.kh, ki = u % k.kh;
        const float *src = inp + (size_t)c * in_ld + in_off;
        for (int kj = 0; kj < k.kw; kj++) {
            float *dst = cols + ((size_t)(c * k.kh + ki) * k.kw + kj) * ld + c0;
            int x_lo, x_hi;
            window_valid_columns(wout, win, k, kj, &x_lo, &x_hi);
            for (int oy = 0; oy < hout; oy++) {
                float *d = dst + (size_t)oy * wout;
                int iy = oy * k.sh - k.ph + ki;
                if (iy < 0 || iy >= hin) {
                    memset(d, 0, sizeof(float) * (size_t)wout);
                    continue;
                }
                const float *s = src + (size_t)iy * win;
                for (int ox = 0; ox < x_lo; ox++) d[ox] = 0;
                if (k.sw == 1) {
                    if (x_hi > x_lo)
                        memcpy(d + x_lo, s + x_lo - k.pw + kj,
                               sizeof(float) * (size_t)(x_hi - x_lo));
                } else {
                    for (int ox = x_lo; ox < x_hi; ox++) d[ox] = s[ox * k.sw - k.pw + kj];
                }
                for (int ox = x_hi > x_lo ? x_hi : x_lo; ox < wout; ox++) d[ox] = 0;
            }
        }
    }
}

/* The adjoint of im2col: adds columns back onto the image they came from. */
static void col2im(float *dinp, size_t in_ld, size_t in_off, const float *cols, size_t ld,
                   size_t c0, int cin, int hin, int win, int hout, int wout, window2d k) {
    for (int c = 0; c < cin; c++) {
        float *dst = dinp + (size_t)c * in_ld + in_off;
        for (int ki = 0; ki < k.kh; ki++) {
            for (int kj = 0; kj < k.kw; kj++) {
                const float *src = cols + ((size_t)(c * k.kh + ki) * k.kw + kj) * ld + c0;
                for (int oy = 0; oy < hout; oy++) {
                    int iy = oy * k.sh - k.ph + ki;
                    if (iy < 0 || iy >= hin) continue;
                    const float *s = src + (size_t)oy * wout;
                    float *d = dst + (size_t)iy * win;
                    for (int ox = 0; ox < wout; ox++) {
                        int ix = ox * k.sw - k.pw + kj;
                        if (ix >= 0 && ix < win) d[ix] += s[ox];
                    }
                }
            }
        }
    }
}

/* Next group of images [b0, *b1) whose unfolded columns fit in cap floats. */
static int next_group(int b0, const map_geom *gout, size_t rows, size_t cap) {
    size_t used = 0;
    int b = b0;
    while (b < gout->n) {
        size_t need = rows * (size_t)gout->h * (size_t)gout->w[b];
        if (b > b0 && used + need > cap) break;
        used += need;
        b++;
    }
    return b;
}

/* One group of images [b0, b1) of a convolution, shared among a team in two jobs: each
   part unfolds a share of the (channel, kernel row) units, then (once all are unfolded) each
   fills and multiplies a share of the output channels. The products of one small image are
   too small for BLAS's own threading, but two halves of it run side by side. */
typedef struct {
    float *out, *cols;
    const float *inp, *weight, *bias;
    int cout, units, b0, b1;
    size_t K, P, c0, ncols;
    window2d k;
    const map_geom *gin, *gout;
} conv_group;

static void unfold_part(void *arg, int part, int parts) {
    const conv_group *g = arg;
    for (int b = g->b0; b < g->b1; b++)
        im2col(g->cols, g->ncols, g->gout->off[b] - g->c0, g->inp, g->gin->total, g->gin->off[b],
               g->units * part / parts, g->units * (part + 1) / parts, g->gin->h, g->gin->w[b],
               g->gout->h, g->gout->w[b], g->k);
}

static void product_part(void *arg, int part, int parts) {
    const conv_group *g = arg;
    int o0 = g->cout * part / parts, o1 = g->cout * (part + 1) / parts;
    for (int o = o0; o < o1; o++) { /* the bias, which the product adds onto */
        float b = g->bias ? g->bias[o] : 0.0f;
        float *row = g->out + (size_t)o * g->P + g->c0;
        for (size_t p = 0; p < g->ncols; p++) row[p] = b;
    }
    if (o1 > o0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, o1 - o0, (int)g->ncols,
                    (int)g->K, 1.0f, g->weight + (size_t)o0 * g->K, (int)g->K, g->cols,
                    (int)g->ncols, 1.0f, g->out + (size_t)o0 * g->P + g->c0, (int)g->P);
}

void conv2d_forward(float *out, float *cols, size_t cols_cap, const float *inp,
                    const float *weight, const float *bias, int cin, int cout, window2d k,
                    const map_geom *gin, const map_geom *gout, team *tm) {
    size_t K = (size_t)cin * k.kh * k.kw;
    size_t P = gout->total;
    int pointwise = k.kh == 1 && k.kw == 1 && k.sh == 1 && k.sw == 1 && k.ph == 0 && k.pw == 0;
    if (pointwise) { /* 1×1: the input already is the column matrix */
        for (int o = 0; o < cout; o++) {
            float b = bias ? bias[o] : 0.0f;
            for (size_t p = 0; p < P; p++) out[(size_t)o * P + p] = b;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cout, (int)P, (int)K, 1.0f, weight,
                    (int)K, inp, (int)gin->total, 1.0f, out, (int)P);
        return;
    }
    const int parts = team_threads(tm);
    for (int b0 = 0; b0 < gout->n;) {
        int b1 = next_group(b0, gout, K, cols_cap);
        conv_group g = {out, cols, inp, weight, bias, cout, cin * k.kh, b0, b1, K, P,
                        gout->off[b0], 0, k, gin, gout};
        g.ncols = gout->off[b1 - 1] + (size_t)gout->h * gout->w[b1 - 1] - g.c0;
        team_run(tm, parts, unfold_part, &g);
        team_run(tm, parts, product_part, &g);
        b0 = b1;
    }
}

void conv2d_backward(float *dinp, float *dweight, float *dbias, float *cols, size_t cols_cap,
                     const float *dout, const float *inp, const float *weight, int cin, int cout,
                     window2d k, const map_geom *gin, const map_geom *gout) {
    size_t K = (size_t)cin * k.kh * k.kw;
    size_t P = gout->total;
    for (int o = 0; o < cout; o++) {
        const float *row = dout + (size_t)o * P;
        double s = 0;
        for (size_t p = 0; p < P; p++) s += row[p];
        dbias[o] += (float)s;
    }
    for (int b0 = 0; b0 < gout->n;) {
        int b1 = next_group(b0, gout, K, cols_cap);
        size_t c0 = gout->off[b0];
        size_t ncols = gout->off[b1 - 1] + (size_t)gout->h * gout->w[b1 - 1] - c0;
        for (int b = b0; b < b1; b++)
            im2col(cols, ncols, gout->off[b] - c0, inp, gin->total, gin->off[b], 0, cin * k.kh,
                   gin->h, gin->w[b], gout->h, gout->w[b], k);
        /* dW (Cout × K) += dout (Cout × n) · colsᵀ (n × K) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cout, (int)K, (int)ncols, 1.0f,
                    dout + c0, (int)P, cols, (int)ncols, 1.0f, dweight, (int)K);
        if (dinp) {
            /* dcols (K × n) = Wᵀ (K × Cout) · dout (Cout × n), then fold back. */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)ncols, cout, 1.0f,
                        weight, (int)K, dout + c0, (int)P, 0.0f, cols, (int)ncols);
            for (int b = b0; b < b1; b++)
                col2im(dinp, gin->total, gin->off[b], cols, ncols, gout->off[b] - c0, cin, gin->h,
                       gin->w[b], gout->h, gout->w[b], k);
        }
        b0 = b1;
    }
}

/* warp.c — the geometry of a sample in one inverse-mapped pass: every output pixel is mapped
   back into the flat text layer through perspective, rotation/shear/stretch and a curved
   baseline, and sampled there. One pass instead of a chain of resamplings keeps letters sharp
   and costs a handful of flops per pixel. */
#include <math.h>
#include <stdlib.h>

#include "synth/internal.h"

int fimg_resize_planes(fimg *img, int w, int h, int c) {
    size_t need = (size_t)(w > 0 ? w : 1) * (size_t)(h > 0 ? h : 1) * (size_t)(c > 0 ? c : 1);
    if (need > img->cap) {
        float *p = realloc(img->p, need * sizeof *p);
        if (!p) return 0;
        img->p = p;
        img->cap = need;
    }
    img->w = w;
    img->h = h;
    img->c = c;
    return 1;
}

int fimg_resize(fimg *img, int w, int h) { return fimg_resize_planes(img, w, h, 1); }

/* The bent baseline: layer offsets from the text centre (du, dv) → (bx, by). With an arc the
   text runs along a circle of radius arc_r whose centre lies arc_r below the centre line
   (above when negative), each letter turned with the circle. */
static void bend_forward(const synth_warp *w, float du, float dv, float *bx, float *by) {
    if (w->arc_r != 0) {
        float theta = du / w->arc_r, rho = w->arc_r - dv;
        *bx = rho * sinf(theta);
        *by = w->arc_r - rho * cosf(theta);
        return;
    }
    float t = du / w->half_w;
    *bx = du;
    *by = dv + w->bend * t * t;
}

/* 0 at the circle's centre, which no layer point maps to. */
static int bend_inverse(const synth_warp *w, float bx, float by, float *du, float *dv) {
    if (w->arc_r != 0) {
        float dy = by - w->arc_r;
        float rho = copysignf(sqrtf(bx * bx + dy * dy), w->arc_r);
        if (fabsf(rho) < 1e-3f) return 0;
        *du = w->arc_r * atan2f(bx / rho, -dy / rho);
        *dv = w->arc_r - rho;
        return 1;
    }
    float t = bx / w->half_w;
    *du = bx;
    *dv = by - w->bend * t * t;
    return 1;
}

void warp_forward(const synth_warp *w, float u, float v, float *x, float *y) {
    float bx, by;
    bend_forward(w, u - w->uc, v - w->vc, &bx, &by);
    float qx = w->a[0] * bx + w->a[1] * by, qy = w->a[2] * bx + w->a[3] * by;
    float d = 1.0f + w->px * qx + w->py * qy;
    if (d < 0.05f) d = 0.05f;
    *x = w->s * qx / d + w->tx;
    *y = w->s * qy / d + w->ty;
}

int warp_inverse(const synth_warp *w, float x, float y, float *u, float *v) {
    float X = (x - w->tx) / w->s, Y = (y - w->ty) / w->s;
    float den = 1.0f - w->px * X - w->py * Y;
    if (den < 0.05f) return 0;
    float d = 1.0f / den, qx = X * d, qy = Y * d;
    float bx = w->ai[0] * qx + w->ai[1] * qy, by = w->ai[2] * qx + w->ai[3] * qy;
    float du, dv;
    if (!bend_inverse(w, bx, by, &du, &dv)) return 0;
    *u = du + w->uc;
    *v = dv + w->vc;
    return 1;
}

void warp_layer(const synth_warp *wp, const fimg *val, const fimg *alpha, fimg *out_val,
                fimg *out_alpha, int w, int h, int ss) {
    const int lw = val->w, lh = val->h, nc = val->c < 3 ? val->c : 3;
    const size_t lplane = (size_t)lw * (size_t)lh, oplane = (size_t)w * (size_t)h;
    const float inv = 1.0f / (float)(ss * ss);
    for (int y = 0; y < h; y++) {
        float *ov = out_val->p + (size_t)y * (size_t)w, *oa = out_alpha->p + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++) {
            float sv[3] = {0, 0, 0}, sa = 0;
            for (int j = 0; j < ss; j++)
                for (int i = 0; i < ss; i++) {
                    float u, v;
                    if (!warp_inverse(wp, (float)x + ((float)i + 0.5f) / (float)ss,
                                      (float)y + ((float)j + 0.5f) / (float)ss, &u, &v))
                        continue;
                    /* Pixel centres sit at +0.5 in the layer. */
                    float fx = u - 0.5f, fy = v - 0.5f;
                    if (!(fx >= 0 && fy >= 0 && fx < (float)(lw - 1) && fy < (float)(lh - 1))) continue;
                    int ix = (int)fx, iy = (int)fy;
                    float ax = fx - (float)ix, ay = fy - (float)iy;
                    size_t k = (size_t)iy * (size_t)lw + (size_t)ix;
                    const float *a = alpha->p + k;
                    float a0 = a[0] + ax * (a[1] - a[0]), a1 = a[lw] + ax * (a[lw + 1] - a[lw]);
                    sa += a0 + ay * (a1 - a0);
                    for (int p = 0; p < nc; p++) {
                        const float *c = val->p + p * lplane + k;
                        float c0 = c[0] + ax * (c[1] - c[0]), c1 = c[lw] + ax * (c[lw + 1] - c[lw]);
                        sv[p] += c0 + ay * (c1 - c0);
                    }
                }
            for (int p = 0; p < nc; p++) ov[p * oplane + x] = sv[p] * inv;
            oa[x] = sa * inv;
        }
    }
}

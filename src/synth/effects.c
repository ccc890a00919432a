/* effects.c — what a camera and a web pipeline do to a word: defocus and motion blur, sensor
   noise, uneven light, low resolution enlarged again, and JPEG blocks. All work on the small
   output-size image, so each costs a few microseconds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>
#include <stb_image_write.h>

#include "synth/internal.h"

/* One 1-D pass of a symmetric kernel k[0..rad] along rows (dx=1) or columns, edges clamped. */
static void convolve(const float *src, float *dst, int w, int h, const float *k, int rad, int horiz) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float s = k[0] * src[(size_t)y * (size_t)w + (size_t)x];
            for (int i = 1; i <= rad; i++) {
                int a, b;
                if (horiz) {
                    a = x - i < 0 ? 0 : x - i;
                    b = x + i >= w ? w - 1 : x + i;
                    s += k[i] * (src[(size_t)y * (size_t)w + (size_t)a] + src[(size_t)y * (size_t)w + (size_t)b]);
                } else {
                    a = y - i < 0 ? 0 : y - i;
                    b = y + i >= h ? h - 1 : y + i;
                    s += k[i] * (src[(size_t)a * (size_t)w + (size_t)x] + src[(size_t)b * (size_t)w + (size_t)x]);
                }
            }
            dst[(size_t)y * (size_t)w + (size_t)x] = s;
        }
}

void fx_gaussian_blur(fimg *img, float sigma, fimg *tmp) {
    if (sigma < 0.2f || !fimg_resize(tmp, img->w, img->h)) return;
    float k[16];
    int rad = (int)ceilf(2.5f * sigma);
    if (rad > 15) rad = 15;
    float sum = 0;
    for (int i = 0; i <= rad; i++) {
        k[i] = expf(-0.5f * (float)(i * i) / (sigma * sigma));
        sum += i ? 2 * k[i] : k[i];
    }
    for (int i = 0; i <= rad; i++) k[i] /= sum;
    for (int p = 0; p < img->c; p++) {
        convolve(fimg_plane(img, p), tmp->p, img->w, img->h, k, rad, 1);
        convolve(tmp->p, fimg_plane(img, p), img->w, img->h, k, rad, 0);
    }
}

void fx_motion_blur(fimg *img, float length, float angle, fimg *tmp) {
    int w = img->w, h = img->h;
    if (length < 1 || !fimg_resize(tmp, w, h)) return;
    int taps = (int)ceilf(length) + 1;
    if (taps > 12) taps = 12;
    float dx = cosf(angle) * length / (float)(taps - 1), dy = sinf(angle) * length / (float)(taps - 1);
    for (int p = 0; p < img->c; p++) {
        float *src = fimg_plane(img, p);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float s = 0;
                for (int t = 0; t < taps; t++) {
                    float o = (float)t - 0.5f * (float)(taps - 1);
                    int sx = (int)lroundf((float)x + o * dx), sy = (int)lroundf((float)y + o * dy);
                    sx = sx < 0 ? 0 : sx >= w ? w - 1 : sx;
                    sy = sy < 0 ? 0 : sy >= h ? h - 1 : sy;
                    s += src[(size_t)sy * (size_t)w + (size_t)sx];
                }
                tmp->p[(size_t)y * (size_t)w + (size_t)x] = s / (float)taps;
            }
        memcpy(src, tmp->p, (size_t)w * (size_t)h * sizeof *src);
    }
}

/* Sum of four uniform bytes: close enough to Gaussian for sensor noise and far cheaper than
   Box–Muller per pixel. Variance of one byte is (256²−1)/12, so four ≈ 21845 (sd 147.8). */
static inline float grain(rng_t *r) {
    uint32_t v = rng_u32(r);
    return (float)((int)(v & 255) + (int)((v >> 8) & 255) + (int)((v >> 16) & 255) + (int)(v >> 24) - 510);
}

void fx_noise(fimg *img, rng_t *r, float sigma) {
    const size_t n = (size_t)img->w * (size_t)img->h;
    if (img->c == 1) {
        const float k = sigma / 147.8f;
        for (size_t i = 0; i < n; i++) img->p[i] += k * grain(r);
        return;
    }
    /* Colour sensors: mostly brightness grain, and a little uniform noise per channel. */
    const float k = sigma / 147.8f, kc = 0.35f * sigma / 512.0f;
    float *p0 = fimg_plane(img, 0), *p1 = fimg_plane(img, 1), *p2 = fimg_plane(img, 2);
    for (size_t i = 0; i < n; i++) {
        float g = k * grain(r);
        uint32_t v = rng_u32(r);
        p0[i] += g + kc * (float)((int)(v & 1023) - 512);
        p1[i] += g + kc * (float)((int)((v >> 10) & 1023) - 512);
        p2[i] += g + kc * (float)((int)((v >> 20) & 1023) - 512);
    }
}

/* Bilinear resample of src (sw × sh) into dst (dw × dh), pixel centres aligned. */
static void resample(const float *src, int sw, int sh, float *dst, int dw, int dh) {
    float fx = (float)sw / (float)dw, fy = (float)sh / (float)dh;
    for (int y = 0; y < dh; y++) {
        float sy = ((float)y + 0.5f) * fy - 0.5f;
        if (sy < 0) sy = 0;
        int iy = (int)sy;
        if (iy > sh - 2) iy = sh > 1 ? sh - 2 : 0;
        float ay = sh > 1 ? fminf(sy - (float)iy, 1.0f) : 0;
        int iy1 = sh > 1 ? iy + 1 : iy;
        for (int x = 0; x < dw; x++) {
            float sx = ((float)x + 0.5f) * fx - 0.5f;
            if (sx < 0) sx = 0;
            int ix = (int)sx;
            if (ix > sw - 2) ix = sw > 1 ? sw - 2 : 0;
            float ax = sw > 1 ? fminf(sx - (float)ix, 1.0f) : 0;
            int ix1 = sw > 1 ? ix + 1 : ix;
            const float *r0 = src + (size_t)iy * (size_t)sw, *r1 = src + (size_t)iy1 * (size_t)sw;
            float a = r0[ix] + ax * (r0[ix1] - r0[ix]), b = r1[ix] + ax * (r1[ix1] - r1[ix]);
            dst[(size_t)y * (size_t)dw + (size_t)x] = a + ay * (b - a);
        }
    }
}

void fx_down_up(fimg *img, float factor, fimg *tmp) {
    int w = img->w, h = img->h;
    int sw = (int)lroundf((float)w * factor), sh = (int)lroundf((float)h * factor);
    if (sw < 2 || sh < 2 || (sw == w && sh == h) || !fimg_resize(tmp, sw, sh)) return;
    /* Shrinking by plain bilinear aliases like a cheap camera does; that is the point. */
    for (int p = 0; p < img->c; p++) {
        resample(fimg_plane(img, p), w, h, tmp->p, sw, sh);
        resample(tmp->p, sw, sh, fimg_plane(img, p), w, h);
    }
}

void fx_illumination(fimg *img, rng_t *r, float strength) {
    int w = img->w, h = img->h;
    /* A light gradient times a soft spot (or shade) somewhere near the crop. */
    float gx = rng_range(r, -1, 1) * strength, gy = rng_range(r, -1, 1) * strength;
    float cx = rng_range(r, -0.2f, 1.2f) * (float)w, cy = rng_range(r, -0.2f, 1.2f) * (float)h;
    float rad = rng_range(r, 0.3f, 1.2f) * (float)(w > h ? w : h);
    float spot = rng_range(r, -0.6f, 0.6f) * strength;
    float inv_r2 = 1.0f / (rad * rad);
    for (int y = 0; y < h; y++) {
        float ny = (float)y / (float)h - 0.5f, dy = (float)y - cy;
        for (int x = 0; x < w; x++) {
            float nx = (float)x / (float)w - 0.5f, dx = (float)x - cx;
            float d2 = (dx * dx + dy * dy) * inv_r2;
            float gain = 1.0f + gx * nx + gy * ny + spot / (1.0f + 3.0f * d2);
            if (gain < 0.1f) gain = 0.1f;
            for (int p = 0; p < img->c; p++) fimg_plane(img, p)[(size_t)y * (size_t)w + (size_t)x] *= gain;
        }
    }
}

void synth_mem_write(void *ctx, void *data, int size) {
    synth_membuf *m = ctx;
    if (m->failed || size <= 0) return;
    if (m->n + (size_t)size > m->cap) {
        size_t cap = (m->cap ? 2 * m->cap : 8192) + (size_t)size;
        unsigned char *p = realloc(m->p, cap);
        if (!p) { m->failed = 1; return; }
        m->p = p;
        m->cap = cap;
    }
    memcpy(m->p + m->n, data, (size_t)size);
    m->n += (size_t)size;
}

int fx_jpeg(uint8_t *px, int w, int h, int channels, int q) {
    synth_membuf m = {0};
    if (!stbi_write_jpg_to_func(synth_mem_write, &m, w, h, channels, px, q) || m.failed) {
        free(m.p);
        return 0;
    }
    int dw, dh, dc;
    uint8_t *dec = stbi_load_from_memory(m.p, (int)m.n, &dw, &dh, &dc, channels);
    free(m.p);
    if (!dec) return 0;
    if (dw == w && dh == h) memcpy(px, dec, (size_t)w * (size_t)h * (size_t)channels);
    stbi_image_free(dec);
    return dw == w && dh == h;
}

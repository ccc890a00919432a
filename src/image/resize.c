/* resize.c — height normalisation. The aspect ratio is kept (no squashing to a fixed width):
   CTC needs roughly as many frames per character for short words as for long ones. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

int image_line_width(int w, int h, int input_height, int min_width) {
    double scaled = (double)w * input_height / (double)h;
    if (scaled > CRNN_MAX_LINE_WIDTH) return CRNN_MAX_LINE_WIDTH; /* extreme aspect: squash */
    long ow = lround(scaled);
    if (ow < min_width) ow = min_width;
    if (ow < 1) ow = 1;
    return (int)ow;
}

int image_input_width(int w, int h, int input_height, int min_width) {
    int ow = image_line_width(w, h, input_height, min_width);
    return ow > CRNN_MAX_INPUT_WIDTH ? CRNN_MAX_INPUT_WIDTH : ow; /* squash */
}

/* One output sample of a 1-D resampling from n_in to n_out positions, stride apart. */
static float sample_1d(const float *in, int n_in, int n_out, int i, size_t stride) {
    double scale = (double)n_in / n_out;
    if (scale >= 1.0) { /* area average over [i·scale, (i+1)·scale) */
        double a = i * scale, b = a + scale;
        int i0 = (int)floor(a), i1 = (int)ceil(b);
        if (i1 > n_in) i1 = n_in;
        double acc = 0, wsum = 0;
        for (int k = i0; k < i1; k++) {
            double lo = k > a ? k : a, hi = k + 1 < b ? k + 1 : b;
            double wgt = hi - lo;
            if (wgt <= 0) continue;
            acc += wgt * in[(size_t)k * stride];
            wsum += wgt;
        }
        return wsum > 0 ? (float)(acc / wsum) : in[(size_t)i0 * stride];
    }
    double x = (i + 0.5) * scale - 0.5; /* bilinear at pixel centres */
    if (x < 0) x = 0;
    if (x > n_in - 1) x = n_in - 1;
    int x0 = (int)x;
    int x1 = x0 + 1 < n_in ? x0 + 1 : x0;
    double f = x - x0;
    return (float)((1 - f) * in[(size_t)x0 * stride] + f * in[(size_t)x1 * stride]);
}

void image_resample(float *out, int oh, int ow, const float *in, int h, int w, float *tmp) {
    for (int y = 0; y < h; y++) /* horizontal pass: h × w → h × ow */
        for (int x = 0; x < ow; x++) tmp[(size_t)y * ow + x] = sample_1d(in + (size_t)y * w, w, ow, x, 1);
    for (int x = 0; x < ow; x++) /* vertical pass: h × ow → oh × ow */
        for (int y = 0; y < oh; y++) out[(size_t)y * ow + x] = sample_1d(tmp + x, h, oh, y, (size_t)ow);
}

/* One channel of img (byte c of every step-byte pixel) to one input plane, its rows
   row_stride floats apart, stretch times as wide as its aspect. */
static void channel_to_input(float *out, size_t row_stride, float *scratch,
                             const crnn_image *img, int c, int step, int H, int out_width,
                             float stretch, float mean, float std) {
    int natural = (int)lround((double)img->width * stretch * H / img->height);
    if (natural < 1) natural = 1;
    int content = natural < out_width ? natural : out_width;
    int x0 = (out_width - content) / 2;
    const uint8_t *px = img->pixels + c;
    /* Border mean: the background for padding. */
    double border = 0;
    int nb = 0;
    for (int x = 0; x < img->width; x++) {
        border += px[(size_t)x * step] + px[(size_t)(img->height - 1) * img->stride + (size_t)x * step];
        nb += 2;
    }
    for (int y = 0; y < img->height; y++) {
        border += px[(size_t)y * img->stride] +
                  px[(size_t)y * img->stride + (size_t)(img->width - 1) * step];
        nb += 2;
    }
    float bg = (float)(border / nb);
    float inv = 1.0f / (255.0f * std);
    float off = mean / std;
    if (img->height == H && content == img->width) {
        for (int y = 0; y < H; y++) {
            float *row = out + (size_t)y * row_stride;
            for (int x = 0; x < out_width; x++) {
                int sx = x - x0;
                float v = (sx >= 0 && sx < content) ? px[(size_t)y * img->stride + (size_t)sx * step] : bg;
                row[x] = v * inv - off;
            }
        }
        return;
    }
    /* Horizontal pass from bytes into scratch (h × content), then vertical into out. */
    for (int y = 0; y < img->height; y++) {
        const uint8_t *src = px + (size_t)y * img->stride;
        float *dst = scratch + (size_t)y * content;
        double scale = (double)img->width / content;
        for (int x = 0; x < content; x++) {
            if (scale >= 1.0) {
                double a = x * scale, b = a + scale;
                int i0 = (int)floor(a), i1 = (int)ceil(b);
                if (i1 > img->width) i1 = img->width;
                double acc = 0, wsum = 0;
                for (int k = i0; k < i1; k++) {
                    double lo = k > a ? k : a, hi = k + 1 < b ? k + 1 : b;
                    if (hi <= lo) continue;
                    acc += (hi - lo) * src[(size_t)k * step];
                    wsum += hi - lo;
                }
                dst[x] = wsum > 0 ? (float)(acc / wsum) : src[(size_t)i0 * step];
            } else {
                double sx = (x + 0.5) * scale - 0.5;
                if (sx < 0) sx = 0;
                if (sx > img->width - 1) sx = img->width - 1;
                int s0 = (int)sx, s1 = s0 + 1 < img->width ? s0 + 1 : s0;
                double f = sx - s0;
                dst[x] = (float)((1 - f) * src[(size_t)s0 * step] + f * src[(size_t)s1 * step]);
            }
        }
    }
    for (int x = 0; x < out_width; x++) {
        int sx = x - x0;
        for (int y = 0; y < H; y++) {
            float v = (sx >= 0 && sx < content) ? sample_1d(scratch + sx, img->height, H, y, (size_t)content)
                                                : bg;
            out[(size_t)y * row_stride + x] = v * inv - off;
        }
    }
}

void image_to_input(float *out, size_t plane_stride, float *scratch, const crnn_image *img, int H,
                    int out_width, float mean, float std) {
    image_to_input_strided(out, plane_stride, (size_t)out_width, scratch, img, H, out_width, 1.0f,
                           mean, std);
}

void image_to_input_strided(float *out, size_t plane_stride, size_t row_stride, float *scratch,
                            const crnn_image *img, int H, int out_width, float stretch,
                            float mean, float std) {
    const int nc = image_channels(img);
    for (int c = 0; c < nc; c++)
        channel_to_input(out + (size_t)c * plane_stride, row_stride, scratch, img, c, nc, H,
                         out_width, stretch, mean, std);
}

uint8_t *image_convert(const crnn_image *img, int channels) {
    const int from = image_channels(img), w = img->width, h = img->height;
    uint8_t *out = malloc((size_t)w * (size_t)h * (size_t)channels);
    if (!out) return NULL;
    for (int y = 0; y < h; y++) {
        const uint8_t *src = img->pixels + (size_t)y * img->stride;
        uint8_t *dst = out + (size_t)y * w * channels;
        for (int x = 0; x < w; x++) {
            const uint8_t *p = src + (size_t)x * from;
            if (channels == from)
                memcpy(dst + (size_t)x * channels, p, (size_t)channels);
            else if (channels == 3)
                dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = p[0];
            else /* stb_image's weights */
                dst[x] = (uint8_t)((p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8);
        }
    }
    return out;
}

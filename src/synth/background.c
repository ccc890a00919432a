/* background.c — what lies behind the text: flat paint, gradients, procedural blotches, and
   patches of real street scenes (decoded to grey once at start) blended in at random scale
   and strength, so the model learns to ignore clutter, edges and texture that real crops
   have around the letters. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <stb_image.h>

#include "synth/internal.h"

#define MAX_BG_IMAGES 4000
#define MAX_BG_SIDE 640 /* larger images are halved: patches never need the detail */

static int is_image_name(const char *n) {
    const char *e = strrchr(n, '.');
    return e && (!strcasecmp(e, ".jpg") || !strcasecmp(e, ".jpeg") || !strcasecmp(e, ".png") ||
                 !strcasecmp(e, ".bmp") || !strcasecmp(e, ".pgm") || !strcasecmp(e, ".ppm"));
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint8_t *halve(const uint8_t *px, int w, int h, int *ow, int *oh) {
    int nw = w / 2, nh = h / 2;
    uint8_t *o = malloc((size_t)nw * (size_t)nh);
    if (!o) return NULL;
    for (int y = 0; y < nh; y++)
        for (int x = 0; x < nw; x++) {
            const uint8_t *p = px + (size_t)(2 * y) * (size_t)w + (size_t)(2 * x);
            o[(size_t)y * (size_t)nw + (size_t)x] = (uint8_t)((p[0] + p[1] + p[w] + p[w + 1] + 2) / 4);
        }
    *ow = nw;
    *oh = nh;
    return o;
}

static crnn_status load_dir(synth_backgrounds *b, const char *dir, crnn_error *err) {
    DIR *d = opendir(dir);
    if (!d) return set_error(err, CRNN_ERR_IO, "synth: cannot open background folder %s", dir);
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < MAX_BG_IMAGES) {
        if (e->d_name[0] == '.' || !is_image_name(e->d_name)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **v = realloc(names, (size_t)cap * sizeof *v);
            if (!v) break;
            names = v;
        }
        if (!(names[n] = strdup(e->d_name))) break;
        n++;
    }
    closedir(d);
    /* Sorted: the sample sequence for a seed must not depend on readdir order. */
    if (n) qsort(names, (size_t)n, sizeof *names, cmp_str);
    crnn_status st = CRNN_OK;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        int w, h, c;
        if (!stbi_info(path, &w, &h, &c) || w < 16 || h < 16 || (size_t)w * (size_t)h > (64u << 20))
            continue; /* unreadable or odd images are skipped, not fatal: a folder of photos
                         often holds a few */
        uint8_t *px = stbi_load(path, &w, &h, &c, 1);
        if (!px) continue;
        while (w > MAX_BG_SIDE || h > MAX_BG_SIDE) {
            int nw, nh;
            uint8_t *o = halve(px, w, h, &nw, &nh);
            stbi_image_free(px);
            px = o;
            w = nw;
            h = nh;
            if (!px) break;
        }
        if (!px) continue;
        gray_img *v = realloc(b->imgs, (size_t)(b->n + 1) * sizeof *v);
        if (!v) {
            free(px);
            st = set_error(err, CRNN_ERR_NOMEM, "synth: out of memory loading backgrounds");
            break;
        }
        b->imgs = v;
        /* stbi memory is malloc'ed (default STBI_MALLOC), so free() releases it. */
        b->imgs[b->n++] = (gray_img){px, w, h};
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    return st;
}

crnn_status backgrounds_load(synth_backgrounds *b, const char *const *dirs, crnn_error *err) {
    memset(b, 0, sizeof *b);
    static const char *const def[] = {"../shared/data/backgrounds/svt-train-scenes", NULL};
    if (!dirs) {
        struct stat st;
        if (stat(def[0], &st) != 0 || !S_ISDIR(st.st_mode)) return CRNN_OK;
        dirs = def;
    }
    for (int i = 0; dirs[i]; i++) {
        crnn_status st = load_dir(b, dirs[i], err);
        if (st) {
            backgrounds_free(b);
            return st;
        }
    }
    return CRNN_OK;
}

void backgrounds_free(synth_backgrounds *b) {
    for (int i = 0; i < b->n; i++) free(b->imgs[i].px);
    free(b->imgs);
    memset(b, 0, sizeof *b);
}

int backgrounds_patch(const synth_backgrounds *b, rng_t *r, fimg *out, int w, int h,
                      float min_scale, float max_scale) {
    if (b->n == 0) return 0;
    const gray_img *g = &b->imgs[rng_int(r, 0, b->n - 1)];
    /* f = image pixels per output pixel; shrink it until the patch fits the image. */
    float f = min_scale * powf(max_scale / min_scale, rng_uniform(r));
    float fit = fminf((float)(g->w - 2) / (float)w, (float)(g->h - 2) / (float)h);
    if (f > fit) f = fit;
    float x0 = rng_uniform(r) * ((float)g->w - 1 - f * (float)w);
    float y0 = rng_uniform(r) * ((float)g->h - 1 - f * (float)h);
    int flip = rng_chance(r, 0.5f);
    for (int y = 0; y < h; y++) {
        float fy = y0 + ((float)y + 0.5f) * f;
        int iy = (int)fy;
        if (iy > g->h - 2) iy = g->h - 2;
        float ay = fy - (float)iy;
        const uint8_t *r0 = g->px + (size_t)iy * (size_t)g->w, *r1 = r0 + g->w;
        float *o = out->p + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++) {
            float fx = x0 + ((float)(flip ? w - 1 - x : x) + 0.5f) * f;
            int ix = (int)fx;
            if (ix > g->w - 2) ix = g->w - 2;
            float ax = fx - (float)ix;
            float a = r0[ix] + ax * (float)(r0[ix + 1] - r0[ix]);
            float c = r1[ix] + ax * (float)(r1[ix + 1] - r1[ix]);
            o[x] = a + ay * (c - a);
        }
    }
    return 1;
}

/* Smooth random blotches: a coarse random grid, bilinearly enlarged (value noise). */
static void value_noise(rng_t *r, float *o, int w, int h, float cell, float amp) {
    int gw = (int)((float)w / cell) + 2, gh = (int)((float)h / cell) + 2;
    float grid[64 * 64];
    if (gw > 64) gw = 64;
    if (gh > 64) gh = 64;
    for (int i = 0; i < gw * gh; i++) grid[i] = rng_range(r, -amp, amp);
    float sx = (float)(gw - 1) / (float)w, sy = (float)(gh - 1) / (float)h;
    for (int y = 0; y < h; y++) {
        float fy = (float)y * sy;
        int iy = (int)fy;
        if (iy > gh - 2) iy = gh - 2;
        float ay = fy - (float)iy;
        for (int x = 0; x < w; x++) {
            float fx = (float)x * sx;
            int ix = (int)fx;
            if (ix > gw - 2) ix = gw - 2;
            float ax = fx - (float)ix;
            const float *g = grid + iy * gw + ix;
            float a = g[0] + ax * (g[1] - g[0]), c = g[gw] + ax * (g[gw + 1] - g[gw]);
            o[(size_t)y * (size_t)w + (size_t)x] += a + ay * (c - a);
        }
    }
}

void background_make(const synth_backgrounds *b, rng_t *r, fimg *out, int w, int h,
                     fimg *scratch) {
    /* Base paint: a U-shaped spread, since signs are mostly either light or dark. */
    float u = rng_uniform(r);
    float base = 255.0f * (u < 0.5f ? 0.5f * powf(2 * u, 0.7f) : 1 - 0.5f * powf(2 - 2 * u, 0.7f));
    size_t n = (size_t)w * (size_t)h;
    for (size_t i = 0; i < n; i++) out->p[i] = base;
    int mode = rng_int(r, 0, 99);
    if (b->n && mode >= 40 && fimg_resize(scratch, w, h) &&
        backgrounds_patch(b, r, scratch, w, h, 0.4f, 3.0f)) {
        float mean = 0;
        for (size_t i = 0; i < n; i++) mean += scratch->p[i];
        mean /= (float)n;
        /* 40–80: faint texture over paint; 80–100: the scene itself, re-lit. */
        float k = mode < 80 ? rng_range(r, 0.1f, 0.6f) : rng_range(r, 0.4f, 1.0f);
        float centre = mode < 80 ? base : 0.5f * (base + mean);
        for (size_t i = 0; i < n; i++) out->p[i] = centre + k * (scratch->p[i] - mean);
    } else if (mode >= 40 || rng_chance(r, 0.3f)) {
        value_noise(r, out->p, w, h, rng_range(r, 3, 20), rng_range(r, 5, 40));
        if (rng_chance(r, 0.5f)) value_noise(r, out->p, w, h, rng_range(r, 1, 3), rng_range(r, 2, 15));
    }
    if (rng_chance(r, 0.3f)) { /* linear gradient across the crop */
        float gx = rng_range(r, -60, 60) / (float)w, gy = rng_range(r, -60, 60) / (float)h;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                out->p[(size_t)y * (size_t)w + (size_t)x] += gx * (float)(x - w / 2) + gy * (float)(y - h / 2);
    }
}

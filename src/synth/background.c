/* background.c — what lies behind the text: flat paint, gradients, procedural blotches, and
   patches of photographs (street scenes, walls, wood, metal, sky; decoded once at start, in
   colour) blended in at random scale and strength, so the model learns to ignore clutter,
   edges and texture that real crops have around the letters. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <stb_image.h>

#include "synth/internal.h"

#define MAX_BG_IMAGES 4000
/* Larger images are shrunk to fit: a patch behind a 32-px crop never needs more detail, and
   a few hundred photos at this size hold ~100 MB. */
#define MAX_BG_SIDE 384

static int is_image_name(const char *n) {
    const char *e = strrchr(n, '.');
    return e && (!strcasecmp(e, ".jpg") || !strcasecmp(e, ".jpeg") || !strcasecmp(e, ".png") ||
                 !strcasecmp(e, ".bmp") || !strcasecmp(e, ".pgm") || !strcasecmp(e, ".ppm") ||
                 !strcasecmp(e, ".tga"));
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Shrinks an RGB image by area averaging so that its longer side is at most MAX_BG_SIDE. */
static uint8_t *shrink_to_fit(const uint8_t *px, int w, int h, int *ow, int *oh) {
    float f = (float)(w > h ? w : h) / (float)MAX_BG_SIDE; /* source px per output px, > 1 */
    int nw = (int)((float)w / f), nh = (int)((float)h / f);
    if (nw < 1) nw = 1;
    if (nh < 1) nh = 1;
    uint8_t *o = malloc((size_t)nw * (size_t)nh * 3);
    if (!o) return NULL;
    for (int y = 0; y < nh; y++) {
        int y0 = (int)((float)y * f), y1 = (int)((float)(y + 1) * f);
        if (y1 > h) y1 = h;
        if (y1 <= y0) y1 = y0 + 1;
        for (int x = 0; x < nw; x++) {
            int x0 = (int)((float)x * f), x1 = (int)((float)(x + 1) * f);
            if (x1 > w) x1 = w;
            if (x1 <= x0) x1 = x0 + 1;
            unsigned sum[3] = {0, 0, 0};
            for (int yy = y0; yy < y1; yy++)
                for (int xx = x0; xx < x1; xx++)
                    for (int k = 0; k < 3; k++) sum[k] += px[((size_t)yy * (size_t)w + (size_t)xx) * 3 + (size_t)k];
            unsigned cnt = (unsigned)((y1 - y0) * (x1 - x0));
            for (int k = 0; k < 3; k++) o[((size_t)y * (size_t)nw + (size_t)x) * 3 + (size_t)k] = (uint8_t)((sum[k] + cnt / 2) / cnt);
        }
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
        uint8_t *px = stbi_load(path, &w, &h, &c, 3);
        if (!px) continue;
        if (w > MAX_BG_SIDE || h > MAX_BG_SIDE) {
            int nw, nh;
            uint8_t *o = shrink_to_fit(px, w, h, &nw, &nh);
            stbi_image_free(px);
            px = o;
            w = nw;
            h = nh;
        }
        if (!px || w < 4 || h < 4) {
            free(px);
            continue;
        }
        rgb_img *v = realloc(b->imgs, (size_t)(b->n + 1) * sizeof *v);
        if (!v) {
            free(px);
            st = set_error(err, CRNN_ERR_NOMEM, "synth: out of memory loading backgrounds");
            break;
        }
        b->imgs = v;
        /* stbi memory is malloc'ed (default STBI_MALLOC), so free() releases it. */
        b->imgs[b->n++] = (rgb_img){px, w, h};
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
    int ndirs = 0;
    while (dirs[ndirs]) ndirs++;
    if (!(b->dir_off = calloc((size_t)ndirs + 1, sizeof *b->dir_off)))
        return set_error(err, CRNN_ERR_NOMEM, "synth: out of memory loading backgrounds");
    for (int i = 0; i < ndirs; i++) {
        crnn_status st = load_dir(b, dirs[i], err);
        if (st) {
            backgrounds_free(b);
            return st;
        }
        if (b->n > b->dir_off[b->ndirs]) b->dir_off[++b->ndirs] = b->n; /* empty folders drop out */
    }
    return CRNN_OK;
}

void backgrounds_free(synth_backgrounds *b) {
    for (int i = 0; i < b->n; i++) free(b->imgs[i].px);
    free(b->imgs);
    free(b->dir_off);
    memset(b, 0, sizeof *b);
}

int backgrounds_patch(const synth_backgrounds *b, rng_t *r, fimg *out, int w, int h,
                      float min_scale, float max_scale) {
    if (b->n == 0 || b->ndirs == 0 || !fimg_resize_planes(out, w, h, 3)) return 0;
    int d = rng_int(r, 0, b->ndirs - 1);
    const rgb_img *g = &b->imgs[rng_int(r, b->dir_off[d], b->dir_off[d + 1] - 1)];
    /* f = image pixels per output pixel; shrink it until the patch fits the image. */
    float f = min_scale * powf(max_scale / min_scale, rng_uniform(r));
    float fit = fminf((float)(g->w - 2) / (float)w, (float)(g->h - 2) / (float)h);
    if (f > fit) f = fit;
    float x0 = rng_uniform(r) * ((float)g->w - 1 - f * (float)w);
    float y0 = rng_uniform(r) * ((float)g->h - 1 - f * (float)h);
    int flip = rng_chance(r, 0.5f);
    const size_t plane = (size_t)w * (size_t)h, row = (size_t)g->w * 3;
    for (int y = 0; y < h; y++) {
        float fy = y0 + ((float)y + 0.5f) * f;
        int iy = (int)fy;
        if (iy > g->h - 2) iy = g->h - 2;
        float ay = fy - (float)iy;
        const uint8_t *r0 = g->px + (size_t)iy * row, *r1 = r0 + row;
        float *o = out->p + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++) {
            float fx = x0 + ((float)(flip ? w - 1 - x : x) + 0.5f) * f;
            int ix = (int)fx;
            if (ix > g->w - 2) ix = g->w - 2;
            float ax = fx - (float)ix;
            for (int k = 0; k < 3; k++) {
                const uint8_t *p0 = r0 + 3 * ix + k, *p1 = r1 + 3 * ix + k;
                float a = p0[0] + ax * (float)(p0[3] - p0[0]);
                float c = p1[0] + ax * (float)(p1[3] - p1[0]);
                o[(size_t)k * plane + (size_t)x] = a + ay * (c - a);
            }
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

background_kind background_make(const synth_backgrounds *b, rng_t *r, fimg *out, int w, int h,
                                rgb paint, fimg *scratch) {
    const size_t n = (size_t)w * (size_t)h;
    for (int k = 0; k < 3; k++) {
        float *o = fimg_plane(out, k);
        for (size_t i = 0; i < n; i++) o[i] = paint.v[k];
    }
    background_kind kind = BG_PAINT;
    int mode = rng_int(r, 0, 99);
    if (b->n && mode >= 40 && backgrounds_patch(b, r, scratch, w, h, 0.4f, 3.0f)) {
        /* 40–75: faint texture over paint; 75–100: the photo itself, its colours kept. */
        kind = mode < 75 ? BG_TEXTURED : BG_PHOTO;
        float k_tex = kind == BG_TEXTURED ? rng_range(r, 0.1f, 0.6f) : rng_range(r, 0.6f, 1.0f);
        for (int k = 0; k < 3; k++) {
            float *o = fimg_plane(out, k);
            const float *p = fimg_plane(scratch, k);
            double mean = 0;
            for (size_t i = 0; i < n; i++) mean += p[i];
            float m = (float)(mean / (double)n);
            /* A photo keeps its mean colour, only its contrast is scaled; a texture lends its
               detail to the paint. */
            float centre = kind == BG_PHOTO ? m : paint.v[k];
            for (size_t i = 0; i < n; i++) o[i] = centre + k_tex * (p[i] - m);
        }
    } else if (mode >= 40 || rng_chance(r, 0.3f)) {
        /* Blotches in brightness, the same in every plane (paint stays one hue). */
        if (fimg_resize(scratch, w, h)) {
            memset(scratch->p, 0, n * sizeof *scratch->p);
            value_noise(r, scratch->p, w, h, rng_range(r, 3, 20), rng_range(r, 5, 40));
            if (rng_chance(r, 0.5f)) value_noise(r, scratch->p, w, h, rng_range(r, 1, 3), rng_range(r, 2, 15));
            for (int k = 0; k < 3; k++) {
                float *o = fimg_plane(out, k);
                for (size_t i = 0; i < n; i++) o[i] += scratch->p[i];
            }
        }
    }
    if (rng_chance(r, 0.3f)) { /* linear gradient across the crop */
        float gx = rng_range(r, -60, 60) / (float)w, gy = rng_range(r, -60, 60) / (float)h;
        for (int k = 0; k < 3; k++) {
            float *o = fimg_plane(out, k);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    o[(size_t)y * (size_t)w + (size_t)x] += gx * (float)(x - w / 2) + gy * (float)(y - h / 2);
        }
    }
    return kind;
}

/* render.c — lays out the label's glyphs (cached bitmaps, kerning, letter spacing, and bits of
   neighbouring words and lines that real detector boxes cut into; or letters stacked one
   under the other, as vertical signs have them), then paints the flat text layer: drop
   shadow, 3-D extrusion, outline, fill with optional texture and bevel, underline. The layer
   is premultiplied colour + alpha so that one warp moves all of it at once. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "synth/internal.h"

static int push(synth_layout *L, const synth_glyph *g, int x, int y) {
    if (L->n == L->cap) {
        int cap = L->cap ? 2 * L->cap : 64;
        synth_placed *v = realloc(L->gl, (size_t)cap * sizeof *v);
        if (!v) return 0;
        L->gl = v;
        L->cap = cap;
    }
    L->gl[L->n++] = (synth_placed){g, x, y};
    return 1;
}

void layout_free(synth_layout *L) {
    free(L->gl);
    memset(L, 0, sizeof *L);
}

/* Places a run of code points from pen position *pen along baseline; returns 0 on failure.
   Code points the font lacks are skipped when skip_missing (neighbouring text only). */
static int place_run(synth_layout *L, synth_fontset *fs, int font, const uint32_t *cps, int n,
                     const synth_style *st, float *pen, float baseline, int skip_missing,
                     float *box) {
    const synth_font *f = &fs->fonts[font];
    int prev = 0;
    for (int i = 0; i < n; i++) {
        const synth_glyph *g = fontset_glyph(fs, font, cps[i]);
        if (!g) {
            if (skip_missing) continue;
            return 0;
        }
        if (st->kerning && prev && g->index) *pen += font_kern(f, prev, g->index);
        prev = g->index;
        if (cps[i] == ' ') {
            *pen += g->advance * st->space_scale + st->spacing;
            prev = 0;
            continue;
        }
        int x = (int)lroundf(*pen) + g->xoff, y = (int)lroundf(baseline) + g->yoff;
        if (g->w && g->h) {
            if (!push(L, g, x, y)) return 0;
            if (box) {
                box[0] = fminf(box[0], (float)x);
                box[1] = fminf(box[1], (float)y);
                box[2] = fmaxf(box[2], (float)(x + g->w));
                box[3] = fmaxf(box[3], (float)(y + g->h));
            }
        }
        *pen += g->advance + st->spacing;
    }
    return 1;
}

static void random_run(rng_t *r, const synth_font *f, int upper, uint32_t *out, int n) {
    for (int i = 0; i < n; i++) {
        uint32_t cp = (uint32_t)((upper ? 'A' : 'a') + rng_int(r, 0, 25));
        if (rng_chance(r, 0.1f)) cp = (uint32_t)('0' + rng_int(r, 0, 9));
        out[i] = font_has(f, cp) ? cp : (font_has(f, 'A') ? 'A' : 'a');
    }
}

/* Letters one under the other, each centred on one vertical axis; a space leaves a gap. */
static int place_stacked(synth_layout *L, synth_fontset *fs, int font, const uint32_t *cps, int n,
                         const synth_style *st, float *box) {
    const float step = fs->cap_px * (1.2f + st->spacing / fs->cap_px);
    float baseline = 0;
    for (int i = 0; i < n; i++) {
        const synth_glyph *g = fontset_glyph(fs, font, cps[i]);
        if (!g) return 0;
        if (cps[i] != ' ' && g->w && g->h) {
            int x = -(g->w / 2), y = (int)lroundf(baseline) + g->yoff;
            if (!push(L, g, x, y)) return 0;
            box[0] = fminf(box[0], (float)x);
            box[1] = fminf(box[1], (float)y);
            box[2] = fmaxf(box[2], (float)(x + g->w));
            box[3] = fmaxf(box[3], (float)(y + g->h));
        }
        baseline += cps[i] == ' ' ? 0.6f * step : step;
    }
    return 1;
}

int render_layout(synth_layout *L, synth_fontset *fs, int font, const uint32_t *cps, int n,
                  const synth_style *st, rng_t *r, uint32_t *drawn, int *ndrawn) {
    const synth_font *f = &fs->fonts[font];
    const float cap = fs->cap_px;
    L->n = 0;
    float box[4] = {1e9f, 1e9f, -1e9f, -1e9f};
    float pen = 0, baseline = 0;
    if (st->vertical ? !place_stacked(L, fs, font, cps, n, st, box)
                     : !place_run(L, fs, font, cps, n, st, &pen, baseline, 0, box))
        return 0;
    if (box[2] <= box[0]) return 0; /* nothing visible: only spaces */
    *ndrawn = n;
    memcpy(drawn, cps, (size_t)n * sizeof *cps);
    L->nmain = L->n;
    float end = pen;

    uint32_t nb[64];
    if (st->left_chars > 0 && !st->vertical) {
        int k = st->left_chars < 64 ? st->left_chars : 64;
        random_run(r, f, st->neighbour_upper, nb, k);
        /* Measure first, then place so that the run ends a gap before the label. */
        synth_layout tmp = {0};
        float p = 0;
        place_run(&tmp, fs, font, nb, k, st, &p, 0, 1, NULL);
        free(tmp.gl);
        float start = box[0] - st->left_gap * cap - p;
        if (!place_run(L, fs, font, nb, k, st, &start, baseline, 1, NULL)) return 0;
    }
    if (st->right_chars > 0 && !st->vertical) {
        int k = st->right_chars < 64 ? st->right_chars : 64;
        random_run(r, f, st->neighbour_upper, nb, k);
        float start = fmaxf(end, box[2]) + st->right_gap * cap;
        if (!place_run(L, fs, font, nb, k, st, &start, baseline, 1, NULL)) return 0;
    }
    float line_h = (f->ascent - f->descent) * st->line_gap;
    for (int side = 0; side < 2 && !st->vertical; side++) {
        if (!(side ? st->line_below : st->line_above)) continue;
        float width = box[2] - box[0];
        int k = (int)(width / (0.6f * cap)) + 2;
        if (k > 64) k = 64;
        random_run(r, f, st->neighbour_upper, nb, k);
        for (int i = 1; i < k - 1; i++)
            if (rng_chance(r, 0.15f) && font_has(f, ' ')) nb[i] = ' ';
        float start = box[0] - rng_range(r, 0, 1.5f) * cap;
        if (!place_run(L, fs, font, nb, k, st, &start, side ? baseline + line_h : baseline - line_h, 1, NULL))
            return 0;
    }

    /* Room around everything for outline, shadow and extrusion, plus a zero border that
       the warp's bilinear sampling relies on. */
    float ext = st->extrude_len * fmaxf(fabsf(st->extrude_dx), fabsf(st->extrude_dy));
    int pad = 3 + st->outline_r + (st->shadow ? abs(st->shadow_dx) + abs(st->shadow_dy) + st->shadow_blur : 0) +
              (int)ceilf(ext);
    int x0 = (int)box[0], y0 = (int)box[1], x1 = (int)box[2], y1 = (int)box[3];
    for (int i = 0; i < L->n; i++) {
        const synth_placed *p = &L->gl[i];
        x0 = p->x < x0 ? p->x : x0;
        y0 = p->y < y0 ? p->y : y0;
        x1 = p->x + p->g->w > x1 ? p->x + p->g->w : x1;
        y1 = p->y + p->g->h > y1 ? p->y + p->g->h : y1;
    }
    if (st->underline && !st->vertical) y1 = (int)fmaxf((float)y1, baseline + 0.45f * cap);
    int dx = pad - x0, dy = pad - y0;
    for (int i = 0; i < L->n; i++) {
        L->gl[i].x += dx;
        L->gl[i].y += dy;
    }
    L->box[0] = box[0] + (float)dx;
    L->box[1] = box[1] + (float)dy;
    L->box[2] = box[2] + (float)dx;
    L->box[3] = box[3] + (float)dy;
    L->baseline = baseline + (float)dy;
    L->w = x1 - x0 + 2 * pad;
    L->h = y1 - y0 + 2 * pad;
    if ((size_t)L->w * (size_t)L->h > (16u << 20)) return 0;
    return 1;
}

/* dst = src dilated by a (2r+1)² square: two separable running-max passes. */
static void dilate(const float *src, float *dst, float *tmp, int w, int h, int r) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float m = 0;
            int a = x - r < 0 ? 0 : x - r, b = x + r >= w ? w - 1 : x + r;
            for (int i = a; i <= b; i++) m = fmaxf(m, src[(size_t)y * (size_t)w + (size_t)i]);
            tmp[(size_t)y * (size_t)w + (size_t)x] = m;
        }
    for (int y = 0; y < h; y++) {
        int a = y - r < 0 ? 0 : y - r, b = y + r >= h ? h - 1 : y + r;
        for (int x = 0; x < w; x++) {
            float m = 0;
            for (int i = a; i <= b; i++) m = fmaxf(m, tmp[(size_t)i * (size_t)w + (size_t)x]);
            dst[(size_t)y * (size_t)w + (size_t)x] = m;
        }
    }
}

/* dst = box blur of src shifted by (sx, sy), radius r (separable). */
static void shift_blur(const float *src, float *dst, float *tmp, int w, int h, int sx, int sy, int r) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float s = 0;
            int yy = y - sy;
            if (yy >= 0 && yy < h)
                for (int i = -r; i <= r; i++) {
                    int xx = x - sx + i;
                    if (xx >= 0 && xx < w) s += src[(size_t)yy * (size_t)w + (size_t)xx];
                }
            tmp[(size_t)y * (size_t)w + (size_t)x] = s / (float)(2 * r + 1);
        }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float s = 0;
            for (int i = -r; i <= r; i++) {
                int yy = y + i;
                if (yy >= 0 && yy < h) s += tmp[(size_t)yy * (size_t)w + (size_t)x];
            }
            dst[(size_t)y * (size_t)w + (size_t)x] = s / (float)(2 * r + 1);
        }
}

/* Paints colour c with coverage a·k (per pixel) over the premultiplied (val planes, alpha). */
static void over(fimg *val, float *alpha, const float *a, rgb c, float k, size_t n) {
    for (int p = 0; p < 3; p++) {
        float *v = fimg_plane(val, p), cp = c.v[p];
        for (size_t i = 0; i < n; i++) v[i] = cp * a[i] * k + v[i] * (1 - a[i] * k);
    }
    for (size_t i = 0; i < n; i++) alpha[i] = a[i] * k + alpha[i] * (1 - a[i] * k);
}

int render_layer(const synth_layout *L, const synth_style *st, const fimg *tex, fimg *cov,
                 fimg *val, fimg *alpha, fimg *tmp, fimg *tmp2) {
    const int w = L->w, h = L->h;
    const size_t n = (size_t)w * (size_t)h;
    if (!fimg_resize(cov, w, h) || !fimg_resize_planes(val, w, h, 3) || !fimg_resize(alpha, w, h) ||
        !fimg_resize(tmp, w, h) || !fimg_resize(tmp2, w, h))
        return 0;
    memset(cov->p, 0, n * sizeof *cov->p);
    memset(val->p, 0, 3 * n * sizeof *val->p);
    memset(alpha->p, 0, n * sizeof *alpha->p);
    for (int i = 0; i < L->n; i++) {
        const synth_placed *p = &L->gl[i];
        for (int y = 0; y < p->g->h; y++) {
            float *row = cov->p + (size_t)(p->y + y) * (size_t)w + p->x;
            const uint8_t *src = p->g->bmp + (size_t)y * (size_t)p->g->w;
            for (int x = 0; x < p->g->w; x++) row[x] = fmaxf(row[x], (float)src[x] * (1.0f / 255.0f));
        }
    }
    if (st->bold == 1) { /* one pixel wider to the right, as FreeType emboldens */
        for (int y = 0; y < h; y++)
            for (int x = w - 1; x > 0; x--) {
                float *p = cov->p + (size_t)y * (size_t)w + (size_t)x;
                *p = fmaxf(*p, p[-1]);
            }
    } else if (st->bold == 2) {
        dilate(cov->p, tmp2->p, tmp->p, w, h, 1);
        /* Half a pixel all round: a full one clogs the counters of small letters. */
        for (size_t i = 0; i < n; i++) cov->p[i] = 0.5f * (cov->p[i] + tmp2->p[i]);
    }
    if (st->underline && !st->vertical) {
        float cap_h = L->baseline - L->box[1];
        int y0 = (int)(L->baseline + 0.12f * cap_h), th = (int)fmaxf(1.0f, 0.08f * cap_h);
        for (int y = y0; y < y0 + th && y < h; y++)
            for (int x = (int)L->box[0]; x < (int)L->box[2] && x < w; x++) cov->p[(size_t)y * (size_t)w + (size_t)x] = 1;
    }
    if (st->shadow) {
        shift_blur(cov->p, tmp2->p, tmp->p, w, h, st->shadow_dx, st->shadow_dy, st->shadow_blur);
        over(val, alpha->p, tmp2->p, st->shadow_col, st->shadow_alpha, n);
    }
    if (st->extrude_len > 0) {
        /* Union of the letters pushed back step by step: the sides of 3-D block letters. */
        memset(tmp2->p, 0, n * sizeof *tmp2->p);
        for (int k = 1; k <= st->extrude_len; k++) {
            int sx = (int)lroundf(st->extrude_dx * (float)k), sy = (int)lroundf(st->extrude_dy * (float)k);
            for (int y = 0; y < h; y++) {
                int yy = y - sy;
                if (yy < 0 || yy >= h) continue;
                for (int x = 0; x < w; x++) {
                    int xx = x - sx;
                    if (xx < 0 || xx >= w) continue;
                    size_t o = (size_t)y * (size_t)w + (size_t)x;
                    tmp2->p[o] = fmaxf(tmp2->p[o], cov->p[(size_t)yy * (size_t)w + (size_t)xx]);
                }
            }
        }
        over(val, alpha->p, tmp2->p, st->extrude, 1, n);
    }
    if (st->outline_r > 0) {
        dilate(cov->p, tmp2->p, tmp->p, w, h, st->outline_r);
        if (st->fill_alpha <= 0) /* hollow letters: only the ring around each stroke */
            for (size_t i = 0; i < n; i++) tmp2->p[i] = fmaxf(0.0f, tmp2->p[i] - cov->p[i]);
        over(val, alpha->p, tmp2->p, st->outline, 1, n);
    }
    if (st->fill_alpha > 0) {
        if (st->emboss == 0 && (!tex || st->fill_tex == 0)) {
            over(val, alpha->p, cov->p, st->fill, st->fill_alpha, n);
        } else {
            /* Per-pixel fill: a bevel lit from the top left (difference of the coverage
               along the diagonal) and/or a texture running through the letters. */
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    size_t o = (size_t)y * (size_t)w + (size_t)x;
                    float light = 0;
                    if (st->emboss != 0 && x > 0 && y > 0 && x < w - 1 && y < h - 1)
                        light = st->emboss * (cov->p[o - (size_t)w - 1] - cov->p[o + (size_t)w + 1]);
                    float t = cov->p[o] * st->fill_alpha;
                    for (int p = 0; p < 3; p++) {
                        float c = st->fill.v[p] + light;
                        if (tex && st->fill_tex != 0) c += st->fill_tex * (fimg_plane(tex, p)[o] - 128.0f);
                        float *v = fimg_plane(val, p) + o;
                        *v = c * t + *v * (1 - t);
                    }
                    alpha->p[o] = t + alpha->p[o] * (1 - t);
                }
        }
    }
    return 1;
}

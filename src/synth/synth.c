/* synth.c — one sample from start to finish: label → font that has all its glyphs → style →
   layout → geometry and crop → background → colours with a contrast floor → text layer →
   warp and composite → camera effects → 8-bit grey (→ JPEG round trip). All randomness comes
   from one PCG32 stream, so a seed fixes the bytes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "synth/internal.h"

struct synth {
    synth_config cfg;
    rng_t rng;
    synth_fontset fonts;
    synth_text text;
    synth_backgrounds bgs;
    synth_layout layout;
    fimg cov, lval, lalpha, t1, t2, tex, oval, oalpha, img, tmp;
    uint8_t *out;
    size_t out_cap;
    uint32_t cps[SYNTH_MAX_LABEL + 1], drawn[SYNTH_MAX_LABEL + 1];
    int ncps, ndrawn, font;
    float box[4];
    char label[4 * SYNTH_MAX_LABEL + 1];
};

synth_config synth_default_config(void) {
    synth_config c;
    memset(&c, 0, sizeof c);
    c.seed = 1;
    c.height = 32;
    c.max_label_len = 24;
    return c;
}

synth *synth_new(const synth_config *cfg, crnn_error *err) {
    if (!cfg) {
        set_error(err, CRNN_ERR_ARG, "synth: no config");
        return NULL;
    }
    if (cfg->height < 8 || cfg->height > 512) {
        set_error(err, CRNN_ERR_ARG, "synth: height %d outside 8..512", cfg->height);
        return NULL;
    }
    if (cfg->min_margin < 0 || cfg->min_margin > 2) {
        set_error(err, CRNN_ERR_ARG, "synth: min_margin %g outside 0..2", (double)cfg->min_margin);
        return NULL;
    }
    synth *s = calloc(1, sizeof *s);
    if (!s) {
        set_error(err, CRNN_ERR_NOMEM, "synth: out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    if (s->cfg.max_label_len <= 0) s->cfg.max_label_len = 24;
    if (s->cfg.max_label_len > SYNTH_MAX_LABEL) s->cfg.max_label_len = SYNTH_MAX_LABEL;
    /* Pointers in the caller's config are only read here; do not keep them. */
    s->cfg.font_manifest = NULL;
    s->cfg.background_dirs = NULL;
    s->cfg.wordlist = NULL;
    s->cfg.charset = NULL;
    rng_seed(&s->rng, cfg->seed, 0x5e17);
    /* Glyphs are cached a little larger than they usually appear, so that the warp mostly
       shrinks (crisp) rather than enlarges (soft). */
    float cap_px = roundf(0.7f * (float)cfg->height);
    if (fontset_load(&s->fonts, cfg->font_manifest, cap_px, err) ||
        text_init(&s->text, cfg->wordlist, cfg->charset, cfg->charset_size, s->cfg.max_label_len, err) ||
        backgrounds_load(&s->bgs, cfg->background_dirs, err)) {
        synth_free(s);
        return NULL;
    }
    return s;
}

void synth_free(synth *s) {
    if (!s) return;
    fontset_free(&s->fonts);
    text_free(&s->text);
    backgrounds_free(&s->bgs);
    layout_free(&s->layout);
    fimg *all[] = {&s->cov, &s->lval, &s->lalpha, &s->t1, &s->t2, &s->tex, &s->oval, &s->oalpha, &s->img, &s->tmp};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]->p);
    free(s->out);
    free(s);
}

static int font_covers(const synth_font *f, const uint32_t *cps, int n) {
    for (int i = 0; i < n; i++)
        if (cps[i] != ' ' && !font_has(f, cps[i])) return 0;
    return 1;
}

/* A family at random, then a member of it; -1 if no tried font draws the whole label. */
static int pick_font(synth *s, const uint32_t *cps, int n) {
    const synth_fontset *fs = &s->fonts;
    for (int t = 0; t < 40; t++) {
        int g = rng_int(&s->rng, 0, fs->ngroups - 1);
        int a = fs->group_off[g], b = fs->group_off[g + 1];
        int f = fs->groups[rng_int(&s->rng, a, b - 1)];
        if (font_covers(&fs->fonts[f], cps, n)) return f;
    }
    return -1;
}

static void sample_style(synth *s, synth_style *st, const uint32_t *cps, int n) {
    rng_t *r = &s->rng;
    const float cap = s->fonts.cap_px;
    memset(st, 0, sizeof *st);
    st->spacing = rng_chance(r, 0.12f) ? rng_range(r, 0.1f, 0.5f) * cap : 0.04f * cap * rng_normal(r);
    if (st->spacing < -0.08f * cap) st->spacing = -0.08f * cap;
    st->space_scale = rng_range(r, 0.8f, 1.6f);
    st->kerning = rng_chance(r, 0.8f);
    /* Signs favour heavy type; the font set is mostly regular weights. */
    st->bold = rng_chance(r, 0.3f) ? (rng_chance(r, 0.6f) ? 1 : 2) : 0;
    st->fill_alpha = rng_chance(r, 0.05f) ? rng_range(r, 0.7f, 1.0f) : 1.0f;
    if (rng_chance(r, 0.15f)) st->outline_r = rng_chance(r, 0.7f) ? 1 : 2;
    if (st->outline_r && rng_chance(r, 0.2f)) st->fill_alpha = 0; /* hollow letters */
    if (rng_chance(r, 0.15f)) {
        st->shadow = 1;
        st->shadow_dx = rng_int(r, -2, 3);
        st->shadow_dy = rng_int(r, 1, 3);
        st->shadow_blur = rng_int(r, 0, 2);
        st->shadow_alpha = rng_range(r, 0.4f, 0.9f);
    }
    if (rng_chance(r, 0.06f)) {
        st->extrude_len = rng_int(r, 2, 5);
        float a = rng_range(r, 0, 6.2831853f);
        st->extrude_dx = cosf(a);
        st->extrude_dy = sinf(a);
    }
    if (rng_chance(r, 0.08f)) st->emboss = (rng_chance(r, 0.5f) ? 1 : -1) * rng_range(r, 30, 90);
    if (rng_chance(r, 0.12f)) st->fill_tex = rng_range(r, 0.2f, 0.6f);
    st->underline = rng_chance(r, 0.03f);
    int upper = 1;
    for (int i = 0; i < n; i++)
        if (cps[i] >= 'a' && cps[i] <= 'z') upper = 0;
    st->neighbour_upper = upper;
    if (rng_chance(r, 0.12f)) st->left_chars = rng_int(r, 1, 4), st->left_gap = rng_range(r, 0.35f, 1.0f);
    if (rng_chance(r, 0.12f)) st->right_chars = rng_int(r, 1, 4), st->right_gap = rng_range(r, 0.35f, 1.0f);
    st->line_above = rng_chance(r, 0.08f);
    st->line_below = rng_chance(r, 0.08f);
    st->line_gap = rng_range(r, 1.0f, 1.3f);
}

/* Grey levels: text against the background's mean with a contrast floor (most samples well
   readable, some faint), the other paints contrasting with the fill. */
static void sample_colours(rng_t *r, synth_style *st, float bg_mean, float bg_sd) {
    float c = rng_chance(r, 0.9f) ? rng_range(r, 50, 200) : rng_range(r, 28, 50);
    /* A busy background needs more contrast to leave the word readable. */
    c = fmaxf(c, fminf(1.3f * bg_sd + 20.0f, 200.0f));
    int lighter = bg_mean < 80 ? 1 : bg_mean > 175 ? 0 : rng_chance(r, 0.5f);
    float fg = bg_mean + (lighter ? c : -c);
    if (fg > 255 || fg < 0) {
        float clamped = fg > 255 ? 255.0f : 0.0f;
        if (fabsf(clamped - bg_mean) < 28) fg = bg_mean + (lighter ? -c : c);
        fg = fminf(255.0f, fmaxf(0.0f, fg));
    }
    st->fill_val = fg;
    st->outline_val = fg > 128 ? rng_range(r, 0, fmaxf(1.0f, fg - 80)) : rng_range(r, fminf(254.0f, fg + 80), 255);
    if (st->fill_alpha <= 0) /* hollow: the outline is all there is to read */
        st->outline_val = fg;
    st->shadow_val = rng_range(r, 0, 50);
    float e = rng_range(r, 40, 110);
    st->extrude_val = fg > 128 ? fg - e : fg + e;
}

static float mean_of(const fimg *im, float *sd) {
    size_t n = (size_t)im->w * (size_t)im->h;
    double s = 0, q = 0;
    for (size_t i = 0; i < n; i++) s += im->p[i], q += (double)im->p[i] * im->p[i];
    if (!n) return 128.0f;
    double m = s / (double)n;
    if (sd) *sd = (float)sqrt(fmax(0.0, q / (double)n - m * m));
    return (float)m;
}

/* Random geometry around the layout; fills w (scaled so the crop is H high) and the crop
   size. Returns the text box in output pixels in box. */
static void sample_geometry(synth *s, synth_warp *w, int *out_w, float *box, int *ss) {
    rng_t *r = &s->rng;
    const synth_layout *L = &s->layout;
    const int H = s->cfg.height;
    float tw = L->box[2] - L->box[0], th = L->box[3] - L->box[1];
    memset(w, 0, sizeof *w);
    w->uc = 0.5f * (L->box[0] + L->box[2]);
    w->vc = 0.5f * (L->box[1] + L->box[3]);
    w->half_w = fmaxf(0.5f * tw, 1.0f);
    if (rng_chance(r, 0.15f)) w->bend = rng_range(r, -0.4f, 0.4f) * th;
    float rot = rng_chance(r, 0.15f) ? rng_range(r, -0.25f, 0.25f) : 0.03f * rng_normal(r);
    float shear = rng_chance(r, 0.15f) ? rng_range(r, -0.15f, 0.4f) : 0.0f;
    float stretch = expf(rng_range(r, -0.3f, 0.3f));
    float co = cosf(rot), si = sinf(rot);
    /* x' = stretch*x - shear*y (top leans right for shear > 0), then rotate. */
    float m0 = stretch, m1 = -shear, m2 = 0, m3 = 1;
    w->a[0] = co * m0 - si * m2;
    w->a[1] = co * m1 - si * m3;
    w->a[2] = si * m0 + co * m2;
    w->a[3] = si * m1 + co * m3;
    float det = w->a[0] * w->a[3] - w->a[1] * w->a[2];
    w->ai[0] = w->a[3] / det;
    w->ai[1] = -w->a[1] / det;
    w->ai[2] = -w->a[2] / det;
    w->ai[3] = w->a[0] / det;
    if (rng_chance(r, 0.25f)) {
        w->px = rng_range(r, -0.3f, 0.3f) / fmaxf(0.5f * tw * stretch, 1.0f);
        w->py = rng_range(r, -0.15f, 0.15f) / fmaxf(0.5f * th, 1.0f);
    }
    w->s = 1;
    /* Box of the label's ink after the warp: corners and edge midpoints of every glyph. */
    float X0 = 1e9f, Y0 = 1e9f, X1 = -1e9f, Y1 = -1e9f;
    for (int i = 0; i < L->nmain; i++) {
        const synth_placed *p = &L->gl[i];
        for (int k = 0; k < 9; k++) {
            float u = (float)p->x + 0.5f * (float)(k % 3) * (float)p->g->w;
            float v = (float)p->y + 0.5f * (float)(k / 3) * (float)p->g->h;
            float x, y;
            warp_forward(w, u, v, &x, &y);
            X0 = fminf(X0, x), Y0 = fminf(Y0, y), X1 = fmaxf(X1, x), Y1 = fmaxf(Y1, y);
        }
    }
    float bh = fmaxf(Y1 - Y0, 1.0f), bw = X1 - X0;
    /* Crop margins in text heights: detector boxes run from tight to loose. */
    float m[4];
    int kind = rng_int(r, 0, 99);
    for (int i = 0; i < 4; i++) {
        m[i] = kind < 35 ? rng_range(r, 0, 0.08f) : kind < 80 ? rng_range(r, 0.04f, 0.25f) : rng_range(r, 0.15f, 0.55f);
        if (i >= 2) m[i] *= rng_range(r, 0.5f, 1.5f); /* left/right */
        if (m[i] < s->cfg.min_margin) m[i] = s->cfg.min_margin;
    }
    float crop_h = bh * (1 + m[0] + m[1]);
    float sc = (float)H / crop_h;
    float crop_w = bw + bh * (m[2] + m[3]);
    int W = (int)ceilf(sc * crop_w);
    if (W < H / 4) W = H / 4 > 4 ? H / 4 : 4;
    if (W > SYNTH_MAX_WIDTH) W = SYNTH_MAX_WIDTH;
    w->s = sc;
    w->tx = -sc * (X0 - bh * m[2]);
    w->ty = -sc * (Y0 - bh * m[0]);
    /* Centre horizontally if W was rounded up or clamped. */
    w->tx += 0.5f * ((float)W - sc * crop_w);
    box[0] = sc * X0 + w->tx;
    box[1] = sc * Y0 + w->ty;
    box[2] = sc * X1 + w->tx;
    box[3] = sc * Y1 + w->ty;
    *out_w = W;
    /* Shrinking the layer a lot: average several taps per pixel instead of aliasing. */
    float shrink = sc * sqrtf(fabsf(det));
    *ss = shrink < 0.3f ? 3 : shrink < 0.6f ? 2 : 1;
}

static crnn_status finish(synth *s, fimg *img, synth_sample *out) {
    rng_t *r = &s->rng;
    const int W = img->w, H = img->h;
    const float k = (float)H / 32.0f; /* effect sizes are tuned at 32 px */
    /* Each degradation alone is common in real crops; all of them at once is rare, so the
       probabilities are moderate and independent. */
    if (rng_chance(r, 0.3f)) fx_illumination(img, r, rng_range(r, 0.1f, 0.5f));
    int blurred = rng_chance(r, 0.35f);
    if (blurred) fx_gaussian_blur(img, rng_range(r, 0.3f, 1.1f) * k, &s->tmp);
    if (rng_chance(r, 0.08f)) fx_motion_blur(img, rng_range(r, 1.5f, 3.5f) * k, rng_range(r, 0, 3.1416f), &s->tmp);
    if (rng_chance(r, blurred ? 0.15f : 0.3f)) fx_down_up(img, rng_range(r, 0.4f, 0.8f), &s->tmp);
    if (rng_chance(r, 0.5f)) fx_noise(img, r, rng_chance(r, 0.7f) ? rng_range(r, 1, 5) : rng_range(r, 5, 12));
    size_t n = (size_t)W * (size_t)H;
    if (n > s->out_cap) {
        uint8_t *o = realloc(s->out, n);
        if (!o) return CRNN_ERR_NOMEM;
        s->out = o;
        s->out_cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        float v = img->p[i];
        s->out[i] = (uint8_t)(v <= 0 ? 0 : v >= 255 ? 255 : (int)(v + 0.5f));
    }
    if (rng_chance(r, 0.35f)) fx_jpeg(s->out, W, H, rng_int(r, 10, 70));
    size_t o = 0;
    for (int i = 0; i < s->ndrawn; i++) o += (size_t)utf8_encode(s->drawn[i], s->label + o);
    s->label[o] = 0;
    out->pixels = s->out;
    out->width = W;
    out->height = H;
    out->stride = W;
    out->label = s->label;
    return CRNN_OK;
}

crnn_status synth_next(synth *s, synth_sample *out) {
    if (!s || !out) return CRNN_ERR_ARG;
    rng_t *r = &s->rng;
    synth_style st;
    for (int attempt = 0; attempt < 50; attempt++) {
        s->ncps = text_sample(&s->text, r, s->cps);
        s->font = pick_font(s, s->cps, s->ncps);
        if (s->font < 0) continue;
        sample_style(s, &st, s->cps, s->ncps);
        if (!render_layout(&s->layout, &s->fonts, s->font, s->cps, s->ncps, &st, r, s->drawn, &s->ndrawn))
            continue;
        synth_warp w;
        int W, ss;
        sample_geometry(s, &w, &W, s->box, &ss);
        const int H = s->cfg.height;
        if (!fimg_resize(&s->img, W, H) || !fimg_resize(&s->oval, W, H) || !fimg_resize(&s->oalpha, W, H))
            return CRNN_ERR_NOMEM;
        background_make(&s->bgs, r, &s->img, W, H, &s->tmp);
        float bg_sd = 0, bg_mean = mean_of(&s->img, &bg_sd);
        sample_colours(r, &st, bg_mean, bg_sd);
        const fimg *tex = NULL;
        if (st.fill_tex > 0 && fimg_resize(&s->tex, s->layout.w, s->layout.h)) {
            if (backgrounds_patch(&s->bgs, r, &s->tex, s->layout.w, s->layout.h, 0.3f, 2.0f)) {
                float m = mean_of(&s->tex, NULL);
                for (size_t i = 0; i < (size_t)s->tex.w * (size_t)s->tex.h; i++) s->tex.p[i] += 128.0f - m;
                tex = &s->tex;
            }
        }
        if (!render_layer(&s->layout, &st, tex, &s->cov, &s->lval, &s->lalpha, &s->t1, &s->t2))
            return CRNN_ERR_NOMEM;
        warp_layer(&w, &s->lval, &s->lalpha, &s->oval, &s->oalpha, W, H, ss);
        size_t n = (size_t)W * (size_t)H;
        for (size_t i = 0; i < n; i++) s->img.p[i] = s->oval.p[i] + (1 - s->oalpha.p[i]) * s->img.p[i];
        return finish(s, &s->img, out);
    }
    return CRNN_ERR_FORMAT; /* no font draws what the charset asks for */
}

void synth_last_info(const synth *s, synth_info *info) {
    memset(info, 0, sizeof *info);
    if (!s || s->font < 0 || !s->fonts.fonts) return;
    info->font_path = s->fonts.fonts[s->font].path;
    info->font_family = s->fonts.fonts[s->font].family;
    info->drawn = s->drawn;
    info->num_drawn = s->ndrawn;
    memcpy(info->box, s->box, sizeof info->box);
    info->text_height = s->box[3] - s->box[1];
}

int synth_num_fonts(const synth *s) { return s ? s->fonts.n : 0; }

const char *synth_font_path(const synth *s, int i) {
    return s && i >= 0 && i < s->fonts.n ? s->fonts.fonts[i].path : NULL;
}

const synth_fontset *synth_fontset_of(const synth *s) { return &s->fonts; }

/* Restarts the sample sequence from seed without reloading fonts or backgrounds: the trainer
   reseeds per chunk of batches so that a resumed run draws the same samples. */
void synth_reseed(synth *s, uint64_t seed) { rng_seed(&s->rng, seed, 0x5e17); }

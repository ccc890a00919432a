/* synth.c — one sample from start to finish: label → font that has all its glyphs → style →
   layout → geometry and crop → colour pair → background → text colours with a contrast floor
   → text layer → warp and composite → occluders → camera effects → 8-bit RGB or grey (→ JPEG
   round trip). All randomness comes from one PCG32 stream, so a seed fixes the bytes. */
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
    int ncps, ndrawn, font, vertical;
    float box[4];
    float severity; /* camera_severity of the crop being drawn */
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
    if (!(cfg->empty >= 0 && cfg->empty <= 1)) {
        set_error(err, CRNN_ERR_ARG, "synth: empty %g is not a fraction 0..1", (double)cfg->empty);
        return NULL;
    }
    if (cfg->min_margin < 0 || cfg->min_margin > 2) {
        set_error(err, CRNN_ERR_ARG, "synth: min_margin %g outside 0..2", (double)cfg->min_margin);
        return NULL;
    }
    if (cfg->channels != 0 && cfg->channels != 1 && cfg->channels != 3) {
        set_error(err, CRNN_ERR_ARG, "synth: %d channels (1 or 3)", cfg->channels);
        return NULL;
    }
    synth *s = calloc(1, sizeof *s);
    if (!s) {
        set_error(err, CRNN_ERR_NOMEM, "synth: out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    if (s->cfg.channels == 0) s->cfg.channels = 1;
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
        int g = fontset_pick_family(fs, &s->rng);
        int a = fs->group_off[g], b = fs->group_off[g + 1];
        int f = fs->groups[rng_int(&s->rng, a, b - 1)];
        if (font_covers(&fs->fonts[f], cps, n)) return f;
    }
    return -1;
}

/* Crop margins, from tight detector boxes to loose hand crops; decided with the style so
   that loose crops more often show bits of the lines around them. */
enum { CROP_TIGHT, CROP_MEDIUM, CROP_LOOSE, CROP_VERY_LOOSE };

static void sample_style(synth *s, synth_style *st, const uint32_t *cps, int n, int *crop) {
    rng_t *r = &s->rng;
    const float cap = s->fonts.cap_px;
    memset(st, 0, sizeof *st);
    int k = rng_int(r, 0, 99);
    *crop = k < 30 ? CROP_TIGHT : k < 70 ? CROP_MEDIUM : k < 88 ? CROP_LOOSE : CROP_VERY_LOOSE;
    /* Vertical signs stack short words letter by letter. */
    int spaces = 0;
    for (int i = 0; i < n; i++) spaces += cps[i] == ' ';
    st->vertical = n >= 2 && n <= 10 && !spaces && rng_chance(r, 0.03f);
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
    float lines = *crop == CROP_VERY_LOOSE ? 0.3f : *crop == CROP_LOOSE ? 0.12f : 0.05f;
    st->line_above = rng_chance(r, lines);
    st->line_below = rng_chance(r, lines);
    st->line_gap = rng_range(r, 1.0f, 1.3f);
    if (s->cfg.clean) {
        st->vertical = st->left_chars = st->right_chars = st->line_above = st->line_below = 0;
        if (*crop > CROP_MEDIUM) *crop = CROP_MEDIUM;
    }
}

/* A paint for the background: usually the background half of a real colour pair (its text
   half is kept for the letters), else a grey or tinted paint, light or dark. */
static rgb sample_paint(rng_t *r, rgb *pair_text, int *from_pair) {
    rgb bg;
    if ((*from_pair = rng_chance(r, 0.75f))) {
        palette_draw(r, pair_text, &bg);
        return bg;
    }
    /* A U-shaped spread of brightness, since signs are mostly either light or dark. */
    float u = rng_uniform(r);
    float y = 255.0f * (u < 0.5f ? 0.5f * powf(2 * u, 0.7f) : 1 - 0.5f * powf(2 - 2 * u, 0.7f));
    return rng_chance(r, 0.5f) ? rgb_grey(y) : rgb_random_at_luma(r, y);
}

/* Text colours against the background actually drawn (mean colour bg, brightness spread
   bg_sd): the pair's text colour, a real pair's for a photo's colour, or a random colour at a
   contrasting brightness; then a contrast floor, in brightness for grey output and in colour
   for RGB output (where hue alone can separate text from background, as it does for the
   model that sees colour). The other paints contrast with the fill. */
static void sample_colours(synth *s, synth_style *st, background_kind kind, rgb pair_text,
                           int from_pair, rgb bg, float bg_sd) {
    rng_t *r = &s->rng;
    float bg_y = rgb_luma(bg);
    rgb fg;
    if (kind == BG_PHOTO && rng_chance(r, 0.8f)) {
        fg = palette_text_for(r, bg);
    } else if (from_pair && rng_chance(r, 0.85f)) {
        fg = pair_text;
    } else {
        float c = rng_range(r, 50, 200);
        int lighter = bg_y < 80 ? 1 : bg_y > 175 ? 0 : rng_chance(r, 0.5f);
        float y = fminf(255.0f, fmaxf(0.0f, bg_y + (lighter ? c : -c)));
        fg = rng_chance(r, 0.4f) ? rgb_grey(y) : rgb_random_at_luma(r, y);
    }
    /* Most samples are well readable, some faint; a busy background needs more contrast. */
    float floor = rng_chance(r, 0.9f) ? rng_range(r, 40, 80) : rng_range(r, 24, 40);
    if (s->cfg.clean) floor = fmaxf(floor, 80.0f);
    floor = fmaxf(floor, fminf(1.5f * bg_sd + 16.0f, 160.0f));
    float dy = fabsf(rgb_luma(fg) - bg_y);
    if (s->cfg.channels == 3) {
        float d2 = 0;
        for (int k = 0; k < 3; k++) d2 += (fg.v[k] - bg.v[k]) * (fg.v[k] - bg.v[k]);
        dy = fmaxf(dy, 0.6f * sqrtf(d2));
    }
    if (dy < floor) fg = rgb_push_luma(fg, bg, floor);
    st->fill = fg;
    float fy = rgb_luma(fg);
    float oy = fy > 128 ? rng_range(r, 0, fmaxf(1.0f, fy - 80)) : rng_range(r, fminf(254.0f, fy + 80), 255);
    st->outline = rng_chance(r, 0.5f) ? rgb_grey(oy) : rgb_random_at_luma(r, oy);
    if (st->fill_alpha <= 0) /* hollow: the outline is all there is to read */
        st->outline = fg;
    st->shadow_col = rgb_mix(rgb_grey(rng_range(r, 0, 50)), bg, rng_range(r, 0, 0.3f));
    st->extrude = rgb_mix(fg, rgb_grey(fy > 128 ? 0 : 255), rng_range(r, 0.2f, 0.45f));
}

static void mean_rgb(const fimg *im, rgb *mean, float *luma_sd) {
    const size_t n = (size_t)im->w * (size_t)im->h;
    double s[3] = {0, 0, 0}, q = 0, ys = 0;
    const float *p0 = fimg_plane(im, 0), *p1 = fimg_plane(im, 1), *p2 = fimg_plane(im, 2);
    for (size_t i = 0; i < n; i++) {
        float y = (77.0f * p0[i] + 150.0f * p1[i] + 29.0f * p2[i]) / 256.0f;
        s[0] += p0[i], s[1] += p1[i], s[2] += p2[i];
        ys += y, q += (double)y * y;
    }
    if (!n) {
        *mean = rgb_grey(128);
        *luma_sd = 0;
        return;
    }
    for (int k = 0; k < 3; k++) mean->v[k] = (float)(s[k] / (double)n);
    double m = ys / (double)n;
    *luma_sd = (float)sqrt(fmax(0.0, q / (double)n - m * m));
}

/* Random geometry around the layout; fills w (scaled so the crop is H high) and the crop
   size. Returns the text box in output pixels in box. */
static void sample_geometry(synth *s, synth_warp *w, int *out_w, float *box, int *ss, int crop,
                            int vertical) {
    rng_t *r = &s->rng;
    const synth_layout *L = &s->layout;
    const int H = s->cfg.height;
    float tw = L->box[2] - L->box[0], th = L->box[3] - L->box[1];
    memset(w, 0, sizeof *w);
    w->uc = 0.5f * (L->box[0] + L->box[2]);
    w->vc = 0.5f * (L->box[1] + L->box[3]);
    w->half_w = fmaxf(0.5f * tw, 1.0f);
    float rot, shear = 0;
    if (vertical) {
        /* A quarter turn counter-clockwise: the top letter ends on the left, as a tall crop
           of a vertical sign reads once turned that way. */
        rot = -1.5707963f + 0.03f * rng_normal(r);
    } else {
        int k = rng_int(r, 0, 99);
        rot = k < 10 ? rng_range(r, -0.52f, 0.52f) : k < 22 ? rng_range(r, -0.25f, 0.25f) : 0.03f * rng_normal(r);
        shear = rng_chance(r, 0.15f) ? rng_range(r, -0.15f, 0.4f) : 0.0f;
        if (s->cfg.clean) {
            rot = fmaxf(-0.05f, fminf(0.05f, rot));
        } else if (s->ndrawn >= 3 && rng_chance(r, 0.06f)) {
            /* Text along a circle (CUTE80's arcs): it spans 0.5–2 radians of it. */
            float span = rng_range(r, 0.5f, 2.0f);
            w->arc_r = (rng_chance(r, 0.5f) ? 1 : -1) * fmaxf(tw / span, th);
        } else if (rng_chance(r, 0.15f)) {
            w->bend = rng_range(r, -0.4f, 0.4f) * th;
        }
    }
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
    int persp = rng_int(r, 0, 99);
    if (persp < 25 && !s->cfg.clean) {
        float k = persp < 8 ? 2.0f : 1.0f; /* a few strongly oblique views */
        float ext_x = 0.5f * fmaxf(fabsf(co) * tw * stretch, fabsf(si) * tw * stretch) + 0.5f * th;
        w->px = k * rng_range(r, -0.3f, 0.3f) / fmaxf(ext_x, 1.0f);
        w->py = k * rng_range(r, -0.15f, 0.15f) / fmaxf(0.5f * th, 1.0f);
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
    /* Crop margins in text heights: detector boxes run from tight to loose, hand crops and
       loose detector boxes leave up to a text height and a half on either side. */
    float m[4];
    for (int i = 0; i < 4; i++) {
        int side = i >= 2; /* left/right */
        switch (crop) {
        case CROP_TIGHT: m[i] = rng_range(r, 0, 0.08f); break;
        case CROP_MEDIUM: m[i] = rng_range(r, 0.04f, 0.25f); break;
        case CROP_LOOSE: m[i] = rng_range(r, 0.15f, 0.55f); break;
        default: m[i] = side ? rng_range(r, 0.5f, 1.6f) : rng_range(r, 0.2f, 0.6f); break;
        }
        if (side && crop != CROP_VERY_LOOSE) m[i] *= rng_range(r, 0.5f, 1.5f);
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

/* Something in front of the text: a pole or wire across it, or a patch (a sticker, a branch,
   the edge of another sign) over part of its top or bottom. Never more than a letter's worth:
   the label must stay readable. */
static void occlude(synth *s, fimg *img) {
    rng_t *r = &s->rng;
    const int W = img->w, H = img->h;
    const float *b = s->box;
    float th = b[3] - b[1], tw = b[2] - b[0];
    if (th < 2 || tw < 2) return;
    int x0, x1, y0, y1;
    if (rng_chance(r, 0.5f)) {
        float bar = rng_range(r, 0.06f, 0.18f) * th;
        float cx = rng_range(r, b[0], b[2]);
        x0 = (int)(cx - 0.5f * bar), x1 = (int)ceilf(cx + 0.5f * bar);
        y0 = 0, y1 = H;
    } else {
        float cw = rng_range(r, 0.1f, 0.3f) * tw, ch = rng_range(r, 0.15f, 0.3f) * th;
        float cx = rng_range(r, b[0], b[2] - cw);
        x0 = (int)cx, x1 = (int)(cx + cw);
        if (rng_chance(r, 0.5f)) y0 = 0, y1 = (int)(b[1] + ch);
        else y0 = (int)(b[3] - ch), y1 = H;
    }
    x0 = x0 < 0 ? 0 : x0, x1 = x1 > W ? W : x1;
    y0 = y0 < 0 ? 0 : y0, y1 = y1 > H ? H : y1;
    if (x1 <= x0 || y1 <= y0) return;
    float u = rng_uniform(r);
    rgb c = rgb_random_at_luma(r, 255.0f * (u < 0.5f ? 0.4f * u : 0.6f + 0.8f * (u - 0.5f)));
    for (int k = 0; k < 3; k++) {
        float *p = fimg_plane(img, k);
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) p[(size_t)y * (size_t)W + (size_t)x] = c.v[k];
    }
}

/* How good the camera was, for the whole crop. Real degradations come together: a phone at
   dusk gives blur, noise and JPEG at once, a good photo none of them. One draw per crop
   scales the chance of every camera effect, so that half the crops are nearly clean and a
   sixth carry several defects, as real crops do, instead of every crop getting an even spread
   of independent ones. */
static float camera_severity(rng_t *r) {
    int k = rng_int(r, 0, 99);
    return k < 50 ? 0.3f : k < 85 ? 1.0f : 1.8f;
}

static int effect(rng_t *r, float p, float severity, float cap) {
    return rng_chance(r, fminf(p * severity, cap));
}

/* What a camera does to the word: light, size, focus, motion, noise. */
static void camera_effects(synth *s, fimg *img) {
    rng_t *r = &s->rng;
    const float k = (float)img->h / 32.0f; /* effect sizes are tuned at 32 px */
    const float sev = s->severity;
    if (effect(r, 0.3f, sev, 0.6f)) fx_illumination(img, r, rng_range(r, 0.1f, 0.5f));
    /* Incidental text is often tiny: 5–12 px high in the photo, enlarged by the reader. */
    float text_h = s->box[3] - s->box[1];
    int tiny = effect(r, 0.12f, sev, 0.3f) && text_h > 14;
    if (tiny) fx_down_up(img, rng_range(r, 5.0f, 12.0f) / text_h, &s->tmp);
    /* Tiny text is blurred by its own enlargement; a defocus on top leaves nothing a person
       could read, and a crop in a labelled set was read by a person. */
    float u = rng_uniform(r), p_mild = fminf(0.35f * sev, 0.6f), p_defocus = tiny ? 0 : fminf(0.08f * sev, 0.15f);
    int blurred = u < p_mild + p_defocus;
    if (u < p_mild) fx_gaussian_blur(img, rng_range(r, 0.3f, 1.1f) * k, &s->tmp);
    else if (blurred) fx_gaussian_blur(img, rng_range(r, 1.1f, 2.0f) * k, &s->tmp); /* defocus */
    if (effect(r, 0.12f, sev, 0.3f))
        fx_motion_blur(img, (rng_chance(r, 0.67f) ? rng_range(r, 1.5f, 3.5f) : rng_range(r, 3.5f, 5.0f)) * k,
                       rng_range(r, 0, 3.1416f), &s->tmp);
    if (!tiny && effect(r, blurred ? 0.15f : 0.3f, sev, 0.5f)) fx_down_up(img, rng_range(r, 0.4f, 0.8f), &s->tmp);
    if (effect(r, 0.5f, sev, 0.9f)) fx_noise(img, r, rng_chance(r, 0.7f) ? rng_range(r, 1, 5) : rng_range(r, 5, 12));
}

static crnn_status finish(synth *s, fimg *img, synth_sample *out) {
    rng_t *r = &s->rng;
    const int W = img->w, H = img->h, C = s->cfg.channels;
    if (!s->cfg.clean) {
        s->severity = camera_severity(r);
        camera_effects(s, img);
    }
    size_t n = (size_t)W * (size_t)H;
    if (n * (size_t)C > s->out_cap) {
        uint8_t *o = realloc(s->out, n * (size_t)C);
        if (!o) return CRNN_ERR_NOMEM;
        s->out = o;
        s->out_cap = n * (size_t)C;
    }
    const float *p0 = fimg_plane(img, 0), *p1 = fimg_plane(img, 1), *p2 = fimg_plane(img, 2);
    for (size_t i = 0; i < n; i++) {
        float v[3] = {p0[i], p1[i], p2[i]};
        int q[3];
        for (int c = 0; c < 3; c++) q[c] = v[c] <= 0 ? 0 : v[c] >= 255 ? 255 : (int)(v[c] + 0.5f);
        if (C == 3)
            for (int c = 0; c < 3; c++) s->out[3 * i + (size_t)c] = (uint8_t)q[c];
        else /* exactly what stb_image makes of an RGB pixel when asked for grey */
            s->out[i] = (uint8_t)((q[0] * 77 + q[1] * 150 + q[2] * 29) >> 8);
    }
    if (!s->cfg.clean && effect(r, 0.35f, s->severity, 0.9f)) fx_jpeg(s->out, W, H, C, rng_int(r, 10, 70));
    size_t o = 0;
    for (int i = 0; i < s->ndrawn; i++) o += (size_t)utf8_encode(s->drawn[i], s->label + o);
    s->label[o] = 0;
    out->pixels = s->out;
    out->width = W;
    out->height = H;
    out->stride = W * C;
    out->channels = C;
    out->label = s->label;
    return CRNN_OK;
}

/* A crop with no text: a background of any kind, as wide as words are, labelled "". No
   occluders: a bar on a blank crop is what an "I" or "l" looks like. */
static crnn_status draw_empty(synth *s, synth_sample *out) {
    rng_t *r = &s->rng;
    const int H = s->cfg.height, W = rng_int(r, H / 2 > 1 ? H / 2 : 1, 10 * H);
    if (!fimg_resize_planes(&s->img, W, H, 3)) return CRNN_ERR_NOMEM;
    rgb pair_text;
    int from_pair;
    rgb paint = sample_paint(r, &pair_text, &from_pair);
    background_make(&s->bgs, r, &s->img, W, H, paint, &s->tmp);
    s->font = -1;
    s->ncps = s->ndrawn = 0;
    s->vertical = 0;
    memset(s->box, 0, sizeof s->box);
    return finish(s, &s->img, out);
}

crnn_status synth_next(synth *s, synth_sample *out) {
    if (!s || !out) return CRNN_ERR_ARG;
    rng_t *r = &s->rng;
    /* Drawn only when asked for, so that the sequences of other configurations stay. */
    if (s->cfg.empty > 0 && rng_chance(r, s->cfg.empty)) return draw_empty(s, out);
    synth_style st;
    for (int attempt = 0; attempt < 50; attempt++) {
        s->ncps = text_sample(&s->text, r, s->cps);
        s->font = pick_font(s, s->cps, s->ncps);
        if (s->font < 0) continue;
        int crop;
        sample_style(s, &st, s->cps, s->ncps, &crop);
        if (!render_layout(&s->layout, &s->fonts, s->font, s->cps, s->ncps, &st, r, s->drawn, &s->ndrawn))
            continue;
        s->vertical = st.vertical;
        synth_warp w;
        int W, ss;
        sample_geometry(s, &w, &W, s->box, &ss, crop, st.vertical);
        const int H = s->cfg.height;
        if (!fimg_resize_planes(&s->img, W, H, 3) || !fimg_resize_planes(&s->oval, W, H, 3) ||
            !fimg_resize(&s->oalpha, W, H))
            return CRNN_ERR_NOMEM;
        rgb pair_text, bg_mean;
        int from_pair;
        rgb paint = sample_paint(r, &pair_text, &from_pair);
        background_kind kind = background_make(&s->bgs, r, &s->img, W, H, paint, &s->tmp);
        float bg_sd;
        mean_rgb(&s->img, &bg_mean, &bg_sd);
        sample_colours(s, &st, kind, pair_text, from_pair, bg_mean, bg_sd);
        const fimg *tex = NULL;
        if (st.fill_tex > 0 && backgrounds_patch(&s->bgs, r, &s->tex, s->layout.w, s->layout.h, 0.3f, 2.0f)) {
            /* Only the texture's detail runs through the letters, centred on 128. */
            const size_t tn = (size_t)s->tex.w * (size_t)s->tex.h;
            for (int k = 0; k < 3; k++) {
                float *p = fimg_plane(&s->tex, k);
                double m = 0;
                for (size_t i = 0; i < tn; i++) m += p[i];
                float shift = 128.0f - (float)(m / (double)tn);
                for (size_t i = 0; i < tn; i++) p[i] += shift;
            }
            tex = &s->tex;
        }
        if (!render_layer(&s->layout, &st, tex, &s->cov, &s->lval, &s->lalpha, &s->t1, &s->t2))
            return CRNN_ERR_NOMEM;
        warp_layer(&w, &s->lval, &s->lalpha, &s->oval, &s->oalpha, W, H, ss);
        size_t n = (size_t)W * (size_t)H;
        for (int k = 0; k < 3; k++) {
            float *im = fimg_plane(&s->img, k);
            const float *ov = fimg_plane(&s->oval, k);
            for (size_t i = 0; i < n; i++) im[i] = ov[i] + (1 - s->oalpha.p[i]) * im[i];
        }
        if (!s->cfg.clean && rng_chance(r, 0.05f)) occlude(s, &s->img);
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
    info->vertical = s->vertical;
}

int synth_num_fonts(const synth *s) { return s ? s->fonts.n : 0; }

int synth_num_backgrounds(const synth *s) { return s ? s->bgs.n : 0; }

const char *synth_font_path(const synth *s, int i) {
    return s && i >= 0 && i < s->fonts.n ? s->fonts.fonts[i].path : NULL;
}

const synth_fontset *synth_fontset_of(const synth *s) { return &s->fonts; }

/* Restarts the sample sequence from seed without reloading fonts or backgrounds: the trainer
   reseeds per chunk of batches so that a resumed run draws the same samples. */
void synth_reseed(synth *s, uint64_t seed) { rng_seed(&s->rng, seed, 0x5e17); }

void synth_set_clean(synth *s, int clean) { s->cfg.clean = clean != 0; }

/* colour.c — the colours of a sample. Real text/background pairs (palette.c, learned from real
   crops) give the usual combinations: white on blue, red on white, yellow on black, and also
   the hard ones whose luminances nearly agree (red on brick, salmon on pink), which a grey
   image loses and a colour one keeps. A few helpers move colours in luminance without
   changing their hue, so a contrast floor can be kept. */
#include <math.h>

#include "synth/internal.h"

rgb rgb_grey(float v) { return (rgb){{v, v, v}}; }

rgb rgb_mix(rgb a, rgb b, float t) {
    rgb o;
    for (int k = 0; k < 3; k++) o.v[k] = a.v[k] + t * (b.v[k] - a.v[k]);
    return o;
}

rgb rgb_clamp(rgb c) {
    for (int k = 0; k < 3; k++) c.v[k] = c.v[k] < 0 ? 0 : c.v[k] > 255 ? 255 : c.v[k];
    return c;
}

static rgb jitter(rng_t *r, const uint8_t *c, float sd) {
    rgb o;
    /* A shared shift (lighter/darker) and a smaller independent one per channel (hue). */
    float common = sd * rng_normal(r);
    for (int k = 0; k < 3; k++) o.v[k] = (float)c[k] + common + 0.5f * sd * rng_normal(r);
    return rgb_clamp(o);
}

static int draw_index(rng_t *r) {
    long total = 0;
    for (int i = 0; i < synth_palette_size; i++) total += synth_palette[i].count;
    long pick = (long)(rng_uniform(r) * (float)total);
    for (int i = 0; i < synth_palette_size; i++) {
        if (pick < synth_palette[i].count) return i;
        pick -= synth_palette[i].count;
    }
    return synth_palette_size - 1;
}

int palette_draw(rng_t *r, rgb *text, rgb *bg) {
    int i = draw_index(r);
    const synth_colour_pair *p = &synth_palette[i];
    *text = jitter(r, p->text, 0.6f * p->spread);
    *bg = jitter(r, p->bg, 0.6f * p->spread);
    return i;
}

rgb palette_text_for(rng_t *r, rgb bg) {
    int best = 0;
    float best_d = INFINITY;
    for (int t = 0; t < 6; t++) {
        int i = draw_index(r);
        float d = 0;
        for (int k = 0; k < 3; k++) {
            float e = (float)synth_palette[i].bg[k] - bg.v[k];
            d += e * e;
        }
        if (d < best_d) best_d = d, best = i;
    }
    return jitter(r, synth_palette[best].text, 0.6f * synth_palette[best].spread);
}

rgb rgb_random_at_luma(rng_t *r, float y) {
    /* A saturated hue mixed towards grey by a random amount, then scaled to luminance y. */
    /* Real paints are mostly muted: two in three nearly grey. */
    float h = rng_range(r, 0, 6), sat = rng_chance(r, 0.65f) ? rng_range(r, 0, 0.25f) : rng_range(r, 0.25f, 0.9f);
    float f = h - floorf(h);
    float hue[6][3] = {{1, f, 0}, {1 - f, 1, 0}, {0, 1, f}, {0, 1 - f, 1}, {f, 0, 1}, {1, 0, 1 - f}};
    const float *c = hue[(int)h % 6];
    rgb o;
    for (int k = 0; k < 3; k++) o.v[k] = 1 - sat + sat * c[k];
    float l = rgb_luma((rgb){{255 * o.v[0], 255 * o.v[1], 255 * o.v[2]}}) / 255.0f;
    for (int k = 0; k < 3; k++) o.v[k] *= y / fmaxf(l, 1e-3f);
    return rgb_clamp(o);
}

/* c scaled towards black (t < 0) or white (t > 0) by |t|. */
static rgb towards(rgb c, float t) {
    return t < 0 ? rgb_mix(c, rgb_grey(0), -t) : rgb_mix(c, rgb_grey(255), t);
}

rgb rgb_push_luma(rgb c, rgb bg, float min_dy) {
    float yc = rgb_luma(c), yb = rgb_luma(bg);
    if (fabsf(yc - yb) >= min_dy) return c;
    /* Prefer the side the colour already leans to, unless there is no room there. */
    int up = yc >= yb;
    if (up && yb + min_dy > 255) up = 0;
    if (!up && yb - min_dy < 0) up = 1;
    float target = up ? fminf(255.0f, yb + min_dy) : fmaxf(0.0f, yb - min_dy);
    /* Luminance is linear along the path to black or white: solve for the mix. */
    float end = up ? 255.0f : 0.0f;
    float t = fabsf(end - yc) > 1e-3f ? (target - yc) / (end - yc) : 1.0f;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return towards(c, up ? t : -t);
}

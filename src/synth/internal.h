/* internal.h — structures shared by the generator's files (fonts, text, render, warp,
   background, effects). Not part of the public API. */
#ifndef CRNN_SYNTH_INTERNAL_H
#define CRNN_SYNTH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <stb_truetype.h>

#include "synth/synth.h"
#include "util/util.h"

#define SYNTH_MAX_LABEL 256    /* hard cap on label code points, whatever the config says */
#define SYNTH_MAX_WIDTH 2048   /* output width cap, px */

/* ---- fonts (fonts.c) ---------------------------------------------------------------------- */

/* One rasterised glyph at the font's cache size: coverage 0..255, w × h, placed at
   (pen_x + xoff, baseline + yoff). */
typedef struct {
    int w, h, xoff, yoff;
    float advance; /* px at cache size */
    int index;     /* glyph index in the font, for kerning */
    uint8_t bmp[];
} synth_glyph;

/* Google Fonts' classification of a family, given in the font manifest after a tab. Real
   signs are mostly sans-serif; a font library is not (Google Fonts is 14 % handwriting),
   so the generator draws each kind at the share signs have (fonts.c: KIND_SHARE). */
typedef enum {
    FONT_KIND_NONE, /* not classified (Debian fonts, system scan): drawn by family as before */
    FONT_KIND_SANS,
    FONT_KIND_SERIF,
    FONT_KIND_DISPLAY,
    FONT_KIND_HANDWRITING,
    FONT_KIND_MONOSPACE,
    FONT_KINDS
} synth_font_kind;

typedef struct {
    char *path;
    char family[64];
    synth_font_kind kind;
    unsigned char *data; /* mmap'ed file */
    size_t size;
    stbtt_fontinfo info;
    float scale;           /* font units → cache px, chosen so that cap height = cap_px */
    float ascent, descent; /* px at cache size; descent < 0 */
    uint64_t cov[2];       /* code points < 128 with a drawable glyph */
    synth_glyph **ascii;   /* lazily filled cache, 128 entries */
    uint32_t *xcp;         /* cache for code points ≥ 128: parallel arrays */
    synth_glyph **xg;
    int nx, capx;
} synth_font;

typedef struct {
    synth_font *fonts;
    int n;
    int *groups;     /* font indices sorted by family */
    int *group_off;  /* ngroups + 1 offsets into groups */
    int ngroups;
    double *group_cum; /* ngroups cumulative family weights; NULL: every family alike */
    float cap_px;
    size_t cache_bytes, cache_budget;
} synth_fontset;

crnn_status fontset_load(synth_fontset *fs, const char *manifest, float cap_px, crnn_error *err);
void fontset_free(synth_fontset *fs);
int font_has(const synth_font *f, uint32_t cp);
/* The cached glyph for cp (rasterised on first use); NULL if the font lacks it or memory ran
   out. */
const synth_glyph *fontset_glyph(synth_fontset *fs, int font, uint32_t cp);
float font_kern(const synth_font *f, int g1, int g2);
/* A family (index into group_off) at random, by kind share where the manifest gave kinds. */
int fontset_pick_family(const synth_fontset *fs, rng_t *r);

/* ---- labels (text.c) ---------------------------------------------------------------------- */

typedef struct {
    char *buf;         /* all accepted words, NUL-separated */
    int **by_len;      /* by_len[L] = offsets of words with L code points */
    int *count_by_len;
    int max_len;
    int nwords;
    uint64_t ascii[2]; /* charset membership for code points < 128 */
    uint32_t *extra;   /* sorted charset code points ≥ 128 */
    int nextra;
    int has_upper, has_lower, has_digit, has_space;
    uint32_t *all;     /* whole charset, for random strings */
    int nall;
} synth_text;

crnn_status text_init(synth_text *t, const char *wordlist, const uint32_t *charset,
                      int charset_size, int max_len, crnn_error *err);
void text_free(synth_text *t);
int text_allowed(const synth_text *t, uint32_t cp);
/* Samples a label into cps (≤ max_len code points, no leading/trailing or double spaces);
   returns its length (≥ 1). */
int text_sample(const synth_text *t, rng_t *r, uint32_t *cps);

/* ---- float images ------------------------------------------------------------------------- */

/* c planes of w × h floats, one after the other (plane k at p + k·w·h). Colour images are
   planar R, G, B, 0..255; the text layer's coverage and alpha are single planes. */
typedef struct {
    float *p;
    int w, h, c;
    size_t cap;
} fimg;

/* Makes img w × h with one plane (or c planes), growing its buffer if needed; contents
   undefined. 0 on allocation failure. */
int fimg_resize(fimg *img, int w, int h);
int fimg_resize_planes(fimg *img, int w, int h, int c);
static inline float *fimg_plane(const fimg *img, int k) {
    return img->p + (size_t)k * (size_t)img->w * (size_t)img->h;
}

/* ---- colours (colour.c, palette.c) ---------------------------------------------------------- */

typedef struct {
    float v[3]; /* R, G, B, 0..255 */
} rgb;

/* A text/background colour pair of real scene text (scripts/learn-colours.py). */
typedef struct {
    uint8_t text[3], bg[3];
    int count;    /* crops it stands for: its weight */
    float spread; /* RMS deviation of its members, RGB levels */
} synth_colour_pair;

extern const synth_colour_pair synth_palette[];
extern const int synth_palette_size;

/* Luminance as stb_image computes it when it turns colour into grey: the model's grey input
   and the generator's grey output must agree. */
static inline float rgb_luma(rgb c) { return (77.0f * c.v[0] + 150.0f * c.v[1] + 29.0f * c.v[2]) / 256.0f; }
/* A palette pair drawn by weight, its colours jittered by the pair's spread. */
int palette_draw(rng_t *r, rgb *text, rgb *bg);
/* The text colour of a pair whose background is near bg: the nearest of a few pairs drawn by
   weight, jittered; for backgrounds whose colour is given (a photo patch). */
rgb palette_text_for(rng_t *r, rgb bg);
rgb rgb_grey(float v);
rgb rgb_mix(rgb a, rgb b, float t); /* a + t (b − a) */
rgb rgb_clamp(rgb c);
/* A random hue and saturation at luminance y (for colours not taken from the palette). */
rgb rgb_random_at_luma(rng_t *r, float y);
/* Moves c away from bg along the luminance axis until their luminances differ by at least
   min_dy (darker or lighter, whichever side has room); hue is kept. */
rgb rgb_push_luma(rgb c, rgb bg, float min_dy);

/* ---- backgrounds (background.c) ----------------------------------------------------------- */

typedef struct {
    uint8_t *px; /* RGB, interleaved */
    int w, h;
} rgb_img;

typedef struct {
    rgb_img *imgs;
    int n;
    /* Images of folder d are imgs[dir_off[d] .. dir_off[d + 1]): a folder is drawn first, so
       700 game textures do not crowd out 100 street scenes. */
    int *dir_off;
    int ndirs;
} synth_backgrounds;

crnn_status backgrounds_load(synth_backgrounds *b, const char *const *dirs, crnn_error *err);
void backgrounds_free(synth_backgrounds *b);
/* Samples a w × h patch of a random background image (random scale and position), three
   planes 0..255, into out (resized). Returns 0 when there are no images. */
int backgrounds_patch(const synth_backgrounds *b, rng_t *r, fimg *out, int w, int h,
                      float min_scale, float max_scale);
/* What background_make drew: plain paint (maybe with procedural texture), or a photo patch
   faint over paint, or the photo itself whose colours the text must then suit. */
typedef enum { BG_PAINT = 0, BG_TEXTURED = 1, BG_PHOTO = 2 } background_kind;
/* Fills out (w × h, three planes) with a background around the paint colour: plain,
   gradient, procedural or natural texture. */
background_kind background_make(const synth_backgrounds *b, rng_t *r, fimg *out, int w, int h,
                                rgb paint, fimg *scratch);

/* ---- text layer (render.c) ---------------------------------------------------------------- */

/* How the letters are painted; colours 0..255, lengths in layer pixels. */
typedef struct {
    float spacing;        /* extra advance per letter, px */
    float space_scale;    /* width of a space relative to the font's */
    int kerning;
    int vertical;         /* letters stacked top to bottom, each upright */
    int bold;             /* faux bold: 1 = widen strokes sideways, 2 = all round */
    rgb fill;
    float fill_alpha;     /* 0 with an outline: hollow letters */
    float fill_tex;       /* strength of a natural texture inside the letters, 0 = flat */
    float emboss;         /* bevel shading strength, 0 = flat */
    int outline_r;        /* 0 = none */
    rgb outline;
    int shadow;           /* drop shadow */
    int shadow_dx, shadow_dy, shadow_blur;
    rgb shadow_col;
    float shadow_alpha;
    int extrude_len;      /* 3-D extrusion depth in px, 0 = none */
    float extrude_dx, extrude_dy;
    rgb extrude;
    int underline;
    int left_chars, right_chars; /* neighbouring text cut by the crop, letters each side */
    float left_gap, right_gap;   /* in cap heights */
    int line_above, line_below;  /* neighbouring text lines */
    float line_gap;
    int neighbour_upper;
} synth_style;

typedef struct {
    const synth_glyph *g;
    int x, y; /* top-left of the bitmap in the layer */
} synth_placed;

typedef struct {
    synth_placed *gl;
    int n, cap;
    int nmain;      /* the first nmain glyphs are the label's */
    float box[4];   /* ink box of the labelled text in the layer */
    float baseline;
    int w, h;       /* layer size */
} synth_layout;

/* Places the label's glyphs (and neighbouring text) in a layer; records the label's code
   points in drawn. Returns 0 if the font lacks a glyph or memory ran out. */
int render_layout(synth_layout *L, synth_fontset *fs, int font, const uint32_t *cps, int n,
                  const synth_style *st, rng_t *r, uint32_t *drawn, int *ndrawn);
/* Paints the layer: premultiplied colour val (three planes) and coverage alpha (one), each
   L->w × L->h. tex, if not NULL, is a colour texture of the same size for the fill. */
int render_layer(const synth_layout *L, const synth_style *st, const fimg *tex, fimg *cov,
                 fimg *val, fimg *alpha, fimg *tmp, fimg *tmp2);
void layout_free(synth_layout *L);

/* ---- geometry (warp.c) -------------------------------------------------------------------- */

/* Layer (u, v) → output: bend (or arc), centre, stretch + shear + rotation, perspective,
   scale + shift. */
typedef struct {
    float uc, vc;        /* centre of the text in the layer */
    float bend, half_w;  /* v += bend * ((u - uc) / half_w)^2 */
    float arc_r;         /* ≠ 0: the baseline follows a circle of this radius (< 0 bends
                            down, a frown), letters turned along it; bend is then 0 */
    float a[4], ai[4];   /* 2×2 affine and its inverse */
    float px, py;        /* perspective: p = q / (1 + px qx + py qy) */
    float s, tx, ty;     /* out = s * p + t */
} synth_warp;

void warp_forward(const synth_warp *w, float u, float v, float *x, float *y);
/* Inverse map; 0 if (x, y) has no preimage (behind the perspective horizon). */
int warp_inverse(const synth_warp *w, float x, float y, float *u, float *v);
/* Renders the premultiplied layer (val: its planes, alpha: one) through the warp into
   out_val (as many planes) / out_alpha (w × h each), averaging ss × ss sub-samples per pixel. */
void warp_layer(const synth_warp *wp, const fimg *val, const fimg *alpha, fimg *out_val,
                fimg *out_alpha, int w, int h, int ss);

/* ---- photo effects (effects.c) ------------------------------------------------------------ */

/* Each works on every plane of img. */
void fx_gaussian_blur(fimg *img, float sigma, fimg *tmp);
void fx_motion_blur(fimg *img, float length, float angle, fimg *tmp);
/* Sensor noise: a grain common to all planes plus a little colour noise. */
void fx_noise(fimg *img, rng_t *r, float sigma);
void fx_down_up(fimg *img, float factor, fimg *tmp);
void fx_illumination(fimg *img, rng_t *r, float strength);
/* Round trip of an 8-bit image (1 or 3 interleaved channels) through a JPEG encoder at
   quality q (in place). */
int fx_jpeg(uint8_t *px, int w, int h, int channels, int q);

/* ---- contact sheets (sheet.c) ------------------------------------------------------------- */

crnn_status synth_draw_sheet(const synth_fontset *fs, const char *path, const synth_sample *items,
                             int n, int cols, int cell_h, crnn_error *err);
const synth_fontset *synth_fontset_of(const synth *s);

/* A growing byte buffer for stb_image_write's callback writers (JPEG round trips, PNG export). */
typedef struct {
    unsigned char *p;
    size_t n, cap;
    int failed;
} synth_membuf;
void synth_mem_write(void *ctx, void *data, int size);

#endif

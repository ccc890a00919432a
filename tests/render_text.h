/* render_text.h — clean text drawn with stb_truetype in DejaVu Sans, for the tests of line
   reading (test_lines.c, test_read_lines.c): dark text on a light background (or the
   reverse), lines stacked with a chosen gap. render_font() returns NULL where the font is not
   installed; callers skip those cases. */
#ifndef CRNN_TEST_RENDER_TEXT_H
#define CRNN_TEST_RENDER_TEXT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_truetype.h>

typedef struct {
    stbtt_fontinfo info;
    unsigned char *data;
} render_font_t;

static inline render_font_t *render_font(void) {
    static const char *const paths[] = {"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                                        "/usr/share/fonts/TTF/DejaVuSans.ttf",
                                        "/usr/share/fonts/dejavu/DejaVuSans.ttf"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        FILE *f = fopen(paths[i], "rb");
        if (!f) continue;
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        render_font_t *font = calloc(1, sizeof *font);
        font->data = malloc((size_t)n);
        int ok = fread(font->data, 1, (size_t)n, f) == (size_t)n &&
                 stbtt_InitFont(&font->info, font->data, stbtt_GetFontOffsetForIndex(font->data, 0));
        fclose(f);
        if (ok) return font;
        free(font->data);
        free(font);
    }
    return NULL;
}

static inline void render_font_free(render_font_t *font) {
    if (!font) return;
    free(font->data);
    free(font);
}

static inline int render_advance(const render_font_t *font, float scale, const char *s) {
    float x = 0;
    for (const char *p = s; *p; p++) {
        int adv, lsb;
        stbtt_GetCodepointHMetrics(&font->info, (unsigned char)*p, &adv, &lsb);
        x += adv * scale;
        if (p[1]) x += scale * stbtt_GetCodepointKernAdvance(&font->info, (unsigned char)*p,
                                                             (unsigned char)p[1]);
    }
    return (int)(x + 1);
}

/* n lines of ASCII text at px pixels (ascent to descent), `gap` empty rows between lines,
   `margin` pixels around; ink 20 on background 235, or the reverse when light_on_dark. The
   image is malloc'ed, stride == *w. */
static inline uint8_t *render_lines(const render_font_t *font, const char *const *lines, int n,
                                    float px, int gap, int margin, int light_on_dark, int *w,
                                    int *h) {
    float scale = stbtt_ScaleForPixelHeight(&font->info, px);
    int ascent, descent, line_gap;
    stbtt_GetFontVMetrics(&font->info, &ascent, &descent, &line_gap);
    int line_h = (int)((ascent - descent) * scale + 0.5f);
    int width = 0;
    for (int i = 0; i < n; i++) {
        int a = render_advance(font, scale, lines[i]);
        if (a > width) width = a;
    }
    *w = width + 2 * margin;
    *h = n * line_h + (n - 1) * gap + 2 * margin;
    uint8_t *img = malloc((size_t)*w * *h);
    const int ink = light_on_dark ? 235 : 20, paper = light_on_dark ? 20 : 235;
    memset(img, paper, (size_t)*w * *h);
    for (int i = 0; i < n; i++) {
        int baseline = margin + i * (line_h + gap) + (int)(ascent * scale + 0.5f);
        float x = (float)margin;
        for (const char *p = lines[i]; *p; p++) {
            int cp = (unsigned char)*p, adv, lsb, x0, y0, x1, y1;
            stbtt_GetCodepointHMetrics(&font->info, cp, &adv, &lsb);
            stbtt_GetCodepointBitmapBox(&font->info, cp, scale, scale, &x0, &y0, &x1, &y1);
            int gw = x1 - x0, gh = y1 - y0;
            if (gw > 0 && gh > 0) {
                unsigned char *glyph = malloc((size_t)gw * gh);
                stbtt_MakeCodepointBitmap(&font->info, glyph, gw, gh, gw, scale, scale, cp);
                for (int y = 0; y < gh; y++)
                    for (int xx = 0; xx < gw; xx++) {
                        int X = (int)x + x0 + xx, Y = baseline + y0 + y;
                        if (X < 0 || X >= *w || Y < 0 || Y >= *h) continue;
                        int c = glyph[y * gw + xx];
                        uint8_t *d = &img[(size_t)Y * *w + X];
                        int v = (paper * (255 - c) + ink * c) / 255;
                        if (light_on_dark ? v > *d : v < *d) *d = (uint8_t)v;
                    }
                free(glyph);
            }
            x += adv * scale;
            if (p[1]) x += scale * stbtt_GetCodepointKernAdvance(&font->info, cp,
                                                                 (unsigned char)p[1]);
        }
    }
    return img;
}

#endif

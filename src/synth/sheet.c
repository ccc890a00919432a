/* sheet.c — contact sheets: a grid of crops with their labels printed underneath, so that a
   person can judge the generator's look at a glance (and set it beside real crops). The sheet
   is RGB; grey crops are drawn grey. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image_write.h>

#include "synth/internal.h"

/* A font for the captions: a plain sans or mono if there is one, else the first usable. */
static const synth_font *caption_font(const synth_fontset *fs) {
    static const char *const prefer[] = {"DejaVu Sans Mono", "DejaVu Sans", "Liberation Sans", NULL};
    for (int p = 0; prefer[p]; p++)
        for (int i = 0; i < fs->n; i++)
            if (!strcmp(fs->fonts[i].family, prefer[p])) return &fs->fonts[i];
    return fs->n ? &fs->fonts[0] : NULL;
}

static void draw_text(uint8_t *img, int iw, int ih, int x, int y, int px_h, const char *text,
                      const synth_font *f, int max_w) {
    if (!f) return;
    float scale = stbtt_ScaleForPixelHeight(&f->info, (float)px_h);
    int asc, desc, gap;
    stbtt_GetFontVMetrics(&f->info, &asc, &desc, &gap);
    int base = y + (int)lroundf((float)asc * scale);
    float pen = (float)x;
    uint32_t cps[SYNTH_MAX_LABEL + 1];
    int n = utf8_to_codepoints(text, cps, SYNTH_MAX_LABEL);
    uint8_t buf[128 * 128];
    for (int i = 0; i < n; i++) {
        int g = stbtt_FindGlyphIndex(&f->info, (int)cps[i]);
        int adv, lsb, x0, y0, x1, y1;
        stbtt_GetGlyphHMetrics(&f->info, g, &adv, &lsb);
        stbtt_GetGlyphBitmapBox(&f->info, g, scale, scale, &x0, &y0, &x1, &y1);
        int gw = x1 - x0, gh = y1 - y0;
        if (pen + (float)adv * scale > (float)(x + max_w)) break;
        if (gw > 0 && gh > 0 && gw <= 128 && gh <= 128) {
            stbtt_MakeGlyphBitmap(&f->info, buf, gw, gh, gw, scale, scale, g);
            for (int yy = 0; yy < gh; yy++)
                for (int xx = 0; xx < gw; xx++) {
                    int X = (int)pen + x0 + xx, Y = base + y0 + yy;
                    if (X < 0 || Y < 0 || X >= iw || Y >= ih) continue;
                    uint8_t *p = img + ((size_t)Y * (size_t)iw + (size_t)X) * 3;
                    int a = buf[yy * gw + xx];
                    for (int c = 0; c < 3; c++) p[c] = (uint8_t)((p[c] * (255 - a)) / 255); /* black ink on white */
                }
        }
        pen += (float)adv * scale;
    }
}

crnn_status synth_draw_sheet(const synth_fontset *fs, const char *path, const synth_sample *items,
                             int n, int cols, int cell_h, crnn_error *err) {
    if (n <= 0 || cols <= 0 || cell_h < 8)
        return set_error(err, CRNN_ERR_ARG, "synth: empty sheet");
    const int cell_w = 5 * cell_h, cap_h = cell_h / 2 > 12 ? cell_h / 2 : 12, pad = 6;
    int rows = (n + cols - 1) / cols;
    int W = cols * (cell_w + pad) + pad, H = rows * (cell_h + cap_h + pad) + pad;
    uint8_t *img = malloc((size_t)W * (size_t)H * 3);
    if (!img) return set_error(err, CRNN_ERR_NOMEM, "synth: out of memory for a %dx%d sheet", W, H);
    memset(img, 255, (size_t)W * (size_t)H * 3);
    const synth_font *cf = caption_font(fs);
    for (int i = 0; i < n; i++) {
        const synth_sample *it = &items[i];
        int cx = pad + (i % cols) * (cell_w + pad), cy = pad + (i / cols) * (cell_h + cap_h + pad);
        /* Scale to the cell height; shrink further if the crop is wider than the cell. */
        float sc = (float)cell_h / (float)it->height;
        if ((float)it->width * sc > (float)cell_w) sc = (float)cell_w / (float)it->width;
        int dw = (int)((float)it->width * sc), dh = (int)((float)it->height * sc);
        for (int y = 0; y < dh; y++)
            for (int x = 0; x < dw; x++) {
                int sx = (int)(((float)x + 0.5f) / sc), sy = (int)(((float)y + 0.5f) / sc);
                if (sx >= it->width) sx = it->width - 1;
                if (sy >= it->height) sy = it->height - 1;
                int ch = it->channels == 3 ? 3 : 1;
                const uint8_t *src = it->pixels + (size_t)sy * (size_t)it->stride + (size_t)sx * (size_t)ch;
                uint8_t *dst = img + ((size_t)(cy + y) * (size_t)W + (size_t)(cx + x)) * 3;
                for (int c = 0; c < 3; c++) dst[c] = src[ch == 3 ? c : 0];
            }
        draw_text(img, W, H, cx, cy + cell_h + 1, cap_h - 2, it->label ? it->label : "", cf, cell_w);
    }
    int ok = stbi_write_png(path, W, H, 3, img, W * 3);
    free(img);
    return ok ? CRNN_OK : set_error(err, CRNN_ERR_IO, "synth: cannot write %s", path);
}

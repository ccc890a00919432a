/* explain.c — a picture of one recognition, because people debug OCR by looking:

     free: HOTEL  (p 0.93)         lexicon: HOTEL  (p 0.93)
     +--------------------------------------------+
     |        the normalised network input        |
     +--------------------------------------------+
      - H H - O - T T - E - L -     best label of each frame, under the input columns it saw,
      █ █ ▇ █ ▆ █ ...               with its probability as a bar and in percent
      [H] [O] [T] [E] [L]           where each character of the free text aligns
      [H] [O] [T] [E] [L]           and of the lexicon word (or the pattern's text)

   Drawn into an RGB buffer; text with stb_easy_font (ASCII only, others drawn as '?'). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-braces"
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop
#include <stb_image_write.h>

#include "decode/decode.h"
#include "recognize/recognizer.h"
#include "util/util.h"

#define LEFT 84          /* room for the row names */
#define MAX_WIDTH 6000   /* the picture never gets wider than this */
#define FRAME_PX 22      /* aim for this many pixels per output frame */
#define BAR_H 36

typedef struct {
    unsigned char *px;
    int w, h;
} canvas;

static void fill(canvas *c, int x0, int y0, int x1, int y1, const unsigned char rgb[3]) {
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > c->w) x1 = c->w;
    if (y1 > c->h) y1 = c->h;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) memcpy(c->px + ((size_t)y * c->w + x) * 3, rgb, 3);
}

/* Text at (x, y), each font pixel drawn as a scale × scale block; returns its width. */
static int text(canvas *c, int x, int y, const char *s, int scale, const unsigned char rgb[3]) {
    static const int max_chars = 120;
    char ascii[121];
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && n < max_chars; p++) {
        if (*p >= 0x80 && (*p & 0xC0) == 0x80) continue; /* a UTF-8 continuation byte */
        ascii[n++] = *p >= 32 && *p < 127 ? (char)*p : '?';
    }
    ascii[n] = 0;
    char buf[40000]; /* stb_easy_font vertex scratch: ~270 bytes per character */
    int quads = stb_easy_font_print(0, 0, ascii, NULL, buf, sizeof buf);
    const float *v = (const float *)buf; /* 4 vertices per quad: x, y, z, colour */
    for (int q = 0; q < quads; q++) {
        const float *a = v + q * 16, *b = a + 8;
        fill(c, x + (int)a[0] * scale, y + (int)a[1] * scale, x + (int)b[0] * scale,
             y + (int)b[1] * scale, rgb);
    }
    return stb_easy_font_width(ascii) * scale;
}

/* x of the left edge of frame t (of T) over an input drawn w pixels wide */
static int frame_x(int t, int T, int w) { return LEFT + (int)((long)t * w / T); }

static void codepoint_text(uint32_t cp, int blank, char out[8]) {
    if (blank) snprintf(out, 8, "-");
    else if (cp == ' ') snprintf(out, 8, "_");
    else if (cp < 127) snprintf(out, 8, "%c", (char)cp);
    else snprintf(out, 8, "?");
}

/* One aligned text: a bracket over the frames of each character, the character (cps[i], or
   the label's) above it. */
static void aligned_row(canvas *c, int y, const crnn_model *m, int n, const int *labels,
                        const uint32_t *cps, const int *start, const int *end, int T, int w,
                        const unsigned char rgb[3]) {
    const unsigned char line[3] = {150, 150, 150};
    for (int i = 0; i < n; i++) {
        if (start[i] < 0) continue;
        int x0 = frame_x(start[i], T, w) + 1, x1 = frame_x(end[i] + 1, T, w) - 1;
        if (x1 <= x0) x1 = x0 + 1;
        fill(c, x0, y + 20, x1, y + 22, line);
        fill(c, x0, y + 14, x0 + 1, y + 22, line);
        fill(c, x1 - 1, y + 14, x1, y + 22, line);
        char ch[8];
        codepoint_text(cps ? cps[i] : m->charset[labels[i]], 0, ch);
        text(c, (x0 + x1) / 2 - 5, y, ch, 2, rgb);
    }
}

crnn_status crnn_explain_png(crnn_recognizer *rec, int index, const crnn_params *params,
                             const char *out_png, crnn_error *err) {
    if (!rec || !out_png)
        return set_error(err, CRNN_ERR_ARG, "crnn_explain_png: no recognizer or path");
    int T, C, W, H;
    const float *lp = crnn_recognizer_log_probs(rec, index, &T, &C);
    const float *in = crnn_recognizer_input(rec, index, &W, &H);
    if (!lp || !in || T < 1)
        return set_error(err, CRNN_ERR_ARG, "%s: no recognised image %d to explain", out_png,
                         index);
    const crnn_model *m = recognizer_model(rec);
    decode_workspace *dw = decode_workspace_new();
    if (!dw) return set_error(err, CRNN_ERR_NOMEM, "out of memory");
    crnn_result res;
    memset(&res, 0, sizeof res);
    decode_trace tr;
    crnn_status st = decode_frames_traced(dw, m, lp, T, C, params, &res, err, &tr);
    if (st != CRNN_OK) {
        crnn_result_free(&res);
        decode_workspace_free(dw);
        return st;
    }
    /* scale: about FRAME_PX pixels per frame, within [1, 8] and MAX_WIDTH */
    int scale = (int)ceil((double)FRAME_PX * T / W);
    if (scale < 2) scale = 2;
    if (scale > 8) scale = 8;
    while (scale > 1 && LEFT + W * scale + 16 > MAX_WIDTH) scale--;
    int w = W * scale, top_text = 8, top_img = 40, img_h = H * scale;
    int top_strip = top_img + img_h + 6, top_free = top_strip + 20 + BAR_H + 16;
    int top_lex = top_free + 30;
    canvas c = {NULL, LEFT + (w < 560 ? 560 : w) + 16, top_lex + (res.free_text ? 34 : 4)};
    c.px = malloc((size_t)c.w * c.h * 3);
    if (!c.px) {
        crnn_result_free(&res);
        decode_workspace_free(dw);
        return set_error(err, CRNN_ERR_NOMEM, "%s: out of memory for the picture", out_png);
    }
    memset(c.px, 255, (size_t)c.w * c.h * 3);
    const unsigned char ink[3] = {20, 20, 20}, grey[3] = {120, 120, 120},
                        blue[3] = {40, 90, 200}, green[3] = {20, 140, 60},
                        light[3] = {215, 215, 215}, red[3] = {200, 60, 40};
    char line[600];
    const char *free_text = res.free_text ? res.free_text : res.text;
    /* confidences are p(text | image): the free text's from the trace (with a lexicon or
       pattern the result's is the chosen text's) */
    double free_conf = exp(tr.free_log_prob);
    const char *constraint = !params || !params->lexicon ? "pattern"
                             : params->pattern           ? "lexicon+pattern"
                                                         : "lexicon";
    snprintf(line, sizeof line, "free: %s  (p %.2f)", free_text, free_conf);
    int x = 8 + text(&c, 8, top_text, line, 2, ink);
    if (res.free_text) {
        if (tr.constrained)
            snprintf(line, sizeof line, "   %s: %s  (p %.2g)", constraint, res.text,
                     res.confidence);
        else
            snprintf(line, sizeof line, "   %s: no match within the margin", constraint);
        text(&c, x, top_text, line, 2, tr.constrained ? green : red);
    }
    /* the input, its normalised values stretched to black..white */
    float lo = in[0], hi = in[0];
    for (long i = 0; i < (long)W * H; i++) {
        if (in[i] < lo) lo = in[i];
        if (in[i] > hi) hi = in[i];
    }
    float span = hi > lo ? hi - lo : 1;
    for (int y = 0; y < img_h; y++)
        for (int xx = 0; xx < w; xx++) {
            float v = in[(size_t)(y / scale) * W + xx / scale];
            unsigned char g = (unsigned char)(255.0f * (v - lo) / span + 0.5f);
            unsigned char rgb[3] = {g, g, g};
            memcpy(c.px + ((size_t)(top_img + y) * c.w + LEFT + xx) * 3, rgb, 3);
        }
    text(&c, 8, top_img + img_h / 2 - 7, "input", 2, grey);
    /* frame boundaries as ticks under the input */
    for (int t = 0; t <= T; t++)
        fill(&c, frame_x(t, T, w), top_strip - 5, frame_x(t, T, w) + 1, top_strip, grey);
    text(&c, 8, top_strip + 8, "frames", 2, grey);
    for (int t = 0; t < T; t++) {
        const float *row = lp + (size_t)t * C;
        int best = 0;
        for (int k = 1; k < C; k++)
            if (row[k] > row[best]) best = k;
        float p = expf(row[best]);
        int x0 = frame_x(t, T, w), x1 = frame_x(t + 1, T, w), mid = (x0 + x1) / 2;
        char ch[8];
        codepoint_text(m->charset[best], best == 0, ch);
        text(&c, mid - 2, top_strip, ch, 1, best ? ink : grey);
        int bh = (int)(p * BAR_H + 0.5f);
        fill(&c, x0 + 2, top_strip + 12 + BAR_H - bh, x1 - 1, top_strip + 12 + BAR_H,
             best ? blue : light);
        char pct[16];
        snprintf(pct, sizeof pct, "%d", (int)(p * 100 + 0.5f) > 99 ? 99 : (int)(p * 100 + 0.5f));
        text(&c, mid - 4, top_strip + 14 + BAR_H, pct, 1, grey);
    }
    text(&c, 8, top_free + 4, "free", 2, grey);
    aligned_row(&c, top_free, m, tr.n_free, tr.free_labels, NULL, tr.free_start, tr.free_end, T,
                w, ink);
    int oom = 0;
    if (res.free_text && tr.constrained) {
        /* the text as returned (a lexicon word's labels may be other case forms) */
        uint32_t *cps = malloc(sizeof(uint32_t) * (size_t)(tr.n + 1));
        oom = !cps;
        if (cps && utf8_to_codepoints(res.text, cps, tr.n) == tr.n) {
            text(&c, 8, top_lex + 4, tr.lexicon_word >= 0 ? "lexicon" : "pattern", 2, grey);
            aligned_row(&c, top_lex, m, tr.n, tr.labels, cps, tr.start, tr.end, T, w, green);
        }
        free(cps);
    }
    crnn_result_free(&res);
    decode_workspace_free(dw);
    /* written beside the target and renamed, so a viewer never sees half a file */
    size_t len = strlen(out_png) + 16;
    char *tmp = oom ? NULL : malloc(len);
    if (!tmp) {
        free(c.px);
        return set_error(err, CRNN_ERR_NOMEM, "%s: out of memory drawing the picture", out_png);
    }
    snprintf(tmp, len, "%s.tmp.png", out_png);
    int ok = stbi_write_png(tmp, c.w, c.h, 3, c.px, c.w * 3) && rename(tmp, out_png) == 0;
    if (!ok) remove(tmp);
    free(tmp);
    free(c.px);
    if (!ok) return set_error(err, CRNN_ERR_IO, "%s: cannot write the picture", out_png);
    return CRNN_OK;
}

/* plot.c — two stacked line charts (loss on a log scale, validation accuracy in percent)
   drawn into an RGB buffer and written with stb_image_write. Text uses stb_easy_font. */
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

#include "train/plot.h"
#include "util/util.h"

#define PW 900
#define PH 560

static int append(long **steps, double **vals, int *n, int *cap, long step, double v) {
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : 256;
        long *s = realloc(*steps, sizeof(long) * (size_t)c);
        if (!s) return 0;
        *steps = s;
        double *d = realloc(*vals, sizeof(double) * (size_t)c);
        if (!d) return 0;
        *vals = d;
        *cap = c;
    }
    (*steps)[*n] = step;
    (*vals)[*n] = v;
    (*n)++;
    return 1;
}

void plot_add(plot_series *p, long step, double loss, double val) {
    if (isfinite(loss) && loss > 0) append(&p->loss_step, &p->loss, &p->n_loss, &p->cap_loss, step, loss);
    if (isfinite(val)) append(&p->val_step, &p->val, &p->n_val, &p->cap_val, step, val);
}

void plot_free(plot_series *p) {
    free(p->loss_step);
    free(p->val_step);
    free(p->loss);
    free(p->val);
    memset(p, 0, sizeof *p);
}

void plot_load_csv(plot_series *p, const char *path, long max_step) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        /* step,samples,seconds,loss,lr,grad_norm,val_exact,val_alnum,val_ned */
        char *fields[9] = {0};
        int n = 0;
        char *s = line;
        fields[n++] = s;
        for (; *s && n < 9; s++)
            if (*s == ',') {
                *s = 0;
                fields[n++] = s + 1;
            }
        if (n < 9) continue;
        char *end;
        long step = strtol(fields[0], &end, 10);
        if (end == fields[0] || step > max_step) continue;
        double loss = *fields[3] ? strtod(fields[3], NULL) : NAN;
        double val = *fields[7] ? strtod(fields[7], NULL) : NAN;
        plot_add(p, step, loss, val);
    }
    fclose(f);
}

typedef struct {
    unsigned char *px;
} canvas;

static void dot(canvas *c, int x, int y, const unsigned char rgb[3]) {
    if (x < 0 || y < 0 || x >= PW || y >= PH) return;
    memcpy(c->px + ((size_t)y * PW + x) * 3, rgb, 3);
}

static void line(canvas *c, int x0, int y0, int x1, int y1, const unsigned char rgb[3]) {
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int e = dx + dy;
    for (;;) {
        dot(c, x0, y0, rgb);
        dot(c, x0, y0 + 1, rgb); /* two pixels thick: readable when scaled down */
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * e;
        if (e2 >= dy) { e += dy; x0 += sx; }
        if (e2 <= dx) { e += dx; y0 += sy; }
    }
}

static void text(canvas *c, int x, int y, const char *s, const unsigned char rgb[3]) {
    char buf[40000]; /* stb_easy_font vertex scratch: ~270 bytes per character */
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", s);
    int quads = stb_easy_font_print(0, 0, tmp, NULL, buf, sizeof buf);
    float *v = (float *)buf; /* 4 vertices per quad, each x, y, z, colour (16 bytes) */
    for (int q = 0; q < quads; q++) {
        float *a = v + q * 16, *b = a + 8;
        for (int yy = (int)a[1]; yy < (int)b[1]; yy++)
            for (int xx = (int)a[0]; xx < (int)b[0]; xx++) dot(c, x + xx, y + yy, rgb);
    }
}

static void panel(canvas *c, int top, int height, const long *steps, const double *vals, int n,
                  long max_step, int log_scale, const char *title, const unsigned char rgb[3]) {
    const unsigned char axis[3] = {60, 60, 60}, grid[3] = {225, 225, 225}, ink[3] = {20, 20, 20};
    int left = 70, right = PW - 20, bottom = top + height;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        double v = log_scale ? log10(vals[i]) : vals[i] * 100;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
    }
    if (!log_scale) { lo = 0; hi = 100; }
    if (n == 0) { lo = 0; hi = 1; }
    if (hi - lo < 1e-6) { hi += 0.5; lo -= 0.5; }
    char lab[64];
    for (int k = 0; k <= 4; k++) {
        int y = bottom - k * height / 4;
        line(c, left, y, right, y, grid);
        double v = lo + (hi - lo) * k / 4;
        if (log_scale) snprintf(lab, sizeof lab, "%.3g", pow(10, v));
        else snprintf(lab, sizeof lab, "%.0f%%", v);
        text(c, 8, y - 4, lab, ink);
    }
    line(c, left, top, left, bottom, axis);
    line(c, left, bottom, right, bottom, axis);
    text(c, left + 8, top - 14, title, ink);
    snprintf(lab, sizeof lab, "step %ld", max_step);
    text(c, right - 80, bottom + 6, lab, ink);
    int px = -1, py = -1;
    for (int i = 0; i < n; i++) {
        double v = log_scale ? log10(vals[i]) : vals[i] * 100;
        int x = left + (int)((double)(right - left) * steps[i] / (double)(max_step > 0 ? max_step : 1));
        int y = bottom - (int)((v - lo) / (hi - lo) * height);
        if (px >= 0) line(c, px, py, x, y, rgb);
        else dot(c, x, y, rgb);
        px = x;
        py = y;
    }
}

crnn_status plot_write(const plot_series *p, const char *path, crnn_error *err) {
    canvas c;
    c.px = malloc((size_t)PW * PH * 3);
    if (!c.px) return set_error(err, CRNN_ERR_NOMEM, "out of memory for the plot");
    memset(c.px, 255, (size_t)PW * PH * 3);
    long max_step = 1;
    for (int i = 0; i < p->n_loss; i++) if (p->loss_step[i] > max_step) max_step = p->loss_step[i];
    for (int i = 0; i < p->n_val; i++) if (p->val_step[i] > max_step) max_step = p->val_step[i];
    const unsigned char blue[3] = {30, 90, 200}, green[3] = {20, 150, 60};
    panel(&c, 30, 220, p->loss_step, p->loss, p->n_loss, max_step, 1, "training loss (CTC, log scale)", blue);
    if (p->n_val > 0) {
        panel(&c, 310, 220, p->val_step, p->val, p->n_val, max_step, 0,
              "validation word accuracy (case-insensitive, 0-9a-z)", green);
    } else { /* no axes to read meaning into: say why the panel is empty */
        const unsigned char ink[3] = {20, 20, 20};
        text(&c, 78, 296, "validation word accuracy (case-insensitive, 0-9a-z)", ink);
        text(&c, 78, 410, "no validation yet (none before the first --val-every steps; "
                          "none at all without --val)", ink);
    }
    /* Written beside the target and renamed, so a viewer never sees half a file. */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.png", path);
    int ok = stbi_write_png(tmp, PW, PH, 3, c.px, PW * 3);
    free(c.px);
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return set_error(err, CRNN_ERR_IO, "%s: cannot write the plot", path);
    }
    return CRNN_OK;
}

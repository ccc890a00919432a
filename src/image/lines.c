/* lines.c — a simple splitter of a crop into text lines, by rows of ink.

   The network reads one line: two stacked words read as garbage ("Recte"). So before
   recognition a crop is binarised (Otsu's threshold; the ink is the class the border is not
   made of), the ink of each row is counted (the horizontal projection profile), and runs of
   rows with ink are the bands. A band at least half as tall as the tallest is a line; smaller
   ones (descenders, underlines, dots, accents, noise) belong to the line they sit beside. Two
   lines are cut apart at the middle of the longest empty run of rows between them, when that
   run is at least LINES_MIN_GAP_FRACTION of the shorter line's height. Each line's ink rows
   are reported too (the recogniser trims loose margins off long lines with them).

   This is not a text detector: it finds lines that are stacked with clear space between
   them and span the crop's width; tilted, curved, touching or side-by-side lines stay one
   line, and it errs toward one. */
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

/* A row counts as empty when its ink is at most this fraction of the inkiest row's: noise
   and the tips of a neighbour's strokes do not close a gap. */
#define LINES_EMPTY_ROW_FRACTION 0.04
/* A band is a line when it is at least this fraction as tall as the tallest band. */
#define LINES_MIN_HEIGHT_FRACTION 0.5
/* The gap between two lines must be at least this fraction of the shorter one's height. */
#define LINES_MIN_GAP_FRACTION 0.12
/* The border must be at least this much one class (the background). */
#define LINES_MIN_BORDER_AGREEMENT 0.8
/* A band whose rows are more ink than this is a bar or a patch: the crop is left whole. */
#define LINES_MAX_INK_DENSITY 0.6
/* Below this contrast between ink and background (grey levels), the crop is not split. */
#define LINES_MIN_CONTRAST 40
/* Nor are crops under this many rows, or lines under this many rows. */
#define LINES_MIN_LINE_ROWS 6

/* Otsu's threshold of a 256-bin histogram: the level t that best separates v <= t from v > t
   (maximum between-class variance). Returns -1 when there is only one level. */
static int otsu_threshold(const long *hist, long n, double *mean_lo, double *mean_hi) {
    double total = 0;
    for (int v = 0; v < 256; v++) total += (double)v * hist[v];
    double sum_lo = 0, best = -1;
    long n_lo = 0;
    int t_best = -1;
    for (int t = 0; t < 255; t++) {
        n_lo += hist[t];
        sum_lo += (double)t * hist[t];
        long n_hi = n - n_lo;
        if (n_lo == 0 || n_hi == 0) continue;
        double m_lo = sum_lo / n_lo, m_hi = (total - sum_lo) / n_hi;
        double between = (double)n_lo * n_hi * (m_lo - m_hi) * (m_lo - m_hi);
        if (between > best) {
            best = between;
            t_best = t;
            *mean_lo = m_lo;
            *mean_hi = m_hi;
        }
    }
    return t_best;
}

/* Where line->top..bottom holds ink: the rows with more than a trace of it (so that
   ascenders and descenders count), and the columns with any. */
static void ink_extent(const crnn_image *img, int t, int ink_is_dark, const int *profile,
                       int trace, image_line *line) {
    int a = line->top, b = line->bottom;
    while (a < b && profile[a] <= trace) a++;
    while (b > a && profile[b - 1] <= trace) b--;
    if (a == b) return; /* no ink: the whole line, as it is */
    line->ink_top = a;
    line->ink_bottom = b;
    int left = img->width, right = 0;
    for (int y = a; y < b; y++) {
        const uint8_t *row = img->pixels + (size_t)y * img->stride;
        for (int x = 0; x < left; x++)
            if ((row[x] <= t) == ink_is_dark) {
                left = x;
                break;
            }
        for (int x = img->width - 1; x >= right; x--)
            if ((row[x] <= t) == ink_is_dark) {
                right = x + 1;
                break;
            }
    }
    if (left < right) {
        line->ink_left = left;
        line->ink_right = right;
    }
}

int image_find_lines(const crnn_image *img, image_line *lines_out, int max_lines) {
    const int w = img->width, h = img->height;
    lines_out[0] = (image_line){0, h, 0, h, 0, w};
    if (max_lines < 1 || h < 2 * LINES_MIN_LINE_ROWS || w < 2) return 1;
    long hist[256] = {0};
    for (int y = 0; y < h; y++) {
        const uint8_t *row = img->pixels + (size_t)y * img->stride;
        for (int x = 0; x < w; x++) hist[row[x]]++;
    }
    double mean_lo = 0, mean_hi = 0;
    int t = otsu_threshold(hist, (long)w * h, &mean_lo, &mean_hi);
    if (t < 0 || mean_hi - mean_lo < LINES_MIN_CONTRAST) return 1;
    /* The background is what most of the border is. */
    long border = 0, border_hi = 0;
    for (int x = 0; x < w; x++) {
        border_hi += img->pixels[x] > t;
        border_hi += img->pixels[(size_t)(h - 1) * img->stride + x] > t;
        border += 2;
    }
    for (int y = 0; y < h; y++) {
        border_hi += img->pixels[(size_t)y * img->stride] > t;
        border_hi += img->pixels[(size_t)y * img->stride + w - 1] > t;
        border += 2;
    }
    /* Unless nearly all of the border is one class, which is ink is a guess: leave it. */
    if (border_hi < LINES_MIN_BORDER_AGREEMENT * border &&
        border - border_hi < LINES_MIN_BORDER_AGREEMENT * border)
        return 1;
    int ink_is_dark = 2 * border_hi >= border;

    int *profile = malloc(sizeof(int) * (size_t)h);
    if (!profile) return 0; /* not "one line": a multi-line crop would read as garbage */
    int most = 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = img->pixels + (size_t)y * img->stride;
        int n = 0;
        for (int x = 0; x < w; x++) n += (row[x] <= t) == ink_is_dark;
        profile[y] = n;
        if (n > most) most = n;
    }
    int empty_at_most = (int)(LINES_EMPTY_ROW_FRACTION * most);
    /* Bands: maximal runs of rows with ink. */
    int tallest = 0;
    for (int y = 0; y < h;) {
        if (profile[y] <= empty_at_most) {
            y++;
            continue;
        }
        int y0 = y;
        while (y < h && profile[y] > empty_at_most) y++;
        if (y - y0 > tallest) tallest = y - y0;
    }
    int min_line = (int)(LINES_MIN_HEIGHT_FRACTION * tallest);
    if (min_line < LINES_MIN_LINE_ROWS) min_line = LINES_MIN_LINE_ROWS;
    /* Walk the lines top to bottom; between two, cut in the longest empty run. */
    int lines = 0, prev_end = -1, prev_height = 0;
    int cuts[CRNN_MAX_LINES];
    for (int y = 0; y < h;) {
        if (profile[y] <= empty_at_most) {
            y++;
            continue;
        }
        int y0 = y;
        while (y < h && profile[y] > empty_at_most) y++;
        if (y - y0 < min_line) continue; /* a descender, a dot, an underline, noise */
        long ink = 0;
        for (int r = y0; r < y; r++) ink += profile[r];
        if (ink > LINES_MAX_INK_DENSITY * w * (y - y0)) { /* a bar or a dark patch, not text */
            lines = 0;
            break;
        }
        if (lines > 0) {
            int run = 0, best_run = 0, best_mid = 0;
            for (int r = prev_end; r < y0; r++) {
                run = profile[r] <= empty_at_most ? run + 1 : 0;
                if (run > best_run) {
                    best_run = run;
                    best_mid = r - run / 2;
                }
            }
            int shorter = prev_height < y - y0 ? prev_height : y - y0;
            if (best_run < LINES_MIN_GAP_FRACTION * shorter || lines == max_lines ||
                lines == CRNN_MAX_LINES) {
                /* too close to be two lines: one line, grown */
                prev_end = y;
                prev_height = y - y0 > prev_height ? y - y0 : prev_height;
                continue;
            }
            cuts[lines - 1] = best_mid;
        }
        lines++;
        prev_end = y;
        prev_height = y - y0;
    }
    if (lines < 1) { /* in doubt: one line, as it is */
        free(profile);
        return 1;
    }
    for (int i = 0; i < lines; i++) {
        image_line *ln = &lines_out[i];
        ln->top = i ? cuts[i - 1] : 0;
        ln->bottom = i < lines - 1 ? cuts[i] : h;
        *ln = (image_line){ln->top, ln->bottom, ln->top, ln->bottom, 0, w};
        ink_extent(img, t, ink_is_dark, profile, most / 100, ln);
    }
    free(profile);
    return lines;
}

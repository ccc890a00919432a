/* pasted.c — finding a crop pasted on a flat canvas.

   A crop saved with blank margins (a detector box grown on a canvas, a word pasted onto a
   larger plain image, a letterboxed thumbnail) holds the crop's own rectangle, and the
   rectangle's edge is a hard vertical line beside the text. The model reads such an edge as a
   letter: "ENJOY" with one text height of flat grey either side reads "EENJOYY", "Christian"
   reads "Christianl", even after the margins are trimmed to the ink, because the ink the
   splitter sees is the whole pasted photo. So the recogniser reads the pasted rectangle alone
   (recognizer.c).

   The canvas: the lines of pixels from the image's border inwards that are one colour
   (PASTED_FLAT_FRACTION of their pixels within PASTED_TOLERANCE grey levels of the border's
   median). Where the canvas stops there is either a pasted rectangle or the text itself: a
   word drawn on a plain background (a screenshot) has flat margins too, and keeps them (the
   recogniser trims them to the ink plus a margin of its own). The two differ along the
   border of what is left: text drawn on the canvas touches its ink box only at the strokes'
   ends, so most of that border is still the canvas colour, while a pasted photograph's
   border hardly ever is (at most PASTED_MAX_CANVAS_BORDER of it). */
#include <stddef.h>
#include <stdlib.h>

#include "image/image.h"

/* Grey levels within which a pixel is the canvas colour: a canvas is one colour exactly (a
   photograph's flat-looking areas are not; at 2 levels the peeling already eats into the
   crops of bench/loose_rotated.sh, whose canvas is their border's mean colour). */
#define PASTED_TOLERANCE 1
/* The rectangle's border may be the canvas colour for at most this fraction of its pixels:
   text drawn on the canvas touches its ink box's border only at the strokes' ends, a pasted
   photograph hardly ever matches the canvas exactly. */
#define PASTED_MAX_CANVAS_BORDER 0.5
/* ... nor may its inside be, for more than this fraction: between the strokes of text drawn
   on the canvas, the canvas shows (half the ink box of "IIII", whose border is mostly ink). */
#define PASTED_MAX_CANVAS_INSIDE 0.3
/* A line of the border is canvas when this fraction of it is the canvas colour. */
#define PASTED_FLAT_FRACTION 0.99
/* Nothing smaller is looked at, inside or out. */
#define PASTED_MIN_SIDE 4

/* How many pixels of n, step apart from p, are the canvas colour. */
static int count_canvas(const uint8_t *p, int n, ptrdiff_t step, int canvas) {
    int c = 0;
    for (int i = 0; i < n; i++) c += abs(p[(ptrdiff_t)i * step] - canvas) <= PASTED_TOLERANCE;
    return c;
}

/* The median of the border ring's pixels: the canvas colour when there is a canvas. */
static int border_median(const crnn_image *img) {
    long hist[256] = {0}, n = 0;
    const int w = img->width, h = img->height, s = img->stride;
    for (int x = 0; x < w; x++) {
        hist[img->pixels[x]]++;
        hist[img->pixels[(size_t)(h - 1) * s + x]]++;
    }
    for (int y = 1; y < h - 1; y++) {
        hist[img->pixels[(size_t)y * s]]++;
        hist[img->pixels[(size_t)y * s + w - 1]]++;
    }
    n = 2L * w + 2L * (h - 2);
    long seen = 0;
    for (int v = 0; v < 256; v++)
        if ((seen += hist[v]) * 2 >= n) return v;
    return 255;
}

int image_find_pasted(const crnn_image *img, image_box *box) {
    const int w = img->width, h = img->height, s = img->stride;
    if (w < 3 * PASTED_MIN_SIDE || h < 3 * PASTED_MIN_SIDE) return 0;
    const uint8_t *px = img->pixels;
    const int canvas = border_median(img);
    /* Peel flat columns and rows off each side; rows are judged over the columns left. */
    int left = 0, right = w, top = 0, bottom = h;
    while (right - left > PASTED_MIN_SIDE &&
           count_canvas(px + left, h, s, canvas) >= PASTED_FLAT_FRACTION * h)
        left++;
    while (right - left > PASTED_MIN_SIDE &&
           count_canvas(px + right - 1, h, s, canvas) >= PASTED_FLAT_FRACTION * h)
        right--;
    const int cw = right - left;
    while (bottom - top > PASTED_MIN_SIDE &&
           count_canvas(px + (size_t)top * s + left, cw, 1, canvas) >= PASTED_FLAT_FRACTION * cw)
        top++;
    while (bottom - top > PASTED_MIN_SIDE &&
           count_canvas(px + (size_t)(bottom - 1) * s + left, cw, 1, canvas) >=
               PASTED_FLAT_FRACTION * cw)
        bottom--;
    const int ch = bottom - top;
    if ((left == 0 && right == w && top == 0 && bottom == h) || cw <= PASTED_MIN_SIDE ||
        ch <= PASTED_MIN_SIDE)
        return 0;
    /* The rectangle's border must mostly not be the canvas colour. */
    const uint8_t *corner = px + (size_t)top * s + left;
    long on_canvas = count_canvas(corner, ch, s, canvas) + count_canvas(corner + cw - 1, ch, s, canvas) +
                     count_canvas(corner, cw, 1, canvas) +
                     count_canvas(corner + (size_t)(ch - 1) * s, cw, 1, canvas);
    if (on_canvas > PASTED_MAX_CANVAS_BORDER * 2 * (cw + ch)) return 0;
    on_canvas = 0;
    for (int y = 0; y < ch; y++) on_canvas += count_canvas(corner + (size_t)y * s, cw, 1, canvas);
    if (on_canvas > PASTED_MAX_CANVAS_INSIDE * cw * ch) return 0;
    *box = (image_box){left, top, right, bottom};
    return 1;
}

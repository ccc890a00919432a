/* turn.c — an image turned a quarter clockwise or counter-clockwise, for reading crops of
   vertical signs and of words photographed sideways. */
#include <stdlib.h>

#include "image/image.h"

/* in: w × h, `channels` bytes per pixel, rows stride apart. out: h × w, stride h × channels.
   Clockwise, the left column, read from the bottom up, becomes the top row; counter-clockwise,
   the top row, read from the right, becomes the left column. */
uint8_t *image_turn(const crnn_image *img, int clockwise, crnn_image *out) {
    const int w = img->width, h = img->height, C = image_channels(img);
    uint8_t *px = malloc((size_t)w * (size_t)h * (size_t)C);
    if (!px) return NULL;
    const size_t out_stride = (size_t)h * (size_t)C;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = img->pixels + (size_t)y * (size_t)img->stride;
        for (int x = 0; x < w; x++) {
            /* (x, y) goes to column h-1-y, row x (clockwise) or column y, row w-1-x */
            size_t X = clockwise ? (size_t)(h - 1 - y) : (size_t)y;
            size_t Y = clockwise ? (size_t)x : (size_t)(w - 1 - x);
            uint8_t *dst = px + Y * out_stride + X * (size_t)C;
            for (int c = 0; c < C; c++) dst[c] = row[(size_t)x * (size_t)C + (size_t)c];
        }
    }
    out->width = h;
    out->height = w;
    out->stride = (int)out_stride;
    out->pixels = px;
    out->channels = C;
    return px;
}

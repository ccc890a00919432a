/* decode.c — any format stb_image reads, to 8-bit grey. Dimensions are checked with stbi_info
   before decoding, so a 20-byte file claiming 50000 × 50000 pixels is refused without
   allocating anything. */
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>

#include "util/util.h"

crnn_status crnn_image_decode_memory(const void *data, size_t size, const char *name,
                                     uint8_t **pixels, int *width, int *height, crnn_error *err) {
    *pixels = NULL;
    *width = *height = 0;
    if (!name) name = "(memory)";
    if (size == 0) return set_error(err, CRNN_ERR_IMAGE, "%s: empty file", name);
    if (size > CRNN_MAX_IMAGE_FILE_BYTES || size > 0x7fffffff)
        return set_error(err, CRNN_ERR_LIMIT, "%s: %zu bytes exceeds the %u-byte limit", name, size,
                         CRNN_MAX_IMAGE_FILE_BYTES);
    int w, h, comp;
    if (!stbi_info_from_memory(data, (int)size, &w, &h, &comp))
        return set_error(err, CRNN_ERR_IMAGE, "%s: not a readable image (%s)", name,
                         stbi_failure_reason() ? stbi_failure_reason() : "unknown format");
    if (w < 1 || h < 1)
        return set_error(err, CRNN_ERR_IMAGE, "%s: image has no pixels (%d x %d)", name, w, h);
    if (w > CRNN_MAX_IMAGE_SIDE || h > CRNN_MAX_IMAGE_SIDE ||
        (uint64_t)w * (uint64_t)h > CRNN_MAX_IMAGE_PIXELS)
        return set_error(err, CRNN_ERR_LIMIT, "%s: %d x %d pixels exceeds the limit (%d per side, "
                         "%u in all)", name, w, h, CRNN_MAX_IMAGE_SIDE, CRNN_MAX_IMAGE_PIXELS);
    int ww, hh, got;
    /* Grey + alpha: transparent pixels are composited below, not read as black. */
    unsigned char *ga = stbi_load_from_memory(data, (int)size, &ww, &hh, &got, 2);
    if (!ga)
        return set_error(err, CRNN_ERR_IMAGE, "%s: cannot decode (%s)", name,
                         stbi_failure_reason() ? stbi_failure_reason() : "corrupt data");
    if (ww != w || hh != h) {
        stbi_image_free(ga);
        return set_error(err, CRNN_ERR_IMAGE, "%s: decoded size differs from header", name);
    }
    size_t n = (size_t)w * h;
    uint8_t *grey = malloc(n);
    if (!grey) {
        stbi_image_free(ga);
        return set_error(err, CRNN_ERR_NOMEM, "%s: out of memory for %d x %d pixels", name, w, h);
    }
    int has_alpha = got == 2 || got == 4;
    if (has_alpha) {
        /* Composite on the background that contrasts with the visible ink: light ink goes on
           black, dark ink on white. */
        double sum = 0, wsum = 0;
        for (size_t i = 0; i < n; i++) {
            sum += (double)ga[2 * i] * ga[2 * i + 1];
            wsum += ga[2 * i + 1];
        }
        int bg = (wsum > 0 && sum / wsum > 127.5) ? 0 : 255;
        for (size_t i = 0; i < n; i++) {
            int a = ga[2 * i + 1];
            grey[i] = (uint8_t)((ga[2 * i] * a + bg * (255 - a) + 127) / 255);
        }
    } else {
        for (size_t i = 0; i < n; i++) grey[i] = ga[2 * i];
    }
    stbi_image_free(ga);
    *pixels = grey;
    *width = w;
    *height = h;
    return CRNN_OK;
}

crnn_status crnn_image_decode_file(const char *path, uint8_t **pixels, int *width, int *height,
                                   crnn_error *err) {
    unsigned char *data;
    size_t size;
    *pixels = NULL;
    crnn_status s = read_file(path, CRNN_MAX_IMAGE_FILE_BYTES, &data, &size, err);
    if (s != CRNN_OK) return s;
    s = crnn_image_decode_memory(data, size, path, pixels, width, height, err);
    free(data);
    return s;
}

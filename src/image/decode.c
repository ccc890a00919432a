/* decode.c — any format stb_image reads, to 8-bit grey or RGB. Dimensions are checked with
   stbi_info before decoding, so a 20-byte file claiming 50000 × 50000 pixels is refused
   without allocating anything. */
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>

#include "image/image.h"
#include "util/util.h"

/* stb_image refuses a PNG header of 50000 x 50000 as it should, but then tries the other
   formats and reports "unknown image type". Reading the IHDR says what is really wrong. */
static int png_header_size(const unsigned char *p, size_t size, uint32_t *w, uint32_t *h) {
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (size < 24 || memcmp(p, sig, 8) != 0 || memcmp(p + 12, "IHDR", 4) != 0) return 0;
    *w = (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 | (uint32_t)p[18] << 8 | p[19];
    *h = (uint32_t)p[20] << 24 | (uint32_t)p[21] << 16 | (uint32_t)p[22] << 8 | p[23];
    return 1;
}

/* Formats people have that stb_image does not read, by their signatures: named in the
   refusal, so that "unknown image type" does not leave one guessing. */
static const char *unread_format(const unsigned char *p, size_t size) {
    if (size >= 4 && (!memcmp(p, "II*\0", 4) || !memcmp(p, "MM\0*", 4))) return "TIFF";
    if (size >= 12 && !memcmp(p, "RIFF", 4) && !memcmp(p + 8, "WEBP", 4)) return "WebP";
    if (size >= 12 && !memcmp(p + 4, "ftyp", 4)) {
        if (!memcmp(p + 8, "avif", 4) || !memcmp(p + 8, "avis", 4)) return "AVIF";
        if (!memcmp(p + 8, "hei", 3) || !memcmp(p + 8, "mif1", 4) || !memcmp(p + 8, "msf1", 4))
            return "HEIF/HEIC";
        if (!memcmp(p + 8, "jp2 ", 4)) return "JPEG 2000";
    }
    if (size >= 12 && !memcmp(p, "\0\0\0\x0cjP  ", 8)) return "JPEG 2000";
    if ((size >= 2 && p[0] == 0xff && p[1] == 0x0a) ||
        (size >= 12 && !memcmp(p, "\0\0\0\x0cJXL ", 8)))
        return "JPEG XL";
    if (size >= 4 && !memcmp(p, "\0\0\1\0", 4)) return "ICO";
    if (size >= 5 && !memcmp(p, "%PDF-", 5)) return "PDF";
    if (size >= 5 && (!memcmp(p, "<?xml", 5) || !memcmp(p, "<svg", 4))) return "SVG (XML)";
    return NULL;
}

crnn_status crnn_image_decode_memory_channels(const void *data, size_t size, const char *name,
                                              int channels, uint8_t **pixels, int *width,
                                              int *height, crnn_error *err) {
    *pixels = NULL;
    *width = *height = 0;
    if (!name) name = "(memory)";
    if (channels != 1 && channels != 3)
        return set_error(err, CRNN_ERR_ARG, "%s: cannot decode to %d channels (1 or 3)", name, channels);
    if (size == 0) return set_error(err, CRNN_ERR_IMAGE, "%s: empty file", name);
    if (size > CRNN_MAX_IMAGE_FILE_BYTES || size > 0x7fffffff)
        return set_error(err, CRNN_ERR_LIMIT, "%s: %zu bytes exceeds the %u-byte limit", name, size,
                         CRNN_MAX_IMAGE_FILE_BYTES);
    crnn_status s = image_check_header(data, size, name, err);
    if (s != CRNN_OK) return s;
    int w, h, comp;
    uint32_t pw, ph;
    if (!stbi_info_from_memory(data, (int)size, &w, &h, &comp)) {
        if (png_header_size(data, size, &pw, &ph) &&
            (pw > CRNN_MAX_IMAGE_SIDE || ph > CRNN_MAX_IMAGE_SIDE ||
             (uint64_t)pw * ph > CRNN_MAX_IMAGE_PIXELS))
            return set_error(err, CRNN_ERR_LIMIT, "%s: PNG header claims %u x %u pixels, over "
                             "the limit (%d per side, %u in all)", name, pw, ph,
                             CRNN_MAX_IMAGE_SIDE, CRNN_MAX_IMAGE_PIXELS);
        const char *format = unread_format(data, size);
        if (format)
            return set_error(err, CRNN_ERR_IMAGE, "%s: %s images are not read; convert it to "
                             "one of " IMAGE_FORMATS_READ, name, format);
        return set_error(err, CRNN_ERR_IMAGE, "%s: not a readable image (%s); the formats read "
                         "are " IMAGE_FORMATS_READ, name,
                         stbi_failure_reason() ? stbi_failure_reason() : "unknown format");
    }
    if (w < 1 || h < 1)
        return set_error(err, CRNN_ERR_IMAGE, "%s: image has no pixels (%d x %d)", name, w, h);
    if (w > CRNN_MAX_IMAGE_SIDE || h > CRNN_MAX_IMAGE_SIDE ||
        (uint64_t)w * (uint64_t)h > CRNN_MAX_IMAGE_PIXELS)
        return set_error(err, CRNN_ERR_LIMIT, "%s: %d x %d pixels exceeds the limit (%d per side, "
                         "%u in all)", name, w, h, CRNN_MAX_IMAGE_SIDE, CRNN_MAX_IMAGE_PIXELS);
    s = image_check_data(data, size, w, h, name, err); /* what stb_image trusts */
    if (s != CRNN_OK) return s;
    int ww, hh, got;
    /* With alpha: transparent pixels are composited below, not read as black. */
    const int in = channels + 1; /* grey + alpha, or RGBA */
    unsigned char *src = image_load_alpha(data, size, &ww, &hh, &got, channels == 3);
    if (!src)
        return set_error(err, CRNN_ERR_IMAGE, "%s: cannot decode (%s)", name,
                         stbi_failure_reason() ? stbi_failure_reason() : "corrupt data");
    if (ww != w || hh != h) {
        stbi_image_free(src);
        return set_error(err, CRNN_ERR_IMAGE, "%s: decoded size differs from header", name);
    }
    size_t n = (size_t)w * h;
    uint8_t *out = malloc(n * (size_t)channels);
    if (!out) {
        stbi_image_free(src);
        return set_error(err, CRNN_ERR_NOMEM, "%s: out of memory for %d x %d pixels", name, w, h);
    }
    int has_alpha = got == 2 || got == 4;
    int bg = 0;
    if (has_alpha) {
        /* Composite on the background that contrasts with the visible ink: light ink goes on
           black, dark ink on white (judged by brightness, with stb_image's grey weights). */
        double sum = 0, wsum = 0;
        for (size_t i = 0; i < n; i++) {
            const unsigned char *p = src + (size_t)in * i;
            int y = channels == 3 ? (p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8 : p[0];
            sum += (double)y * p[in - 1];
            wsum += p[in - 1];
        }
        bg = (wsum > 0 && sum / wsum > 127.5) ? 0 : 255;
    }
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = src + (size_t)in * i;
        int a = has_alpha ? p[in - 1] : 255;
        for (int k = 0; k < channels; k++)
            out[(size_t)channels * i + (size_t)k] =
                has_alpha ? (uint8_t)((p[k] * a + bg * (255 - a) + 127) / 255) : p[k];
    }
    stbi_image_free(src);
    *pixels = out;
    *width = w;
    *height = h;
    return CRNN_OK;
}

crnn_status crnn_image_decode_file_channels(const char *path, int channels, uint8_t **pixels,
                                            int *width, int *height, crnn_error *err) {
    unsigned char *data;
    size_t size;
    *pixels = NULL;
    crnn_status s = read_file(path, CRNN_MAX_IMAGE_FILE_BYTES, &data, &size, err);
    if (s != CRNN_OK) return s;
    s = crnn_image_decode_memory_channels(data, size, path, channels, pixels, width, height, err);
    free(data);
    return s;
}

crnn_status crnn_image_decode_memory(const void *data, size_t size, const char *name,
                                     uint8_t **pixels, int *width, int *height, crnn_error *err) {
    return crnn_image_decode_memory_channels(data, size, name, 1, pixels, width, height, err);
}

crnn_status crnn_image_decode_file(const char *path, uint8_t **pixels, int *width, int *height,
                                   crnn_error *err) {
    return crnn_image_decode_file_channels(path, 1, pixels, width, height, err);
}

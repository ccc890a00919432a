/* check.c — what an image file must be before stb_image decodes it.

   stb_image is written for trusted files. On untrusted ones (measured with Debian's libstb
   2.27, see docs/hardening.md) it
   - decodes files truncated anywhere after the header as if the missing bytes were zero: a
     17-byte PGM, a 54-byte BMP or a 40-byte PSD claiming 8000 × 8000 pixels "decode" to 64 MP
     of black, taking 180–610 MB and up to 3 s — and a truncated photo comes out as a grey
     picture instead of an error;
   - lets a PNG's compressed data grow without bound: a 1 MB PNG of 1 × 1 pixels inflates to
     1 GB before the decoder notices the extra bytes (and then accepts it);
   - runs every scan of a progressive JPEG over the whole image, with no limit on their
     number: a 20 kB file of 2000 empty scans over 8000 × 8000 pixels takes 24 s.
   So before decoding, each format's structure is walked just far enough to know that the data
   the header promises can be there (a lower bound on the bytes that w × h pixels need in that
   format), that a PNG inflates to no more than its pixels need, and that a JPEG has a bounded
   number of scans and an end. Formats are recognised by their signatures; only those the API
   documents are accepted. */
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>

#include "image/image.h"
#include "util/util.h"

static int pnm_parse(const unsigned char *d, size_t size, size_t *data_at);

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint32_t be16(const unsigned char *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t le16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const unsigned char *p) { return le16(p) | le16(p + 2) << 16; }

/* ---- PNG ---------------------------------------------------------------------------------- */

/* Exact size of the filtered scanlines of a w × h image, interlaced (Adam7) or not. */
static uint64_t png_raw_bytes(uint64_t w, uint64_t h, unsigned bits_per_pixel, int interlaced) {
    if (!interlaced) return h * (1 + (w * bits_per_pixel + 7) / 8);
    static const int x0[7] = {0, 4, 0, 2, 0, 1, 0}, y0[7] = {0, 0, 4, 0, 2, 0, 1};
    static const int dx[7] = {8, 8, 4, 4, 2, 2, 1}, dy[7] = {8, 8, 8, 4, 4, 2, 2};
    uint64_t total = 0;
    for (int p = 0; p < 7; p++) {
        uint64_t pw = w > (uint64_t)x0[p] ? (w - x0[p] + dx[p] - 1) / dx[p] : 0;
        uint64_t ph = h > (uint64_t)y0[p] ? (h - y0[p] + dy[p] - 1) / dy[p] : 0;
        if (pw && ph) total += ph * (1 + (pw * bits_per_pixel + 7) / 8);
    }
    return total;
}

static crnn_status check_png(const unsigned char *d, size_t size, const char *name,
                             crnn_error *err) {
    size_t pos = 8, idat_total = 0;
    int iphone = 0, have_ihdr = 0, have_iend = 0, interlaced = 0;
    uint32_t w = 0, h = 0;
    unsigned bpp = 0;
    while (pos + 8 <= size) {
        uint32_t len = be32(d + pos);
        const unsigned char *type = d + pos + 4;
        if (len > size - pos - 8 || size - pos - 8 - len < 4)
            return set_error(err, CRNN_ERR_IMAGE, "%s: truncated PNG: chunk '%.4s' needs %u bytes, "
                             "%zu left", name, (const char *)type, len + 4, size - pos - 8);
        const unsigned char *body = d + pos + 8;
        if (!memcmp(type, "CgBI", 4)) iphone = 1;
        if (!memcmp(type, "IHDR", 4) && len >= 13 && !have_ihdr) { /* stb reads the first */
            have_ihdr = 1;
            w = be32(body);
            h = be32(body + 4);
            unsigned depth = body[8], ctype = body[9];
            unsigned channels = ctype == 0 ? 1 : ctype == 2 ? 3 : ctype == 3 ? 1 : ctype == 4 ? 2 : 4;
            bpp = depth * channels;
            interlaced = body[12] == 1;
        }
        if (!memcmp(type, "IDAT", 4)) idat_total += len;
        pos += 12 + (size_t)len;
        if (!memcmp(type, "IEND", 4)) {
            have_iend = 1;
            break;
        }
    }
    if (!have_iend)
        return set_error(err, CRNN_ERR_IMAGE, "%s: truncated PNG: no IEND chunk after %zu bytes",
                         name, size);
    if (!have_ihdr || !idat_total || bpp == 0 || bpp > 64)
        return CRNN_OK; /* stb_image explains what is missing */
    /* Deflate expands at most 1032:1. Only if the data could inflate to more than the pixels
       need (plus slack for encoders that write a few bytes too many, which stb accepts) is it
       inflated once here, into a buffer of exactly that size that cannot grow. */
    uint64_t need = png_raw_bytes(w, h, bpp, interlaced);
    uint64_t allowed = need + IMAGE_PNG_INFLATE_SLACK;
    if ((uint64_t)idat_total * 1032 + 1024 <= allowed) return CRNN_OK;
    unsigned char *idat = malloc(idat_total);
    char *out = malloc((size_t)allowed);
    if (!idat || !out) {
        free(idat);
        free(out);
        return set_error(err, CRNN_ERR_NOMEM, "%s: out of memory checking %d x %d pixels", name,
                         (int)w, (int)h);
    }
    size_t off = 0;
    for (pos = 8; pos + 12 <= size;) {
        uint32_t len = be32(d + pos);
        if (!memcmp(d + pos + 4, "IDAT", 4)) {
            memcpy(idat + off, d + pos + 8, len);
            off += len;
        }
        if (!memcmp(d + pos + 4, "IEND", 4)) break;
        pos += 12 + (size_t)len;
    }
    int got = iphone ? stbi_zlib_decode_noheader_buffer(out, (int)allowed, (const char *)idat,
                                                         (int)idat_total)
                     : stbi_zlib_decode_buffer(out, (int)allowed, (const char *)idat,
                                               (int)idat_total);
    free(idat);
    free(out);
    if (got < 0) {
        const char *why = stbi_failure_reason();
        if (why && !strcmp(why, "output buffer limit"))
            return set_error(err, CRNN_ERR_LIMIT, "%s: PNG data inflates to more than the %llu "
                             "bytes its %u x %u pixels need (a decompression bomb?)", name,
                             (unsigned long long)need, w, h);
        return set_error(err, CRNN_ERR_IMAGE, "%s: corrupt PNG data (%s)", name,
                         why ? why : "inflate failed");
    }
    return CRNN_OK;
}

/* ---- JPEG --------------------------------------------------------------------------------- */

/* Where a JPEG's segments begin (after its start-of-image marker), or 0 if it is not one. As
   stb_image tests it: 0xFF, any number of 0xFF fill bytes, then 0xD8. */
static size_t jpeg_start(const unsigned char *d, size_t size) {
    if (size < 2 || d[0] != 0xFF) return 0;
    size_t k = 1;
    while (k < size && d[k] == 0xFF) k++;
    return k < size && d[k] == 0xD8 ? k + 1 : 0;
}

static crnn_status check_jpeg(const unsigned char *d, size_t size, const char *name,
                              crnn_error *err) {
    size_t pos = jpeg_start(d, size), entropy = 0;
    int scans = 0;
    uint32_t w = 0, h = 0;
    for (;;) {
        /* the next marker: 0xFF (fill bytes allowed), then its code. Like stb_image, skip any
           other bytes before it: files with padding between segments exist, and a check that
           lost step with the decoder here would miss the segments the decoder does read
           (found by fuzzing: a bad Huffman table behind two stray bytes). */
        while (pos < size && d[pos] != 0xFF) pos++;
        while (pos < size && d[pos] == 0xFF) pos++;
        if (pos >= size) break;
        unsigned m = d[pos++];
        if (m == 0xD9) { /* EOI */
            /* Every block has at least one bit in the first scan of its DC coefficient; less
               entropy-coded data than that is a file cut short and padded by the decoder. */
            uint64_t blocks = (uint64_t)((w + 7) / 8) * (uint64_t)((h + 7) / 8);
            if ((uint64_t)entropy * 8 < blocks)
                return set_error(err, CRNN_ERR_IMAGE, "%s: truncated JPEG: %u x %u pixels need at "
                                 "least %llu bytes of image data, the file has %zu", name, w, h,
                                 (unsigned long long)((blocks + 7) / 8), entropy);
            return CRNN_OK;
        }
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) continue; /* no length: TEM, RSTn, SOI */
        if (pos + 2 > size) break;
        uint32_t len = be16(d + pos);
        if (len < 2 || len > size - pos) break;
        const unsigned char *body = d + pos + 2;
        size_t body_len = len - 2;
        pos += len;
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC && !w && body_len >= 5) {
            h = be16(body + 1); /* the first frame header is the one decoded */
            w = be16(body + 3);
        }
        if (m == 0xC4) {
            /* stb_image 2.27 builds each Huffman table into arrays of 257 code lengths and 256
               values without checking that the 16 counts add up to at most 256: a larger sum
               writes past them (heap corruption, found by fuzzing). */
            /* Tables are read the way stb_image reads them: while the segment has bytes left,
               a table header of 17 bytes, even where it runs past the segment (bytes past the
               end of the file read as 0). */
            size_t base = (size_t)(body - d);
            for (long left = (long)body_len, t = 0; left > 0;) {
                unsigned n = 0;
                for (int k = 1; k <= 16; k++) {
                    size_t at = base + (size_t)t + (size_t)k;
                    n += at < size ? d[at] : 0;
                }
                if (n > 256)
                    return set_error(err, CRNN_ERR_IMAGE, "%s: corrupt JPEG: a Huffman table "
                                     "declares %u codes (at most 256)", name, n);
                left -= 17 + (long)n;
                t += 17 + (long)n;
            }
        }
        if (m != 0xDA) continue;
        if (++scans > IMAGE_MAX_JPEG_SCANS)
            return set_error(err, CRNN_ERR_LIMIT, "%s: JPEG has more than %d scans (each one is "
                             "a pass over every pixel)", name, IMAGE_MAX_JPEG_SCANS);
        /* entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or RSTn */
        size_t start = pos;
        while (pos + 1 < size &&
               !(d[pos] == 0xFF && d[pos + 1] != 0x00 && !(d[pos + 1] >= 0xD0 && d[pos + 1] <= 0xD7)))
            pos++;
        entropy += pos - start;
        if (pos + 1 >= size) break;
    }
    return set_error(err, CRNN_ERR_IMAGE, "%s: truncated JPEG: the data ends before the "
                     "end-of-image marker (%zu bytes)", name, size);
}

/* ---- formats with a plain data layout: the pixels must at least fit in the file ---------- */

static crnn_status need_bytes(uint64_t need, size_t size, const char *name, const char *format,
                              int w, int h, crnn_error *err) {
    if (need <= size) return CRNN_OK;
    return set_error(err, CRNN_ERR_IMAGE, "%s: truncated %s: %d x %d pixels need at least %llu "
                     "bytes, the file has %zu", name, format, w, h, (unsigned long long)need,
                     size);
}

static crnn_status check_bmp(const unsigned char *d, size_t size, int w, int h, const char *name,
                             crnn_error *err) {
    if (size < 30) return CRNN_OK; /* stb_image has already refused it */
    uint32_t hsz = le32(d + 14);
    unsigned bpp = hsz == 12 ? le16(d + 24) : le16(d + 28);
    uint32_t compression = hsz >= 40 && size >= 34 ? le32(d + 30) : 0;
    if (compression != 0 && compression != 3) return CRNN_OK; /* stb_image refuses RLE BMP */
    uint64_t row = ((uint64_t)w * bpp + 31) / 32 * 4, last = ((uint64_t)w * bpp + 7) / 8;
    return need_bytes(14 + (uint64_t)hsz + row * (uint64_t)(h - 1) + last, size, name, "BMP", w, h,
                      err);
}

static crnn_status check_tga(const unsigned char *d, size_t size, int w, int h, const char *name,
                             crnn_error *err) {
    if (size < 18) return CRNN_OK;
    unsigned type = d[2], bytes = (d[16] + 7u) / 8u;
    uint64_t start = 18 + (uint64_t)d[0];
    if (d[1]) start += (uint64_t)le16(d + 5) * ((d[7] + 7u) / 8u); /* colour map */
    uint64_t px = (uint64_t)w * (uint64_t)h;
    /* RLE: one header byte and one pixel for up to 128 pixels */
    uint64_t need = type >= 9 ? start + (px + 127) / 128 * (1 + bytes) : start + px * bytes;
    return need_bytes(need, size, name, "TGA", w, h, err);
}

static crnn_status check_psd(const unsigned char *d, size_t size, int w, int h, const char *name,
                             crnn_error *err) {
    if (size < 26) return CRNN_OK;
    uint64_t channels = be16(d + 12), depth = be16(d + 22);
    uint64_t pos = 26;
    for (int section = 0; section < 3; section++) { /* colour mode, resources, layers */
        if (pos + 4 > size) return need_bytes(pos + 4, size, name, "PSD", w, h, err);
        pos += 4 + (uint64_t)be32(d + pos);
    }
    if (pos + 2 > size) return need_bytes(pos + 2, size, name, "PSD", w, h, err);
    unsigned compression = be16(d + pos);
    pos += 2;
    uint64_t used = channels < 4 ? channels : 4; /* stb_image reads at most 4 channels */
    uint64_t need;
    if (compression == 1) /* RLE: 2-byte row counts, then at least 2 bytes per 128 pixels */
        need = pos + 2 * (uint64_t)h * channels + used * (uint64_t)h * (((uint64_t)w + 127) / 128) * 2;
    else
        need = pos + used * (uint64_t)w * (uint64_t)h * (depth / 8 ? depth / 8 : 1);
    return need_bytes(need, size, name, "PSD", w, h, err);
}

static crnn_status check_hdr(size_t size, int w, int h, const char *name, crnn_error *err) {
    /* flat: 4 bytes a pixel; run-length: each line a 4-byte header and, per component, at
       least 2 bytes per 127 pixels */
    uint64_t line = (w < 8 || w >= 32768) ? 4 * (uint64_t)w : 4 + 8 * (((uint64_t)w + 126) / 127);
    return need_bytes(line * (uint64_t)h, size, name, "HDR", w, h, err);
}

static crnn_status check_pnm(const unsigned char *d, size_t size, int w, int h, const char *name,
                             crnn_error *err) {
    uint64_t channels = d[1] == '6' ? 3 : 1;
    uint64_t sample = stbi_is_16_bit_from_memory(d, (int)size) ? 2 : 1;
    size_t at = 0;
    pnm_parse(d, size, &at);
    return need_bytes(at + channels * sample * (uint64_t)w * (uint64_t)h, size, name, "PNM", w, h,
                      err);
}

/* ---- before stbi_info ------------------------------------------------------------------- */

/* stb_image 2.27 reads a PNM header's numbers into an int with no overflow check (undefined
   behaviour, found by fuzzing: "P5 3 33333333333333"; fixed upstream in 2.28, not in Debian 12's
   libstb). Its parse is replayed here, same steps, each number bounded: returns the index of
   the first number that is too large (0 width, 1 height, 2 maximum value), or -1 with
   *data_at = where stb_image starts reading pixels. */
static int pnm_parse(const unsigned char *d, size_t size, size_t *data_at) {
    size_t pos = 2;
#define PNM_EOF (pos >= size)
#define PNM_GET8() (pos < size ? d[pos++] : 0)
    unsigned char c = PNM_GET8();
    for (int field = 0; field < 3; field++) {
        for (;;) { /* whitespace, then comments to the end of their line */
            while (!PNM_EOF && (c == ' ' || (c >= '\t' && c <= '\r'))) c = PNM_GET8();
            if (PNM_EOF || c != '#') break;
            while (!PNM_EOF && c != '\n' && c != '\r') c = PNM_GET8();
        }
        long value = 0;
        while (!PNM_EOF && c >= '0' && c <= '9') {
            value = value * 10 + (c - '0');
            if (value > 16777216) return field; /* stb's own dimension cap; maxval ≤ 65535 */
            c = PNM_GET8();
        }
    }
#undef PNM_EOF
#undef PNM_GET8
    *data_at = pos;
    return -1;
}

static crnn_status check_pnm_header(const unsigned char *d, size_t size, const char *name,
                                    crnn_error *err) {
    size_t at;
    int field = pnm_parse(d, size, &at);
    if (field >= 0)
        return set_error(err, CRNN_ERR_IMAGE, "%s: PNM header: %s is too large", name,
                         field == 0 ? "width" : field == 1 ? "height" : "maximum value");
    return CRNN_OK;
}

crnn_status image_check_header(const unsigned char *d, size_t size, const char *name,
                               crnn_error *err) {
    if (size >= 2 && d[0] == 'P' && (d[1] == '5' || d[1] == '6'))
        return check_pnm_header(d, size, name, err);
    /* stb_image reads a JPEG's Huffman tables already in stbi_info: the whole structure is
       checked here, first. */
    if (jpeg_start(d, size)) return check_jpeg(d, size, name, err);
    return CRNN_OK;
}

crnn_status image_check_data(const unsigned char *d, size_t size, int w, int h, const char *name,
                             crnn_error *err) {
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (size >= 8 && !memcmp(d, png_sig, 8)) return check_png(d, size, name, err);
    if (jpeg_start(d, size)) return CRNN_OK; /* checked whole by image_check_header */
    if (size >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6))) return CRNN_OK;
    if (size >= 2 && d[0] == 'B' && d[1] == 'M') return check_bmp(d, size, w, h, name, err);
    if (size >= 4 && !memcmp(d, "8BPS", 4)) return check_psd(d, size, w, h, name, err);
    if (size >= 2 && d[0] == 'P' && (d[1] == '5' || d[1] == '6'))
        return check_pnm(d, size, w, h, name, err);
    if ((size >= 11 && !memcmp(d, "#?RADIANCE\n", 11)) || (size >= 7 && !memcmp(d, "#?RGBE\n", 7)))
        return check_hdr(size, w, h, name, err);
    if (size >= 4 && be32(d) == 0x5380F634)
        return set_error(err, CRNN_ERR_IMAGE, "%s: Softimage PIC images are not supported", name);
    /* stb_image recognised it and it has none of the signatures above: by elimination a TGA,
       the one format without a signature. */
    return check_tga(d, size, w, h, name, err);
}

/* stb_image 2.27 converts a 16-bit PNM to another channel count with its 8-bit routine and
   then reads twice the result's size when narrowing to 8 bits (heap overflow, found by
   fuzzing). A PNM is therefore loaded with its own channel count, then converted here; every
   other format goes to stb_image's own conversion directly. */
unsigned char *image_load_alpha(const unsigned char *d, size_t size, int *w, int *h,
                                int *channels, int rgb) {
    const int want = rgb ? 4 : 2;
    if (!(size >= 2 && d[0] == 'P' && (d[1] == '5' || d[1] == '6')))
        return stbi_load_from_memory(d, (int)size, w, h, channels, want);
    int n = d[1] == '6' ? 3 : 1;
    unsigned char *px = stbi_load_from_memory(d, (int)size, w, h, channels, n);
    if (!px) return NULL;
    size_t count = (size_t)*w * (size_t)*h;
    unsigned char *out = malloc((size_t)want * count);
    if (!out) {
        stbi_image_free(px);
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        unsigned char *o = out + (size_t)want * i;
        if (rgb) {
            for (int k = 0; k < 3; k++) o[k] = px[(size_t)n * i + (size_t)(n == 3 ? k : 0)];
        } else {
            /* stb_image's own weights for RGB to grey */
            o[0] = n == 1 ? px[i]
                          : (unsigned char)((px[3 * i] * 77 + px[3 * i + 1] * 150 +
                                             px[3 * i + 2] * 29) >> 8);
        }
        o[want - 1] = 255;
    }
    stbi_image_free(px);
    return out;
}

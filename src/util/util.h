/* util.h — small helpers shared by every part of the library: errors, RNG, UTF-8, CRC-32,
   half floats, timing, file I/O. */
#ifndef CRNN_UTIL_H
#define CRNN_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crnn.h"

#if defined(__GNUC__)
#define CRNN_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CRNN_PRINTF(a, b)
#endif

/* Fills err (if not NULL) and returns code, so callers can write `return set_error(...)`. */
crnn_status set_error(crnn_error *err, crnn_status code, const char *fmt, ...) CRNN_PRINTF(3, 4);

/* ---- random numbers: PCG32, small state that checkpoints can save whole ---- */
typedef struct {
    uint64_t state, inc;
} rng_t;
void rng_seed(rng_t *r, uint64_t seed, uint64_t stream);
uint32_t rng_u32(rng_t *r);
float rng_uniform(rng_t *r);                  /* [0, 1) */
float rng_range(rng_t *r, float lo, float hi); /* [lo, hi) */
int rng_int(rng_t *r, int lo, int hi);         /* [lo, hi] inclusive */
float rng_normal(rng_t *r);                    /* mean 0, sd 1 */
int rng_chance(rng_t *r, float p);             /* 1 with probability p */

/* ---- UTF-8 ---- */
/* Decodes one code point at s (n bytes available); returns bytes used, 0 on invalid input. */
int utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Encodes cp into out (≥ 4 bytes); returns bytes written. */
int utf8_encode(uint32_t cp, char *out);
/* Decodes a whole NUL-terminated string into at most max code points; returns the count, or -1
   if the string is not valid UTF-8 or longer than max. */
int utf8_to_codepoints(const char *s, uint32_t *out, int max);

/* ---- CRC-32 (IEEE, as zlib) ---- */
uint32_t crc32_update(uint32_t crc, const void *data, size_t n);

/* ---- IEEE half precision ---- */
uint16_t f32_to_f16(float f);
float f16_to_f32(uint16_t h);

/* ---- time ---- */
double now_seconds(void); /* monotonic */

/* ---- files ---- */
/* Reads a whole file (at most max_bytes) into a malloc'ed buffer with a trailing NUL. */
crnn_status read_file(const char *path, size_t max_bytes, unsigned char **data, size_t *size,
                      crnn_error *err);
/* Writes data to path atomically: temporary file in the same folder, fsync, rename. The old
   file survives any failure (full disk, kill -9). */
crnn_status write_file_atomic(const char *path, const void *data, size_t size, crnn_error *err);

/* ---- the files that come with ocr-crnn ---- */
/* The first readable of: tree_path (as in the source tree, "models/en.crnn") in the running
   program's parent folder; share/ocr-crnn/installed_name there; tree_path in the program's
   own folder; the same beside the shared library when the program is another one (Python);
   installed_name in the data folder of the prefix the library was built for. Written to buf;
   NULL if none is readable. */
const char *data_file_find(const char *tree_path, const char *installed_name, char *buf,
                           size_t size);
/* That data folder (PREFIX/share/ocr-crnn), for messages. */
const char *data_dir(void);

#endif

/* synth.h — synthetic scene-text generator: renders random English words, numbers and codes
   in random fonts and real-sign colours onto natural-image backgrounds, with the distortions
   of real photos (outlines, shadows, rotation, perspective, arcs, stacked vertical letters,
   occlusion, defocus and motion blur, tiny text, noise, JPEG), as 8-bit grey or RGB crops.

       synth_config cfg = synth_default_config();
       cfg.seed = 42;
       crnn_error err;
       synth *s = synth_new(&cfg, &err);
       if (!s) { fprintf(stderr, "%s\n", err.message); return 1; }
       synth_sample smp;
       while (synth_next(s, &smp) == CRNN_OK) train_on(smp.pixels, smp.width, smp.height, smp.label);
       synth_free(s);

   Threads: one synth per thread; instances share nothing (fonts are mapped read-only).
   Determinism: the same config and seed give the same sequence of samples, byte for byte. */
#ifndef CRNN_SYNTH_H
#define CRNN_SYNTH_H

#include <stdint.h>

#include "crnn.h" /* crnn_error, crnn_status */

typedef struct synth synth;

typedef struct {
    uint64_t seed;
    int height;                         /* output image height in px, e.g. 32 */
    const char *font_manifest;          /* file with one font path per line; NULL = scan
                                           /usr/share/fonts/{truetype,opentype} */
    const char *const *background_dirs; /* NULL-terminated list of folders of images; NULL =
                                           ../shared/data/backgrounds/svt-train-scenes if it
                                           exists relative to cwd, else none (plain and
                                           procedural backgrounds) */
    const char *wordlist;               /* NULL = lexicons/en.txt, then
                                           /usr/share/dict/american-english-large, then
                                           /usr/share/dict/words */
    const uint32_t *charset;            /* allowed code points for labels (space allowed if in
                                           it); NULL = printable ASCII 0x20..0x7E */
    int charset_size;
    int max_label_len;                  /* in code points, e.g. 24 */
    /* Fields below may be left 0 for their defaults. */
    float min_margin;                   /* the labelled text lies inside the crop by at least
                                           this fraction of its height on every side */
    int channels;                       /* 1 (grey, the default; 0 means 1) or 3 (RGB). Samples
                                           are drawn in colour either way; grey is their
                                           luminance as stb_image computes it */
    int clean;                          /* printed words as a screen or scanner shows them:
                                           fonts, weights, outlines, colours and backgrounds
                                           vary, but no camera (blur, noise, JPEG, tiny text,
                                           uneven light), no strong geometry (rotation beyond
                                           a few degrees, perspective, curves, stacked
                                           letters), no occluders, crops tight to medium,
                                           high contrast */
    float empty;                        /* fraction of crops with no text: a background alone,
                                           with the same camera effects, labelled "" — so that
                                           a model learns that a blank crop reads as nothing */
} synth_config;

synth_config synth_default_config(void);

/* Loads fonts, word list and backgrounds. NULL + err on failure (e.g. no usable fonts). */
synth *synth_new(const synth_config *cfg, crnn_error *err);

typedef struct {
    const uint8_t *pixels; /* rows of width × channels bytes (RGB interleaved), stride apart */
    int width, height, stride;
    const char *label; /* UTF-8 */
    int channels;      /* 1 or 3; 0 is read as 1 */
} synth_sample;

/* Draws the next sample. Buffers are owned by s and valid until the next call. */
crnn_status synth_next(synth *s, synth_sample *out);

void synth_free(synth *s);

/* Restarts the sequence as if created with this seed (fonts and backgrounds stay loaded). */
void synth_reseed(synth *s, uint64_t seed);
/* Draws the following samples clean (synth_config.clean) or not: the trainer mixes both. */
void synth_set_clean(synth *s, int clean);

/* ---- introspection, for tests, tools and debugging --------------------------------------- */

typedef struct {
    const char *font_path;   /* font the last sample was drawn with */
    const char *font_family;
    const uint32_t *drawn;   /* code points actually drawn for the label, spaces included */
    int num_drawn;
    float box[4];            /* x0, y0, x1, y1: bounding box of the labelled text's ink in
                                output pixels (before blur), neighbours excluded */
    float text_height;       /* box height, px */
    int vertical;            /* letters were stacked top to bottom, then the crop turned a
                                quarter counter-clockwise (first letter on the left) */
} synth_info;

/* Describes the last sample returned by synth_next. */
void synth_last_info(const synth *s, synth_info *info);
/* Number of usable fonts, and the path of font i (for manifests and tools). */
int synth_num_fonts(const synth *s);
/* Number of background images loaded (0: plain and procedural backgrounds only). */
int synth_num_backgrounds(const synth *s);
const char *synth_font_path(const synth *s, int i);

/* Writes a PNG contact sheet of rows × cols new samples with their labels printed under them,
   each drawn cell_h pixels high (nearest neighbour, so pixels stay visible). */
crnn_status synth_write_sheet(synth *s, const char *path, int rows, int cols, int cell_h,
                              crnn_error *err);
/* The same layout for any crops (e.g. real ones, to set beside the synthetic); s only lends
   the caption font. */
crnn_status synth_write_sheet_images(const synth *s, const char *path, const synth_sample *items,
                                     int n, int cols, int cell_h, crnn_error *err);

/* Writes count samples as DIR/%09d.png plus DIR/labels.tsv ("file<TAB>label"). */
crnn_status synth_write_dir(synth *s, const char *dir, long count, crnn_error *err);
/* Writes count samples to an LMDB environment at dir in the common scene-text layout:
   "num-samples", "image-%09d" (PNG bytes), "label-%09d", indices from 1. */
crnn_status synth_write_lmdb(synth *s, const char *dir, long count, crnn_error *err);

#endif

/* dataset.h — labelled word images from disk: a TSV (`path<TAB>label`, paths relative to the
   TSV's folder), a folder whose file names carry the label MJSynth-style (`123_Word_456.jpg`,
   searched recursively), or an LMDB database in the scene-text layout (`num-samples`,
   `image-%09d`, `label-%09d`, indices from 1). One handle per thread. */
#ifndef CRNN_DATASET_H
#define CRNN_DATASET_H

#include <stdint.h>

#include "crnn.h"

#define DATASET_MAX_LINE 8192
#define DATASET_MAX_LABEL 256 /* bytes of UTF-8 */
#define DATASET_MAX_ITEMS 50000000L
#define DATASET_MAX_TSV_BYTES (1u << 30) /* a labels.tsv file, read whole */

typedef struct dataset dataset;

/* path: a .tsv file, a folder holding labels.tsv, a folder holding data.mdb (LMDB), or a
   folder of MJSynth-named images. */
dataset *dataset_open(const char *path, crnn_error *err);
void dataset_close(dataset *d);
long dataset_size(const dataset *d);
const char *dataset_path(const dataset *d);
/* The image's name (file path, or "DB:image-000000001") for messages. */
void dataset_item_name(const dataset *d, long i, char *out, size_t size);
/* The label of item i (owned by d; for LMDB valid until the next call). */
const char *dataset_label(dataset *d, long i, crnn_error *err);
/* Decodes item i to grey; *pixels is malloc'ed. */
/* Item i's image decoded to `channels` (1 grey, 3 RGB; stride = w × channels). */
crnn_status dataset_image(dataset *d, long i, int channels, uint8_t **pixels, int *w, int *h,
                          crnn_error *err);

/* The label an MJSynth file name carries ("12_Hello_34.jpg" → "Hello"), or NULL. */
int mjsynth_label(const char *filename, char *out, size_t size);

#endif

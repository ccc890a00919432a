/* loader.h — training batches made on a background thread while the other core computes:
   samples drawn from weighted sources (datasets on disk, the synthetic generator), decoded,
   height-normalised exactly as at inference, labels encoded, and grouped by width.
   Batch i is a pure function of (seed, i), so a resumed run sees the same batches. */
#ifndef CRNN_LOADER_H
#define CRNN_LOADER_H

#include "model/model.h"
#include "synth/synth.h"
#include "train/dataset.h"

#define LOADER_MAX_SOURCES 8
#define LOADER_MAX_LABEL 128

typedef struct {
    dataset *ds;  /* a labelled set, or */
    synth *syn;   /* the generator */
    float weight; /* relative share of samples */
    int augment;  /* light geometric/photometric jitter (for real images) */
} loader_source;

typedef struct {
    int batch_size;
    uint64_t seed;
    long first_batch;
    int bucket; /* batches generated together and grouped by width */
    int max_width;
    /* Synthetic words drawn clean (synth_config.clean): a fraction `clean` of them, and more
       at first: all of batch 0, fading linearly to `clean` at batch `clean_fade` (0: no
       fade). A model from scratch escapes CTC's all-blank plateau on legible words, then
       learns the camera's defects. Both 0: every word as the generator's default draws it. */
    float clean;
    long clean_fade;
    /* Distributed training: samples [share_first, share_end) of each batch, once grouped by
       width, are this process's; the rest are other ranks'. Every sample is still drawn, so
       that the batches are the same whatever the rank count. Both 0: the whole batch. */
    int share_first, share_end;
    int n_sources;
    loader_source sources[LOADER_MAX_SOURCES];
} loader_config;

typedef struct train_batch {
    long index;
    int B;
    int global_B;   /* the batch this is a share of (its loss is the mean over all of them);
                       0: B, the batch is whole */
    float *input;   /* Σ height × widths[b] */
    int *widths;
    int *labels;    /* all labels, sample b at label_off[b], label_len[b] long */
    int *label_off, *label_len;
    char **texts;
    long skipped_unalignable, skipped_unreadable, skipped_charset;
} train_batch;

typedef struct loader loader;

/* Starts the producer thread. The model gives height, normalisation, charset and geometry and
   must outlive the loader (only read). */
loader *loader_start(const crnn_model *m, const loader_config *cfg, crnn_error *err);
/* Blocks until batch number `next` is ready; the caller frees it with train_batch_free. */
train_batch *loader_next(loader *l, crnn_error *err);
void loader_stop(loader *l);
void train_batch_free(train_batch *b);

/* Makes one batch synchronously from explicit samples (validation, tests). */
train_batch *batch_from_images(const crnn_model *m, const crnn_image *images,
                               const char *const *texts, int n, crnn_error *err);

#endif

/* checkpoint.h — everything a resumed run needs to continue exactly: the model with its
   batch-norm statistics, the optimiser's moments, the step, the seed and the best score,
   written atomically (temporary file, fsync, rename) so a kill -9 never leaves a broken one. */
#ifndef CRNN_CHECKPOINT_H
#define CRNN_CHECKPOINT_H

#include "model/model.h"
#include "train/train.h"

typedef struct {
    long step;
    uint64_t seed;
    double best_score;   /* best validation accuracy so far, -1 if none */
    double elapsed_s;    /* wall-clock seconds of training so far */
    double cpu_s;        /* CPU seconds of training so far */
    long samples;        /* samples seen */
    long skipped_steps;  /* non-finite steps skipped */
} checkpoint_state;

crnn_status checkpoint_save(const char *path, const crnn_model *m, const optimizer *o,
                            const checkpoint_state *st, crnn_error *err);
/* Loads a checkpoint: *m and o are created (free with crnn_model_free / optimizer_free). */
crnn_status checkpoint_load(const char *path, crnn_model **m, optimizer *o, checkpoint_state *st,
                            crnn_error *err);

#endif

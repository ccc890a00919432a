/* train.h — the trainer's internal pieces: architecture strings, charsets, optimisers, data,
   checkpoints, metrics. The public entry point is crnn_train() in crnn_train.h. */
#ifndef CRNN_TRAIN_INTERNAL_H
#define CRNN_TRAIN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "crnn.h"
#include "model/model.h"
#include "util/util.h"

/* ---- arch.c ---- */
/* Parses an architecture string into spec (layers only; the caller sets charset, height and
   normalisation). Tokens, separated by spaces or commas:
     c<out>[k<kh>[x<kw>]][s<sh>[x<sw>]][p<ph>[x<pw>]][n]   conv (default 3×3, stride 1, pad 1,
                                                            batch-norm + ReLU; 'n' = no BN)
     dw[k..][s..][p..][n]                                   the same, depthwise (out = in channels)
     m<kh>[x<kw>][s<sh>[x<sw>]][p<ph>[x<pw>]]               max-pool (stride defaults to kernel)
     lstm<H> | bilstm<H> | gru<H> | bigru<H>                recurrent layer
     [bi]cgru<H> | [bi]clstm<H> [k..][s..][p..][a]          Convolutional RNN (layers/convrnn.h)
   Each kind reads its own tokens (src/layers/). A final linear layer to the charset size is
   appended. Names of presets are accepted too: "paper" (Shi et al. 2015), "small" and "fast". */
crnn_status arch_parse(const char *arch, model_spec *spec, crnn_error *err);
/* Expands a preset name to its string (or returns arch unchanged). */
const char *arch_expand(const char *arch);

/* ---- init.c ---- */
/* A new model from an architecture string (or preset), a charset name (see charset_build),
   an input height, input channels (1 grey, 3 RGB) and a seed: He-uniform convolutions,
   PyTorch-like recurrent weights with a forget-gate bias of 1, identity batch-norm. */
crnn_model *model_from_arch(const char *arch, const char *charset, int input_height,
                            int input_channels, uint64_t seed, crnn_error *err);
void model_init_params(crnn_model *m, uint64_t seed);
/* The colour twin of a grey model: the same layers and weights, its first convolution's
   weights split over R, G and B in the proportions of stb_image's luminance, so that on any
   RGB image it computes what the grey model computes on that image's grey. Fine-tuning then
   learns what colour adds. The grey model must not have its batch-norm folded. */
crnn_model *model_to_colour(const crnn_model *grey, crnn_error *err);

/* ---- charset.c ---- */
/* Fills out (≥ 1 + max) with blank + the code points of a charset: "ascii" (printable
   0x20..0x7E), "alnum" (0-9, a-z), "ALNUM" (0-9, a-z, A-Z), or "file:PATH" (every distinct
   character of a UTF-8 file, in order of appearance). Returns the class count or -1. */
int charset_build(const char *name, uint32_t *out, int max, crnn_error *err);
/* Maps UTF-8 text to class indices; returns the length, or -1 if a character is not in the
   charset (its code point in *missing). */
int charset_encode(const crnn_model *m, const char *text, int *labels, int max,
                   uint32_t *missing);

/* ---- optimizer.c ---- */
typedef enum { OPT_ADAM = 0, OPT_ADADELTA = 1 } optimizer_kind;
typedef struct {
    optimizer_kind kind;
    size_t n;
    float *m, *v; /* Adam moments, or AdaDelta E[g²] and E[Δx²] */
    long t;
} optimizer;
crnn_status optimizer_init(optimizer *o, optimizer_kind kind, size_t n, crnn_error *err);
void optimizer_free(optimizer *o);
/* One step on params from grads. Adam: lr, betas 0.9/0.999, decoupled weight decay wd applied
   to decay_mask[i] != 0 only (weights, not biases or batch-norm). AdaDelta: rho 0.9, eps 1e-6,
   lr scales the update (1.0 in the paper). */
void optimizer_step(optimizer *o, float *params, const float *grads, const uint8_t *decay_mask,
                    float lr, float weight_decay);
/* Scales grads so their global L2 norm is at most max_norm; returns the norm before. */
double clip_grad_norm(float *grads, size_t n, double max_norm);
/* Warm-up then cosine decay (or one-cycle: warm-up from lr/25 then cosine to lr/1e4). */
typedef enum { SCHED_COSINE = 0, SCHED_ONECYCLE = 1, SCHED_CONSTANT = 2 } schedule_kind;
float lr_at(schedule_kind kind, float base_lr, float final_lr, long step, long warmup,
            long total);

/* ---- step.c ---- one step's gradients, the batch shared among worker threads */
#define TRAIN_MAX_WORKERS 16
typedef struct train_workers train_workers;
typedef struct train_batch train_batch; /* loader.h */
typedef struct {
    double loss;      /* summed over the samples whose loss is finite */
    int counted;      /* those samples */
    long unalignable; /* samples whose label cannot align (skipped) */
} step_stats;
/* threads workers (1..TRAIN_MAX_WORKERS), each with a network and a gradient buffer for m. */
train_workers *train_workers_new(const crnn_model *m, int threads, crnn_error *err);
void train_workers_free(train_workers *tw);
/* Forward, CTC loss and backward of batch b, each worker a share of it (batch-norm statistics
   per share), the gradient of the batch's mean loss (over b->global_B samples when b is one
   rank's share; all zero when that share is empty) summed into *grads (owned by tw, laid out
   like m->params, valid until the next call). Worker 0 blends its batch statistics into m's
   running statistics with bn_momentum (< 0: not at all). */
crnn_status train_workers_run(train_workers *tw, crnn_model *m, const train_batch *b,
                              float bn_momentum, step_stats *stats, float **grads,
                              crnn_error *err);

/* ---- trainer.c ---- */
typedef struct train_comm train_comm; /* comm.h */
/* crnn_train on every rank of comm (dist.h says how the work is shared; NULL or one rank: one
   process, crnn_train itself). Rank 0 alone writes the run folder and logs. On failure,
   *all_ranks (if not NULL) says whether every rank returned this same error together (a
   start that failed somewhere); otherwise the error is this rank's alone, the others may be
   waiting for it in a collective, and the caller has to end the job. */
crnn_status train_run(const crnn_train_options *o, train_comm *comm, int *all_ranks,
                      crnn_error *err);

/* ---- metrics.c ---- */
/* Lower-case and keep only 0-9a-z: the benchmark convention (Shi et al. Table 2). */
void text_normalize_alnum(const char *in, char *out, size_t out_size);
/* Levenshtein distance between UTF-8 strings, in code points. */
int edit_distance_utf8(const char *a, const char *b);
/* 1 − distance / max(len a, len b) (1 when both are empty). */
double text_similarity(const char *a, const char *b);

#endif

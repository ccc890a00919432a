/* pipeline.h — the engine behind `ocr-crnn INPUT...`: a pool of worker threads, each with its
   own recognizer over one shared model, fed from an input stream and reporting in input
   order through a bounded ring, so memory does not grow with the number of inputs. */
#ifndef CRNN_CLI_PIPELINE_H
#define CRNN_CLI_PIPELINE_H

#include <stdatomic.h>

#include "cli/inputs.h"
#include "cli/output.h"
#include "crnn.h"

#define PIPELINE_DEFAULT_BATCH 16
#define PIPELINE_MAX_BATCH 256

/* Chooses the decoding parameters of one image, from a worker thread (so it must be
   thread-safe). Set *params (it must stay valid until release is called) and *owned (passed
   to release afterwards; NULL if nothing to free). Images whose *params pointers are equal
   share network batches, so return the same pointer for the same parameters. Return
   non-zero with *message (malloc'ed, the reason without the path) to fail the image. */
typedef int (*params_choose_fn)(void *user, const char *path, const crnn_params **params,
                                void **owned, char **message);
typedef void (*params_release_fn)(void *user, void *owned);

typedef struct {
    int threads;       /* workers (>= 1) */
    int intra_threads; /* threads sharing each worker's recognitions (>= 1) */
    int batch;         /* images per chunk and at most per network pass */
    int quiet;         /* no notes on stderr */
    int fail_fast;     /* stop after the first failed input (in input order) */
    int nothing_is_fine; /* no inputs at all is success (one --shard of a few), not exit 1 */
    params_choose_fn choose_params;
    params_release_fn release_params; /* may be NULL */
    void *params_user;
    const atomic_long *total;      /* inputs in all, for the bar; -1 while unknown */
    const atomic_int *interrupted; /* a signal number once the run must stop */
} pipeline_options;

/* Recognises every input of walker, writing results to out and problems to stderr. Returns
   the exit status: 0 all read, 1 some failed or none found, 128 + signal if interrupted. */
int pipeline_run(const pipeline_options *o, const crnn_model *model, input_walker *walker,
                 out_sink *out, progress_bar *bar);

#endif

/* validate.h — word accuracy of a model on a labelled set, batched, as training validation
   and `ocr-crnn eval` report it. */
#ifndef CRNN_VALIDATE_H
#define CRNN_VALIDATE_H

#include "model/model.h"
#include "nn/network.h"
#include "train/dataset.h"

typedef struct {
    int n;
    char **texts;   /* ground truth */
    char **names;
    crnn_image *images; /* decoded grey, owned */
    int unreadable;
    char first_unreadable[640]; /* why the first unreadable item was, or "" */
} validation_set;

/* Decodes up to max images (0 = all) of d into memory. */
/* Loads up to max images of d (all if max ≤ 0), decoded to `channels` (the model's). */
crnn_status validation_load(validation_set *v, dataset *d, int max, int channels, crnn_error *err);
void validation_free(validation_set *v);

typedef struct {
    int n;
    double exact;     /* fraction read exactly, case and punctuation included */
    double alnum;     /* fraction equal after lower-casing and keeping only 0-9a-z */
    double one_minus_ned; /* mean 1 − normalised edit distance on the 0-9a-z strings */
    int rejected;         /* readings below params.min_confidence (counted as misread above) */
    double alnum_accepted, exact_accepted; /* the same two accuracies over the others */
    double seconds;
} validation_score;

/* Recognises every image (inference mode; batch-norm running statistics if unfolded) and
   scores it. params[i] chooses image i's decoder (NULL array or entry = best path);
   predictions[i] (malloc'ed) is filled if predictions is not NULL. threads share each batch's
   layers (network_set_threads); keep BLAS single-threaded beside them. */
crnn_status validation_run(const validation_set *v, const crnn_model *m,
                           const crnn_params *const *params, validation_score *score,
                           char **predictions, int threads, crnn_error *err);

#endif

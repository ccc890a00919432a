/* class_mask.h — which classes a decoding may emit (params.allow, params.deny), applied
   before any search: the log-probabilities of the other classes become -inf, so best path,
   beam search, lexicon and pattern search never see them, and the probability of any text
   made of allowed characters is unchanged (its alignments never used the others). */
#ifndef CRNN_CLASS_MASK_H
#define CRNN_CLASS_MASK_H

#include <stdint.h>

#include "crnn.h"
#include "model/model.h"

typedef struct {
    /* what `allowed` was computed for: the model and copies of the two texts */
    const crnn_model *model;
    char *allow, *deny;
    int valid;
    uint8_t *allowed; /* per class; the blank always */
    int n_allowed;    /* non-blank classes allowed */
    int masks_any;    /* some class is masked out */
    float *masked;    /* the last masked log-probabilities */
    size_t masked_cap;
} class_mask;

void class_mask_free(class_mask *cm);
/* Brings cm up to date with the model and params (allow/deny parsed only when they change).
   Errors: a malformed allow or deny text, or an allow set that leaves no character of the
   model. */
crnn_status class_mask_update(class_mask *cm, const crnn_model *m, const char *allow,
                              const char *deny, crnn_error *err);
/* log_probs with the masked classes at -inf (log_probs itself when nothing is masked), valid
   until the next call; NULL if out of memory. */
const float *class_mask_apply(class_mask *cm, const float *log_probs, int T, int C);
/* Checks the syntax of allow and deny (either may be NULL) without a model. */
crnn_status class_mask_check(const char *allow, const char *deny, crnn_error *err);

#endif

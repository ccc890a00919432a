/* decode.h — from one image's log-probabilities to a crnn_result, by the decoder the params
   ask for (best path, beam search, lexicon). */
#ifndef CRNN_DECODE_H
#define CRNN_DECODE_H

#include "crnn.h"
#include "model/model.h"

typedef struct decode_workspace decode_workspace;
decode_workspace *decode_workspace_new(void);
void decode_workspace_free(decode_workspace *dw);

crnn_status decode_frames(decode_workspace *dw, const crnn_model *m, const float *log_probs,
                          int T, int C, const crnn_params *params, crnn_result *result,
                          crnn_error *err);

/* What a decoding did, for pictures (explain.c). Pointers into dw, valid until its next use. */
typedef struct {
    int n_free;                 /* the unconstrained text's labels and their frame runs */
    const int *free_labels, *free_start, *free_end;
    int n;                      /* result->text's labels (case representatives if folded) */
    const int *labels, *start, *end;
    int lexicon_word;           /* the lexicon entry chosen, -1 if none (or free text kept) */
    double free_log_prob;       /* log p(free text): with a lexicon or beam search, else 0 */
} decode_trace;

/* decode_frames, also filling *trace. */
crnn_status decode_frames_traced(decode_workspace *dw, const crnn_model *m,
                                 const float *log_probs, int T, int C, const crnn_params *params,
                                 crnn_result *result, crnn_error *err, decode_trace *trace);

/* Fills result->text, num_chars and char_confidence from labels (class indices). */
crnn_status result_set_text(crnn_result *result, const crnn_model *m, const int *labels,
                            const float *confidence, int n, crnn_error *err);
/* UTF-8 of a label sequence into a malloc'ed string. */
char *labels_to_utf8(const crnn_model *m, const int *labels, int n);

/* The model a recognizer runs (recognizer.c). */
const crnn_model *recognizer_model(const crnn_recognizer *rec);

#endif

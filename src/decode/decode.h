/* decode.h — from one image's log-probabilities to a crnn_result: the one entry point of the
   decoding folder, which the recogniser, training validation and explain call.

     decoder.c           the order of things: class mask, free text, constrained text, margin,
                         confidence, rejection, the result
     class_mask.c        --allow / --deny: classes masked out before any search
     best_path.c         best path
     prefix_beam.c       prefix beam search, free or following a pattern
     frames.c            scaled frames and exact CTC scores of one label sequence
     class_map.c         code points → classes (exact or case-folded)
     automaton.c         lexicon tries, patterns and their product as automata over classes
     automaton_search.c  the exact search over (frame, automaton state)
     candidates.c        BK-tree candidates of large lexicons
     constrained.c       lexicon and pattern decoding: search, then fallbacks

   The patterns themselves (syntax, compilation to a DFA) are in src/pattern/, the lexicons
   (files, trie, BK-tree) in src/lexicon/, the CTC loss and forced alignment in src/ctc/. */
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
    int constrained;            /* the text came from the lexicon or pattern, not the free text */
    int lexicon_word;           /* the lexicon entry chosen, -1 if none (or free text kept) */
    int search_complete;        /* with a lexicon or pattern: its exact search ran to the end
                                   (else a fallback added its best) */
    double free_log_prob;       /* log p(free text), case forms summed with a folded lexicon */
} decode_trace;

/* decode_frames, also filling *trace. */
crnn_status decode_frames_traced(decode_workspace *dw, const crnn_model *m,
                                 const float *log_probs, int T, int C, const crnn_params *params,
                                 crnn_result *result, crnn_error *err, decode_trace *trace);

/* Checks params without decoding anything (crnn_params_check); model may be NULL. */
crnn_status decode_check_params(const crnn_model *m, const crnn_params *params, crnn_error *err);

/* UTF-8 of a label sequence into a malloc'ed string. */
char *labels_to_utf8(const crnn_model *m, const int *labels, int n);

#endif

/* frames.h — one image's frames prepared for exact CTC scoring: the probability of a label
   sequence summed over all its alignments, for one sequence at a time (BK-tree candidates,
   the free text) here, or for a whole automaton at once (automaton_search.h).

   Scores work on probabilities divided, frame by frame, by a common factor c_t (the frame's
   best probability): exact, since every sequence is divided by the same product, and a
   plausible one stays near 1 instead of underflowing. A sequence more than about 700 nats
   below best path underflows to "impossible"; the decoder rescues small lexicons from that in
   log space. */
#ifndef CRNN_FRAMES_H
#define CRNN_FRAMES_H

#include "crnn.h"

/* Bounds are compared with this much slack so that rounding never prunes a sequence that
   ties. */
#define CTC_BOUND_SLACK (1.0 - 1e-9)

typedef struct {
    double *p;        /* class-major: p[k * T + t] = p_t(k) / c_t (k summed over case forms
                         into its representative when folded) */
    double *inv_tail; /* T: Π_{t' > t} 1 / c_t' — turns prefix mass into an upper bound */
    double log_norm;  /* Σ_t log c_t: add to a scaled log-probability to get the true one */
    int T, C;
    size_t cap;
} ctc_frames;

/* rep: NULL, or for folding the representative class of each class (rep[0] = 0). */
crnn_status ctc_frames_prepare(ctc_frames *f, const float *log_probs, int T, int C,
                               const int *rep, crnn_error *err);
void ctc_frames_free(ctc_frames *f);

/* log p(labels | frames), exact; -INFINITY if impossible, or as soon as it is sure the
   sequence cannot reach floor (pass -INFINITY to always finish). scratch: 2 * (2L + 1)
   doubles. */
double ctc_frames_score(const ctc_frames *f, const int *labels, int L, double floor,
                        double *scratch);

/* log p(labels | log_probs) straight from the log-probabilities, exact: the forward
   recursion rescaled at every frame (no logarithm per state, nothing to prepare), for the one
   text of a decoding. -INFINITY if impossible. scratch: 2L + 1 doubles. */
double ctc_sequence_log_prob(const float *log_probs, int T, int C, const int *labels, int L,
                             double *scratch);

#endif

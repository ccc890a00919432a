/* ctc.h — Connectionist Temporal Classification: the loss the whole network is trained with,
   the exact likelihood of a labelling, and forced alignment. Class 0 is the blank. The
   decoders that turn per-frame label distributions into text are in src/decode/.
   log_probs is always (T, C), row-major by frame, as produced by the final log-softmax. */
#ifndef CRNN_CTC_H
#define CRNN_CTC_H

/* Frames needed to align labels: L plus one blank between each pair of equal neighbours. */
int ctc_min_frames(const int *labels, int L);

/* -log p(labels | log_probs) by the forward–backward algorithm in log space (double).
   Returns INFINITY when the labels cannot be aligned in T frames (nothing written to grad),
   NAN if scratch memory could not be allocated. If grad_logits is not NULL it receives
   (overwrites) d loss / d logits for the logits that entered the log-softmax:
   softmax − posterior label occupancy, a (T, C) array. */
double ctc_loss(const float *log_probs, int T, int C, const int *labels, int L,
                float *grad_logits);

/* log p(labels | log_probs) by the same forward recursion as ctc_loss (log space, double):
   -INFINITY when the labels cannot be aligned in T frames, NAN if out of memory. The exact
   reference that the faster scorers of decode/ are tested against. */
double ctc_log_likelihood(const float *log_probs, int T, int C, const int *labels, int L);

/* Forced alignment (Viterbi): the single most probable frame path that spells labels. For
   each label writes the first and last frame of its run (start, end; either may be NULL) and
   its confidence: the highest probability of the label among the frames of its run, as best
   path (decode/best_path.h) defines it, so that a text found by another decoder gets the
   confidences best path would give it. Returns the path's log-probability, or -INFINITY if the labels do
   not fit (nothing written), NAN if out of memory. */
double ctc_align(const float *log_probs, int T, int C, const int *labels, int L, int *start,
                 int *end, float *confidence);

#endif

/* ctc.h — Connectionist Temporal Classification: the loss the whole network is trained with,
   and the decoders that turn per-frame label distributions into text. Class 0 is the blank.
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

/* Best path: the most likely class per frame, repeats merged, blanks removed. Writes at most
   max labels and, per label, its confidence (the highest probability among the frames of its
   run); if frames is not NULL, also the frame where each label's run peaks. Returns the count. */
int ctc_greedy_decode(const float *log_probs, int T, int C, int *labels, float *confidence,
                      int *frames, int max);

/* log p(labels | log_probs) by the same forward recursion as ctc_loss (log space, double):
   -INFINITY when the labels cannot be aligned in T frames, NAN if out of memory. The exact
   reference that the faster lexicon scorers are tested against. */
double ctc_log_likelihood(const float *log_probs, int T, int C, const int *labels, int L);

/* Forced alignment (Viterbi): the single most probable frame path that spells labels. For
   each label writes the first and last frame of its run (start, end; either may be NULL) and
   its confidence: the highest probability of the label among the frames of its run, as
   ctc_greedy_decode defines it, so that a text found by another decoder gets the confidences
   best path would give it. Returns the path's log-probability, or -INFINITY if the labels do
   not fit (nothing written), NAN if out of memory. */
double ctc_align(const float *log_probs, int T, int C, const int *labels, int L, int *start,
                 int *end, float *confidence);

/* Prefix beam search (Hannun et al. 2014): keeps the beam_width most probable label prefixes,
   each with its probability of ending in a blank and in a non-blank, merging the paths that
   collapse to the same prefix. Classes far below the best of their frame (a factor of
   CTC_BEAM_PRUNE) are not tried as extensions. beam_width 1 is close to best path. */
#define CTC_BEAM_PRUNE 1e-8
#define CTC_BEAM_MAX_WIDTH 1024
typedef struct ctc_beam ctc_beam;
ctc_beam *ctc_beam_new(void);
void ctc_beam_free(ctc_beam *b);
/* Writes at most max labels of the most probable prefix; returns the count, or -1 if out of
   memory. *log_prob (if not NULL) receives the beam's estimate of its log-probability (a lower
   bound: paths through pruned prefixes are missing). */
int ctc_beam_decode(ctc_beam *b, const float *log_probs, int T, int C, int beam_width,
                    int *labels, int max, double *log_prob);

#endif

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

#endif

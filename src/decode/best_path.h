/* best_path.h — best path (CRNN paper §2.3.1): one pass, no allocation. It approximates the
   most probable labelling (the most probable *path* need not collapse to it) and on a
   well-trained network it rarely differs. log_probs is (T, C), row-major by frame; class 0
   is the blank. */
#ifndef CRNN_BEST_PATH_H
#define CRNN_BEST_PATH_H

/* Writes at most max labels and, per label, its confidence (the highest probability among the
   frames of its run); if frames is not NULL, also the frame where each label's run peaks.
   Returns the count. A class whose log-probability is -inf in every frame (masked out) is
   never chosen. */
int best_path_decode(const float *log_probs, int T, int C, int *labels, float *confidence,
                     int *frames, int max);

#endif

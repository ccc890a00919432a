/* recurrent.h — what the LSTM and the GRU share: time order and the per-step product. */
#ifndef CRNN_NN_RECURRENT_H
#define CRNN_NN_RECURRENT_H

#include <cblas.h>

/* step (B × G) = h (B × H) · W_hhᵀ. For a lone sequence this is a matrix-vector product:
   sgemm would repack all of W_hh at every time step, which costs as much as the product
   itself and made the recurrent layers half of single-image latency. */
static inline void recurrent_product(float *step, const float *h, const float *w_hh, int B,
                                     int G, int H) {
    if (B == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, G, H, 1.0f, w_hh, H, h, 1, 0.0f, step, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, G, H, 1.0f, h, H, w_hh, H,
                    0.0f, step, G);
}

/* Step s of a sequence of length len visits time s, or len − 1 − s in reverse mode. */
static inline int time_of(int s, int len, int reverse) { return reverse ? len - 1 - s : s; }

#endif

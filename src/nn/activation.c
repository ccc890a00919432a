/* activation.c — ReLU. The backward reads the forward's output: out > 0 exactly where inp > 0,
   so the input need not be kept. */
#include "nn/nn.h"

void relu_forward(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0 ? inp[i] : 0.0f;
}

void relu_backward(float *dinp, const float *dout, const float *out, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (out[i] > 0) dinp[i] += dout[i];
}

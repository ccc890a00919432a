/* linear.c — fully connected layer applied to every time step at once. */
#include <cblas.h>

#include "nn/nn.h"

void linear_forward(float *out, const float *inp, const float *weight, const float *bias, int N,
                    int In, int O) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) out[(size_t)n * O + o] = bias[o];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, O, In, 1.0f, inp, In, weight, In, 1.0f,
                out, O);
}

void linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                     const float *inp, const float *weight, int N, int In, int O) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, O, In, N, 1.0f, dout, O, inp, In, 1.0f,
                dweight, In);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) dbias[o] += dout[(size_t)n * O + o];
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, In, O, 1.0f, dout, O, weight, In,
                    1.0f, dinp, In);
}

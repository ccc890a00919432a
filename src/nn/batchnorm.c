/* batchnorm.c — batch normalisation in training mode over the rows of a C × P map. At
   inference it does not run at all: the loader folds it into the preceding convolution. */
#include <math.h>

#include "model/model.h"
#include "nn/nn.h"

void batchnorm_forward(float *out, float *mean, float *rstd, float *var_unbiased,
                       const float *inp, const float *gamma, const float *beta, int C, size_t P) {
    for (int c = 0; c < C; c++) {
        const float *x = inp + (size_t)c * P;
        double s = 0, ss = 0;
        for (size_t p = 0; p < P; p++) s += x[p];
        double m = s / (double)P;
        for (size_t p = 0; p < P; p++) {
            double d = x[p] - m;
            ss += d * d;
        }
        double var = ss / (double)P;
        float r = (float)(1.0 / sqrt(var + BN_EPS));
        mean[c] = (float)m;
        rstd[c] = r;
        float g = gamma[c] * r, b = beta[c] - (float)m * g;
        float *y = out + (size_t)c * P;
        for (size_t p = 0; p < P; p++) y[p] = x[p] * g + b;
        /* PyTorch convention: the running variance blends in the unbiased estimate. */
        if (var_unbiased) var_unbiased[c] = (float)(P > 1 ? ss / (double)(P - 1) : var);
    }
}

void batchnorm_update_running(float *running_mean, float *running_var, const float *mean,
                              const float *var_unbiased, float momentum, int C) {
    for (int c = 0; c < C; c++) {
        running_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean[c];
        running_var[c] = (1 - momentum) * running_var[c] + momentum * var_unbiased[c];
    }
}

void batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                        const float *inp, const float *gamma, const float *mean,
                        const float *rstd, int C, size_t P) {
    for (int c = 0; c < C; c++) {
        const float *x = inp + (size_t)c * P, *dy = dout + (size_t)c * P;
        float m = mean[c], r = rstd[c];
        double sum_dy = 0, sum_dy_xhat = 0;
        for (size_t p = 0; p < P; p++) {
            sum_dy += dy[p];
            sum_dy_xhat += dy[p] * (x[p] - m) * r;
        }
        dgamma[c] += (float)sum_dy_xhat;
        dbeta[c] += (float)sum_dy;
        float k = gamma[c] * r;
        float a = (float)(sum_dy / (double)P), bb = (float)(sum_dy_xhat / (double)P);
        float *dx = dinp + (size_t)c * P;
        for (size_t p = 0; p < P; p++) {
            float xhat = (x[p] - m) * r;
            dx[p] += k * (dy[p] - a - xhat * bb);
        }
    }
}

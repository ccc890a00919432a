/* compare_checkpoints.c — how far apart two training checkpoints are: their model parameters
   (weights and batch-norm running statistics) and their optimiser moments, for the distributed
   tests (test_mpi.sh), whose runs differ only in how floats were summed.

       compare_checkpoints A B TOLERANCE

   Prints the largest difference of the parameters, absolute and relative: |a − b| /
   max(|a|, |b|, 1e-3), the floor keeping parameters near zero from reading as large relative
   changes; and of each moment, relative to the largest moment of A (the moments follow the
   gradients themselves: a gradient wrongly scaled or summed shows there, even where the
   optimiser's update does not depend on the gradient's scale). Exits 0 when all three are at
   most TOLERANCE and both files hold the same step, 1 otherwise, 2 when a file cannot be
   read. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "train/checkpoint.h"

/* The largest |a − b|, and the largest |a − b| / max(|a|, |b|, floor). */
static double worst(const float *a, const float *b, size_t n, double floor, double *abs_out) {
    double rel = 0, abs_ = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        double scale = fmax(fmax(fabs((double)a[i]), fabs((double)b[i])), floor);
        if (!(d <= abs_)) abs_ = d; /* a NaN counts as the worst */
        if (!(d / scale <= rel)) rel = d / scale;
    }
    *abs_out = abs_;
    return rel;
}

static double largest(const float *a, size_t n) {
    double x = 0;
    for (size_t i = 0; i < n; i++) x = fmax(x, fabs((double)a[i]));
    return x;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: compare_checkpoints A B TOLERANCE\n");
        return 2;
    }
    crnn_model *m[2];
    optimizer o[2];
    checkpoint_state st[2];
    crnn_error err;
    for (int k = 0; k < 2; k++)
        if (checkpoint_load(argv[1 + k], &m[k], &o[k], &st[k], &err) != CRNN_OK) {
            fprintf(stderr, "compare_checkpoints: %s\n", err.message);
            return 2;
        }
    double tol = atof(argv[3]);
    if (m[0]->n_params != m[1]->n_params) {
        printf("different models: %zu and %zu parameters\n", m[0]->n_params, m[1]->n_params);
        return 1;
    }
    size_t n = m[0]->n_params;
    double pabs, mabs, vabs;
    double prel = worst(m[0]->params, m[1]->params, n, 1e-3, &pabs);
    worst(o[0].m, o[1].m, n, 0, &mabs);
    worst(o[0].v, o[1].v, n, 0, &vabs);
    double mtop = largest(o[0].m, n), vtop = largest(o[0].v, n);
    double mrel = mtop > 0 ? mabs / mtop : mabs, vrel = vtop > 0 ? vabs / vtop : vabs;
    size_t same = 0;
    for (size_t i = 0; i < n; i++) same += m[0]->params[i] == m[1]->params[i];
    printf("step %ld and %ld; %zu parameters, %zu bit-identical; largest difference %.3g "
           "(relative %.3g); moments %.3g and %.3g of their largest\n", st[0].step,
           st[1].step, n, same, pabs, prel, mrel, vrel);
    int ok = st[0].step == st[1].step && prel <= tol && mrel <= tol && vrel <= tol;
    for (int k = 0; k < 2; k++) {
        crnn_model_free(m[k]);
        optimizer_free(&o[k]);
    }
    return ok ? 0 : 1;
}

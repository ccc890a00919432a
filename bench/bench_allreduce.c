/* bench_allreduce.c — what the training step's one collective costs: MPI_Allreduce (sum, in
   place) of N floats, the ranks lined up by a barrier first so that the time is the transfer
   and the additions, not one rank waiting for another. N defaults to the parameter count of
   the default architecture ("fast") plus the step's statistics (src/train/dist.h).

       mpirun -np 2 build/bench/bench_allreduce [N] [REPEATS]

   Rank 0 prints the bytes and the median, lowest and highest milliseconds. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "train/dist.h"
#include "train/train.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long n = argc > 1 ? atol(argv[1]) : 0;
    int reps = argc > 2 ? atoi(argv[2]) : 50;
    if (n <= 0) {
        crnn_error err;
        crnn_model *m = model_from_arch("fast", "ascii", 32, 1, 1, &err);
        if (!m) {
            fprintf(stderr, "bench_allreduce: %s\n", err.message);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        n = (long)m->n_params + DIST_STEP_EXTRA;
        crnn_model_free(m);
    }
    if (reps < 1) reps = 1;
    float *x = calloc((size_t)n, sizeof(float));
    double *ms = calloc((size_t)reps, sizeof(double));
    if (!x || !ms) MPI_Abort(MPI_COMM_WORLD, 1);
    for (long i = 0; i < n; i++) x[i] = (float)(i % 97) * 1e-3f;
    for (int r = -3; r < reps; r++) { /* three rounds to warm up the transport */
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (r >= 0) ms[r] = 1e3 * (MPI_Wtime() - t0);
    }
    qsort(ms, (size_t)reps, sizeof(double), cmp_double);
    if (rank == 0)
        printf("%d ranks: allreduce of %ld floats (%.2f MB): median %.2f ms, %.2f to %.2f ms "
               "over %d\n", size, n, 4e-6 * (double)n, ms[reps / 2], ms[0], ms[reps - 1], reps);
    free(x);
    free(ms);
    MPI_Finalize();
    return 0;
}

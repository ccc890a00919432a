/* comm.h — the ranks of a distributed training run as the trainer sees them: who it is, how
   many there are, and the two collective operations it needs. The trainer holds no MPI type:
   a program that runs it across processes (the ocr-crnn command, src/cli/comm_mpi.c) fills
   this in over MPI; the library itself neither links nor calls MPI, and a NULL communicator
   is one process alone.

   Every rank calls the collectives in the same order with the same sizes. A collective that
   cannot complete (a rank died) either fails here or ends the job from inside the transport
   (MPI's errors-are-fatal); it never returns a made-up result. */
#ifndef CRNN_TRAIN_COMM_H
#define CRNN_TRAIN_COMM_H

#include <stddef.h>

#include "crnn.h"

typedef struct train_comm train_comm;
struct train_comm {
    int rank, size;  /* this process among size (0 ≤ rank < size) */
    int local_size;  /* ranks on this machine, this one included: they share its cores */
    void *impl;      /* the transport's own state */
    /* x[0..n) of every rank summed, the sum left in x on every rank, identical on all. */
    crnn_status (*allreduce_sum)(train_comm *c, float *x, size_t n, crnn_error *err);
    /* bytes of buf on rank root copied into buf on every other rank. */
    crnn_status (*broadcast)(train_comm *c, void *buf, size_t bytes, int root, crnn_error *err);
};

#endif

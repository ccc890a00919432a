/* dist.h — what training across ranks adds to the trainer (trainer.c), over a train_comm
   (comm.h): each rank's share of every batch, a start every rank agrees on, rank 0's state
   on all, the step's one reduction and the validation's.

   Every rank draws the same global batches (the loader's batch i is a function of the seed and
   i alone) and keeps its share; the share is fixed by splitting the global batch among all the
   replicas of all the ranks (Σ threads) exactly as one process with that many threads splits
   it (step.c), so each replica sees the same samples, with the same batch-norm statistics,
   however the replicas are spread over ranks. The summed gradients then differ from one
   process's only in the order the floats were added. */
#ifndef CRNN_TRAIN_DIST_H
#define CRNN_TRAIN_DIST_H

#include "model/model.h"
#include "train/checkpoint.h"
#include "train/comm.h"
#include "train/train.h"
#include "train/validate.h"

/* The samples [*first, *end) of a global batch of B that `rank` trains on, when rank r runs
   threads[r] replicas (size ranks). A rank whose replicas all come after the batch's last
   sample gets none (first == end). */
void dist_share(int B, const int *threads, int size, int rank, int *first, int *end);

/* Every rank's thread count gathered into threads[0..c->size) (the caller's), and a line that
   says how the run is spread: ranks, threads, replicas and the shares of a global batch of B. */
crnn_status dist_plan(train_comm *c, int mine, int B, int *threads, char *line, size_t size,
                      crnn_error *err);

/* Whether every rank set itself up (mine: this rank's status, err its message). If one failed,
   every rank returns the error of the lowest failing rank, with its message prefixed by that
   rank's number, so that all of them stop together with one reason. */
crnn_status dist_agree(train_comm *c, crnn_status mine, crnn_error *err);

/* Rank 0's model parameters, optimiser moments and training state copied to every rank, after
   checking that every rank built a model of the same size. */
crnn_status dist_sync_state(train_comm *c, crnn_model *m, optimizer *o, checkpoint_state *st,
                            crnn_error *err);

/* Rank 0's parameters to every rank: the batch-norm running statistics are blended on rank 0
   alone (its first replica's, as in one process), and inference reads them. */
crnn_status dist_sync_params(train_comm *c, crnn_model *m, crnn_error *err);

/* Values a step adds after the gradients in the buffer it reduces. */
#define DIST_STEP_EXTRA 5

/* The step's one collective: n gradients (copied into buf, which holds n + DIST_STEP_EXTRA
   floats, and summed there) with the statistics of the step, its stop request and the CPU
   seconds each rank has spent, all summed over the ranks: ss, *stop and *cpu_s hold the sums
   afterwards. */
crnn_status dist_reduce_step(train_comm *c, float *buf, const float *grads, size_t n,
                             step_stats *ss, int *stop, double *cpu_s, crnn_error *err);

/* Validation split among the ranks: each scores its share of v, and score is the whole set's,
   identical on every rank (seconds: this rank's wall time, the reduction included). */
crnn_status dist_validate(train_comm *c, const validation_set *v, const crnn_model *m,
                          int threads, validation_score *score, crnn_error *err);

#endif

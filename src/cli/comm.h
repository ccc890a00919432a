/* comm.h — the ranks `ocr-crnn train` runs among: over MPI when the program was built with it
   (comm_mpi.c) and started by an MPI launcher (mpirun, srun --mpi=pmix, ...), else one process
   (comm_none.c, the build without MPI). The trainer sees them as a train_comm. */
#ifndef CRNN_CLI_COMM_H
#define CRNN_CLI_COMM_H

#include "train/comm.h"

/* Joins the job this process was started in: *comm is its ranks, or NULL when the process
   runs alone (not started by a launcher: no MPI is initialised at all). Returns 0, or prints
   why the process cannot take part (a launcher started several copies of a build without MPI,
   say, which would otherwise each train alone into the same run folder) and returns 1. */
int cli_comm_open(train_comm **comm);
/* Leaves the job after a run that ended the same way on every rank. */
void cli_comm_close(train_comm *comm);
/* Ends the whole job with status after a failure on this rank alone: the other ranks may be
   waiting for it in a collective and would otherwise wait forever. Does not return when
   comm has several ranks. */
void cli_comm_abort(train_comm *comm, int status);

#endif

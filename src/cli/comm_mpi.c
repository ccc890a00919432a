/* comm_mpi.c — the ranks of `ocr-crnn train` over MPI. MPI is initialised only when a launcher
   started the process (its environment says so), so that a plain `ocr-crnn train` is one
   process and never starts MPI's runtime. Only the main thread calls MPI (FUNNELED): the loader
   and the worker threads never do.

   Errors are MPI's default, fatal: a rank that dies makes the collective fail on the others,
   and MPI ends the whole job rather than let them wait; mpirun or srun says which rank died. */
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/comm.h"
#include "util/util.h"

/* The launchers' environment: Open MPI's mpirun, PMIx (srun --mpi=pmix, prterun), PMI-1/2
   (srun --mpi=pmi2, MPICH's hydra). */
static int started_by_launcher(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK") ||
           getenv("PMI_SIZE");
}

static crnn_status mpi_failed(crnn_error *err, const char *what, int rc) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) len = 0;
    msg[len] = 0;
    return set_error(err, CRNN_ERR_IO, "MPI %s failed: %s", what, len ? msg : "unknown error");
}

/* MPI counts are ints: a large buffer goes in pieces. */
#define PIECE (1 << 30)

static crnn_status mpi_allreduce_sum(train_comm *c, float *x, size_t n, crnn_error *err) {
    (void)c;
    for (size_t done = 0; done < n;) {
        int k = n - done > PIECE ? PIECE : (int)(n - done);
        int rc = MPI_Allreduce(MPI_IN_PLACE, x + done, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_failed(err, "allreduce", rc);
        done += (size_t)k;
    }
    return CRNN_OK;
}

static crnn_status mpi_broadcast(train_comm *c, void *buf, size_t bytes, int root,
                                 crnn_error *err) {
    (void)c;
    for (size_t done = 0; done < bytes;) {
        int k = bytes - done > PIECE ? PIECE : (int)(bytes - done);
        int rc = MPI_Bcast((char *)buf + done, k, MPI_BYTE, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_failed(err, "broadcast", rc);
        done += (size_t)k;
    }
    return CRNN_OK;
}

int cli_comm_open(train_comm **comm) {
    *comm = NULL;
    if (!started_by_launcher()) {
        const char *task = getenv("SLURM_PROCID");
        if (task && strtol(task, NULL, 10) > 0) {
            fprintf(stderr, "ocr-crnn train: task %s of a Slurm step without MPI: each task "
                    "would train alone into the same run folder. Start the step with MPI "
                    "(srun --mpi=pmix ...) or start one task\n", task);
            return 1;
        }
        return 0;
    }
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "ocr-crnn train: MPI cannot start (the message above)\n");
        return 1;
    }
    train_comm *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "ocr-crnn train: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
        return 1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c->size);
    /* the ranks that share this machine's cores */
    MPI_Comm local;
    c->local_size = 1;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local) ==
        MPI_SUCCESS) {
        MPI_Comm_size(local, &c->local_size);
        MPI_Comm_free(&local);
    }
    c->allreduce_sum = mpi_allreduce_sum;
    c->broadcast = mpi_broadcast;
    *comm = c;
    return 0;
}

void cli_comm_close(train_comm *comm) {
    if (!comm) return;
    MPI_Finalize();
    free(comm);
}

void cli_comm_abort(train_comm *comm, int status) {
    if (comm && comm->size > 1) MPI_Abort(MPI_COMM_WORLD, status);
    cli_comm_close(comm);
}

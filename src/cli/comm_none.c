/* comm_none.c — the build without MPI: ocr-crnn train is one process. A launcher that started
   several copies is refused, since each would train alone and write the same run folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/comm.h"

/* Whether a launcher started this process as one of several: Open MPI and PMI name the
   count; an srun step's tasks after the first have a non-zero SLURM_PROCID (a batch script's
   own shell is task 0, so it is not refused). */
static int one_of_several(char *why, size_t size) {
    static const char *const counts[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        const char *v = getenv(counts[i]);
        if (v && strtol(v, NULL, 10) > 1) {
            snprintf(why, size, "one of %s processes (%s)", v, counts[i]);
            return 1;
        }
    }
    const char *task = getenv("SLURM_PROCID");
    if (task && strtol(task, NULL, 10) > 0) {
        snprintf(why, size, "task %s of a Slurm step (SLURM_PROCID)", task);
        return 1;
    }
    return 0;
}

int cli_comm_open(train_comm **comm) {
    *comm = NULL;
    char why[128];
    if (one_of_several(why, sizeof why)) {
        fprintf(stderr, "ocr-crnn train: started as %s, but this ocr-crnn was built without "
                "MPI: each process would train alone into the same run folder. Rebuild with "
                "MPI (apt-get install libopenmpi-dev; meson setup -Dmpi=enabled) or start one "
                "process\n", why);
        return 1;
    }
    return 0;
}

void cli_comm_close(train_comm *comm) { (void)comm; }

void cli_comm_abort(train_comm *comm, int status) {
    (void)comm;
    (void)status;
}

/* cmd_train.c — `ocr-crnn train`: flags (or a config file of the same flags) into
   crnn_train_options (train_flags.c), the run folder's configuration restored on --resume;
   Ctrl-C checkpoints and stops cleanly. Started by an MPI launcher, each process is one rank
   of the run (comm.h). */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/comm.h"
#include "cli/train_flags.h"
#include "train/train.h"
#include "util/util.h"

static volatile int stop_requested; /* set from the signal handler, read by the trainer */

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static void log_line(void *user, const char *line) {
    (void)user;
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    fprintf(stderr, "[%02d:%02d:%02d] %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec, line);
}

static void usage(FILE *f) {
    fprintf(f,
        "usage: ocr-crnn train --run DIR --data SOURCE [--data SOURCE...] [OPTIONS]\n"
        "\n"
        "Trains a CRNN end to end from the CTC loss on images labelled only with their text.\n"
        "\n"
        "Data\n"
        "  --data [W:]SOURCE     a labelled set (TSV path<TAB>label, folder with labels.tsv,\n"
        "                        LMDB folder, or folder of MJSynth-named images) or 'synth' for\n"
        "                        the built-in generator; W is its relative weight (default 1)\n"
        "  --augment-real        jitter crops and contrast of the non-synthetic sources\n"
        "  --val SET             validation set (same formats); the best model is kept\n"
        "  --val-max N           validate on at most N images (default all)\n"
        "  --val-every N         steps between validations (default 1000)\n"
        "  --fonts FILE          font manifest for the generator (default: scan system fonts)\n"
        "  --backgrounds DIR     background images for the generator (repeatable; default\n"
        "                        ../shared/data/backgrounds/svt-train-scenes beside the\n"
        "                        project, if there)\n"
        "  --no-backgrounds      plain and procedural backgrounds only\n"
        "  --words FILE          word list for the generator\n"
        "  --synth-clean F       fraction of generated words drawn clean: printed, no camera\n"
        "                        defects or strong geometry (default 0)\n"
        "  --synth-clean-fade N  all generated words clean at step 0, fading linearly to\n"
        "                        --synth-clean by step N (default 0: no fade)\n"
        "  --synth-empty F       fraction of generated crops with no text, a background\n"
        "                        labelled \"\" so blank crops read as nothing (default 0)\n"
        "Model\n"
        "  --arch STR            layers, e.g. 'c64 m2 c128 m2 ... bilstm256 bilstm256', or a\n"
        "                        preset: fast (default, the shipped model), small,\n"
        "                        paper. Tokens:\n"
        "                          c<out>[k<kh>x<kw>][s<sh>x<sw>][p<ph>x<pw>][n]  convolution\n"
        "                            (3x3, same padding, batch-norm + ReLU; n: no batch-norm)\n"
        "                          dw[k..][s..][p..][n]   the same, depthwise (each channel its\n"
        "                            own kernel; 'dw c<out>k1' is a depthwise-separable block)\n"
        "                          m<kh>x<kw>[s..][p..]   max-pool (stride = kernel)\n"
        "                          [bi]lstm<H>, [bi]gru<H>  recurrent layer\n"
        "                          [bi]cgru<H>|[bi]clstm<H>[k..][s..][p..][a]  Convolutional RNN:\n"
        "                            each window read column by column by a GRU/LSTM of H\n"
        "                            units, its last state (a: the mean of its outputs) out\n"
        "                            (3x3, same padding; see docs/model-format.md)\n"
        "                        a linear layer to the charset is appended\n"
        "  --charset NAME        ascii (default), alnum, ALNUM or file:PATH\n"
        "  --height N            input height (default 32)\n"
        "  --colour              a model of RGB images (default grey); the generator draws RGB\n"
        "  --init MODEL          start from this model (fine-tuning)\n"
        "Optimisation\n"
        "  --steps N             total steps (default 100000)\n"
        "  --batch N             batch size (default 32)\n"
        "  --optimizer NAME      adam (default, with decoupled weight decay) or adadelta\n"
        "  --lr X                peak learning rate (default 1e-3; use 1 for adadelta)\n"
        "  --final-lr X          learning rate at the end of the cosine (default 1e-5)\n"
        "  --schedule NAME       cosine (default), onecycle or constant\n"
        "  --warmup N            warm-up steps (default 500)\n"
        "  --weight-decay X      (default 1e-4)\n"
        "  --clip X              global gradient-norm clip (default 5)\n"
        "  --seed N              (default 1)\n"
        "  --threads N           worker threads sharing each batch (default: all cores;\n"
        "                        under MPI, the machine's cores shared among its ranks)\n"
        "Output\n"
        "  --run DIR             run.conf, checkpoint.bin, best.crnn (best validated),\n"
        "                        last.crnn (the checkpoint's weights), log.csv, plot.png;\n"
        "                        a folder that holds a run is refused without one of:\n"
        "  --resume              continue the run in DIR exactly, with the configuration of\n"
        "                        DIR/run.conf; other flags given must agree with it, except\n"
        "                        --steps, --val, --val-max, --val-every, --checkpoint-minutes,\n"
        "                        --threads, --export, --half, which may change\n"
        "  --force               start over in DIR, replacing the run there\n"
        "  --checkpoint-minutes M  checkpoint period (default 5)\n"
        "  --export FILE         also write the best model here\n"
        "  --half                store the exported model in f16\n"
        "  --config FILE         read flags from FILE, one 'flag value' per line ('#' comments);\n"
        "                        flags on the command line override it\n"
        "\n"
        "The log names what the generator found (fonts, backgrounds), warns of a warm-up as\n"
        "long as the run, and ends with the best validation accuracy.\n"
        "\n"
        "Across processes and machines: start it under an MPI launcher, e.g.\n"
        "  mpirun -np 4 --hostfile HOSTS ocr-crnn train --run DIR ...   or   srun --mpi=pmix ...\n"
        "Each rank trains on its share of every batch (--batch is the global batch) and the\n"
        "gradients are summed each step; rank 0 alone writes DIR and logs. Every rank must\n"
        "see the data and DIR at the same paths. A run resumes with any number of ranks.\n");
}

/* Expands --config FILE into the arguments before the command line's (which override it).
   Returns the arguments to parse (argv itself without --config), or NULL after printing an
   error. */
static char **expand_config(int *argc, char **argv, config_args *c) {
    memset(c, 0, sizeof *c);
    for (int i = 1; i < *argc - 1; i++) {
        if (strcmp(argv[i], "--config") != 0) continue;
        if (config_args_read(argv[i + 1], argv[0], c) != 0) return NULL;
        char **all = realloc(c->argv, sizeof(char *) * (size_t)(c->argc + *argc + 1));
        if (!all) {
            fprintf(stderr, "ocr-crnn train: out of memory\n");
            return NULL;
        }
        c->argv = all;
        for (int k = 1; k < *argc; k++)
            if (k != i && k != i + 1) c->argv[c->argc++] = argv[k];
        c->argv[c->argc] = NULL;
        *argc = c->argc;
        return c->argv;
    }
    return argv;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int train_main(int argc, char **args);

int cmd_train(int argc, char **argv) {
    config_args cfg;
    static char prog[] = "ocr-crnn train"; /* getopt's own messages start with argv[0] */
    argv[0] = prog;
    char **args = expand_config(&argc, argv, &cfg);
    int rc = args ? train_main(argc, args) : 2;
    config_args_free(&cfg);
    return rc;
}

static int train_main(int argc, char **args) {
    train_flags given, stored, run;
    int rc = train_flags_parse(&given, argc, args, usage);
    if (rc) return rc == 1 ? 0 : rc;
    if (!given.o.run_dir) {
        fprintf(stderr, "ocr-crnn train: --run DIR is required\n");
        cli_usage_hint("train");
        return 2;
    }
    if (given.o.resume && given.force) {
        fprintf(stderr, "ocr-crnn train: --resume continues the run, --force starts it over: "
                "give one\n");
        return 2;
    }
    char conf_path[4200], bg_buf[4200];
    snprintf(conf_path, sizeof conf_path, "%s/run.conf", given.o.run_dir);
    config_args stored_args;
    memset(&stored_args, 0, sizeof stored_args);
    if (given.o.resume && file_exists(conf_path)) {
        /* The run's own configuration; the command line only adds what may change. */
        if (config_args_read(conf_path, "ocr-crnn train", &stored_args) != 0) return 1;
        if (train_flags_parse(&stored, stored_args.argc, stored_args.argv, usage) != 0) {
            fprintf(stderr, "ocr-crnn train: %s: not a run configuration (the error above)\n",
                    conf_path);
            config_args_free(&stored_args);
            return 1;
        }
        if (train_flags_resume(&run, &stored, &given, conf_path) != 0) {
            config_args_free(&stored_args);
            return 2;
        }
    } else {
        if (given.o.resume)
            fprintf(stderr, "ocr-crnn train: %s not found (a run from before it was written): "
                    "resuming with the flags given, which run.conf now records\n", conf_path);
        run = given;
        if (run.o.synth_backgrounds) run.o.synth_backgrounds = run.backgrounds;
        train_flags_default_backgrounds(&run, cli_default_backgrounds(bg_buf, sizeof bg_buf));
    }
    if (run.o.n_sources == 0) {
        fprintf(stderr, "ocr-crnn train: at least one --data is required\n");
        cli_usage_hint("train");
        config_args_free(&stored_args);
        return 2;
    }
    char *conf = train_flags_config(&run);
    if (!conf) {
        fprintf(stderr, "ocr-crnn train: out of memory\n");
        config_args_free(&stored_args);
        return 1;
    }
    crnn_train_options o = run.o;
    o.run_config = conf;
    o.overwrite = run.force;
    o.log = log_line;
    o.stop = &stop_requested;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    train_comm *comm;
    if (cli_comm_open(&comm) != 0) {
        free(conf);
        config_args_free(&stored_args);
        return 1;
    }
    crnn_error err;
    int all_ranks = 1;
    crnn_status s = train_run(&o, comm, &all_ranks, &err);
    free(conf);
    config_args_free(&stored_args);
    int status = s == CRNN_OK ? 0 : s == CRNN_ERR_ARG ? 2 : 1;
    int rank = comm ? comm->rank : 0, ranks = comm ? comm->size : 1;
    if (s != CRNN_OK && all_ranks) { /* the same reason on every rank: rank 0 tells it */
        if (rank == 0) fprintf(stderr, "ocr-crnn train: %s\n", err.message);
    } else if (s != CRNN_OK) { /* this rank's alone: the others may wait for it */
        if (ranks > 1) fprintf(stderr, "ocr-crnn train: rank %d of %d: %s (ending the job)\n",
                               rank, ranks, err.message);
        else fprintf(stderr, "ocr-crnn train: %s\n", err.message);
        cli_comm_abort(comm, status);
        return status;
    }
    cli_comm_close(comm);
    return status;
}

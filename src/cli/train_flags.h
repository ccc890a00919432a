/* train_flags.h — the flags of `ocr-crnn train`: parsed into crnn_train_options, written out
   as a run's configuration (RUN/run.conf, the same `flag value` lines --config reads), and
   merged on --resume: the stored configuration is the run's, and flags given again must agree
   with it unless they are among those that may change. */
#ifndef CRNN_CLI_TRAIN_FLAGS_H
#define CRNN_CLI_TRAIN_FLAGS_H

#include "crnn.h"

#define TRAIN_MAX_BACKGROUNDS 16
#define TRAIN_MAX_FLAGS 40
/* What --resume may change, for messages and --help. */
#define TRAIN_RESUME_MAY_CHANGE                                                                \
    "--steps, --val, --val-max, --val-every, --checkpoint-minutes, --threads, --export, --half"

typedef struct {
    crnn_train_options o;
    const char *backgrounds[TRAIN_MAX_BACKGROUNDS + 1]; /* NULL-terminated */
    int n_backgrounds;
    int no_backgrounds;                  /* --no-backgrounds, or none found by default */
    int augment_real;
    int force;                           /* --force: start over in a run folder */
    unsigned char given[TRAIN_MAX_FLAGS]; /* which flags (by table index) appeared */
} train_flags;

/* The arguments of a --config file or a run.conf: argv entries pointing into data. */
typedef struct {
    char **argv;
    int argc;
    char *data;  /* the file's text, cut into values in place */
    char *flags; /* "--name" strings */
} config_args;

/* Reads FILE's `flag value` lines ('#' comments and blank lines skipped) as arguments after
   argv0. 0, or 1 after printing why (naming the file). */
int config_args_read(const char *path, const char *argv0, config_args *c);
void config_args_free(config_args *c);

/* Parses argv (argv[0] is the program's name for getopt's messages) into t, from the
   defaults; strings point into argv. Returns 0, 1 when --help was printed, 2 after printing
   a usage error. */
int train_flags_parse(train_flags *t, int argc, char **argv, void (*help)(FILE *));
/* The generator's backgrounds when none were named: dir (if not NULL), else none. */
void train_flags_default_backgrounds(train_flags *t, const char *dir);

/* The configuration as `flag value` lines, every setting spelled out (defaults too, paths
   absolute), as run.conf stores it. malloc'ed; NULL when out of memory. */
char *train_flags_config(const train_flags *t);

/* --resume with a stored configuration: run = stored, with the flags given on the command
   line that may change taken from given. Flags given that differ from the stored ones and
   may not change are listed on stderr (returns 2). Notes what changed on stderr. */
int train_flags_resume(train_flags *run, const train_flags *stored, const train_flags *given,
                       const char *conf_path);

#endif

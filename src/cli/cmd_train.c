/* cmd_train.c — `ocr-crnn train`: flags (or a config file of the same flags) into
   crnn_train_options; Ctrl-C checkpoints and stops cleanly. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
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
        "  --backgrounds DIR     background images for the generator (repeatable)\n"
        "  --words FILE          word list for the generator\n"
        "Model\n"
        "  --arch STR            layers, e.g. 'c64 m2 c128 m2 ... bilstm256 bilstm256', or a\n"
        "                        preset: fast (default, the shipped model), small, paper\n"
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
        "  --threads N           worker threads sharing each batch (default: all cores)\n"
        "Output\n"
        "  --run DIR             checkpoint.bin, best.crnn, log.csv, plot.png\n"
        "  --resume              continue from DIR/checkpoint.bin exactly\n"
        "  --checkpoint-minutes M  checkpoint period (default 5)\n"
        "  --export FILE         also write the best model here\n"
        "  --half                store the exported model in f16\n"
        "  --config FILE         read flags from FILE, one 'flag value' per line ('#' comments);\n"
        "                        flags on the command line override it\n");
}

/* What --config expansion allocated, freed when the command ends. */
typedef struct {
    char **argv;  /* NULL when there was no --config */
    char *data;   /* the file's text, cut into values in place */
    char *flags;  /* "--name" strings, one after another */
} config_args;

static void config_args_free(config_args *c) {
    free(c->argv);
    free(c->data);
    free(c->flags);
}

/* Expands --config FILE into argv entries placed before the remaining arguments. Returns the
   argv to parse (argv itself when there is no --config), or NULL after printing an error. */
static char **expand_config(int *argc, char **argv, config_args *c) {
    memset(c, 0, sizeof *c);
    for (int i = 1; i < *argc - 1; i++) {
        if (strcmp(argv[i], "--config") != 0) continue;
        crnn_error err;
        unsigned char *data;
        size_t size;
        if (read_file(argv[i + 1], 1 << 20, &data, &size, &err) != CRNN_OK) {
            fprintf(stderr, "ocr-crnn train: %s\n", err.message);
            return NULL;
        }
        c->data = (char *)data;
        int cap = *argc + (int)size + 2, n = 0;
        c->argv = calloc((size_t)cap, sizeof(char *));
        c->flags = malloc(2 * size + 4); /* each flag: its name, up to "--" more, and a NUL */
        if (!c->argv || !c->flags) {
            fprintf(stderr, "ocr-crnn train: out of memory\n");
            return NULL;
        }
        char *fp = c->flags;
        c->argv[n++] = argv[0];
        for (char *save = NULL, *ln = strtok_r(c->data, "\n", &save); ln;
             ln = strtok_r(NULL, "\n", &save)) {
            while (*ln == ' ' || *ln == '\t') ln++;
            if (!*ln || *ln == '#') continue;
            char *sp = ln + strcspn(ln, " \t=");
            char *val = NULL;
            if (*sp) {
                *sp = 0;
                val = sp + 1;
                while (*val == ' ' || *val == '\t' || *val == '=') val++;
                char *e = val + strlen(val);
                while (e > val && (e[-1] == ' ' || e[-1] == '\r' || e[-1] == '\t')) *--e = 0;
                if (!*val) val = NULL;
            }
            int len = sprintf(fp, "%s%s", strncmp(ln, "--", 2) ? "--" : "", ln);
            c->argv[n++] = fp;
            fp += len + 1;
            if (val) c->argv[n++] = val;
        }
        for (int k = 1; k < *argc; k++)
            if (k != i && k != i + 1) c->argv[n++] = argv[k];
        *argc = n;
        return c->argv;
    }
    return argv;
}

static int train_main(int argc, char **args);

int cmd_train(int argc, char **argv) {
    config_args cfg;
    char **args = expand_config(&argc, argv, &cfg);
    if (!args) {
        config_args_free(&cfg);
        return 2;
    }
    int rc = train_main(argc, args);
    config_args_free(&cfg);
    return rc;
}

static int train_main(int argc, char **args) {
    enum {
        O_DATA = 256, O_AUG, O_VAL, O_VALMAX, O_VALEVERY, O_FONTS, O_BG, O_WORDS, O_ARCH,
        O_CHARSET, O_HEIGHT, O_INIT, O_STEPS, O_BATCH, O_OPT, O_LR, O_FLR, O_SCHED, O_WARM,
        O_WD, O_CLIP, O_SEED, O_THREADS, O_RUN, O_RESUME, O_CKPT, O_EXPORT, O_HALF, O_CONFIG,
        O_COLOUR
    };
    static const struct option opts[] = {
        {"data", 1, 0, O_DATA}, {"augment-real", 0, 0, O_AUG}, {"val", 1, 0, O_VAL},
        {"val-max", 1, 0, O_VALMAX}, {"val-every", 1, 0, O_VALEVERY}, {"fonts", 1, 0, O_FONTS},
        {"backgrounds", 1, 0, O_BG}, {"words", 1, 0, O_WORDS}, {"arch", 1, 0, O_ARCH},
        {"charset", 1, 0, O_CHARSET}, {"height", 1, 0, O_HEIGHT}, {"init", 1, 0, O_INIT},
        {"steps", 1, 0, O_STEPS}, {"batch", 1, 0, O_BATCH}, {"optimizer", 1, 0, O_OPT},
        {"lr", 1, 0, O_LR}, {"final-lr", 1, 0, O_FLR}, {"schedule", 1, 0, O_SCHED},
        {"warmup", 1, 0, O_WARM}, {"weight-decay", 1, 0, O_WD}, {"clip", 1, 0, O_CLIP},
        {"seed", 1, 0, O_SEED}, {"threads", 1, 0, O_THREADS}, {"run", 1, 0, O_RUN},
        {"resume", 0, 0, O_RESUME}, {"checkpoint-minutes", 1, 0, O_CKPT},
        {"export", 1, 0, O_EXPORT}, {"half", 0, 0, O_HALF}, {"config", 1, 0, O_CONFIG},
        {"colour", 0, 0, O_COLOUR}, {"color", 0, 0, O_COLOUR},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    crnn_train_options o = crnn_train_default_options();
    const char *bgs[17] = {0};
    int n_bg = 0, augment_real = 0, c;
    optind = 1;
    static char prog[] = "ocr-crnn train"; /* getopt's own messages start with argv[0] */
    args[0] = prog;
    int opt_index = 0;
    while ((c = getopt_long(argc, args, "h", opts, &opt_index)) != -1) {
        char *end = NULL;
        double num = optarg ? strtod(optarg, &end) : 0;
        int bad_num = optarg && (end == optarg || *end);
        switch (c) {
        case O_DATA: {
            if (o.n_sources >= CRNN_TRAIN_MAX_SOURCES) {
                fprintf(stderr, "ocr-crnn train: at most %d --data sources\n", CRNN_TRAIN_MAX_SOURCES);
                return 2;
            }
            const char *colon = strchr(optarg, ':');
            float w = 1;
            const char *src = optarg;
            if (colon) {
                char *e;
                double v = strtod(optarg, &e);
                if (e == colon && v > 0) { w = (float)v; src = colon + 1; }
            }
            o.sources[o.n_sources] = src;
            o.weights[o.n_sources] = w;
            o.n_sources++;
            continue;
        }
        case O_AUG: augment_real = 1; continue;
        case O_COLOUR: o.input_channels = 3; continue;
        case O_VAL: o.val_data = optarg; continue;
        case O_FONTS: o.synth_fonts = optarg; continue;
        case O_BG:
            if (n_bg < 16) bgs[n_bg++] = optarg;
            continue;
        case O_WORDS: o.synth_words = optarg; continue;
        case O_ARCH: o.arch = optarg; continue;
        case O_CHARSET: o.charset = optarg; continue;
        case O_INIT: o.init_model = optarg; continue;
        case O_RUN: o.run_dir = optarg; continue;
        case O_RESUME: o.resume = 1; continue;
        case O_EXPORT: o.export_path = optarg; continue;
        case O_HALF: o.export_half = 1; continue;
        case O_OPT:
            if (!strcmp(optarg, "adam")) o.optimizer = CRNN_OPT_ADAM;
            else if (!strcmp(optarg, "adadelta")) o.optimizer = CRNN_OPT_ADADELTA;
            else { fprintf(stderr, "ocr-crnn train: --optimizer is adam or adadelta\n"); return 2; }
            continue;
        case O_SCHED:
            if (!strcmp(optarg, "cosine")) o.schedule = CRNN_SCHED_COSINE;
            else if (!strcmp(optarg, "onecycle")) o.schedule = CRNN_SCHED_ONECYCLE;
            else if (!strcmp(optarg, "constant")) o.schedule = CRNN_SCHED_CONSTANT;
            else { fprintf(stderr, "ocr-crnn train: --schedule is cosine, onecycle or constant\n"); return 2; }
            continue;
        case O_CONFIG: continue;
        case 'h': usage(stdout); return 0;
        case '?': cli_usage_hint("train"); return 2;
        default: break;
        }
        if (bad_num || num < 0) {
            fprintf(stderr, "ocr-crnn train: --%s needs a non-negative number, got '%s'\n",
                    opts[opt_index].name, optarg);
            return 2;
        }
        switch (c) {
        case O_VALMAX: o.val_max = (int)num; break;
        case O_VALEVERY: o.val_every = num >= 1 ? (long)num : 1; break;
        case O_HEIGHT: o.input_height = (int)num; break;
        case O_STEPS: o.steps = (long)num; break;
        case O_BATCH: o.batch_size = (int)num; break;
        case O_LR: o.lr = (float)num; break;
        case O_FLR: o.final_lr = (float)num; break;
        case O_WARM: o.warmup = (long)num; break;
        case O_WD: o.weight_decay = (float)num; break;
        case O_CLIP: o.clip = (float)num; break;
        case O_SEED: o.seed = (uint64_t)num; break;
        case O_THREADS: o.threads = (int)num; break;
        case O_CKPT: o.checkpoint_seconds = num * 60; break;
        default: break;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ocr-crnn train: unexpected argument '%s'\n", args[optind]);
        cli_usage_hint("train");
        return 2;
    }
    if (!o.run_dir || o.n_sources == 0) {
        fprintf(stderr, "ocr-crnn train: --run DIR and at least one --data are required\n");
        cli_usage_hint("train");
        return 2;
    }
    for (int i = 0; i < o.n_sources; i++) o.augment[i] = augment_real && strcmp(o.sources[i], "synth");
    if (n_bg) o.synth_backgrounds = bgs;
    o.log = log_line;
    o.stop = &stop_requested;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    crnn_error err;
    crnn_status s = crnn_train(&o, &err);
    if (s != CRNN_OK) {
        fprintf(stderr, "ocr-crnn train: %s\n", err.message);
        return 1;
    }
    return 0;
}

/* train_flags.c — see train_flags.h. One table names every flag, says whether a run's
   configuration stores it and whether --resume may change it; parsing, writing run.conf and
   the resume rule all follow it. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/train_flags.h"
#include "train/train.h"
#include "util/util.h"

enum {
    F_DATA, F_AUG, F_VAL, F_VALMAX, F_VALEVERY, F_FONTS, F_BG, F_NOBG, F_WORDS, F_SCLEAN, F_SFADE,
    F_SEMPTY,
    F_ARCH, F_CHARSET, F_HEIGHT, F_COLOUR, F_COLOR, F_INIT, F_STEPS, F_BATCH, F_OPT, F_LR, F_FLR,
    F_SCHED, F_WARM, F_WD, F_CLIP, F_SEED, F_THREADS, F_CKPT, F_EXPORT, F_HALF, F_RUN, F_RESUME,
    F_FORCE, F_CONFIG, F_COUNT
};

/* stored: part of a run's configuration (run.conf); may_change: on --resume. The others say
   where the run is and how to start it. */
static const struct {
    const char *name;
    int has_arg, stored, may_change;
} flags[F_COUNT] = {
    [F_DATA] = {"data", 1, 1, 0},           [F_AUG] = {"augment-real", 0, 1, 0},
    [F_VAL] = {"val", 1, 1, 1},             [F_VALMAX] = {"val-max", 1, 1, 1},
    [F_VALEVERY] = {"val-every", 1, 1, 1},  [F_FONTS] = {"fonts", 1, 1, 0},
    [F_BG] = {"backgrounds", 1, 1, 0},      [F_NOBG] = {"no-backgrounds", 0, 1, 0},
    [F_WORDS] = {"words", 1, 1, 0},
    [F_SCLEAN] = {"synth-clean", 1, 1, 0},  [F_SFADE] = {"synth-clean-fade", 1, 1, 0},
    [F_SEMPTY] = {"synth-empty", 1, 1, 0},
    [F_ARCH] = {"arch", 1, 1, 0},           [F_CHARSET] = {"charset", 1, 1, 0},
    [F_HEIGHT] = {"height", 1, 1, 0},       [F_INIT] = {"init", 1, 1, 0},
    [F_COLOUR] = {"colour", 0, 1, 0},       [F_COLOR] = {"color", 0, 0, 0}, /* the same */
    [F_STEPS] = {"steps", 1, 1, 1},         [F_BATCH] = {"batch", 1, 1, 0},
    [F_OPT] = {"optimizer", 1, 1, 0},       [F_LR] = {"lr", 1, 1, 0},
    [F_FLR] = {"final-lr", 1, 1, 0},        [F_SCHED] = {"schedule", 1, 1, 0},
    [F_WARM] = {"warmup", 1, 1, 0},         [F_WD] = {"weight-decay", 1, 1, 0},
    [F_CLIP] = {"clip", 1, 1, 0},           [F_SEED] = {"seed", 1, 1, 0},
    [F_THREADS] = {"threads", 1, 1, 1},     [F_CKPT] = {"checkpoint-minutes", 1, 1, 1},
    [F_EXPORT] = {"export", 1, 1, 1},       [F_HALF] = {"half", 0, 1, 1},
    [F_RUN] = {"run", 1, 0, 0},             [F_RESUME] = {"resume", 0, 0, 0},
    [F_FORCE] = {"force", 0, 0, 0},         [F_CONFIG] = {"config", 1, 0, 0},
};
#define OPTION_BASE 256

/* ---- config files -------------------------------------------------------------------------- */

int config_args_read(const char *path, const char *argv0, config_args *c) {
    memset(c, 0, sizeof *c);
    crnn_error err;
    unsigned char *data;
    size_t size;
    if (read_file(path, 1 << 20, &data, &size, &err) != CRNN_OK) {
        fprintf(stderr, "ocr-crnn train: %s\n", err.message);
        return 1;
    }
    c->data = (char *)data;
    c->argv = calloc(size + 2, sizeof(char *));
    c->flags = malloc(2 * size + 4); /* each flag: its name, up to "--" more, and a NUL */
    if (!c->argv || !c->flags) {
        fprintf(stderr, "ocr-crnn train: out of memory\n");
        config_args_free(c);
        return 1;
    }
    char *fp = c->flags;
    c->argv[c->argc++] = (char *)argv0;
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
        } else {
            char *e = ln + strlen(ln);
            while (e > ln && e[-1] == '\r') *--e = 0;
        }
        int len = sprintf(fp, "%s%s", strncmp(ln, "--", 2) ? "--" : "", ln);
        c->argv[c->argc++] = fp;
        fp += len + 1;
        if (val) c->argv[c->argc++] = val;
    }
    return 0;
}

void config_args_free(config_args *c) {
    free(c->argv);
    free(c->data);
    free(c->flags);
    memset(c, 0, sizeof *c);
}

/* ---- parsing ------------------------------------------------------------------------------- */

int train_flags_parse(train_flags *t, int argc, char **argv, void (*help)(FILE *)) {
    memset(t, 0, sizeof *t);
    t->o = crnn_train_default_options();
    struct option opts[F_COUNT + 2];
    for (int f = 0; f < F_COUNT; f++)
        opts[f] = (struct option){flags[f].name, flags[f].has_arg, 0, OPTION_BASE + f};
    opts[F_COUNT] = (struct option){"help", 0, 0, 'h'};
    opts[F_COUNT + 1] = (struct option){0, 0, 0, 0};
    optind = 0; /* a fresh scan: this runs on the command line and on run.conf */
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            help(stdout);
            return 1;
        }
        if (c < OPTION_BASE || c >= OPTION_BASE + F_COUNT) {
            cli_usage_hint("train");
            return 2;
        }
        int f = c - OPTION_BASE;
        crnn_train_options *o = &t->o;
        t->given[f] = 1;
        char *end = NULL;
        double num = optarg ? strtod(optarg, &end) : 0;
        int bad_num = !optarg || end == optarg || *end || num < 0;
        switch (f) {
        case F_DATA: {
            if (o->n_sources >= CRNN_TRAIN_MAX_SOURCES) {
                fprintf(stderr, "ocr-crnn train: at most %d --data sources\n",
                        CRNN_TRAIN_MAX_SOURCES);
                return 2;
            }
            const char *colon = strchr(optarg, ':');
            float w = 1;
            const char *src = optarg;
            if (colon) {
                char *e;
                double v = strtod(optarg, &e);
                if (e == colon && v > 0) {
                    w = (float)v;
                    src = colon + 1;
                }
            }
            o->sources[o->n_sources] = src;
            o->weights[o->n_sources] = w;
            o->n_sources++;
            continue;
        }
        case F_AUG: t->augment_real = 1; continue;
        case F_VAL: o->val_data = optarg; continue;
        case F_FONTS: o->synth_fonts = optarg; continue;
        case F_BG:
            if (t->n_backgrounds == TRAIN_MAX_BACKGROUNDS) {
                fprintf(stderr, "ocr-crnn train: at most %d --backgrounds\n",
                        TRAIN_MAX_BACKGROUNDS);
                return 2;
            }
            t->backgrounds[t->n_backgrounds++] = optarg;
            continue;
        case F_NOBG: t->no_backgrounds = 1; continue;
        case F_WORDS: o->synth_words = optarg; continue;
        case F_ARCH: o->arch = optarg; continue;
        case F_CHARSET: o->charset = optarg; continue;
        case F_COLOUR:
        case F_COLOR:
            o->input_channels = 3;
            t->given[F_COLOUR] = 1;
            continue;
        case F_INIT: o->init_model = optarg; continue;
        case F_RUN: o->run_dir = optarg; continue;
        case F_RESUME: o->resume = 1; continue;
        case F_FORCE: t->force = 1; continue;
        case F_EXPORT: o->export_path = optarg; continue;
        case F_HALF: o->export_half = 1; continue;
        case F_CONFIG: continue; /* expanded before parsing */
        case F_OPT:
            if (!strcmp(optarg, "adam")) o->optimizer = CRNN_OPT_ADAM;
            else if (!strcmp(optarg, "adadelta")) o->optimizer = CRNN_OPT_ADADELTA;
            else {
                fprintf(stderr, "ocr-crnn train: --optimizer is adam or adadelta\n");
                return 2;
            }
            continue;
        case F_SCHED:
            if (!strcmp(optarg, "cosine")) o->schedule = CRNN_SCHED_COSINE;
            else if (!strcmp(optarg, "onecycle")) o->schedule = CRNN_SCHED_ONECYCLE;
            else if (!strcmp(optarg, "constant")) o->schedule = CRNN_SCHED_CONSTANT;
            else {
                fprintf(stderr, "ocr-crnn train: --schedule is cosine, onecycle or constant\n");
                return 2;
            }
            continue;
        default: break;
        }
        if (bad_num) {
            fprintf(stderr, "ocr-crnn train: --%s needs a non-negative number, got '%s'\n",
                    flags[f].name, optarg ? optarg : "");
            return 2;
        }
        switch (f) {
        case F_VALMAX: o->val_max = (int)num; break;
        case F_VALEVERY: o->val_every = num >= 1 ? (long)num : 1; break;
        case F_HEIGHT: o->input_height = (int)num; break;
        case F_STEPS: o->steps = (long)num; break;
        case F_BATCH: o->batch_size = (int)num; break;
        case F_LR: o->lr = (float)num; break;
        case F_FLR: o->final_lr = (float)num; break;
        case F_WARM: o->warmup = (long)num; break;
        case F_WD: o->weight_decay = (float)num; break;
        case F_CLIP: o->clip = (float)num; break;
        case F_SEED: o->seed = (uint64_t)num; break;
        case F_THREADS: o->threads = (int)num; break;
        case F_CKPT: o->checkpoint_seconds = num * 60; break;
        case F_SFADE: o->synth_clean_fade = (long)num; break;
        case F_SCLEAN:
        case F_SEMPTY:
            if (num > 1) {
                fprintf(stderr, "ocr-crnn train: --%s is a fraction 0..1, got '%s'\n",
                        flags[f].name, optarg);
                return 2;
            }
            *(f == F_SCLEAN ? &o->synth_clean : &o->synth_empty) = (float)num;
            break;
        default: break;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ocr-crnn train: unexpected argument '%s'\n", argv[optind]);
        cli_usage_hint("train");
        return 2;
    }
    for (int i = 0; i < t->o.n_sources; i++)
        t->o.augment[i] = t->augment_real && strcmp(t->o.sources[i], "synth") != 0;
    if (t->no_backgrounds && t->n_backgrounds) {
        fprintf(stderr, "ocr-crnn train: --backgrounds and --no-backgrounds contradict\n");
        return 2;
    }
    t->backgrounds[t->n_backgrounds] = NULL;
    if (t->n_backgrounds || t->no_backgrounds) t->o.synth_backgrounds = t->backgrounds;
    return 0;
}

void train_flags_default_backgrounds(train_flags *t, const char *dir) {
    if (t->n_backgrounds || t->no_backgrounds) return;
    if (dir) t->backgrounds[t->n_backgrounds++] = dir;
    else t->no_backgrounds = 1;
    t->backgrounds[t->n_backgrounds] = NULL;
    t->o.synth_backgrounds = t->backgrounds; /* an empty list: plain and procedural only */
}

/* ---- the configuration as text ------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t n, cap;
    int failed;
} text;

static void add(text *b, const char *fmt, ...) CRNN_PRINTF(2, 3);
static void add(text *b, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->failed = 1;
            return;
        }
        if (b->p && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->n + (size_t)k + 1) cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
}

/* A path as it names the same file from any folder: relative ones joined to the current one. */
static void add_path(text *b, const char *path) {
    char cwd[4096];
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd)) add(b, "%s", path);
    else add(b, "%s/%s", cwd, path[0] == '.' && path[1] == '/' ? path + 2 : path);
}

/* The shortest spelling that reads back as the same float. */
static void add_float(text *b, float v) {
    char s[32];
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(s, sizeof s, "%.*g", digits, (double)v);
        if (strtof(s, NULL) == v) break;
    }
    add(b, "%s", s);
}

/* The lines of flag f in t's settings, as run.conf writes them ("" when it has none). */
static void flag_lines(text *b, const train_flags *t, int f) {
    const crnn_train_options *o = &t->o;
    const char *name = flags[f].name;
    switch (f) {
    case F_DATA:
        for (int i = 0; i < o->n_sources; i++) {
            add(b, "%s ", name);
            add_float(b, o->weights[i]);
            add(b, ":");
            if (!strcmp(o->sources[i], "synth")) add(b, "synth");
            else add_path(b, o->sources[i]);
            add(b, "\n");
        }
        break;
    case F_AUG: if (t->augment_real) add(b, "%s\n", name); break;
    case F_NOBG: if (t->no_backgrounds) add(b, "%s\n", name); break;
    case F_VAL:
        if (o->val_data) {
            add(b, "%s ", name);
            add_path(b, o->val_data);
            add(b, "\n");
        }
        break;
    case F_VALMAX: add(b, "%s %d\n", name, o->val_max); break;
    case F_VALEVERY: add(b, "%s %ld\n", name, o->val_every); break;
    case F_FONTS:
    case F_WORDS:
    case F_INIT:
    case F_EXPORT: {
        const char *p = f == F_FONTS   ? o->synth_fonts
                        : f == F_WORDS ? o->synth_words
                        : f == F_INIT  ? o->init_model
                                       : o->export_path;
        if (!p) break;
        add(b, "%s ", name);
        add_path(b, p);
        add(b, "\n");
        break;
    }
    case F_BG:
        for (int i = 0; o->synth_backgrounds && o->synth_backgrounds[i]; i++) {
            add(b, "%s ", name);
            add_path(b, o->synth_backgrounds[i]);
            add(b, "\n");
        }
        break;
    case F_ARCH: add(b, "%s %s\n", name, arch_expand(o->arch)); break;
    case F_CHARSET:
        if (!strncmp(o->charset, "file:", 5)) {
            add(b, "%s file:", name);
            add_path(b, o->charset + 5);
            add(b, "\n");
        } else {
            add(b, "%s %s\n", name, o->charset);
        }
        break;
    case F_HEIGHT: add(b, "%s %d\n", name, o->input_height); break;
    case F_SCLEAN:
        add(b, "%s ", name);
        add_float(b, o->synth_clean);
        add(b, "\n");
        break;
    case F_SFADE: add(b, "%s %ld\n", name, o->synth_clean_fade); break;
    case F_SEMPTY:
        add(b, "%s ", name);
        add_float(b, o->synth_empty);
        add(b, "\n");
        break;
    case F_COLOUR: if (o->input_channels == 3) add(b, "%s\n", name); break;
    case F_STEPS: add(b, "%s %ld\n", name, o->steps); break;
    case F_BATCH: add(b, "%s %d\n", name, o->batch_size); break;
    case F_OPT: add(b, "%s %s\n", name, o->optimizer == CRNN_OPT_ADADELTA ? "adadelta" : "adam"); break;
    case F_SCHED:
        add(b, "%s %s\n", name,
            o->schedule == CRNN_SCHED_ONECYCLE  ? "onecycle"
            : o->schedule == CRNN_SCHED_CONSTANT ? "constant"
                                                 : "cosine");
        break;
    case F_LR:
    case F_FLR:
    case F_WD:
    case F_CLIP:
        add(b, "%s ", name);
        add_float(b, f == F_LR ? o->lr : f == F_FLR ? o->final_lr : f == F_WD ? o->weight_decay : o->clip);
        add(b, "\n");
        break;
    case F_WARM: add(b, "%s %ld\n", name, o->warmup); break;
    case F_SEED: add(b, "%s %llu\n", name, (unsigned long long)o->seed); break;
    case F_THREADS: if (o->threads > 0) add(b, "%s %d\n", name, o->threads); break;
    case F_CKPT:
        add(b, "%s ", name);
        add_float(b, (float)(o->checkpoint_seconds / 60));
        add(b, "\n");
        break;
    case F_HALF: if (o->export_half) add(b, "%s\n", name); break;
    default: break;
    }
}

char *train_flags_config(const train_flags *t) {
    text b = {0};
    add(&b, "# The configuration of this training run, as ocr-crnn train flags (--config reads\n"
            "# the same lines). --resume continues the run with it; flags given again must\n"
            "# agree with it, except these, which may change and are then recorded here:\n"
            "# " TRAIN_RESUME_MAY_CHANGE "\n");
    for (int f = 0; f < F_COUNT; f++)
        if (flags[f].stored) flag_lines(&b, t, f);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ---- resume -------------------------------------------------------------------------------- */

/* flag_lines as one line for a message: "a, b" rather than "flag a\nflag b\n". */
static char *shown(const train_flags *t, int f) {
    text b = {0};
    flag_lines(&b, t, f);
    if (b.failed || !b.p) {
        free(b.p);
        return strdup("(not set)");
    }
    size_t skip = strlen(flags[f].name) + 1;
    text out = {0};
    for (char *save = NULL, *ln = strtok_r(b.p, "\n", &save); ln;
         ln = strtok_r(NULL, "\n", &save))
        add(&out, "%s%s", out.n ? ", " : "", strlen(ln) > skip ? ln + skip : "(set)");
    free(b.p);
    return out.p ? out.p : strdup("(not set)");
}

static int same_setting(const train_flags *a, const train_flags *b, int f) {
    text x = {0}, y = {0};
    flag_lines(&x, a, f);
    flag_lines(&y, b, f);
    int same = !x.failed && !y.failed && !strcmp(x.p ? x.p : "", y.p ? y.p : "");
    free(x.p);
    free(y.p);
    return same;
}

int train_flags_resume(train_flags *run, const train_flags *stored, const train_flags *given,
                       const char *conf_path) {
    int refused = 0;
    for (int f = 0; f < F_COUNT; f++) {
        if (!given->given[f] || !flags[f].stored || flags[f].may_change) continue;
        if (same_setting(stored, given, f)) continue;
        char *had = shown(stored, f), *now = shown(given, f);
        if (!refused++)
            fprintf(stderr, "ocr-crnn train: --resume continues the run that %s describes; "
                    "these flags differ from it:\n", conf_path);
        fprintf(stderr, "  --%s %s (the run has %s)\n", flags[f].name, now, had);
        free(had);
        free(now);
    }
    if (refused) {
        fprintf(stderr, "Only " TRAIN_RESUME_MAY_CHANGE " may change on --resume; to change "
                "the others, start a new run (--init RUN/best.crnn starts from its weights).\n");
        return 2;
    }
    *run = *stored;
    run->o.synth_backgrounds = stored->o.synth_backgrounds ? run->backgrounds : NULL;
    run->o.resume = 1;
    run->o.run_dir = given->o.run_dir;
    for (int f = 0; f < F_COUNT; f++) {
        if (!given->given[f] || !flags[f].may_change || same_setting(stored, given, f)) continue;
        char *had = shown(stored, f), *now = shown(given, f);
        fprintf(stderr, "ocr-crnn train: --%s %s on resuming (the run had %s)\n", flags[f].name,
                now, had);
        free(had);
        free(now);
        switch (f) {
        case F_VAL: run->o.val_data = given->o.val_data; break;
        case F_VALMAX: run->o.val_max = given->o.val_max; break;
        case F_VALEVERY: run->o.val_every = given->o.val_every; break;
        case F_STEPS: run->o.steps = given->o.steps; break;
        case F_THREADS: run->o.threads = given->o.threads; break;
        case F_CKPT: run->o.checkpoint_seconds = given->o.checkpoint_seconds; break;
        case F_EXPORT: run->o.export_path = given->o.export_path; break;
        case F_HALF: run->o.export_half = given->o.export_half; break;
        default: break;
        }
    }
    return 0;
}

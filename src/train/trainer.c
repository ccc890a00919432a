/* trainer.c — the training loop: batches from the loader, forward, CTC loss, backward, clip,
   optimiser step; validation, best-model export, checkpoints, logs and the plot. Across ranks
   (dist.h) every rank runs this loop on its share of each batch and the gradients are summed
   once a step; rank 0 alone writes the run folder and logs. */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "train/checkpoint.h"
#include "train/dist.h"
#include "train/loader.h"
#include "train/plot.h"
#include "train/train.h"
#include "train/validate.h"

#define MAX_CONSECUTIVE_BAD_STEPS 25

crnn_train_options crnn_train_default_options(void) {
    crnn_train_options o;
    memset(&o, 0, sizeof o);
    o.arch = "fast";
    o.charset = "ascii";
    o.input_height = 32;
    o.val_every = 1000;
    o.batch_size = 32;
    o.steps = 100000;
    o.optimizer = CRNN_OPT_ADAM;
    o.schedule = CRNN_SCHED_COSINE;
    o.lr = 1e-3f;
    o.final_lr = 1e-5f;
    o.warmup = 500;
    o.weight_decay = 1e-4f;
    o.clip = 5.0f;
    o.bn_momentum = 0.1f;
    o.seed = 1;
    o.checkpoint_seconds = 300;
    return o;
}

static void logf_(const crnn_train_options *o, const char *fmt, ...) CRNN_PRINTF(2, 3);
static void logf_(const crnn_train_options *o, const char *fmt, ...) {
    if (!o->log) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    o->log(o->log_user, line);
}

/* A duration as a person reads it: "40 s", "12 min", "3.5 h", "2.1 days" ("?" unknown). */
static void duration_text(double seconds, int known, char *out, size_t size) {
    if (!known || !isfinite(seconds)) snprintf(out, size, "?");
    else if (seconds < 90) snprintf(out, size, "%.0f s", seconds);
    else if (seconds < 90 * 60) snprintf(out, size, "%.0f min", seconds / 60);
    else if (seconds < 48 * 3600) snprintf(out, size, "%.1f h", seconds / 3600);
    else snprintf(out, size, "%.1f days", seconds / 86400);
}

static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Weight decay applies to weight matrices only, not to biases or batch-norm. */
static uint8_t *decay_mask(const crnn_model *m) {
    uint8_t *mask = calloc(m->n_params ? m->n_params : 1, 1);
    if (!mask) return NULL;
    for (int i = 0; i < m->n_tensors; i++) {
        const model_tensor *t = &m->tensors[i];
        const char *dot = strrchr(t->name, '.');
        if (t->ndim >= 2 && dot && (strstr(dot, "weight") || strstr(dot, "w_")))
            memset(mask + t->offset, 1, t->count);
    }
    return mask;
}

/* The files of a run. The first two make a folder a run's: a checkpoint to resume, a model
   to keep. A log and a plot alone are what a run stopped before its first checkpoint left,
   nothing to continue, and a new run replaces them; last.crnn never comes without a
   checkpoint. */
static const char *const run_files[] = {"checkpoint.bin", "best.crnn", "log.csv", "plot.png",
                                        "last.crnn"};
#define RUN_FILES_THAT_MATTER 2

/* A new run refuses a folder that holds a run, unless told to start over (then the old
   files go, so that none of them is mistaken for the new run's); the configuration is
   written once the folder is the run's. */
static crnn_status claim_run_dir(const crnn_train_options *o, crnn_error *err) {
    char path[4200];
    for (int i = 0; i < RUN_FILES_THAT_MATTER && !o->resume && !o->overwrite; i++) {
        snprintf(path, sizeof path, "%s/%s", o->run_dir, run_files[i]);
        if (access(path, F_OK) == 0)
            return set_error(err, CRNN_ERR_ARG, "%s holds a training run already (%s): "
                             "--resume continues it, --force starts over, replacing it",
                             o->run_dir, run_files[i]);
    }
    for (size_t i = 0; i < sizeof run_files / sizeof run_files[0] && o->overwrite; i++) {
        snprintf(path, sizeof path, "%s/%s", o->run_dir, run_files[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            return set_error(err, CRNN_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
    }
    if (!o->run_config) return CRNN_OK;
    snprintf(path, sizeof path, "%s/run.conf", o->run_dir);
    return write_file_atomic(path, o->run_config, strlen(o->run_config), err);
}

/* Creates the run folder and any missing parents (like mkdir -p): `--run runs/x` must work
   in a fresh clone, where runs/ does not exist yet. */
static crnn_status ensure_dir(const char *dir, crnn_error *err) {
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) return set_error(err, CRNN_ERR_IO, "%s: not a folder", dir);
        return CRNN_OK;
    }
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return set_error(err, CRNN_ERR_ARG, "%s: path too long", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (stat(path, &st) != 0 && mkdir(path, 0755) != 0 && errno != EEXIST)
            return set_error(err, CRNN_ERR_IO, "%s: cannot create folder %s: %s", dir, path,
                             strerror(errno));
        *p = '/';
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return set_error(err, CRNN_ERR_IO, "%s: cannot create folder: %s", dir, strerror(errno));
    return CRNN_OK;
}

static crnn_model *new_model(const crnn_train_options *o, crnn_error *err) {
    if (o->init_model) {
        unsigned char *data;
        size_t size;
        if (read_file(o->init_model, CRNN_MAX_MODEL_FILE_BYTES, &data, &size, err) != CRNN_OK)
            return NULL;
        crnn_model *m = model_parse(data, size, o->init_model, err);
        free(data);
        if (m && o->input_channels == 3 && m->input_channels == 1) { /* --init grey --colour */
            crnn_model *c = model_to_colour(m, err);
            crnn_model_free(m);
            m = c;
        }
        return m;
    }
    return model_from_arch(o->arch ? o->arch : "fast", o->charset ? o->charset : "ascii",
                           o->input_height > 0 ? o->input_height : 32,
                           o->input_channels == 3 ? 3 : 1, o->seed, err);
}

typedef struct {
    dataset *ds[CRNN_TRAIN_MAX_SOURCES];
    synth *syn[CRNN_TRAIN_MAX_SOURCES];
} source_handles;

static void close_sources(source_handles *h) {
    for (int i = 0; i < CRNN_TRAIN_MAX_SOURCES; i++) {
        dataset_close(h->ds[i]);
        synth_free(h->syn[i]);
    }
}

/* What the generator found, so that a run never draws from other fonts or backgrounds than
   its author thinks. */
static void log_synth(const crnn_train_options *o, const synth *syn) {
    char dirs[600] = "";
    size_t n = 0;
    for (int k = 0; o->synth_backgrounds && o->synth_backgrounds[k] && n < sizeof dirs; k++)
        n += (size_t)snprintf(dirs + n, sizeof dirs - n, "%s%s", k ? ", " : "",
                              o->synth_backgrounds[k]);
    int bgs = synth_num_backgrounds(syn);
    const char *from = n ? dirs : "../shared/data/backgrounds/svt-train-scenes"; /* default */
    logf_(o, "synth: %d fonts %s %s; %d background images%s%s%s", synth_num_fonts(syn),
          o->synth_fonts ? "from" : "found under",
          o->synth_fonts ? o->synth_fonts : "/usr/share/fonts", bgs, bgs ? " from " : "",
          bgs ? from : "", bgs ? "" : " (plain and procedural backgrounds only)");
}

static crnn_status open_sources(const crnn_train_options *o, const crnn_model *m,
                                source_handles *h, loader_config *lc, crnn_error *err) {
    memset(h, 0, sizeof *h);
    if (o->n_sources < 1 || o->n_sources > CRNN_TRAIN_MAX_SOURCES)
        return set_error(err, CRNN_ERR_ARG, "training needs 1 to %d data sources, got %d",
                         CRNN_TRAIN_MAX_SOURCES, o->n_sources);
    lc->n_sources = o->n_sources;
    for (int i = 0; i < o->n_sources; i++) {
        loader_source *s = &lc->sources[i];
        memset(s, 0, sizeof *s);
        s->weight = o->weights[i] > 0 ? o->weights[i] : 1.0f;
        s->augment = o->augment[i];
        if (!strcmp(o->sources[i], "synth")) {
            synth_config sc = synth_default_config();
            sc.seed = o->seed + 1000u * (uint64_t)i;
            sc.height = m->input_height;
            sc.channels = m->input_channels;
            sc.font_manifest = o->synth_fonts;
            sc.background_dirs = o->synth_backgrounds;
            sc.wordlist = o->synth_words;
            sc.empty = o->synth_empty;
            sc.charset = m->charset + 1;
            sc.charset_size = m->n_classes - 1;
            h->syn[i] = synth_new(&sc, err);
            if (!h->syn[i]) return err->code;
            s->syn = h->syn[i];
            log_synth(o, h->syn[i]);
        } else {
            h->ds[i] = dataset_open(o->sources[i], err);
            if (!h->ds[i]) return err->code;
            s->ds = h->ds[i];
        }
    }
    return CRNN_OK;
}

/* One training run: what crnn_train's phases share. */
typedef struct {
    const crnn_train_options *o;
    crnn_train_options own;   /* the options as this rank uses them (o points here) */
    train_comm *comm;         /* NULL: one process */
    int rank;
    int *threads_of;          /* every rank's worker count (comm only) */
    float *reduce_buf;        /* gradients and the step's statistics, summed over ranks */
    int stop_agreed;          /* a rank was asked to stop: all stop after this step */
    double cpu_all;           /* CPU seconds of every rank since this run (re)started */
    double reduce_s;          /* wall time in the step's reduction since the last report */
    long reduce_n;
    char ckpt_path[4096], best_path[4096], last_path[4096], log_path[4096], plot_path[4096];
    crnn_model *m;
    optimizer opt;
    checkpoint_state st;
    int n_workers;
    train_workers *workers;
    uint8_t *mask;
    source_handles handles;
    loader_config lc;
    validation_set val;
    loader *ld;
    FILE *logf;
    plot_series series;
    /* progress */
    double t_start, cpu_start, base_elapsed, base_cpu, last_ckpt, last_print, window_t0;
    double loss_avg, gnorm_avg, last_val;
    int loss_n, bad_run;
    long skipped_unalign, skipped_read, skipped_chars, window_samples;
} run_state;

static crnn_status check_options(const crnn_train_options *o, crnn_error *err) {
    if (!o->run_dir) return set_error(err, CRNN_ERR_ARG, "training needs a run folder");
    if (o->batch_size < 1 || o->batch_size > 1024)
        return set_error(err, CRNN_ERR_ARG, "batch size %d outside 1..1024", o->batch_size);
    if (o->steps < 1) return set_error(err, CRNN_ERR_ARG, "steps must be positive");
    if (!(o->synth_empty >= 0 && o->synth_empty <= 1))
        return set_error(err, CRNN_ERR_ARG, "synth_empty %g is not a fraction 0..1", o->synth_empty);
    if (!(o->synth_clean >= 0 && o->synth_clean <= 1) || o->synth_clean_fade < 0)
        return set_error(err, CRNN_ERR_ARG, "synth_clean %g is not a fraction 0..1, or "
                         "synth_clean_fade %ld is negative", o->synth_clean, o->synth_clean_fade);
    return CRNN_OK;
}

/* The run folder, and the model with its optimiser: resumed from the checkpoint or new. */
static crnn_status open_run(run_state *t, crnn_error *err) {
    const crnn_train_options *o = t->o;
    crnn_status s = CRNN_OK;
    if (t->rank == 0) { /* the other ranks only read the folder */
        s = ensure_dir(o->run_dir, err);
        if (s == CRNN_OK) s = claim_run_dir(o, err);
    }
    if (s != CRNN_OK) return s;
    snprintf(t->ckpt_path, sizeof t->ckpt_path, "%s/checkpoint.bin", o->run_dir);
    snprintf(t->best_path, sizeof t->best_path, "%s/best.crnn", o->run_dir);
    snprintf(t->last_path, sizeof t->last_path, "%s/last.crnn", o->run_dir);
    snprintf(t->log_path, sizeof t->log_path, "%s/log.csv", o->run_dir);
    snprintf(t->plot_path, sizeof t->plot_path, "%s/plot.png", o->run_dir);
    t->st.best_score = -1;
    t->st.seed = o->seed;
    if (o->resume) {
        s = checkpoint_load(t->ckpt_path, &t->m, &t->opt, &t->st, err);
        if (s != CRNN_OK) return s;
        if (t->st.best_score >= 0)
            logf_(o, "resumed %s at step %ld (best validation word accuracy %.2f%%)",
                  t->ckpt_path, t->st.step, 100 * t->st.best_score);
        else
            logf_(o, "resumed %s at step %ld", t->ckpt_path, t->st.step);
    } else {
        t->m = new_model(o, err);
        if (!t->m) return err->code;
        s = optimizer_init(&t->opt, (optimizer_kind)o->optimizer, t->m->n_params, err);
        if (s != CRNN_OK) return s;
    }
    char desc[256];
    crnn_model_describe(t->m, desc, sizeof desc);
    logf_(o, "model: %s", desc);
    if (o->warmup > 0 && o->warmup >= o->steps)
        logf_(o, "warning: the warm-up (%ld steps) is not shorter than the run (%ld steps): the "
              "learning rate never reaches %g%s (lower --warmup)", o->warmup, o->steps,
              (double)o->lr, o->schedule != CRNN_SCHED_CONSTANT ? " nor decays" : "");
    return CRNN_OK;
}

/* The workers that share each batch and the weight-decay mask. */
static crnn_status make_step_buffers(run_state *t, crnn_error *err) {
    /* Parallelism comes from the workers; BLAS inside each stays single-threaded. */
    openblas_set_num_threads(1);
    t->workers = train_workers_new(t->m, t->n_workers, err);
    if (!t->workers) return err->code;
    t->mask = decay_mask(t->m);
    if (t->comm) t->reduce_buf = malloc((t->m->n_params + DIST_STEP_EXTRA) * sizeof(float));
    if (!t->mask || (t->comm && !t->reduce_buf))
        return set_error(err, CRNN_ERR_NOMEM, "out of memory for training buffers");
    return CRNN_OK;
}

/* Training sources, the validation set, the log and the loader thread. */
static crnn_status open_data(run_state *t, crnn_error *err) {
    const crnn_train_options *o = t->o;
    t->lc.batch_size = o->batch_size;
    t->lc.seed = t->st.seed;
    t->lc.first_batch = t->st.step;
    t->lc.bucket = 8;
    t->lc.max_width = 1024;
    t->lc.clean = o->synth_clean;
    t->lc.clean_fade = o->synth_clean_fade;
    if (t->comm)
        dist_share(o->batch_size, t->threads_of, t->comm->size, t->rank, &t->lc.share_first,
                   &t->lc.share_end);
    crnn_status s = open_sources(o, t->m, &t->handles, &t->lc, err);
    if (s != CRNN_OK) return s;
    if (o->val_data) {
        dataset *vd = dataset_open(o->val_data, err);
        if (!vd) return err->code;
        s = validation_load(&t->val, vd, o->val_max, t->m->input_channels, err);
        dataset_close(vd);
        if (s != CRNN_OK) return s;
        if (t->val.unreadable)
            logf_(o, "validation: %d images from %s (%d unreadable, skipped; the first: %s)",
                  t->val.n, o->val_data, t->val.unreadable, t->val.first_unreadable);
        else
            logf_(o, "validation: %d images from %s", t->val.n, o->val_data);
    }
    t->ld = loader_start(t->m, &t->lc, err);
    if (!t->ld) return err->code;
    if (t->rank != 0) return CRNN_OK; /* rank 0 keeps the log and the plot */
    plot_load_csv(&t->series, t->log_path, t->st.step);
    int new_log = !o->resume;
    t->logf = fopen(t->log_path, new_log ? "w" : "a");
    if (!t->logf)
        return set_error(err, CRNN_ERR_IO, "%s: cannot open: %s", t->log_path, strerror(errno));
    if (new_log)
        fprintf(t->logf, "step,samples,seconds,loss,lr,grad_norm,val_exact,val_alnum,val_ned\n");
    return CRNN_OK;
}

/* One optimisation step on the next batch; a step whose loss or gradients are not finite is
   skipped and counted, and too many in a row stop the run. */
static crnn_status train_step(run_state *t, crnn_error *err) {
    const crnn_train_options *o = t->o;
    train_batch *b = loader_next(t->ld, err);
    if (!b) return err->code;
    t->skipped_unalign += b->skipped_unalignable;
    t->skipped_read += b->skipped_unreadable;
    t->skipped_chars += b->skipped_charset;
    step_stats ss;
    float *grads;
    /* the model's running batch-norm statistics follow the first replica of all: rank 0's */
    crnn_status s = train_workers_run(t->workers, t->m, b, t->rank == 0 ? o->bn_momentum : -1.0f,
                                      &ss, &grads, err);
    int n_samples = b->global_B > 0 ? b->global_B : b->B;
    train_batch_free(b);
    if (s != CRNN_OK) return s;
    if (t->comm) {
        int stop = o->stop && *o->stop;
        double cpu = cpu_seconds() - t->cpu_start, t0 = now_seconds();
        s = dist_reduce_step(t->comm, t->reduce_buf, grads, t->m->n_params, &ss, &stop, &cpu,
                             err);
        if (s != CRNN_OK) return s;
        /* waiting for the slowest rank included: what the reduction costs the step */
        t->reduce_s += now_seconds() - t0;
        t->reduce_n++;
        grads = t->reduce_buf;
        t->stop_agreed = stop;
        t->cpu_all = cpu;
    }
    t->skipped_unalign += ss.unalignable;
    double loss = ss.counted ? ss.loss / n_samples : NAN;
    double gnorm = NAN;
    if (isfinite(loss) && ss.counted) gnorm = clip_grad_norm(grads, t->m->n_params, o->clip);
    if (!isfinite(loss) || !isfinite(gnorm)) {
        t->st.skipped_steps++;
        if (++t->bad_run >= MAX_CONSECUTIVE_BAD_STEPS)
            return set_error(err, CRNN_ERR_DIVERGED, "training diverged: %d consecutive steps "
                             "with non-finite loss or gradients at step %ld; the last good "
                             "checkpoint and best model are kept (lower --lr or --clip)",
                             t->bad_run, t->st.step);
    } else {
        t->bad_run = 0;
        float lr = lr_at((schedule_kind)o->schedule, o->lr, o->final_lr, t->st.step, o->warmup,
                         o->steps);
        optimizer_step(&t->opt, t->m->params, grads, t->mask, lr, o->weight_decay);
        t->loss_avg += loss;
        t->gnorm_avg += gnorm;
        t->loss_n++;
    }
    t->st.step++;
    t->st.samples += n_samples;
    t->window_samples += n_samples;
    return CRNN_OK;
}

/* Validation; the best model so far is kept (and exported). */
static crnn_status validate(run_state *t, double now, crnn_error *err) {
    const crnn_train_options *o = t->o;
    validation_score sc;
    /* the workers are idle meanwhile: their threads share the validation batches */
    crnn_status s;
    if (t->comm) { /* rank 0's running statistics on every rank, then a share each */
        s = dist_sync_params(t->comm, t->m, err);
        if (s == CRNN_OK) s = dist_validate(t->comm, &t->val, t->m, t->n_workers, &sc, err);
    } else {
        s = validation_run(&t->val, t->m, NULL, &sc, NULL, t->n_workers, err);
    }
    if (s != CRNN_OK) return s;
    t->last_val = sc.alnum;
    int improved = sc.alnum > t->st.best_score;
    if (t->rank != 0) {
        if (improved) t->st.best_score = sc.alnum;
        return CRNN_OK;
    }
    logf_(o, "validation at step %ld: word accuracy %.2f%% (exact %.2f%%), 1-NED %.4f, "
          "%d images in %.1f s%s", t->st.step, 100 * sc.alnum, 100 * sc.exact,
          sc.one_minus_ned, sc.n, sc.seconds, improved ? "  [best]" : "");
    fprintf(t->logf, "%ld,%ld,%.1f,,,,%.4f,%.4f,%.4f\n", t->st.step, t->st.samples,
            t->base_elapsed + now - t->t_start, sc.exact, sc.alnum, sc.one_minus_ned);
    plot_add(&t->series, t->st.step, NAN, sc.alnum);
    if (improved) {
        t->st.best_score = sc.alnum;
        s = model_save(t->m, t->best_path, 0, err);
        if (s == CRNN_OK && o->export_path) s = model_save(t->m, o->export_path, o->export_half, err);
    }
    return s;
}

/* The progress line and a row of log.csv, every 10 s and at validations and the end. */
static crnn_status report(run_state *t, double now, crnn_error *err) {
    const crnn_train_options *o = t->o;
    double span = now - t->window_t0 > 1e-9 ? now - t->window_t0 : 1e-9;
    double rate = t->window_samples / span;
    double eta = rate > 0 ? (double)(o->steps - t->st.step) * o->batch_size / rate : 0;
    float lr = lr_at((schedule_kind)o->schedule, o->lr, o->final_lr, t->st.step, o->warmup,
                     o->steps);
    double la = t->loss_n ? t->loss_avg / t->loss_n : NAN;
    double ga = t->loss_n ? t->gnorm_avg / t->loss_n : NAN;
    char valtxt[64] = "";
    if (t->last_val >= 0) snprintf(valtxt, sizeof valtxt, ", val %.2f%%", 100 * t->last_val);
    char eta_txt[32], reduce_txt[48] = "";
    duration_text(eta, rate > 0, eta_txt, sizeof eta_txt);
    if (t->reduce_n)
        snprintf(reduce_txt, sizeof reduce_txt, "  allreduce %.1f ms/step",
                 1e3 * t->reduce_s / (double)t->reduce_n);
    logf_(o, "step %ld/%ld  loss %.4f  |g| %.2f  lr %.2e  %.0f samples/s%s  ETA %s%s%s",
          t->st.step, o->steps, la, ga, lr, rate, reduce_txt, eta_txt, valtxt,
          t->st.skipped_steps ? "  (skipped steps!)" : "");
    if (t->skipped_unalign + t->skipped_read + t->skipped_chars)
        logf_(o, "  samples skipped so far: %ld labels too long for their width, %ld "
              "unreadable, %ld with characters outside the charset", t->skipped_unalign,
              t->skipped_read, t->skipped_chars);
    fprintf(t->logf, "%ld,%ld,%.1f,%.5f,%.3g,%.3f,,,\n", t->st.step, t->st.samples,
            t->base_elapsed + now - t->t_start, la, lr, ga);
    /* A full disk shows here first (the log is written most often): stop with the reason
       while the last checkpoint is still whole, rather than train on blind. */
    if (fflush(t->logf) != 0 || ferror(t->logf))
        return set_error(err, CRNN_ERR_IO, "%s: cannot write: %s (the last checkpoint and best "
                         "model are kept)", t->log_path, strerror(errno));
    if (t->loss_n) plot_add(&t->series, t->st.step, la, NAN);
    t->loss_avg = t->gnorm_avg = 0;
    t->loss_n = 0;
    t->window_samples = 0;
    t->reduce_s = 0;
    t->reduce_n = 0;
    t->window_t0 = now;
    t->last_print = now;
    return CRNN_OK;
}

/* The checkpoint, and beside it the same weights as a model (last.crnn): the latest
   weights, to read, average or ship without resuming the run. The model goes first, so
   that the checkpoint is never ahead of it. */
static crnn_status save_checkpoint(run_state *t, crnn_error *err) {
    t->st.elapsed_s = t->base_elapsed + now_seconds() - t->t_start;
    t->st.cpu_s = t->base_cpu + (t->comm ? t->cpu_all : cpu_seconds() - t->cpu_start);
    crnn_status s = model_save(t->m, t->last_path, 0, err);
    return s == CRNN_OK ? checkpoint_save(t->ckpt_path, t->m, &t->opt, &t->st, err) : s;
}

/* Steps until the schedule ends, a stop is requested or something fails. */
static crnn_status train_loop(run_state *t, crnn_error *err) {
    const crnn_train_options *o = t->o;
    t->t_start = now_seconds();
    t->cpu_start = cpu_seconds();
    t->base_elapsed = t->st.elapsed_s;
    t->base_cpu = t->st.cpu_s;
    t->last_ckpt = t->window_t0 = t->t_start;
    t->last_print = 0;
    t->last_val = -1;
    crnn_status s = CRNN_OK;
    while (t->st.step < o->steps) {
        /* Across ranks a stop is seen by all at once, in the step's reduction. */
        if (t->comm ? t->stop_agreed : o->stop && *o->stop) {
            logf_(o, "stop requested at step %ld", t->st.step);
            break;
        }
        s = train_step(t, err);
        if (s != CRNN_OK) break;
        double now = now_seconds();
        int do_val = t->val.n > 0 && (t->st.step % o->val_every == 0 || t->st.step == o->steps);
        if (do_val && (s = validate(t, now, err)) != CRNN_OK) break;
        if (t->rank != 0) continue; /* the rest writes the run folder */
        if ((now - t->last_print >= 10 || do_val || t->st.step == o->steps) &&
            (s = report(t, now, err)) != CRNN_OK)
            break;
        if (do_val) plot_write(&t->series, t->plot_path, NULL);
        if (now - t->last_ckpt >= o->checkpoint_seconds) {
            if ((s = save_checkpoint(t, err)) != CRNN_OK) break;
            t->last_ckpt = now;
        }
    }
    return s;
}

/* A final checkpoint (unless the weights themselves went bad), the last model when nothing
   validates, the plot and the summary line. */
static crnn_status finish(run_state *t, crnn_status s, crnn_error *err) {
    const crnn_train_options *o = t->o;
    if (s != CRNN_OK && s != CRNN_ERR_DIVERGED) return s;
    if (t->rank != 0) return s;
    int finite = 1;
    for (size_t k = 0; k < t->m->n_params && finite; k++) finite = isfinite(t->m->params[k]);
    if (finite) {
        crnn_error e2;
        crnn_status s2 = save_checkpoint(t, &e2);
        if (s2 != CRNN_OK && s == CRNN_OK) {
            s = s2;
            *err = e2;
        }
        if (s == CRNN_OK && !t->val.n) { /* no validation: the last model is the one to keep */
            s = model_save(t->m, t->best_path, 0, err);
            if (s == CRNN_OK && o->export_path)
                s = model_save(t->m, o->export_path, o->export_half, err);
        }
    }
    plot_write(&t->series, t->plot_path, NULL);
    char cpu_txt[32];
    duration_text(t->st.cpu_s, 1, cpu_txt, sizeof cpu_txt);
    if (t->st.best_score >= 0)
        logf_(o, "done: step %ld, %s of CPU time in all, best validation word accuracy "
              "%.2f%% (best.crnn)", t->st.step, cpu_txt, 100 * t->st.best_score);
    else if (t->val.n)
        logf_(o, "done: step %ld, %s of CPU time in all; no validation yet, so no best.crnn",
              t->st.step, cpu_txt);
    else
        logf_(o, "done: step %ld, %s of CPU time in all; no validation set: best.crnn is "
              "the last model", t->st.step, cpu_txt);
    return s;
}

static void close_run(run_state *t) {
    loader_stop(t->ld);
    close_sources(&t->handles);
    if (t->logf) fclose(t->logf);
    validation_free(&t->val);
    plot_free(&t->series);
    train_workers_free(t->workers);
    free(t->mask);
    free(t->reduce_buf);
    free(t->threads_of);
    optimizer_free(&t->opt);
    crnn_model_free(t->m);
}

/* The worker threads of this rank and, across ranks, every rank's (for the shares), told in
   the run's first log line. Ranks on one machine share its cores by default. */
static crnn_status plan_workers(run_state *t, crnn_error *err) {
    const crnn_train_options *o = t->o;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int local = t->comm ? t->comm->local_size : 1;
    long per_rank = cores > 0 ? cores / (local > 0 ? local : 1) : 1;
    t->n_workers = o->threads > 0 ? o->threads : per_rank > 0 ? (int)per_rank : 1;
    if (t->n_workers > TRAIN_MAX_WORKERS) t->n_workers = TRAIN_MAX_WORKERS;
    if (!t->comm) return CRNN_OK;
    t->threads_of = calloc((size_t)t->comm->size, sizeof(int));
    if (!t->threads_of) return set_error(err, CRNN_ERR_NOMEM, "out of memory");
    char line[256];
    crnn_status s = dist_plan(t->comm, t->n_workers, o->batch_size, t->threads_of, line,
                              sizeof line, err);
    if (s == CRNN_OK) logf_(o, "%s", line);
    return s;
}

crnn_status train_run(const crnn_train_options *o, train_comm *comm, int *all_ranks,
                      crnn_error *err) {
    if (all_ranks) *all_ranks = 1; /* until the ranks part ways */
    crnn_status s = check_options(o, err);
    if (s != CRNN_OK) return s;
    run_state *t = calloc(1, sizeof *t);
    if (!t) return set_error(err, CRNN_ERR_NOMEM, "out of memory");
    t->own = *o;
    t->o = &t->own;
    if (comm && comm->size > 1) {
        t->comm = comm;
        t->rank = comm->rank;
        if (t->rank != 0) t->own.log = NULL; /* one log: rank 0's */
    }
    /* Across ranks, all start together from rank 0's state (its step and seed choose the
       batches), or all stop with one reason. */
    s = plan_workers(t, err);
    if (s == CRNN_OK) s = open_run(t, err);
    if (s == CRNN_OK) s = make_step_buffers(t, err);
    if (t->comm) {
        s = dist_agree(t->comm, s, err);
        if (s == CRNN_OK) s = dist_sync_state(t->comm, t->m, &t->opt, &t->st, err);
    }
    if (s == CRNN_OK) s = open_data(t, err);
    if (t->comm) s = dist_agree(t->comm, s, err);
    if (s == CRNN_OK) {
        if (all_ranks) *all_ranks = !t->comm;
        s = finish(t, train_loop(t, err), err);
        /* divergence is judged on the summed loss and gradients: every rank sees it */
        if (s == CRNN_ERR_DIVERGED && all_ranks) *all_ranks = 1;
    }
    close_run(t);
    free(t);
    return s;
}

crnn_status crnn_train(const crnn_train_options *o, crnn_error *err) {
    return train_run(o, NULL, NULL, err);
}

/* trainer.c — the training loop: batches from the loader, forward, CTC loss, backward, clip,
   optimiser step; validation, best-model export, checkpoints, logs and the plot. */
#include <cblas.h>
#include <errno.h>
#include <pthread.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctc/ctc.h"
#include "nn/network.h"
#include "train/checkpoint.h"
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
   nothing to continue, and a new run replaces them. */
static const char *const run_files[] = {"checkpoint.bin", "best.crnn", "log.csv", "plot.png"};
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

/* Data parallelism over the cores: each replica runs forward and backward on its share of the
   batch with its own activations and gradient buffer (batch-norm statistics per share, "ghost
   batch-norm"), BLAS single-threaded inside; the gradients are then summed. Only replica 0
   updates the running statistics, so the model is written by one thread. */
#define MAX_REPLICAS 16

typedef struct {
    network *net;
    float *grads, *dlogits;
    size_t dlogits_cap;
    /* per step */
    crnn_model *m;
    const train_batch *b;
    int first, count;     /* samples [first, first + count) of the batch */
    size_t input_off;
    int batch_total;
    float bn_momentum;
    double loss;
    int counted;
    long unalignable;
    crnn_status status;
    crnn_error err;
} replica;

static void *replica_step(void *arg) {
    replica *r = arg;
    const train_batch *b = r->b;
    crnn_model *m = r->m;
    r->loss = 0;
    r->counted = 0;
    r->unalignable = 0;
    memset(r->grads, 0, m->n_params * sizeof(float));
    r->status = network_forward(r->net, m, b->input + r->input_off, b->widths + r->first, r->count,
                                1, r->bn_momentum, &r->err);
    if (r->status != CRNN_OK) return NULL;
    int B, T, C;
    const int *len;
    const float *lp = network_log_probs(r->net, &B, &T, &C, &len);
    size_t need = (size_t)B * T * C;
    if (need > r->dlogits_cap) {
        free(r->dlogits);
        r->dlogits = malloc(need * sizeof(float));
        r->dlogits_cap = r->dlogits ? need : 0;
        if (!r->dlogits) {
            r->status = set_error(&r->err, CRNN_ERR_NOMEM, "out of memory");
            return NULL;
        }
    }
    memset(r->dlogits, 0, need * sizeof(float));
    for (int i = 0; i < B; i++) {
        int s = r->first + i;
        float *g = r->dlogits + (size_t)i * T * C;
        double li = ctc_loss(lp + (size_t)i * T * C, len[i], C, b->labels + b->label_off[s],
                             b->label_len[s], g);
        if (isinf(li) && li > 0) { /* the loader filters these; count any that slip by */
            r->unalignable++;
            memset(g, 0, sizeof(float) * (size_t)T * C);
            continue;
        }
        r->loss += li;
        r->counted++;
    }
    /* The loss is the mean over the whole batch, so each share scales by the full size. */
    float scale = 1.0f / (float)r->batch_total;
    for (size_t k = 0; k < need; k++) r->dlogits[k] *= scale;
    if (isfinite(r->loss) && r->counted)
        r->status = network_backward(r->net, m, r->grads, r->dlogits, &r->err);
    return NULL;
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

crnn_status crnn_train(const crnn_train_options *o, crnn_error *err) {
    if (!o->run_dir) return set_error(err, CRNN_ERR_ARG, "training needs a run folder");
    if (o->batch_size < 1 || o->batch_size > 1024)
        return set_error(err, CRNN_ERR_ARG, "batch size %d outside 1..1024", o->batch_size);
    if (o->steps < 1) return set_error(err, CRNN_ERR_ARG, "steps must be positive");
    crnn_status s = ensure_dir(o->run_dir, err);
    if (s == CRNN_OK) s = claim_run_dir(o, err);
    if (s != CRNN_OK) return s;
    char ckpt_path[4096], best_path[4096], log_path[4096], plot_path[4096];
    snprintf(ckpt_path, sizeof ckpt_path, "%s/checkpoint.bin", o->run_dir);
    snprintf(best_path, sizeof best_path, "%s/best.crnn", o->run_dir);
    snprintf(log_path, sizeof log_path, "%s/log.csv", o->run_dir);
    snprintf(plot_path, sizeof plot_path, "%s/plot.png", o->run_dir);

    crnn_model *m = NULL;
    optimizer opt;
    memset(&opt, 0, sizeof opt);
    checkpoint_state st;
    memset(&st, 0, sizeof st);
    st.best_score = -1;
    st.seed = o->seed;
    if (o->resume) {
        s = checkpoint_load(ckpt_path, &m, &opt, &st, err);
        if (s != CRNN_OK) return s;
        if (st.best_score >= 0)
            logf_(o, "resumed %s at step %ld (best validation word accuracy %.2f%%)", ckpt_path,
                  st.step, 100 * st.best_score);
        else
            logf_(o, "resumed %s at step %ld", ckpt_path, st.step);
    } else {
        m = new_model(o, err);
        if (!m) return err->code;
        s = optimizer_init(&opt, (optimizer_kind)o->optimizer, m->n_params, err);
        if (s != CRNN_OK) {
            crnn_model_free(m);
            return s;
        }
    }
    char desc[256];
    crnn_model_describe(m, desc, sizeof desc);
    logf_(o, "model: %s", desc);
    if (o->warmup > 0 && o->warmup >= o->steps)
        logf_(o, "warning: the warm-up (%ld steps) is not shorter than the run (%ld steps): the "
              "learning rate never reaches %g%s (lower --warmup)", o->warmup, o->steps,
              (double)o->lr, o->schedule != CRNN_SCHED_CONSTANT ? " nor decays" : "");

    /* Parallelism comes from the replicas; BLAS inside each stays single-threaded. */
    openblas_set_num_threads(1);
    source_handles handles;
    loader_config lc;
    memset(&lc, 0, sizeof lc);
    lc.batch_size = o->batch_size;
    lc.seed = st.seed;
    lc.first_batch = st.step;
    lc.bucket = 8;
    lc.max_width = 1024;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int n_rep = o->threads > 0 ? o->threads : (cores > 0 ? (int)cores : 1);
    if (n_rep > MAX_REPLICAS) n_rep = MAX_REPLICAS;
    replica reps[MAX_REPLICAS];
    memset(reps, 0, sizeof reps);
    int reps_ok = 1;
    for (int r = 0; r < n_rep; r++) {
        reps[r].net = network_new();
        reps[r].grads = calloc(m->n_params, sizeof(float));
        reps_ok = reps_ok && reps[r].net && reps[r].grads;
    }
    uint8_t *mask = decay_mask(m);
    validation_set val;
    memset(&val, 0, sizeof val);
    loader *ld = NULL;
    FILE *logf = NULL;
    plot_series series;
    memset(&series, 0, sizeof series);
    if (!reps_ok || !mask) {
        s = set_error(err, CRNN_ERR_NOMEM, "out of memory for training buffers");
        goto done;
    }
    s = open_sources(o, m, &handles, &lc, err);
    if (s != CRNN_OK) goto done_sources;
    if (o->val_data) {
        dataset *vd = dataset_open(o->val_data, err);
        if (!vd) { s = err->code; goto done_sources; }
        s = validation_load(&val, vd, o->val_max, m->input_channels, err);
        dataset_close(vd);
        if (s != CRNN_OK) goto done_sources;
        if (val.unreadable)
            logf_(o, "validation: %d images from %s (%d unreadable, skipped; the first: %s)",
                  val.n, o->val_data, val.unreadable, val.first_unreadable);
        else
            logf_(o, "validation: %d images from %s", val.n, o->val_data);
    }
    plot_load_csv(&series, log_path, st.step);
    int new_log = !o->resume;
    logf = fopen(log_path, new_log ? "w" : "a");
    if (!logf) {
        s = set_error(err, CRNN_ERR_IO, "%s: cannot open: %s", log_path, strerror(errno));
        goto done_sources;
    }
    if (new_log) fprintf(logf, "step,samples,seconds,loss,lr,grad_norm,val_exact,val_alnum,val_ned\n");
    ld = loader_start(m, &lc, err);
    if (!ld) { s = err->code; goto done_sources; }

    double t_start = now_seconds(), cpu_start = cpu_seconds();
    double base_elapsed = st.elapsed_s, base_cpu = st.cpu_s;
    double last_ckpt = t_start, last_print = 0;
    double loss_avg = 0, gnorm_avg = 0;
    int loss_n = 0, bad_run = 0;
    long skipped_unalign = 0, skipped_read = 0, skipped_chars = 0, window_samples = 0;
    double window_t0 = t_start;
    double last_val = -1;
    while (st.step < o->steps) {
        if (o->stop && *o->stop) {
            logf_(o, "stop requested at step %ld", st.step);
            break;
        }
        train_batch *b = loader_next(ld, err);
        if (!b) { s = err->code; break; }
        skipped_unalign += b->skipped_unalignable;
        skipped_read += b->skipped_unreadable;
        skipped_chars += b->skipped_charset;
        /* Share the batch among the replicas, each at least one sample. */
        int R = n_rep < b->B ? n_rep : b->B;
        size_t off = 0;
        for (int r = 0, first = 0; r < R; r++) {
            int count = b->B / R + (r < b->B % R);
            replica *rp = &reps[r];
            rp->m = m;
            rp->b = b;
            rp->first = first;
            rp->count = count;
            rp->input_off = off;
            rp->batch_total = b->B;
            rp->bn_momentum = r == 0 ? o->bn_momentum : -1.0f;
            for (int k = first; k < first + count; k++) off += (size_t)m->input_height * b->widths[k];
            first += count;
        }
        pthread_t tids[MAX_REPLICAS];
        int started[MAX_REPLICAS] = {0};
        for (int r = 1; r < R; r++) started[r] = pthread_create(&tids[r], NULL, replica_step, &reps[r]) == 0;
        replica_step(&reps[0]);
        for (int r = 1; r < R; r++) {
            if (started[r]) pthread_join(tids[r], NULL);
            else replica_step(&reps[r]); /* no thread to be had: do it here */
        }
        double loss = 0;
        int counted = 0;
        for (int r = 0; r < R; r++) {
            if (reps[r].status != CRNN_OK && s == CRNN_OK) {
                s = reps[r].status;
                *err = reps[r].err;
            }
            loss += reps[r].loss;
            counted += reps[r].counted;
            skipped_unalign += reps[r].unalignable;
        }
        if (s != CRNN_OK) { train_batch_free(b); break; }
        int n_samples = b->B;
        loss = counted ? loss / b->B : NAN;
        float *grads = reps[0].grads;
        for (int r = 1; r < R; r++)
            cblas_saxpy((int)m->n_params, 1.0f, reps[r].grads, 1, grads, 1);
        double gnorm = NAN;
        if (isfinite(loss) && counted) gnorm = clip_grad_norm(grads, m->n_params, o->clip);
        train_batch_free(b);
        if (!isfinite(loss) || !isfinite(gnorm)) {
            st.skipped_steps++;
            if (++bad_run >= MAX_CONSECUTIVE_BAD_STEPS) {
                s = set_error(err, CRNN_ERR_DIVERGED, "training diverged: %d consecutive steps with "
                              "non-finite loss or gradients at step %ld; the last good checkpoint "
                              "and best model are kept (lower --lr or --clip)", bad_run, st.step);
                break;
            }
        } else {
            bad_run = 0;
            float lr = lr_at((schedule_kind)o->schedule, o->lr, o->final_lr, st.step, o->warmup,
                             o->steps);
            optimizer_step(&opt, m->params, grads, mask, lr, o->weight_decay);
            loss_avg += loss;
            gnorm_avg += gnorm;
            loss_n++;
        }
        st.step++;
        st.samples += n_samples;
        window_samples += n_samples;
        double now = now_seconds();
        int do_val = val.n > 0 && (st.step % o->val_every == 0 || st.step == o->steps);
        if (do_val) {
            validation_score sc;
            /* the replicas are idle meanwhile: their threads share the validation batches */
            s = validation_run(&val, m, NULL, &sc, NULL, n_rep, err);
            if (s != CRNN_OK) break;
            last_val = sc.alnum;
            int improved = sc.alnum > st.best_score;
            logf_(o, "validation at step %ld: word accuracy %.2f%% (exact %.2f%%), 1-NED %.4f, "
                  "%d images in %.1f s%s", st.step, 100 * sc.alnum, 100 * sc.exact,
                  sc.one_minus_ned, sc.n, sc.seconds, improved ? "  [best]" : "");
            fprintf(logf, "%ld,%ld,%.1f,,,,%.4f,%.4f,%.4f\n", st.step, st.samples,
                    base_elapsed + now - t_start, sc.exact, sc.alnum, sc.one_minus_ned);
            plot_add(&series, st.step, NAN, sc.alnum);
            if (improved) {
                st.best_score = sc.alnum;
                s = model_save(m, best_path, 0, err);
                if (s == CRNN_OK && o->export_path) s = model_save(m, o->export_path, o->export_half, err);
                if (s != CRNN_OK) break;
            }
        }
        if (now - last_print >= 10 || do_val || st.step == o->steps) {
            double rate = window_samples / (now - window_t0 > 1e-9 ? now - window_t0 : 1e-9);
            double eta = rate > 0 ? (double)(o->steps - st.step) * o->batch_size / rate : 0;
            float lr = lr_at((schedule_kind)o->schedule, o->lr, o->final_lr, st.step, o->warmup,
                             o->steps);
            double la = loss_n ? loss_avg / loss_n : NAN, ga = loss_n ? gnorm_avg / loss_n : NAN;
            char valtxt[64] = "";
            if (last_val >= 0) snprintf(valtxt, sizeof valtxt, ", val %.2f%%", 100 * last_val);
            char eta_txt[32];
            duration_text(eta, rate > 0, eta_txt, sizeof eta_txt);
            logf_(o, "step %ld/%ld  loss %.4f  |g| %.2f  lr %.2e  %.0f samples/s  ETA %s%s%s",
                  st.step, o->steps, la, ga, lr, rate, eta_txt, valtxt,
                  st.skipped_steps ? "  (skipped steps!)" : "");
            if (skipped_unalign + skipped_read + skipped_chars)
                logf_(o, "  samples skipped so far: %ld labels too long for their width, %ld "
                      "unreadable, %ld with characters outside the charset", skipped_unalign,
                      skipped_read, skipped_chars);
            fprintf(logf, "%ld,%ld,%.1f,%.5f,%.3g,%.3f,,,\n", st.step, st.samples,
                    base_elapsed + now - t_start, la, lr, ga);
            /* A full disk shows here first (the log is written most often): stop with the
               reason while the last checkpoint is still whole, rather than train on blind. */
            if (fflush(logf) != 0 || ferror(logf)) {
                s = set_error(err, CRNN_ERR_IO, "%s: cannot write: %s (the last checkpoint and "
                              "best model are kept)", log_path, strerror(errno));
                break;
            }
            if (loss_n) plot_add(&series, st.step, la, NAN);
            loss_avg = gnorm_avg = 0;
            loss_n = 0;
            window_samples = 0;
            window_t0 = now;
            last_print = now;
        }
        if (do_val) plot_write(&series, plot_path, NULL);
        if (now - last_ckpt >= o->checkpoint_seconds) {
            st.elapsed_s = base_elapsed + now - t_start;
            st.cpu_s = base_cpu + cpu_seconds() - cpu_start;
            s = checkpoint_save(ckpt_path, m, &opt, &st, err);
            if (s != CRNN_OK) break;
            last_ckpt = now;
        }
    }
    if (s == CRNN_OK || s == CRNN_ERR_DIVERGED) {
        /* A final checkpoint, unless the weights themselves went bad. */
        int finite = 1;
        for (size_t k = 0; k < m->n_params && finite; k++) finite = isfinite(m->params[k]);
        if (finite) {
            st.elapsed_s = base_elapsed + now_seconds() - t_start;
            st.cpu_s = base_cpu + cpu_seconds() - cpu_start;
            crnn_error e2;
            crnn_status s2 = checkpoint_save(ckpt_path, m, &opt, &st, &e2);
            if (s2 != CRNN_OK && s == CRNN_OK) {
                s = s2;
                *err = e2;
            }
            if (s == CRNN_OK && !val.n) { /* no validation: the last model is the one to keep */
                s = model_save(m, best_path, 0, err);
                if (s == CRNN_OK && o->export_path) s = model_save(m, o->export_path, o->export_half, err);
            }
        }
        plot_write(&series, plot_path, NULL);
        char cpu_txt[32];
        duration_text(st.cpu_s, 1, cpu_txt, sizeof cpu_txt);
        if (st.best_score >= 0)
            logf_(o, "done: step %ld, %s of CPU time in all, best validation word accuracy "
                  "%.2f%% (best.crnn)", st.step, cpu_txt, 100 * st.best_score);
        else if (val.n)
            logf_(o, "done: step %ld, %s of CPU time in all; no validation yet, so no best.crnn",
                  st.step, cpu_txt);
        else
            logf_(o, "done: step %ld, %s of CPU time in all; no validation set: best.crnn is "
                  "the last model", st.step, cpu_txt);
    }
done_sources:
    loader_stop(ld);
    close_sources(&handles);
done:
    if (logf) fclose(logf);
    validation_free(&val);
    plot_free(&series);
    for (int r = 0; r < n_rep; r++) {
        network_free(reps[r].net);
        free(reps[r].grads);
        free(reps[r].dlogits);
    }
    free(mask);
    optimizer_free(&opt);
    crnn_model_free(m);
    return s;
}

/* pipeline.c — the batch engine: see pipeline.h.

   The main thread enumerates inputs into a ring of slots and prints finished slots in order;
   workers take the slots in fixed chunks of `batch` consecutive inputs, decode them and run
   each chunk through the network as a few batches. Chunks start at multiples of the batch
   size and are split into batches by their content only, so the batches — and so the
   results, to the last bit — do not depend on the number of threads or on timing. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cblas.h>

#include "cli/cli.h"
#include "cli/pipeline.h"
#include "util/util.h"

/* The convolutions see a batch as one wide map. Past about this many input columns its
   working set outgrows the caches and a bigger batch gets slower per image, not faster. */
#ifndef BATCH_COLUMNS
#define BATCH_COLUMNS 2048
#endif

enum { SLOT_READY = 1, SLOT_DONE = 2 };

typedef struct {
    input_kind kind;
    int state, ok;
    char *path;
    char *message; /* errors and notes, without the path */
    crnn_result res;
    /* Decoding parameters for this image (choose_params) and what they own. */
    const crnn_params *params;
    void *params_owned;
    /* the worker's, between decoding and recognition */
    uint8_t *pixels;
    int width, height, columns;
    double decode_ms;
} slot;

typedef struct {
    const crnn_model *model;
    const pipeline_options *o;
    int batch;
    slot *slots;
    long window; /* slots in the ring, a multiple of batch */
    long enumerated, printed, next_chunk;
    int eof, stop;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
} run_state;

/* ---- workers ---------------------------------------------------------------------------- */

static char *read_stdin(size_t *size) {
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, stdin);
        n += got;
        if (got == 0) break;
        if (n == cap) {
            if (cap >= CRNN_MAX_IMAGE_FILE_BYTES) break;
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    *size = n;
    return (char *)buf;
}

/* Library messages start with the path; the slot keeps the reason alone. */
static void fail_slot(slot *s, const char *message) {
    size_t n = strlen(s->path);
    if (!strncmp(message, s->path, n) && message[n] == ':' && message[n + 1] == ' ')
        message += n + 2;
    s->ok = 0;
    free(s->message);
    s->message = strdup(message);
}

static void decode_slot(const run_state *st, slot *s) {
    double t0 = now_seconds();
    crnn_error err;
    crnn_status rc;
    if (s->kind == INPUT_STDIN) {
        size_t size = 0;
        char *data = read_stdin(&size);
        if (!data) {
            fail_slot(s, "cannot read standard input");
            return;
        }
        rc = crnn_image_decode_memory_channels(data, size, "-", crnn_model_input_channels(st->model),
                                               &s->pixels, &s->width, &s->height, &err);
        free(data);
    } else {
        rc = crnn_image_decode_file_channels(s->path, crnn_model_input_channels(st->model),
                                             &s->pixels, &s->width, &s->height, &err);
    }
    if (rc != CRNN_OK) {
        fail_slot(s, err.message);
        return;
    }
    s->ok = 1;
    /* The width at the model's height, as the network will see it: to budget batches. */
    int ih = crnn_model_input_height(st->model);
    long cols = ((long)s->width * ih + s->height / 2) / s->height;
    s->columns = cols < 1 ? 1 : cols > CRNN_MAX_LINE_WIDTH ? CRNN_MAX_LINE_WIDTH : (int)cols;
    s->decode_ms = (now_seconds() - t0) * 1000.0;
}

typedef struct {
    crnn_recognizer *rec;
    slot **order;
    crnn_image *images;
    crnn_result *results;
    int channels; /* the model's: what decode_slot made of each image */
} worker_scratch;

/* Batches group images with the same parameters, then of similar width: the recurrent layers
   run every image of a batch for as many frames as its widest has. */
static int batch_before(slot *const *order, int a, int b) {
    const slot *x = order[a], *y = order[b];
    if (x->params != y->params) return x->params < y->params;
    return x->columns < y->columns;
}

static void recognise_batch(worker_scratch *w, slot **group, int n) {
    for (int i = 0; i < n; i++)
        w->images[i] = (crnn_image){group[i]->width, group[i]->height, group[i]->width * w->channels,
                                    group[i]->pixels, w->channels};
    crnn_status rc = crnn_recognize_batch(w->rec, w->images, n, group[0]->params, w->results);
    if (rc != CRNN_OK) {
        /* Rare (memory): find out which image it was by running them one at a time. */
        for (int i = 0; i < n; i++) crnn_result_free(&w->results[i]);
        for (int i = 0; i < n; i++) {
            rc = crnn_recognize_image(w->rec, &w->images[i], group[i]->params, &w->results[i]);
            if (rc != CRNN_OK) fail_slot(group[i], crnn_recognizer_error(w->rec));
        }
    }
    for (int i = 0; i < n; i++) {
        if (!group[i]->ok) continue;
        group[i]->res = w->results[i];
        group[i]->res.milliseconds += group[i]->decode_ms;
    }
}

static void process_chunk(run_state *st, worker_scratch *w, long a, long b) {
    int n = 0;
    for (long i = a; i < b; i++) {
        slot *s = &st->slots[i % st->window];
        if (s->kind != INPUT_FILE && s->kind != INPUT_STDIN) continue;
        char *why = NULL;
        if (st->o->choose_params(st->o->params_user, s->path, &s->params, &s->params_owned,
                                 &why) != 0) {
            s->ok = 0;
            s->message = why;
            continue;
        }
        decode_slot(st, s);
        if (s->ok) w->order[n++] = s;
    }
    /* Insertion sort, stable: the order depends on the chunk's content only. */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && batch_before(w->order, j, j - 1); j--) {
            slot *t = w->order[j];
            w->order[j] = w->order[j - 1];
            w->order[j - 1] = t;
        }
    for (int i = 0; i < n;) {
        int k = 1, cols = w->order[i]->columns;
        while (i + k < n && w->order[i + k]->params == w->order[i]->params &&
               cols + w->order[i + k]->columns <= BATCH_COLUMNS) {
            cols += w->order[i + k]->columns;
            k++;
        }
        recognise_batch(w, w->order + i, k);
        i += k;
    }
    for (long i = a; i < b; i++) {
        slot *s = &st->slots[i % st->window];
        free(s->pixels);
        s->pixels = NULL;
        if (s->params_owned && st->o->release_params)
            st->o->release_params(st->o->params_user, s->params_owned);
        s->params_owned = NULL;
        s->params = NULL;
    }
}

static void *worker(void *arg) {
    run_state *st = arg;
    crnn_error err;
    worker_scratch w;
    w.rec = crnn_recognizer_new(st->model, &err);
    w.channels = crnn_model_input_channels(st->model);
    if (w.rec) crnn_recognizer_set_threads(w.rec, st->o->intra_threads);
    w.order = malloc(sizeof *w.order * (size_t)st->batch);
    w.images = malloc(sizeof *w.images * (size_t)st->batch);
    w.results = malloc(sizeof *w.results * (size_t)st->batch);
    int usable = w.rec && w.order && w.images && w.results;
    if (w.rec && !usable) snprintf(err.message, sizeof err.message, "out of memory");
    pthread_mutex_lock(&st->mu);
    while (!st->stop) {
        long a = st->next_chunk * st->batch, b = a + st->batch;
        if (st->enumerated >= b || (st->eof && st->enumerated > a)) {
            if (b > st->enumerated) b = st->enumerated;
            st->next_chunk++;
            pthread_mutex_unlock(&st->mu);
            if (usable) process_chunk(st, &w, a, b);
            else
                for (long i = a; i < b; i++) {
                    slot *s = &st->slots[i % st->window];
                    if (s->kind == INPUT_FILE || s->kind == INPUT_STDIN) fail_slot(s, err.message);
                }
            pthread_mutex_lock(&st->mu);
            for (long i = a; i < b; i++) st->slots[i % st->window].state = SLOT_DONE;
            pthread_cond_signal(&st->cv_done);
            continue;
        }
        if (st->eof) break;
        pthread_cond_wait(&st->cv_work, &st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    crnn_recognizer_free(w.rec);
    free(w.order);
    free(w.images);
    free(w.results);
    return NULL;
}

/* ---- the main loop ---------------------------------------------------------------------- */

typedef struct {
    long done, failed;
} tally;

/* Reports one finished slot: the result to the output, errors and notes to stderr. */
static void emit(const pipeline_options *o, out_sink *out, progress_bar *bar, slot *s,
                 tally *t) {
    const char *why = s->message ? s->message : "failed";
    if (s->kind == INPUT_NOTE) {
        if (!o->quiet) {
            progress_clear(bar);
            fprintf(stderr, "ocr-crnn: %s: %s\n", s->path, why);
        }
        return;
    }
    t->done++;
    if (s->kind != INPUT_ERROR && s->ok) {
        if (!o->quiet && (s->res.lines > 1 || s->res.squeezed)) {
            progress_clear(bar);
            if (s->res.lines > 1)
                fprintf(stderr, "ocr-crnn: %s: read as %d text lines, cut where empty rows "
                        "separate them (--single-line reads it as one)\n", s->path,
                        s->res.lines);
            if (s->res.squeezed)
                fprintf(stderr, "ocr-crnn: %s: a line wider than %d columns at the model's "
                        "height was squeezed to fit and reads poorly\n", s->path,
                        CRNN_MAX_LINE_WIDTH);
        }
        if (bar->stdout_tty && !out->tmp_path) progress_clear(bar);
        out_result(out, s->path, &s->res);
        crnn_result_free(&s->res);
        return;
    }
    t->failed++;
    progress_clear(bar);
    fprintf(stderr, "ocr-crnn: %s: %s\n", s->path, why);
    out_failure(out, s->path, why);
}

static void clear_slot(slot *s) {
    free(s->path);
    free(s->message);
    free(s->pixels);
    crnn_result_free(&s->res);
    memset(s, 0, sizeof *s);
}

int pipeline_run(const pipeline_options *o, const crnn_model *model, input_walker *walker,
                 out_sink *out, progress_bar *bar) {
    run_state st;
    memset(&st, 0, sizeof st);
    st.model = model;
    st.o = o;
    st.batch = o->batch;
    st.window = 64L * o->threads;
    if (st.window < 4L * o->batch * o->threads) st.window = 4L * o->batch * o->threads;
    st.window = (st.window + o->batch - 1) / o->batch * o->batch;
    st.slots = calloc((size_t)st.window, sizeof(slot));
    pthread_t *tids = calloc((size_t)o->threads, sizeof(pthread_t));
    if (!st.slots || !tids) {
        fprintf(stderr, "ocr-crnn: out of memory\n");
        free(st.slots);
        free(tids);
        return 1;
    }
    pthread_mutex_init(&st.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&st.cv_done, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&st.cv_work, NULL);
    /* Parallelism comes from the workers and, when there are fewer images than cores, from
       each recogniser's own threads; BLAS's threads would only compete with them. */
    openblas_set_num_threads(1);
    int started = 0;
    for (int i = 0; i < o->threads; i++)
        if (pthread_create(&tids[started], NULL, worker, &st) == 0) started++;
    tally t = {0, 0};
    int status = 0;
    if (started == 0) {
        fprintf(stderr, "ocr-crnn: cannot start worker threads\n");
        status = 1;
        st.stop = 1;
    }
    pthread_mutex_lock(&st.mu);
    while (!st.stop) {
        /* Fill the ring. */
        while (!st.eof && st.enumerated - st.printed < st.window) {
            pthread_mutex_unlock(&st.mu);
            input_item it;
            int got = input_walker_next(walker, &it);
            pthread_mutex_lock(&st.mu);
            if (!got) {
                st.eof = 1;
                pthread_cond_broadcast(&st.cv_work);
                break;
            }
            slot *s = &st.slots[st.enumerated % st.window];
            s->kind = it.kind;
            s->path = it.path;
            s->message = it.message;
            s->state = SLOT_READY;
            if (++st.enumerated % st.batch == 0) pthread_cond_broadcast(&st.cv_work);
        }
        /* Print what is finished, in order. */
        while (st.printed < st.enumerated && !st.stop) {
            slot *s = &st.slots[st.printed % st.window];
            if (s->state != SLOT_DONE) break;
            pthread_mutex_unlock(&st.mu);
            long failed_before = t.failed;
            emit(o, out, bar, s, &t);
            clear_slot(s);
            pthread_mutex_lock(&st.mu);
            st.printed++;
            if (t.failed > failed_before && o->fail_fast) st.stop = 1;
        }
        if (o->interrupted && atomic_load(o->interrupted)) st.stop = 1;
        if (st.stop || (st.eof && st.printed == st.enumerated)) break;
        progress_update(bar, t.done, o->total ? atomic_load(o->total) : -1, t.failed, 0);
        if (!st.eof && st.enumerated - st.printed < st.window) continue;
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += 200 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&st.cv_done, &st.mu, &until);
    }
    /* Stopping early (--fail-fast, a signal): no new chunks; those under way finish. */
    st.stop = 1;
    pthread_cond_broadcast(&st.cv_work);
    pthread_mutex_unlock(&st.mu);
    for (int i = 0; i < started; i++) pthread_join(tids[i], NULL);
    for (long i = st.printed; i < st.enumerated; i++) clear_slot(&st.slots[i % st.window]);
    free(tids);
    free(st.slots);
    pthread_mutex_destroy(&st.mu);
    pthread_cond_destroy(&st.cv_done);
    pthread_cond_destroy(&st.cv_work);
    if (o->interrupted && atomic_load(o->interrupted)) {
        progress_clear(bar);
        return 128 + atomic_load(o->interrupted);
    }
    progress_finish(bar, t.done, t.failed);
    if (t.done == 0 && !status && !o->nothing_is_fine) {
        /* A folder of TIFFs, an empty folder: the notes above said why. */
        fprintf(stderr, "ocr-crnn: nothing was read: no image files among the inputs\n");
        return 1;
    }
    return status ? status : t.failed ? 1 : 0;
}


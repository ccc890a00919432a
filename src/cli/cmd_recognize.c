/* cmd_recognize.c — `ocr-crnn [OPTIONS] INPUT...`: recognise images, files or whole folders,
   with a pool of worker threads over one shared model, printing results in input order.

   The main thread enumerates inputs (inputs.c) into a ring of slots and prints finished
   slots in order; workers take the slots in fixed chunks of --batch consecutive inputs,
   decode them and run each chunk through the network as a few batches. Memory is bounded by
   the ring, whatever the number of inputs. Chunks start at multiples of the batch size and
   are split into batches by their content only, so the batches — and so the results, to the
   last bit — do not depend on the number of threads or on timing. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cblas.h>

#include "cli/cli.h"
#include "cli/inputs.h"
#include "cli/output.h"
#include "util/util.h"

#define DEFAULT_BATCH 16
#define MAX_BATCH 256
/* The convolutions see a batch as one wide map. Past about this many input columns its
   working set outgrows the caches and a bigger batch gets slower per image, not faster. */
#define BATCH_COLUMNS 2048

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
    crnn_params params; /* from the options: what every image gets unless choose_params says */
    int batch;
    slot *slots;
    long window; /* slots in the ring, a multiple of batch */
    long enumerated, printed, next_chunk;
    int eof, stop;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
} run_state;

/* Set from SIGINT/SIGTERM: the walker stops at once, the main loop at its next wake-up. */
static atomic_int interrupted;

static void on_signal(int sig) { atomic_store(&interrupted, sig); }

static void print_usage(FILE *f) {
    fprintf(f,
            "usage: ocr-crnn [OPTIONS] IMAGE|FOLDER...\n"
            "       ocr-crnn train|eval|synth [OPTIONS]   (see ocr-crnn COMMAND --help)\n"
            "\n"
            "Recognises the text in cropped word or text-line images. One image prints its text;\n"
            "several, or folders, print PATH<TAB>TEXT per line, in input order. '-' reads an\n"
            "image from stdin. In folders, files named *.png, *.jpg, *.jpeg, *.bmp, *.gif, *.tga,\n"
            "*.pnm, *.pgm, *.ppm, *.psd, *.hdr are read (sorted by name; hidden names skipped).\n"
            "\n"
            "  -m, --model FILE     model file (default: the installed English model)\n"
            "  -r, --recursive      also read the folders inside folders\n"
            "      --list FILE      read more inputs, one path per line, from FILE ('-': stdin)\n"
            "  -j, --threads N      worker threads (default: number of cores)\n"
            "      --batch N        images per network pass in a worker (default %d)\n"
            "      --tsv            PATH<TAB>TEXT<TAB>CONFIDENCE (tab, newline, backslash escaped)\n"
            "      --csv            path,text,confidence,error with a header (RFC 4180 quoting)\n"
            "      --jsonl, --json  one JSON object per image: path, text, confidence,\n"
            "                       per-character confidences, milliseconds; or path, error\n"
            "  -o, --output FILE    write the results to FILE, replaced only when complete\n"
            "      --shard I/N      only the inputs whose path hash mod N is I (0 <= I < N)\n"
            "      --fail-fast      stop at the first input that cannot be read\n"
            "  -q, --quiet          no progress bar, no notes (errors are still reported)\n"
            "  -h, --help           this help\n"
            "  -V, --version        print the version\n"
            "\n"
            "Unreadable inputs are reported on stderr as 'ocr-crnn: PATH: reason' and skipped.\n"
            "Exit status: 0 all inputs read, 1 some failed (the others are still printed),\n"
            "2 usage error, 130 interrupted.\n",
            DEFAULT_BATCH);
}

/* ---- per-image parameters --------------------------------------------------------------- */

/* Chooses the decoding parameters for one image; every image gets the options' parameters
   here. A per-image choice (a lexicon found beside each image, say) goes here: point
   s->params at parameters kept in s->params_owned and free them in release_params. Images
   whose params pointers are equal share network batches, so share the pointer where the
   parameters are the same. Return non-zero with s->message set to fail the image. */
static int choose_params(const run_state *st, slot *s) {
    s->params = &st->params;
    s->params_owned = NULL;
    return 0;
}

static void release_params(slot *s) {
    free(s->params_owned);
    s->params_owned = NULL;
    s->params = NULL;
}

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
        rc = crnn_image_decode_memory(data, size, "-", &s->pixels, &s->width, &s->height, &err);
        free(data);
    } else {
        rc = crnn_image_decode_file(s->path, &s->pixels, &s->width, &s->height, &err);
    }
    if (rc != CRNN_OK) {
        fail_slot(s, err.message);
        return;
    }
    s->ok = 1;
    /* The width at the model's height, as the network will see it: to budget batches. */
    int ih = crnn_model_input_height(st->model);
    long cols = ((long)s->width * ih + s->height / 2) / s->height;
    s->columns = cols < 1 ? 1 : cols > CRNN_MAX_INPUT_WIDTH ? CRNN_MAX_INPUT_WIDTH : (int)cols;
    s->decode_ms = (now_seconds() - t0) * 1000.0;
}

typedef struct {
    crnn_recognizer *rec;
    slot **order;
    crnn_image *images;
    crnn_result *results;
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
        w->images[i] = (crnn_image){group[i]->width, group[i]->height, group[i]->width,
                                    group[i]->pixels};
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
        if (choose_params(st, s) != 0) {
            s->ok = 0;
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
        release_params(s);
    }
}

static void *worker(void *arg) {
    run_state *st = arg;
    crnn_error err;
    worker_scratch w;
    w.rec = crnn_recognizer_new(st->model, &err);
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

/* ---- counting, for the progress bar ----------------------------------------------------- */

typedef struct {
    input_options options;
    atomic_int cancel;
    atomic_long total; /* -1 until counted */
} count_job;

/* Walks the same inputs without reading any image, so the bar can show a total and an ETA.
   It runs beside the recognition instead of before it: a huge tree starts at once, and the
   total appears when known. */
static void *count_inputs(void *arg) {
    count_job *job = arg;
    char err[600];
    input_walker *w = input_walker_new(&job->options, err, sizeof err);
    if (!w) return NULL;
    long n = 0;
    input_item it;
    while (input_walker_next(w, &it)) {
        n += it.kind != INPUT_NOTE;
        input_item_free(&it);
    }
    if (!atomic_load(&job->cancel)) atomic_store(&job->total, n);
    input_walker_free(w);
    return NULL;
}

/* ---- the main loop ---------------------------------------------------------------------- */

typedef struct {
    const char *model_path;
    const char *output;
    out_format format;
    int format_set;
    int threads, batch, quiet, fail_fast;
    input_options in;
} recognize_options;

typedef struct {
    long done, failed;
} tally;

/* Reports one finished slot: the result to the output, errors and notes to stderr. */
static void emit(const recognize_options *o, out_sink *out, progress_bar *bar, slot *s,
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

/* Returns the exit status. */
static int run(const recognize_options *o, const crnn_model *model, input_walker *walker,
               out_sink *out, progress_bar *bar, count_job *count) {
    run_state st;
    memset(&st, 0, sizeof st);
    st.model = model;
    st.params = crnn_default_params();
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
    /* Parallelism comes from the workers; BLAS inside each stays single-threaded unless one
       worker has the machine to itself. */
    openblas_set_num_threads(o->threads > 1 ? 1 : cli_num_cores());
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
        if (atomic_load(&interrupted)) st.stop = 1;
        if (st.stop || (st.eof && st.printed == st.enumerated)) break;
        progress_update(bar, t.done, atomic_load(&count->total), t.failed, 0);
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
    if (atomic_load(&interrupted)) {
        progress_clear(bar);
        return 128 + atomic_load(&interrupted);
    }
    progress_finish(bar, t.done, t.failed);
    return status ? status : t.failed ? 1 : 0;
}

/* "I/N" with 0 <= I < N. */
static int parse_shard(const char *s, int *index, int *count) {
    const char *slash = strchr(s, '/');
    if (!slash || slash == s) return -1;
    char head[32];
    size_t n = (size_t)(slash - s);
    if (n >= sizeof head) return -1;
    memcpy(head, s, n);
    head[n] = 0;
    long c = cli_parse_long(slash + 1, 1, 1000000);
    long i = cli_parse_long(head, 0, 999999);
    if (c < 1 || i < 0 || i >= c) return -1;
    *index = (int)i;
    *count = (int)c;
    return 0;
}

static int is_folder(const char *path) {
    struct stat st;
    return strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

enum { OPT_JSON = 256, OPT_TSV, OPT_CSV, OPT_LIST, OPT_SHARD, OPT_FAIL_FAST, OPT_BATCH };

int cmd_recognize(int argc, char **argv) {
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},   {"json", no_argument, 0, OPT_JSON},
        {"jsonl", no_argument, 0, OPT_JSON},    {"tsv", no_argument, 0, OPT_TSV},
        {"csv", no_argument, 0, OPT_CSV},       {"threads", required_argument, 0, 'j'},
        {"jobs", required_argument, 0, 'j'},    {"recursive", no_argument, 0, 'r'},
        {"list", required_argument, 0, OPT_LIST}, {"output", required_argument, 0, 'o'},
        {"shard", required_argument, 0, OPT_SHARD}, {"fail-fast", no_argument, 0, OPT_FAIL_FAST},
        {"batch", required_argument, 0, OPT_BATCH}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},          {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0}};
    recognize_options o;
    memset(&o, 0, sizeof o);
    o.threads = cli_num_cores();
    o.batch = DEFAULT_BATCH;
    o.format = OUT_PATH_TEXT;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:j:t:ro:qhV", opts, NULL)) != -1) {
        switch (c) {
        case 'm': o.model_path = optarg; break;
        case OPT_JSON: o.format = OUT_JSONL; o.format_set = 1; break;
        case OPT_TSV: o.format = OUT_TSV; o.format_set = 1; break;
        case OPT_CSV: o.format = OUT_CSV; o.format_set = 1; break;
        case 'j':
        case 't':
            o.threads = (int)cli_parse_long(optarg, 1, 256);
            if (o.threads < 1) {
                fprintf(stderr, "ocr-crnn: -j/--threads needs a number from 1 to 256, got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case OPT_BATCH:
            o.batch = (int)cli_parse_long(optarg, 1, MAX_BATCH);
            if (o.batch < 1) {
                fprintf(stderr, "ocr-crnn: --batch needs a number from 1 to %d, got '%s'\n",
                        MAX_BATCH, optarg);
                return 2;
            }
            break;
        case 'r': o.in.recursive = 1; break;
        case OPT_LIST: o.in.list_path = optarg; break;
        case 'o': o.output = optarg; break;
        case OPT_SHARD:
            if (parse_shard(optarg, &o.in.shard_index, &o.in.shard_count) != 0) {
                fprintf(stderr, "ocr-crnn: --shard needs I/N with 0 <= I < N, got '%s'\n", optarg);
                return 2;
            }
            break;
        case OPT_FAIL_FAST: o.fail_fast = 1; break;
        case 'q': o.quiet = 1; break;
        case 'h': print_usage(stdout); return 0;
        case 'V': printf("ocr-crnn %s\n", CRNN_VERSION_STRING); return 0;
        default: print_usage(stderr); return 2;
        }
    }
    o.in.args = argv + optind;
    o.in.n_args = argc - optind;
    if (o.in.n_args < 1 && !o.in.list_path) {
        fprintf(stderr, "ocr-crnn: no image given\n");
        print_usage(stderr);
        return 2;
    }
    int stdin_uses = o.in.list_path && !strcmp(o.in.list_path, "-"), folders = 0;
    for (int i = 0; i < o.in.n_args; i++) {
        stdin_uses += strcmp(o.in.args[i], "-") == 0;
        folders += is_folder(o.in.args[i]);
    }
    if (stdin_uses > 1) {
        fprintf(stderr, "ocr-crnn: standard input ('-' or --list -) may be used only once\n");
        return 2;
    }
    /* One image named alone prints just its text, as `ocr-crnn word.png` always has. */
    if (!o.format_set && o.in.n_args == 1 && !o.in.list_path && !folders) o.format = OUT_TEXT;
    /* A few named files need no more workers than files: an idle worker would only cost the
       busy one its multi-threaded BLAS. */
    if (!o.in.list_path && !folders && o.threads > o.in.n_args) o.threads = o.in.n_args;

    o.in.cancel = &interrupted;
    char err[600];
    input_walker *walker = input_walker_new(&o.in, err, sizeof err);
    if (!walker) {
        fprintf(stderr, "ocr-crnn: %s\n", err);
        return 1;
    }
    crnn_model *model = cli_load_model(o.model_path);
    out_sink out;
    if (!model || out_open(&out, o.output, o.format) != 0) {
        crnn_model_free(model);
        input_walker_free(walker);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C ends the program at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    progress_bar bar;
    progress_init(&bar, !o.quiet && isatty(STDERR_FILENO));
    count_job count;
    memset(&count, 0, sizeof count);
    count.options = o.in;
    count.options.cancel = &count.cancel;
    atomic_init(&count.cancel, 0);
    atomic_init(&count.total, -1);
    pthread_t counter;
    /* The count walks the inputs a second time; a --list on stdin can be read only once. */
    int counting = bar.enabled && !(o.in.list_path && !strcmp(o.in.list_path, "-")) &&
                   pthread_create(&counter, NULL, count_inputs, &count) == 0;

    int status = run(&o, model, walker, &out, &bar, &count);

    if (counting) {
        atomic_store(&count.cancel, 1);
        pthread_join(counter, NULL);
    }
    /* An interrupted or --fail-fast run is incomplete: it does not replace an --output file. */
    int complete = status < 128 && !(o.fail_fast && status != 0);
    if (out_close(&out, complete) != 0 && status == 0) status = 1;
    input_walker_free(walker);
    crnn_model_free(model);
    return status;
}

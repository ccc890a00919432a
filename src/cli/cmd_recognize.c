/* cmd_recognize.c — `ocr-crnn [OPTIONS] IMAGE...`: recognise images with a pool of worker
   threads over one shared model, printing results in input order. Inputs are streamed and
   results printed through a bounded window, so memory does not grow with the input count. */
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>

#include "cli/cli.h"
#include "util/util.h"

typedef struct {
    long index;
    char *path;
    int done, ok;
    crnn_result res;
    char err[600];
} slot;

typedef struct {
    const crnn_model *model;
    crnn_params params;
    char **paths;
    int n_paths, next_path;
    long assigned, printed;
    slot *slots;
    int window;
    int json, many;
    int failures;
    pthread_mutex_t mu;
    pthread_cond_t cv_done, cv_space;
} run_state;

static void print_usage(FILE *f) {
    fprintf(f,
            "usage: ocr-crnn [OPTIONS] IMAGE...\n"
            "       ocr-crnn train|eval|synth [OPTIONS]   (see ocr-crnn COMMAND --help)\n"
            "\n"
            "Recognises the text in cropped word or text-line images. One image prints its text;\n"
            "several print PATH<TAB>TEXT per line, in input order. '-' reads an image from stdin.\n"
            "\n"
            "  -m, --model FILE     model file (default: the installed English model)\n"
            "      --json           one JSON object per image: path, text, confidence,\n"
            "                       per-character confidences, milliseconds\n"
            "  -t, --threads N      worker threads (default: number of cores)\n"
            "  -h, --help           this help\n"
            "  -V, --version        print the version\n"
            "\n"
            "Exit status: 0 all images read, 1 some image failed (the others are still printed),\n"
            "2 usage error.\n");
}

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

static void recognise_one(run_state *st, crnn_recognizer *rec, slot *s) {
    crnn_status rc;
    if (strcmp(s->path, "-") == 0) {
        size_t size = 0;
        char *data = read_stdin(&size);
        if (!data) {
            snprintf(s->err, sizeof s->err, "-: cannot read standard input");
            s->ok = 0;
            return;
        }
        rc = crnn_recognize_memory(rec, data, size, "-", &st->params, &s->res);
        free(data);
    } else {
        rc = crnn_recognize_file(rec, s->path, &st->params, &s->res);
    }
    s->ok = rc == CRNN_OK;
    if (!s->ok) snprintf(s->err, sizeof s->err, "%s", crnn_recognizer_error(rec));
}

static void *worker(void *arg) {
    run_state *st = arg;
    crnn_error err;
    crnn_recognizer *rec = crnn_recognizer_new(st->model, &err);
    for (;;) {
        pthread_mutex_lock(&st->mu);
        while (st->next_path < st->n_paths && st->assigned - st->printed >= st->window)
            pthread_cond_wait(&st->cv_space, &st->mu);
        if (st->next_path >= st->n_paths) {
            pthread_mutex_unlock(&st->mu);
            break;
        }
        long idx = st->assigned++;
        slot *s = &st->slots[idx % st->window];
        memset(s, 0, sizeof *s);
        s->index = idx;
        s->path = st->paths[st->next_path++];
        pthread_mutex_unlock(&st->mu);
        if (rec) recognise_one(st, rec, s);
        else snprintf(s->err, sizeof s->err, "%s: %s", s->path, err.message);
        pthread_mutex_lock(&st->mu);
        s->done = 1;
        pthread_cond_broadcast(&st->cv_done);
        pthread_mutex_unlock(&st->mu);
    }
    crnn_recognizer_free(rec);
    return NULL;
}

static void print_result(run_state *st, slot *s) {
    if (!s->ok) {
        fprintf(stderr, "ocr-crnn: %s\n", s->err);
        st->failures++;
        return;
    }
    if (st->json) {
        printf("{\"path\":");
        json_write_string(stdout, s->path);
        printf(",\"text\":");
        json_write_string(stdout, s->res.text);
        printf(",\"confidence\":%.4f,\"chars\":[", s->res.confidence);
        /* Per-character confidences beside the characters they belong to. */
        const char *p = s->res.text;
        for (int i = 0; i < s->res.num_chars; i++) {
            uint32_t cp;
            int used = utf8_decode(p, strlen(p), &cp);
            char ch[5] = {0};
            memcpy(ch, p, (size_t)(used > 0 ? used : 0));
            p += used > 0 ? used : 1;
            printf("%s{\"char\":", i ? "," : "");
            json_write_string(stdout, ch);
            printf(",\"confidence\":%.4f}", s->res.char_confidence[i]);
        }
        printf("],\"milliseconds\":%.3f}\n", s->res.milliseconds);
    } else if (st->many) {
        printf("%s\t%s\n", s->path, s->res.text);
    } else {
        printf("%s\n", s->res.text);
    }
    crnn_result_free(&s->res);
}

int cmd_recognize(int argc, char **argv) {
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"json", no_argument, 0, 'J'},
        {"threads", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};
    const char *model_path = NULL;
    int json = 0, threads = cli_num_cores();
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:t:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'J': json = 1; break;
        case 't':
            threads = (int)cli_parse_long(optarg, 1, 256);
            if (threads < 1) {
                fprintf(stderr, "ocr-crnn: --threads needs a number from 1 to 256, got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'h': print_usage(stdout); return 0;
        case 'V': printf("ocr-crnn %s\n", CRNN_VERSION_STRING); return 0;
        default: print_usage(stderr); return 2;
        }
    }
    int n = argc - optind;
    if (n < 1) {
        fprintf(stderr, "ocr-crnn: no image given\n");
        print_usage(stderr);
        return 2;
    }
    int stdin_uses = 0;
    for (int i = optind; i < argc; i++) stdin_uses += strcmp(argv[i], "-") == 0;
    if (stdin_uses > 1) {
        fprintf(stderr, "ocr-crnn: '-' (standard input) may be given only once\n");
        return 2;
    }
    crnn_model *model = cli_load_model(model_path);
    if (!model) return 1;

    run_state st;
    memset(&st, 0, sizeof st);
    st.model = model;
    st.params = crnn_default_params();
    st.paths = argv + optind;
    st.n_paths = n;
    st.json = json;
    st.many = n > 1;
    if (threads > n) threads = n;
    st.window = 64 * threads;
    st.slots = calloc((size_t)st.window, sizeof(slot));
    if (!st.slots) {
        fprintf(stderr, "ocr-crnn: out of memory\n");
        crnn_model_free(model);
        return 1;
    }
    /* Parallelism comes from the workers; BLAS inside each stays single-threaded unless one
       worker has the machine to itself. */
    openblas_set_num_threads(threads > 1 ? 1 : cli_num_cores());
    pthread_mutex_init(&st.mu, NULL);
    pthread_cond_init(&st.cv_done, NULL);
    pthread_cond_init(&st.cv_space, NULL);
    pthread_t *tids = calloc((size_t)threads, sizeof(pthread_t));
    int started = 0;
    for (int i = 0; tids && i < threads; i++)
        if (pthread_create(&tids[i], NULL, worker, &st) == 0) started++;
    if (started == 0) { /* no threads available: do the work here */
        worker(&st);
    }
    pthread_mutex_lock(&st.mu);
    while (st.printed < n) {
        slot *s = &st.slots[st.printed % st.window];
        while (!(s->done && s->index == st.printed)) pthread_cond_wait(&st.cv_done, &st.mu);
        pthread_mutex_unlock(&st.mu);
        print_result(&st, s);
        pthread_mutex_lock(&st.mu);
        s->done = 0;
        st.printed++;
        pthread_cond_broadcast(&st.cv_space);
    }
    pthread_mutex_unlock(&st.mu);
    for (int i = 0; i < started; i++) pthread_join(tids[i], NULL);
    free(tids);
    free(st.slots);
    pthread_mutex_destroy(&st.mu);
    pthread_cond_destroy(&st.cv_done);
    pthread_cond_destroy(&st.cv_space);
    crnn_model_free(model);
    fflush(stdout);
    return st.failures ? 1 : 0;
}

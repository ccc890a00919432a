/* test_alloc_failure.c — every allocation of the library can fail, and each failure comes back
   as CRNN_ERR_NOMEM with nothing leaked.

   The program is linked with -Wl,--wrap for malloc, calloc, realloc, strdup and free, so that
   every call the library makes (its static archive is linked in) goes through the wrappers
   below. A sweep runs a scenario once for each N = 1, 2, ... with the N-th allocation failing,
   until a run makes fewer than N allocations. Each run must then
     - return CRNN_ERR_NOMEM, or succeed with exactly the results of a run without failures (a
       digest of every text, loss and weight it produced): only an allocation that merely
       saves memory, such as a shrinking realloc, may fail unnoticed. A failure that changes
       a result, or is reported as anything but CRNN_ERR_NOMEM, is a defect;
     - leave no allocation it made unreleased once it has cleaned up (the wrappers track every
       live block; under ASan, LeakSanitizer checks the same at exit);
   and a recogniser that saw a failure must not show the failed call's output, and must work
   again afterwards.

   Scenarios: a recognition (loading a model from memory, a recogniser on two threads, a
   batch, a file, an explanation PNG); a lexicon decode (building a lexicon, lexicon-constrained
   best path, beam search, case-insensitive matching with a margin, a large lexicon's BK-tree,
   the log-space rescue of a small lexicon that underflows); a training step (a model from an
   architecture, the optimiser, a batch, forward, CTC loss and backward on two workers, the
   optimiser step, a checkpoint written and read back, datasets opened, a validation set loaded
   and scored). */
#include <execinfo.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crnn.h"
#include "lexicon/lexicon.h"
#include "model/model.h"
#include "decode/decode.h"
#include "test.h"
#include "train/checkpoint.h"
#include "train/loader.h"
#include "train/train.h"
#include "train/validate.h"
#include "util/util.h"

/* ---- the wrappers ---------------------------------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void __real_free(void *p);

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int counting;     /* allocations are counted (and one may fail) */
static long calls;       /* allocations since counting began */
static long fail_at;     /* the one that fails (1-based; 0 = none) */
static int failed;       /* it did */

/* Blocks allocated while tracking, not yet freed: an open-addressing set of pointers. */
#define LIVE_SLOTS (1 << 20)
static void **live;
static long live_n;
static int tracking;

static size_t slot_of(const void *p) { return ((uintptr_t)p >> 4) * 2654435761u % LIVE_SLOTS; }

static void live_add(void *p) {
    size_t i = slot_of(p);
    while (live[i] && live[i] != (void *)1) i = (i + 1) % LIVE_SLOTS;
    live[i] = p;
    live_n++;
}

static void live_remove(void *p) {
    for (size_t i = slot_of(p); live[i]; i = (i + 1) % LIVE_SLOTS)
        if (live[i] == p) {
            live[i] = (void *)1; /* a tombstone keeps later entries reachable */
            live_n--;
            return;
        }
}

/* ALLOC_FAIL_TRACE set: show where each mishandled failure, and each absorbed one, starts */
static int trace_failures;
static int tracing;        /* this run prints the failing allocation's call stack */

static int should_fail(void) {
    int fail = 0;
    pthread_mutex_lock(&mu);
    if (counting && ++calls == fail_at) fail = failed = 1;
    pthread_mutex_unlock(&mu);
    if (fail && tracing) {
        void *frames[16];
        int n = backtrace(frames, 16);
        fprintf(stderr, "allocation %ld fails here:\n", fail_at);
        backtrace_symbols_fd(frames, n, 2);
    }
    return fail;
}

static void tracked(void *p, void *old) {
    if (!tracking) return;
    pthread_mutex_lock(&mu);
    if (old) live_remove(old);
    if (p) live_add(p);
    pthread_mutex_unlock(&mu);
}

void *__wrap_malloc(size_t n) {
    if (should_fail()) return NULL;
    void *p = __real_malloc(n);
    tracked(p, NULL);
    return p;
}

void *__wrap_calloc(size_t n, size_t size) {
    if (should_fail()) return NULL;
    void *p = __real_calloc(n, size);
    tracked(p, NULL);
    return p;
}

void *__wrap_realloc(void *p, size_t n) {
    if (should_fail()) return NULL; /* p stays valid, as after a real failure */
    void *q = __real_realloc(p, n);
    if (q) tracked(q, p);
    return q;
}

char *__wrap_strdup(const char *s) {
    if (should_fail()) return NULL;
    char *d = __real_strdup(s);
    tracked(d, NULL);
    return d;
}

void __wrap_free(void *p) {
    if (p && tracking) {
        pthread_mutex_lock(&mu);
        live_remove(p);
        pthread_mutex_unlock(&mu);
    }
    __real_free(p);
}

/* Starts a run whose fail_at-th allocation fails (0: none fails). */
static void arm(long n) {
    pthread_mutex_lock(&mu);
    memset(live, 0, sizeof(void *) * LIVE_SLOTS);
    live_n = 0;
    calls = 0;
    fail_at = n;
    failed = 0;
    counting = tracking = 1;
    pthread_mutex_unlock(&mu);
}

static void disarm(void) {
    pthread_mutex_lock(&mu);
    counting = tracking = 0;
    pthread_mutex_unlock(&mu);
}

/* ---- the sweep ------------------------------------------------------------------------- */

/* What a run produced, hashed (FNV-1a 64). */
static uint64_t digest;

static void mix(const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) digest = (digest ^ p[i]) * 0x100000001b3ULL;
}

static void mix_text(const char *s) { mix(s ? s : "(null)", s ? strlen(s) + 1 : 7); }

typedef crnn_status (*scenario)(void);

/* Runs fn with allocation 1, 2, ... failing until a run completes without reaching its N. */
static void sweep(const char *name, scenario fn) {
    arm(0);
    digest = 0xcbf29ce484222325ULL;
    crnn_status s = fn();
    long total = calls;
    const uint64_t expected = digest;
    disarm();
    CHECK_MSG(s == CRNN_OK && live_n == 0, "%s: without failures: status %s, %ld blocks left",
              name, crnn_status_name(s), live_n);
    int bad = 0, absorbed = 0;
    long n;
    for (n = 1; bad < 5; n++) {
        arm(n);
        digest = 0xcbf29ce484222325ULL;
        s = fn();
        int hit = failed;
        long left = live_n;
        disarm();
        if (!hit) break; /* the run made fewer than n allocations */
        int harmless = s == CRNN_OK && digest == expected;
        absorbed += harmless;
        int wrong = (s != CRNN_ERR_NOMEM && !harmless) || left;
        if (wrong) {
            bad++;
            CHECK_MSG(0, "%s: allocation %ld of %ld failed: status %s, %ld blocks left", name, n,
                      total, crnn_status_name(s), left);
        }
        if ((wrong || harmless) && trace_failures) { /* once more, showing where */
            fprintf(stderr, "%s: allocation %ld %s:\n", name, n, wrong ? "mishandled" : "absorbed");
            arm(n);
            tracing = 1;
            fn();
            tracing = 0;
            disarm();
        }
    }
    fprintf(stderr, "  %s: %ld allocations, each failed in turn (%ld runs; %d failures changed "
            "nothing)\n", name, total, n - 1, absorbed);
}

/* ---- recognition ------------------------------------------------------------------------- */

static unsigned char *model_bytes;
static size_t model_size;
static uint8_t pixels[3][24 * 90];
static crnn_image images[3];
static char tmp_dir[256];
static char *expected_text[3];

/* The network's text for the three images with no failure, to compare after recovering. */
static void remember_texts(crnn_recognizer *rec) {
    crnn_result res[3];
    if (crnn_recognize_batch(rec, images, 3, NULL, res) == CRNN_OK)
        for (int i = 0; i < 3; i++) {
            free(expected_text[i]);
            expected_text[i] = strdup(res[i].text);
        }
    for (int i = 0; i < 3; i++) crnn_result_free(&res[i]);
}

static crnn_status recognition(void) {
    crnn_error err;
    crnn_model *m = crnn_model_load_memory(model_bytes, model_size, "sweep.crnn", &err);
    if (!m) return err.code;
    crnn_recognizer *rec = crnn_recognizer_new(m, &err);
    if (!rec) {
        crnn_model_free(m);
        return err.code;
    }
    crnn_recognizer_set_threads(rec, 2);
    crnn_result res[3];
    crnn_status s = crnn_recognize_batch(rec, images, 3, NULL, res);
    for (int i = 0; i < 3; i++) {
        if (s == CRNN_OK) mix_text(res[i].text);
        crnn_result_free(&res[i]);
    }
    if (s == CRNN_OK) {
        s = crnn_recognize_file(rec, "samples/ark.png", NULL, &res[0]);
        if (s == CRNN_OK) mix_text(res[0].text);
        crnn_result_free(&res[0]);
    }
    int recognising = s != CRNN_OK; /* a recognition call failed (not the picture below) */
    if (s == CRNN_OK) {
        char png[512];
        snprintf(png, sizeof png, "%s/explain.png", tmp_dir);
        s = crnn_explain_png(rec, 0, NULL, png, &err);
    }
    if (s == CRNN_ERR_NOMEM && recognising) {
        /* Nothing of the failed call may show, and the recogniser must still work. */
        int frames;
        CHECK_MSG(crnn_recognizer_log_probs(rec, 0, &frames, NULL) == NULL,
                  "log-probabilities of a failed call are still readable");
        CHECK(crnn_recognizer_input(rec, 0, NULL, NULL) == NULL);
        int was = counting;
        counting = 0;
        crnn_status again = crnn_recognize_batch(rec, images, 3, NULL, res);
        CHECK_MSG(again == CRNN_OK, "after a failure: %s", crnn_recognizer_error(rec));
        for (int i = 0; i < 3 && again == CRNN_OK; i++)
            CHECK(expected_text[i] && strcmp(res[i].text, expected_text[i]) == 0);
        for (int i = 0; i < 3; i++) crnn_result_free(&res[i]);
        counting = was;
    }
    crnn_recognizer_free(rec);
    crnn_model_free(m);
    return s;
}

/* ---- lexicon decoding -------------------------------------------------------------------- */

static crnn_model *shared_model;
static crnn_lexicon *large_lexicon;
static const char *words[] = {"ark", "Agrippina", "date", "humpy", "price", "sven", "surmising",
                              "assertions", "the", "of", "and", "a", "to", "in", "is", "you",
                              "that", "it", "he", "was", "for", "on", "are", "as", "with"};

/* Frames that say "ccc" so firmly that every word of {ab, ba} is hundreds of nats below best
   path: the scaled scorer underflows, and the small lexicon is scored again in log space. */
#define RT 6
static float rescue_lp[RT * 4];
static const uint32_t rescue_charset[4] = {0, 'a', 'b', 'c'};

static crnn_status lexicon_decode(void) {
    crnn_error err;
    crnn_lexicon *lex = crnn_lexicon_from_words(words, (int)(sizeof words / sizeof words[0]), &err);
    if (!lex) return err.code;
    crnn_recognizer *rec = crnn_recognizer_new(shared_model, &err);
    crnn_status s = rec ? CRNN_OK : err.code;
    crnn_params p = crnn_default_params();
    crnn_result res[3];
    for (int mode = 0; mode < 4 && s == CRNN_OK; mode++) {
        p.lexicon = mode == 3 ? large_lexicon : lex;
        p.decoder = mode == 1 || mode == 3 ? CRNN_DECODE_BEAM : CRNN_DECODE_GREEDY;
        p.lexicon_case_insensitive = mode == 2;
        p.lexicon_margin = mode == 2 ? 5.0f : -1.0f;
        p.lexicon_max_distance = 3;
        s = crnn_recognize_batch(rec, images, 3, &p, res);
        for (int i = 0; i < 3; i++) {
            if (s == CRNN_OK) mix_text(res[i].text), mix_text(res[i].free_text);
            crnn_result_free(&res[i]);
        }
    }
    crnn_recognizer_free(rec);
    crnn_lexicon_free(lex);
    if (s != CRNN_OK) return s;
    /* the rescue */
    static const char *ab[] = {"ab", "ba"};
    lex = crnn_lexicon_from_words(ab, 2, &err);
    if (!lex) return err.code;
    decode_workspace *dw = decode_workspace_new();
    if (!dw) {
        crnn_lexicon_free(lex);
        return CRNN_ERR_NOMEM;
    }
    crnn_model fake;
    memset(&fake, 0, sizeof fake);
    fake.n_classes = 4;
    fake.charset = (uint32_t *)rescue_charset;
    p = crnn_default_params();
    p.lexicon = lex;
    p.lexicon_margin = -1; /* always a word: the rescue may run */
    memset(&res[0], 0, sizeof res[0]);
    s = decode_frames(dw, &fake, rescue_lp, RT, 4, &p, &res[0], &err);
    if (s == CRNN_OK) mix_text(res[0].text);
    crnn_result_free(&res[0]);
    decode_workspace_free(dw);
    crnn_lexicon_free(lex);
    return s;
}

/* ---- a training step --------------------------------------------------------------------- */

static crnn_status training_step(void) {
    crnn_error err;
    crnn_model *m = model_from_arch("c4 m2 bicgru4 m2x2s2x1p0x1 c6k2p0 bigru6", "alnum", 24, 1,
                                    5, &err);
    if (!m) return err.code;
    optimizer o;
    memset(&o, 0, sizeof o);
    train_workers *tw = NULL;
    train_batch *b = NULL;
    crnn_model *m2 = NULL;
    optimizer o2;
    memset(&o2, 0, sizeof o2);
    dataset *d = NULL;
    validation_set val;
    memset(&val, 0, sizeof val);
    static const char *const texts[3] = {"ark", "sven", "date"};
    crnn_status s = optimizer_init(&o, OPT_ADAM, m->n_params, &err);
    if (s == CRNN_OK && !(tw = train_workers_new(m, 2, &err))) s = err.code;
    if (s == CRNN_OK && !(b = batch_from_images(m, images, texts, 3, &err))) s = err.code;
    if (s == CRNN_OK) {
        step_stats st;
        float *grads;
        for (int i = 0; i < 3; i++) mix_text(b->texts[i]);
        s = train_workers_run(tw, m, b, 0.1f, &st, &grads, &err);
        if (s == CRNN_OK) {
            mix(&st, sizeof st);
            clip_grad_norm(grads, m->n_params, 5.0);
            optimizer_step(&o, m->params, grads, NULL, 1e-3f, 0);
            mix(m->params, m->n_params * sizeof(float));
        }
    }
    char path[512];
    snprintf(path, sizeof path, "%s/checkpoint.bin", tmp_dir);
    checkpoint_state cs = {1, 5, -1, 1, 1, 3, 0};
    if (s == CRNN_OK) s = checkpoint_save(path, m, &o, &cs, &err);
    if (s == CRNN_OK) s = checkpoint_load(path, &m2, &o2, &cs, &err);
    /* datasets: a TSV and a folder of MJSynth-named images; a validation set scored */
    snprintf(path, sizeof path, "%s/mjsynth", tmp_dir);
    if (s == CRNN_OK && !(d = dataset_open(path, &err))) s = err.code;
    for (long i = 0; s == CRNN_OK && i < dataset_size(d); i++) {
        crnn_error e;
        mix_text(dataset_label(d, i, &e));
    }
    dataset_close(d);
    d = NULL;
    if (s == CRNN_OK && !(d = dataset_open("samples/labels.tsv", &err))) s = err.code;
    if (s == CRNN_OK) s = validation_load(&val, d, 4, 1, &err);
    if (s == CRNN_OK) {
        validation_score sc;
        for (int i = 0; i < val.n; i++) mix_text(val.texts[i]), mix_text(val.names[i]);
        s = validation_run(&val, m, NULL, &sc, NULL, 1, &err);
        if (s == CRNN_OK) mix(&sc.alnum, sizeof sc.alnum), mix(&sc.one_minus_ned, sizeof(double));
    }
    validation_free(&val);
    dataset_close(d);
    crnn_model_free(m2);
    optimizer_free(&o2);
    train_batch_free(b);
    train_workers_free(tw);
    optimizer_free(&o);
    crnn_model_free(m);
    return s;
}

/* ---- setup ----------------------------------------------------------------------------- */

static void copy_file(const char *from, const char *to) {
    unsigned char *data;
    size_t n;
    crnn_error err;
    if (read_file(from, 1u << 24, &data, &n, &err) != CRNN_OK ||
        write_file_atomic(to, data, n, &err) != CRNN_OK) {
        fprintf(stderr, "setup: %s\n", err.message);
        exit(1);
    }
    free(data);
}

static void setup(void) {
    trace_failures = getenv("ALLOC_FAIL_TRACE") != NULL;
    live = __real_calloc(LIVE_SLOTS, sizeof(void *));
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/crnn-test-alloc-%d", (int)getpid());
    mkdir(tmp_dir, 0755);
    char path[512];
    snprintf(path, sizeof path, "%s/mjsynth", tmp_dir);
    mkdir(path, 0755);
    static const char *mj[][2] = {{"samples/ark.png", "1_ark_2.png"},
                                  {"samples/sven.png", "3_Sven_4.png"}};
    for (int i = 0; i < 2; i++) {
        char to[700];
        snprintf(to, sizeof to, "%s/%s", path, mj[i][1]);
        copy_file(mj[i][0], to);
    }
    crnn_error err;
    crnn_model *m = model_from_arch("c4 m2 bicgru4 m2x2s2x1p0x1 c6k2p0 bigru6", "ALNUM", 24, 1,
                                    3, &err);
    if (!m || model_serialize(m, 0, &model_bytes, &model_size, &err) != CRNN_OK) {
        fprintf(stderr, "setup: %s\n", err.message);
        exit(1);
    }
    model_fold_batchnorm(m);
    shared_model = m;
    static const int widths[3] = {90, 40, 17};
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < 24 * widths[i]; k++)
            pixels[i][k] = (uint8_t)(128 + 100 * sin(k * 0.37 + i) * cos(k / 24 * 0.5));
        crnn_image im = {widths[i], 24, widths[i], pixels[i], 1};
        images[i] = im;
    }
    crnn_recognizer *rec = crnn_recognizer_new(m, &err);
    remember_texts(rec);
    crnn_recognizer_free(rec);
    /* a lexicon over the BK-tree threshold: its own build is not what is swept */
    int nl = CRNN_LEXICON_EXACT_WORDS + 500;
    char **big = malloc(sizeof(char *) * (size_t)nl);
    for (int i = 0; i < nl; i++) {
        big[i] = malloc(16);
        snprintf(big[i], 16, "w%dx%c", i, 'a' + i % 26);
    }
    large_lexicon = crnn_lexicon_from_words((const char *const *)big, nl, &err);
    for (int i = 0; i < nl; i++) free(big[i]);
    free(big);
    for (int t = 0; t < RT; t++)
        for (int k = 0; k < 4; k++) rescue_lp[t * 4 + k] = k == 3 ? 0.0f : -400.0f;
}

int main(void) {
    setup();
    sweep("recognition", recognition);
    sweep("lexicon decode", lexicon_decode);
    sweep("training step", training_step);
    crnn_model_free(shared_model);
    crnn_lexicon_free(large_lexicon);
    free(model_bytes);
    for (int i = 0; i < 3; i++) free(expected_text[i]);
    __real_free(live);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
    TEST_EXIT();
}

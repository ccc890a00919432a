/* bench_lexicon.c — what lexicon (and pattern) decoding costs, per word image, over best path
   alone.

   usage: bench_lexicon [--lexicon FILE] [--model FILE --images DIR] [--count N] [--sweep]

   Frames (per-frame log-probabilities) to decode come from:
   - "peaked": synthetic frames of the default geometry (T = 26 frames for a 100-pixel-wide
     crop, 96 ascii classes) spelling a random lexicon word, each character's class 4..10 nats
     above Gaussian noise, 10% of characters swapped for another class — a trained network;
   - "flat": a random-weight network of the default architecture ("fast") on random images:
     the worst case, nothing can be pruned;
   - "model": with --model and --images, that model on the images of DIR (jpg/png), capped at
     --count.
   For each, the median / 90th percentile / max milliseconds that each decoding mode adds to
   best path. Also: lexicon load time and memory, the trie layout comparison (compact arrays
   against uthash child maps), and with --sweep exact trie search against BK-tree candidates as
   the lexicon grows (how CRNN_LEXICON_EXACT_WORDS was chosen). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <uthash.h>

#include "ctc/ctc.h"
#include "decode/automaton_search.h"
#include "decode/best_path.h"
#include "decode/class_map.h"
#include "decode/frames.h"
#include "lexicon/lexicon.h"
#include "model/model.h"
#include "decode/decode.h"
#include "train/train.h"
#include "util/util.h"

#define T_DEFAULT 26
#define MAX_SETS 3
#define MAX_MATS 4000

typedef struct {
    const char *name;
    int n, T[MAX_MATS], C;
    float *lp[MAX_MATS];
    int truth[MAX_MATS]; /* lexicon word spelled (synthetic), else -1 */
} frame_set;

/* Thread CPU time: the machine this runs on is often busy (training in the background), and
   wall time would count the time this thread was not running. */

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void stats(double *v, int n, double *med, double *p90, double *mx) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    *med = v[n / 2];
    *p90 = v[(int)(0.9 * (n - 1))];
    *mx = v[n - 1];
}

/* ---- the uthash alternative to the compact trie, for the comparison only ---- */
typedef struct hnode {
    uint32_t cp;
    int word;
    struct hnode *kids;
    UT_hash_handle hh;
} hnode;

static hnode *hnode_new(uint32_t cp, size_t *bytes) {
    hnode *n = calloc(1, sizeof *n);
    if (!n) exit(1);
    n->cp = cp;
    n->word = -1;
    *bytes += sizeof *n;
    return n;
}

static size_t htable_bytes(const hnode *n) {
    size_t b = 0;
    if (n->kids) b += sizeof(UT_hash_table) + n->kids->hh.tbl->num_buckets * sizeof(UT_hash_bucket);
    for (const hnode *c = n->kids; c; c = c->hh.next) b += htable_bytes(c);
    return b;
}

static void hfree(hnode *n) {
    hnode *c, *tmp;
    HASH_ITER(hh, n->kids, c, tmp) {
        HASH_DEL(n->kids, c);
        hfree(c);
    }
    free(n);
}

static void compare_tries(const crnn_lexicon *lex) {
    size_t bytes = 0;
    double t0 = cpu_now();
    hnode *root = hnode_new(0, &bytes);
    for (int w = 0; w < lex->n_words; w++) {
        hnode *n = root;
        for (uint32_t i = lex->cp_off[w]; i < lex->cp_off[w + 1]; i++) {
            hnode *c;
            HASH_FIND(hh, n->kids, &lex->cp[i], sizeof(uint32_t), c);
            if (!c) {
                c = hnode_new(lex->cp[i], &bytes);
                HASH_ADD(hh, n->kids, cp, sizeof(uint32_t), c);
            }
            n = c;
        }
        if (n->word < 0) n->word = w;
    }
    double build_h = cpu_now() - t0;
    bytes += htable_bytes(root);
    /* lookups of every word, 5 rounds */
    long found = 0;
    t0 = cpu_now();
    for (int r = 0; r < 5; r++)
        for (int w = 0; w < lex->n_words; w++) {
            hnode *n = root;
            for (uint32_t i = lex->cp_off[w]; i < lex->cp_off[w + 1] && n; i++) {
                hnode *c;
                HASH_FIND(hh, n->kids, &lex->cp[i], sizeof(uint32_t), c);
                n = c;
            }
            found += n && n->word == w;
        }
    double look_h = (cpu_now() - t0) / (5.0 * lex->n_words) * 1e9;
    t0 = cpu_now();
    for (int r = 0; r < 5; r++)
        for (int w = 0; w < lex->n_words; w++)
            found += trie_lookup(&lex->trie, lex->cp + lex->cp_off[w],
                                 (int)(lex->cp_off[w + 1] - lex->cp_off[w])) == w;
    double look_c = (cpu_now() - t0) / (5.0 * lex->n_words) * 1e9;
    printf("trie layouts (%d words, %u nodes, %ld lookups found):\n", lex->n_words,
           lex->trie.n_nodes, found);
    printf("  uthash child maps: %6.1f MB, build %5.0f ms, lookup %5.0f ns/word\n", bytes / 1e6,
           build_h * 1e3, look_h);
    printf("  compact arrays:    %6.1f MB, built with the lexicon, lookup %5.0f ns/word\n",
           lex->trie.n_nodes * sizeof(trie_node) / 1e6, look_c);
    hfree(root);
}

/* ---- frames ---- */

static void log_softmax(const double *x, int C, float *out) {
    double mx = x[0], s = 0;
    for (int k = 1; k < C; k++) mx = x[k] > mx ? x[k] : mx;
    for (int k = 0; k < C; k++) s += exp(x[k] - mx);
    for (int k = 0; k < C; k++) out[k] = (float)(x[k] - mx - log(s));
}

static double gauss(rng_t *r) { return rng_normal(r); }

/* Frames spelling word w of lex: each character gets a run of frames, blanks between. */
static int spell_word(const crnn_lexicon *lex, const class_map *map, int w, int T, int C,
                      rng_t *r, float *lp) {
    int L = (int)(lex->cp_off[w + 1] - lex->cp_off[w]), lab[64];
    if (L > 12 || !class_map_labels(map, lex->cp + lex->cp_off[w], L, lab)) return 0;
    if (ctc_min_frames(lab, L) * 2 + 1 > T) return 0;
    double x[256];
    int slot = T / (L + 1); /* frames per character, blanks at the edges */
    for (int t = 0; t < T; t++) {
        for (int k = 0; k < C; k++) x[k] = gauss(r);
        int i = t / (slot > 0 ? slot : 1) - 0;
        int pos = t - i * slot, cls = 0;
        if (i < L && pos < (slot + 1) / 2) cls = lab[i];
        if (cls && rng_uniform(r) < 0.1f / (slot > 1 ? slot : 1)) cls = 1 + (int)(rng_u32(r) % (uint32_t)(C - 1));
        x[cls] += 4 + 6 * rng_uniform(r);
        log_softmax(x, C, lp + (size_t)t * C);
    }
    return 1;
}

static crnn_model *build_model(rng_t *r) {
    static uint32_t charset[MODEL_MAX_CLASSES];
    crnn_error err;
    model_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.n_classes = charset_build("ascii", charset, MODEL_MAX_CLASSES - 1, &err);
    spec.charset = charset;
    spec.input_height = 32;
    spec.input_channels = 1;
    spec.norm_mean = spec.norm_std = 0.5f;
    if (arch_parse("fast", &spec, &err) != CRNN_OK) return NULL;
    crnn_model *m = model_build(&spec, "random", &err);
    if (!m) return NULL;
    for (int i = 0; i < m->n_tensors; i++) {
        const model_tensor *t = &m->tensors[i];
        float *p = m->params + t->offset;
        size_t fan = t->ndim > 1 ? t->count / (size_t)t->dims[0] : 1;
        float a = t->ndim > 1 ? 1.7f / sqrtf((float)fan) : 0.1f;
        int one = strstr(t->name, "bn_var") || strstr(t->name, "bn_weight");
        for (size_t j = 0; j < t->count; j++) p[j] = one ? 1.0f : a * (2 * rng_uniform(r) - 1);
    }
    model_fold_batchnorm(m);
    return m;
}

static void add_frames(frame_set *s, crnn_recognizer *rec, int truth) {
    int T, C;
    const float *lp = crnn_recognizer_log_probs(rec, 0, &T, &C);
    if (!lp || s->n == MAX_MATS) return;
    s->lp[s->n] = malloc(sizeof(float) * (size_t)T * C);
    memcpy(s->lp[s->n], lp, sizeof(float) * (size_t)T * C);
    s->T[s->n] = T;
    s->truth[s->n++] = truth;
    s->C = C;
}

static void model_frames(frame_set *s, const char *model_path, const char *dir, int count) {
    crnn_error err;
    crnn_model *m = crnn_model_load(model_path, &err);
    if (!m) {
        fprintf(stderr, "bench_lexicon: %s\n", err.message);
        exit(1);
    }
    crnn_recognizer *rec = crnn_recognizer_new(m, &err);
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "bench_lexicon: cannot open %s\n", dir);
        exit(1);
    }
    struct dirent *e;
    char **names = NULL;
    int n = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 4 && (!strcmp(e->d_name + l - 4, ".jpg") || !strcmp(e->d_name + l - 4, ".png"))) {
            names = realloc(names, sizeof(char *) * (size_t)(n + 1));
            names[n++] = strdup(e->d_name);
        }
    }
    closedir(d);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[i], names[j]) > 0) {
                char *t = names[i];
                names[i] = names[j];
                names[j] = t;
            }
    char path[4096];
    for (int i = 0; i < n && s->n < count; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        crnn_result r;
        if (crnn_recognize_file(rec, path, NULL, &r) == CRNN_OK) add_frames(s, rec, -1);
        crnn_result_free(&r);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    crnn_recognizer_free(rec);
    crnn_model_free(m);
}

/* ---- timing ---- */

typedef struct {
    const char *name;
    int decoder, beam, fold, distance, small;
    const char *allow, *pattern; /* constraints without a lexicon */
} mode;

static void time_modes(const frame_set *s, const crnn_model *m, const crnn_lexicon *lex,
                       const crnn_lexicon *const *small) {
    static const mode modes[] = {
        {"beam search, width 10", 1, 10, 0, 3, 0, NULL, NULL},
        {"50-word lexicon (exact)", 0, 10, 0, 3, 1, NULL, NULL},
        {"50-word lexicon, ignore case", 0, 10, 1, 3, 1, NULL, NULL},
        {"100k lexicon (default)", 0, 10, 0, 3, 0, NULL, NULL},
        {"100k lexicon, ignore case", 0, 10, 1, 3, 0, NULL, NULL},
        {"100k lexicon, always exact (delta < 0)", 0, 10, 0, -1, 0, NULL, NULL},
        {"beam 10 + 100k lexicon", 1, 10, 0, 3, 0, NULL, NULL},
        {"--digits (a class mask)", 0, 10, 0, 3, 0, "0-9", NULL},
        {"pattern: a date or a price", 0, 10, 0, 3, 0, NULL,
         "\\d{2}/\\d{2}/\\d{4}|\\$\\d{1,3}(,\\d{3})*\\.\\d\\d"},
        {"pattern: [A-Za-z]+ (any word)", 0, 10, 0, 3, 0, NULL, "[A-Za-z]+"},
        {"pattern: .* (any text)", 0, 10, 0, 3, 0, NULL, ".*"},
    };
    decode_workspace *dw = decode_workspace_new();
    double *base = malloc(sizeof(double) * (size_t)s->n), *v = malloc(sizeof(double) * (size_t)s->n);
    crnn_params gp = crnn_default_params();
    crnn_result r;
    memset(&r, 0, sizeof r); /* decode_frames replaces what a result holds */
    /* best path alone, the baseline (best of 3 runs per matrix: timer noise) */
    for (int i = 0; i < s->n; i++) {
        base[i] = 1e9;
        for (int k = 0; k < 3; k++) {
            double t0 = cpu_now();
            decode_frames(dw, m, s->lp[i], s->T[i], s->C, &gp, &r, NULL);
            double dt = cpu_now() - t0;
            base[i] = dt < base[i] ? dt : base[i];
            crnn_result_free(&r);
        }
    }
    double med, p90, mx;
    memcpy(v, base, sizeof(double) * (size_t)s->n);
    stats(v, s->n, &med, &p90, &mx);
    printf("  %-36s %8.3f ms median (T = %d, C = %d, %d matrices)\n", "best path", med * 1e3,
           s->T[0], s->C, s->n);
    for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
        const mode *md = &modes[k];
        crnn_params p = crnn_default_params();
        crnn_pattern *pattern = md->pattern ? crnn_pattern_compile(&md->pattern, 1, NULL) : NULL;
        p.pattern = pattern;
        p.allow = md->allow;
        p.decoder = md->decoder ? CRNN_DECODE_BEAM : CRNN_DECODE_GREEDY;
        p.beam_width = md->beam;
        p.lexicon_case_insensitive = md->fold;
        p.lexicon_max_distance = md->distance;
        int hits = 0, with_truth = 0, cut_short = 0;
        for (int i = 0; i < s->n; i++) {
            p.lexicon = md->small ? small[i] : (strstr(md->name, "lexicon") ? lex : NULL);
            double best = 1e9;
            /* untimed: is the answer right, and did the exact walk finish */
            decode_trace tr;
            decode_frames_traced(dw, m, s->lp[i], s->T[i], s->C, &p, &r, NULL, &tr);
            if (p.lexicon || p.pattern) cut_short += !tr.search_complete;
            if (s->truth[i] >= 0 && p.lexicon) {
                with_truth++;
                hits += !(md->fold ? strcasecmp : strcmp)(r.text, crnn_lexicon_word(lex, s->truth[i]));
            }
            crnn_result_free(&r);
            for (int rep = 0; rep < 2; rep++) {
                double t0 = cpu_now();
                decode_frames(dw, m, s->lp[i], s->T[i], s->C, &p, &r, NULL);
                double dt = cpu_now() - t0;
                best = dt < best ? dt : best;
                crnn_result_free(&r);
            }
            v[i] = best - base[i];
        }
        stats(v, s->n, &med, &p90, &mx);
        printf("  + %-34s %8.3f ms median, %8.3f p90, %8.3f max", md->name, med * 1e3, p90 * 1e3,
               mx * 1e3);
        if (with_truth) printf("   (word right %d%%)", 100 * hits / with_truth);
        if (p.lexicon || p.pattern) printf("   (walk cut short: %d of %d)", cut_short, s->n);
        printf("\n");
        crnn_pattern_free(pattern);
    }
    free(base);
    free(v);
    decode_workspace_free(dw);
}

/* The exact walk over a lexicon's trie alone (no pattern). */
static search_result trie_walk(automaton_search *s, const ctc_frames *f, const trie *t,
                               const class_map *map, double floor, long budget) {
    int labels[4096]; /* longer than any test or bench input */
    automaton a = {t, map, NULL, NULL};
    return automaton_search_run(s, f, &a, floor, budget, labels);
}

/* BK-tree candidates within delta of the best-path text, scored exactly: the decoder's
   fallback, alone. Returns the number of candidates. */
static int bk_candidates(const crnn_lexicon *lex, const ctc_frames *f, const class_map *map,
                         const crnn_model *m, const float *lp, int T, int C, int delta) {
    static int_vec out, dist, stack;
    int lab[1024], wl[1024];
    float conf[1024];
    uint32_t q[1024];
    double scratch[2 * (2 * 1024 + 1)];
    int n = best_path_decode(lp, T, C, lab, conf, NULL, 1024);
    for (int i = 0; i < n; i++) q[i] = casefold(m->charset[lab[i]]);
    out.n = dist.n = 0;
    bktree_query(&lex->bk, q, n, delta, &out, &dist, &stack);
    double best = -INFINITY;
    for (int d = 0; d <= delta; d++)
        for (int i = 0; i < out.n; i++) {
            if (dist.v[i] != d) continue;
            int w = out.v[i], L = (int)(lex->cp_off[w + 1] - lex->cp_off[w]);
            if (!class_map_labels(map, lex->cp + lex->cp_off[w], L, wl)) continue;
            double sc = ctc_frames_score(f, wl, L, best, scratch);
            if (sc > best) best = sc;
        }
    return out.n;
}

/* The exact walk (unbounded and budgeted) against BK-tree candidates as the lexicon grows. */
static void sweep(const frame_set *s, const crnn_model *m, const crnn_lexicon *lex) {
    static const int sizes[] = {500, 2000, 10000, 30000, 100000};
    const char **words = malloc(sizeof(char *) * (size_t)lex->n_words);
    int *perm = malloc(sizeof(int) * (size_t)lex->n_words);
    rng_t r;
    rng_seed(&r, 7, 7);
    for (int i = 0; i < lex->n_words; i++) perm[i] = i;
    for (int i = lex->n_words - 1; i > 0; i--) {
        int j = (int)(rng_u32(&r) % (uint32_t)(i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    class_map map;
    class_map_build(&map, m->charset, m->n_classes, 0, NULL);
    ctc_frames f = {0};
    automaton_search *ts = automaton_search_new();
    double *v[3];
    for (int k = 0; k < 3; k++) v[k] = malloc(sizeof(double) * (size_t)s->n);
    printf("  %-7s %-24s %-33s %-24s %s\n", "words", "exact walk: med / p90", "walk, budget "
           "(done): med / p90", "BK delta 3: med / p90", "candidates");
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
        int n = sizes[z] < lex->n_words ? sizes[z] : lex->n_words;
        /* the spelled words first, so that each image's word is in every subset */
        int k = 0;
        for (int i = 0; i < s->n && k < n; i++)
            if (s->truth[i] >= 0) words[k++] = crnn_lexicon_word(lex, s->truth[i]);
        for (int i = 0; k < n; i++) words[k++] = crnn_lexicon_word(lex, perm[i]);
        crnn_lexicon *sub = crnn_lexicon_from_words(words, n, NULL);
        long cands = 0;
        int done = 0;
        for (int i = 0; i < s->n; i++) {
            double t0 = cpu_now();
            ctc_frames_prepare(&f, s->lp[i], s->T[i], s->C, NULL, NULL);
            double prep = cpu_now() - t0;
            t0 = cpu_now();
            trie_walk(ts, &f, &sub->trie, &map, -INFINITY, 0);
            v[0][i] = prep + cpu_now() - t0;
            t0 = cpu_now();
            search_result res = trie_walk(ts, &f, &sub->trie, &map, -INFINITY,
                                                     CRNN_LEXICON_SEARCH_NODES);
            v[1][i] = prep + cpu_now() - t0;
            done += res.complete;
            t0 = cpu_now();
            cands += bk_candidates(sub, &f, &map, m, s->lp[i], s->T[i], s->C, 3);
            v[2][i] = prep + cpu_now() - t0;
        }
        printf("  %-7d", n);
        for (int w = 0; w < 3; w++) {
            double med, p90, mx;
            stats(v[w], s->n, &med, &p90, &mx);
            printf(" %7.3f / %7.3f ms", med * 1e3, p90 * 1e3);
            if (w == 1) printf(" (%3d%%)  ", 100 * done / s->n);
            else printf("   ");
        }
        printf(" %ld\n", cands / s->n);
        crnn_lexicon_free(sub);
    }
    for (int k = 0; k < 3; k++) free(v[k]);
    free(words);
    free(perm);
    class_map_free(&map);
    ctc_frames_free(&f);
    automaton_search_free(ts);
}

int main(int argc, char **argv) {
    const char *lex_path = "lexicons/en.txt", *model_path = NULL, *images = NULL;
    int count = 300, do_sweep = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--lexicon") && v) lex_path = v, i++;
        else if (!strcmp(a, "--model") && v) model_path = v, i++;
        else if (!strcmp(a, "--images") && v) images = v, i++;
        else if (!strcmp(a, "--count") && v) count = atoi(v), i++;
        else if (!strcmp(a, "--sweep")) do_sweep = 1;
        else {
            fprintf(stderr, "usage: %s [--lexicon FILE] [--model FILE --images DIR] [--count N] "
                            "[--sweep]\n", argv[0]);
            return 2;
        }
    }
    if (count < 10 || count > MAX_MATS) count = 300;
    crnn_error err;
    double t0 = cpu_now();
    crnn_lexicon *lex = crnn_lexicon_load(lex_path, &err);
    double load = cpu_now() - t0;
    if (!lex) {
        fprintf(stderr, "bench_lexicon: %s\n", err.message);
        return 1;
    }
    size_t cps = lex->cp_off[lex->n_words];
    size_t bytes = lex->trie.n_nodes * sizeof(trie_node) + (size_t)lex->n_words * sizeof(bk_node) +
                   cps * 8 + (size_t)lex->n_words * 8 + cps + (size_t)lex->n_words;
    printf("lexicon %s: %d words, loaded in %.0f ms (trie, BK-tree), about %.1f MB\n", lex_path,
           lex->n_words, load * 1e3, bytes / 1e6);
    compare_tries(lex);

    rng_t r;
    rng_seed(&r, 12345, 1);
    crnn_model *m = build_model(&r);
    if (!m) {
        fprintf(stderr, "bench_lexicon: cannot build the default model\n");
        return 1;
    }
    class_map map;
    class_map_build(&map, m->charset, m->n_classes, 0, NULL);
    static frame_set sets[MAX_SETS];
    int n_sets = 0;
    /* peaked synthetic frames spelling lexicon words */
    frame_set *pk = &sets[n_sets++];
    pk->name = "peaked synthetic frames (a trained network)";
    pk->C = m->n_classes;
    while (pk->n < count) {
        int w = (int)(rng_u32(&r) % (uint32_t)lex->n_words);
        float *lp = malloc(sizeof(float) * T_DEFAULT * (size_t)pk->C);
        if (!spell_word(lex, &map, w, T_DEFAULT, pk->C, &r, lp)) {
            free(lp);
            continue;
        }
        pk->lp[pk->n] = lp;
        pk->T[pk->n] = T_DEFAULT;
        pk->truth[pk->n++] = w;
    }
    /* the random-weight default model on random 100 x 32 images */
    frame_set *fl = &sets[n_sets++];
    fl->name = "random-weight 'small' model (flat frames)";
    crnn_recognizer *rec = crnn_recognizer_new(m, &err);
    static uint8_t px[100 * 32];
    for (int i = 0; i < count / 3; i++) {
        for (int j = 0; j < 100 * 32; j++) px[j] = (uint8_t)(rng_u32(&r) & 255);
        crnn_image im = {100, 32, 100, px, 1};
        crnn_result res;
        if (crnn_recognize_image(rec, &im, NULL, &res) == CRNN_OK) add_frames(fl, rec, -1);
        crnn_result_free(&res);
    }
    crnn_recognizer_free(rec);
    const crnn_model *model_for_set[MAX_SETS] = {m, m, m};
    crnn_model *trained = NULL;
    if (model_path && images) {
        frame_set *tr = &sets[n_sets];
        tr->name = "the given model on the given images";
        model_frames(tr, model_path, images, count);
        trained = crnn_model_load(model_path, &err);
        if (tr->n > 0) model_for_set[n_sets++] = trained;
    }
    /* 50-word lexicons: the spelled word (if any) and 49 others, as SVT-50 */
    static crnn_lexicon *small[MAX_MATS];
    for (int i = 0; i < count; i++) {
        const char *w[50];
        for (int j = 0; j < 50; j++) w[j] = crnn_lexicon_word(lex, (int)(rng_u32(&r) % (uint32_t)lex->n_words));
        if (i < pk->n) w[0] = crnn_lexicon_word(lex, pk->truth[i]);
        small[i] = crnn_lexicon_from_words(w, 50, NULL);
    }
    for (int k = 0; k < n_sets; k++) {
        printf("\n%s — extra time per word image over best path:\n", sets[k].name);
        time_modes(&sets[k], model_for_set[k], lex, (const crnn_lexicon *const *)small);
    }
    if (do_sweep)
        for (int k = 0; k < n_sets; k++) {
            printf("\nexact walk vs BK-tree candidates, %s (frames prepared + search, per "
                   "word image):\n", sets[k].name);
            sweep(&sets[k], model_for_set[k], lex);
        }
    for (int k = 0; k < n_sets; k++)
        for (int i = 0; i < sets[k].n; i++) free(sets[k].lp[i]);
    for (int i = 0; i < count; i++) crnn_lexicon_free(small[i]);
    class_map_free(&map);
    crnn_model_free(m);
    crnn_model_free(trained);
    crnn_lexicon_free(lex);
    return 0;
}

/* test_lexicon_decode.c — lexicon decoding through decode_frames, on small random (T, C)
   log-probability matrices, against brute force:

   - lexicon decoding (exact trie search, BK-tree candidates, case-insensitive, words the model
     cannot write, the out-of-vocabulary margin) equals scoring every lexicon word with the
     forward algorithm and taking the best;
   - crnn_explain_png writes a PNG that stb_image can read, of a sensible size. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stb_image.h>

#include "ctc/ctc.h"
#include "decode/automaton_search.h"
#include "decode/best_path.h"
#include "decode/class_map.h"
#include "decode/frames.h"
#include "lexicon/lexicon.h"
#include "model/model.h"
#include "decode/decode.h"
#include "test.h"
#include "train/train.h"
#include "util/util.h"

#define MAXT 400
#define MAXC 16

/* Random log-softmax rows; peak > 0 makes one random class per frame dominate by that many
   nats (a trained network's frames), 0 gives flat ones. */
static void random_lp(float *lp, int T, int C, double peak) {
    for (int t = 0; t < T; t++) {
        double x[MAXC], mx = -1e30, sum = 0;
        int hot = test_randint(0, C - 1);
        for (int k = 0; k < C; k++) {
            x[k] = test_randf(-2, 2) + (k == hot ? peak : 0);
            if (x[k] > mx) mx = x[k];
        }
        for (int k = 0; k < C; k++) sum += exp(x[k] - mx);
        for (int k = 0; k < C; k++) lp[(size_t)t * C + k] = (float)(x[k] - mx - log(sum));
    }
}

/* ---- lexicon decoding through decode_frames, with a model that is only a charset ---- */

static const uint32_t CHARSET[] = {0, 'a', 'b', 'c', 'A', 'B', 0xE9 /* é */, ' '};
#define NCS 8

static crnn_model fake_model(void) {
    crnn_model m;
    memset(&m, 0, sizeof m);
    m.n_classes = NCS;
    m.charset = (uint32_t *)CHARSET;
    return m;
}

/* lp with the case forms of each letter added into the lowest class (brute force's view of
   case-insensitive scoring), and the map from classes to that class. */
static void fold_lp(const float *lp, int T, float *out, int *rep) {
    for (int k = 0; k < NCS; k++) {
        rep[k] = k;
        for (int j = 0; j < k; j++)
            if (casefold(CHARSET[j]) == casefold(CHARSET[k])) {
                rep[k] = j;
                break;
            }
    }
    for (int t = 0; t < T; t++) {
        double s[NCS] = {0};
        for (int k = 0; k < NCS; k++) s[rep[k]] += exp(lp[t * NCS + k]);
        for (int k = 0; k < NCS; k++) out[t * NCS + k] = s[k] > 0 ? (float)log(s[k]) : -INFINITY;
    }
}

static int word_to_labels(const char *w, int *lab, int fold, const int *rep) {
    uint32_t cps[64];
    int n = utf8_to_codepoints(w, cps, 64);
    for (int i = 0; i < n; i++) {
        int k = -1;
        for (int c = 1; c < NCS && k < 0; c++)
            if (CHARSET[c] == cps[i]) k = c;
        if (k < 0 && fold)
            for (int c = 1; c < NCS && k < 0; c++)
                if (casefold(CHARSET[c]) == casefold(cps[i])) k = c;
        if (k < 0) return -1;
        lab[i] = fold ? rep[k] : k;
    }
    return n;
}

/* The best word by brute force; -1 if none can be written. */
static int brute_best(const crnn_lexicon *lex, const float *lp, int T, int fold, double *best_lp,
                      const int *only, int n_only) {
    static float lpf[MAXT * NCS];
    int rep[NCS];
    fold_lp(lp, T, lpf, rep);
    int best = -1;
    *best_lp = -INFINITY;
    int n = only ? n_only : crnn_lexicon_size(lex);
    for (int j = 0; j < n; j++) {
        int i = only ? only[j] : j, lab[64];
        int L = word_to_labels(crnn_lexicon_word(lex, i), lab, fold, rep);
        if (L < 0) continue;
        double s = ctc_log_likelihood(fold ? lpf : lp, T, NCS, lab, L);
        if (s > *best_lp || (s == *best_lp && s > -INFINITY && i < best)) {
            *best_lp = s;
            best = i;
        }
    }
    return best;
}

/* The text a lexicon word is returned as: as written, or when folded, each letter the model
   has in two case forms in the form most probable on the frames of its run in the word's best
   alignment (folded probabilities), plain loops. out: at least 4 × 64 + 1 bytes. */
static void returned_as(const char *word, const float *lp, int T, int fold, char *out) {
    static float lpf[MAXT * NCS];
    int rep[NCS], lab[64], start[64], end[64];
    uint32_t cps[64];
    fold_lp(lp, T, lpf, rep);
    int n = utf8_to_codepoints(word, cps, 64);
    if (fold && word_to_labels(word, lab, 1, rep) == n &&
        ctc_align(lpf, T, NCS, lab, n, start, end, NULL) > -INFINITY)
        for (int i = 0; i < n; i++) {
            int forms = 0, best = -1;
            float best_p = -INFINITY;
            for (int c = 1; c < NCS; c++) {
                if (rep[c] != lab[i]) continue;
                forms++;
                float peak = -INFINITY;
                for (int t = start[i]; t <= end[i]; t++)
                    if (lp[t * NCS + c] > peak) peak = lp[t * NCS + c];
                if (best < 0 || peak > best_p) {
                    best = c;
                    best_p = peak;
                }
            }
            if (forms > 1) cps[i] = CHARSET[best];
        }
    size_t len = 0;
    for (int i = 0; i < n; i++) len += (size_t)utf8_encode(cps[i], out + len);
    out[len] = 0;
}

static crnn_lexicon *random_lexicon(int n, int max_len) {
    const char *pieces[] = {"a", "b", "c", "A", "B", "\xC3\xA9", " ", "z"};
    char **w = calloc((size_t)n, sizeof(char *));
    for (int i = 0; i < n; i++) {
        w[i] = malloc(4 * (size_t)max_len + 1);
        w[i][0] = 0;
        int len = test_randint(1, max_len);
        for (int j = 0; j < len; j++) {
            /* 'z' (not in the charset) rarely; a space never first or last */
            int p = test_randint(0, 6);
            if (p == 6 && (j == 0 || j == len - 1)) p = 0;
            if (test_uniform() < 0.02) p = 7;
            strcat(w[i], pieces[p]);
        }
    }
    crnn_error err;
    crnn_lexicon *lex = crnn_lexicon_from_words((const char *const *)w, n, &err);
    if (!lex) fprintf(stderr, "random_lexicon: %s\n", err.message);
    for (int i = 0; i < n; i++) free(w[i]);
    free(w);
    return lex;
}

static void test_lexicon_small(void) {
    static float lp[MAXT * NCS];
    crnn_model m = fake_model();
    decode_workspace *dw = decode_workspace_new();
    int bad = 0, checked = 0, recased = 0;
    for (int k = 0; k < 400; k++) {
        int T = test_randint(2, 14);
        crnn_lexicon *lex = random_lexicon(test_randint(1, 40), 7);
        if (!lex) continue;
        random_lp(lp, T, NCS, k % 3 == 0 ? 0 : 3);
        crnn_params p = crnn_default_params();
        p.lexicon = lex;
        p.lexicon_margin = -1; /* a word whatever its probability, as brute force picks it */
        p.lexicon_case_insensitive = k % 2;
        p.decoder = k % 4 < 2 ? CRNN_DECODE_GREEDY : CRNN_DECODE_BEAM;
        crnn_result r;
        memset(&r, 0, sizeof r);
        crnn_error err;
        CHECK(decode_frames(dw, &m, lp, T, NCS, &p, &r, &err) == CRNN_OK);
        double want_lp;
        int want = brute_best(lex, lp, T, p.lexicon_case_insensitive, &want_lp, NULL, 0);
        CHECK(r.free_text != NULL);
        if (want >= 0) {
            checked++;
            char want_text[4 * 64 + 1];
            returned_as(crnn_lexicon_word(lex, want), lp, T, p.lexicon_case_insensitive,
                        want_text);
            if (strcmp(r.text, want_text) ||
                !(fabs(r.log_prob - want_lp) <= 1e-6 * (1 + fabs(want_lp)))) {
                if (bad++ < 5)
                    fprintf(stderr, "T=%d got '%s' %.9g, want '%s' (%s) %.9g\n", T, r.text,
                            r.log_prob, want_text, crnn_lexicon_word(lex, want), want_lp);
            }
            recased += strcmp(want_text, crnn_lexicon_word(lex, want)) != 0;
            uint32_t cps[64];
            CHECK(r.num_chars == utf8_to_codepoints(r.text, cps, 64));
            /* the confidence is the probability of the word */
            CHECK_NEAR(r.confidence, exp(want_lp), 1e-6);
            CHECK(!r.fallback && !r.rejected);
        } else {
            CHECK(!strcmp(r.text, r.free_text)); /* nothing writable: the free text */
            CHECK(r.fallback);
        }
        crnn_result_free(&r);
        crnn_lexicon_free(lex);
    }
    CHECK(bad == 0);
    CHECK(checked > 300);
    CHECK_MSG(recased > 20, "only %d words returned in another case than written", recased);
    decode_workspace_free(dw);
}

/* The exact walk over a lexicon's trie alone (no pattern). */
static search_result trie_walk(automaton_search *s, const ctc_frames *f, const trie *t,
                               const class_map *map, double floor, long budget) {
    int labels[4096]; /* longer than any test or bench input */
    automaton a = {t, map, NULL, NULL};
    return automaton_search_run(s, f, &a, floor, budget, labels);
}

static void test_trie_walk_budget(void) {
    static float lp[MAXT * NCS];
    crnn_model m = fake_model();
    class_map map;
    CHECK(class_map_build(&map, m.charset, NCS, 0, NULL) == CRNN_OK);
    ctc_frames f = {0};
    automaton_search *s = automaton_search_new();
    crnn_lexicon *lex = random_lexicon(2000, 8);
    int bad = 0;
    for (int k = 0; k < 30 && lex; k++) {
        int T = test_randint(4, 16);
        random_lp(lp, T, NCS, 1);
        ctc_frames_prepare(&f, lp, T, NCS, NULL, NULL);
        search_result full = trie_walk(s, &f, &lex->trie, &map, -INFINITY, 0);
        search_result cut = trie_walk(s, &f, &lex->trie, &map, -INFINITY, 5);
        double want_lp;
        int want = brute_best(lex, lp, T, 0, &want_lp, NULL, 0);
        bad += full.id != want || !full.complete || full.nodes < 1;
        bad += cut.complete || cut.nodes > 5;
        /* a floor above the best finds nothing */
        search_result none = trie_walk(s, &f, &lex->trie, &map, want_lp + 1e-3, 0);
        bad += none.id != -1;
    }
    CHECK(bad == 0);
    crnn_lexicon_free(lex);
    automaton_search_free(s);
    ctc_frames_free(&f);
    class_map_free(&map);
}

static int cps_distance(const char *a, const char *b) {
    uint32_t x[64], y[64];
    int n = utf8_to_codepoints(a, x, 64), m = utf8_to_codepoints(b, y, 64);
    for (int i = 0; i < n; i++) x[i] = casefold(x[i]);
    for (int i = 0; i < m; i++) y[i] = casefold(y[i]);
    ed_pattern p;
    ed_pattern_init(&p, x, n);
    return ed_distance(&p, y, m);
}

/* Above CRNN_LEXICON_EXACT_WORDS the walk has a budget and BK-tree candidates take over when
   it runs out (flat frames): the word returned is then at least as good as every word within
   δ of the free text and no better than the best word; with δ covering every word, it is the
   best word. Its log-probability is always exact. */
static void test_lexicon_large(void) {
    static float lp[MAXT * NCS];
    crnn_model m = fake_model();
    decode_workspace *dw = decode_workspace_new();
    crnn_lexicon *lex = random_lexicon(2 * CRNN_LEXICON_EXACT_WORDS + 1000, 10);
    CHECK_MSG(lex && crnn_lexicon_size(lex) > CRNN_LEXICON_EXACT_WORDS, "%d", crnn_lexicon_size(lex));
    int n_words = crnn_lexicon_size(lex);
    int *only = malloc(sizeof(int) * (size_t)n_words);
    int bad = 0, cut_short = 0;
    class_map map;
    class_map_build(&map, m.charset, NCS, 0, NULL);
    /* at least 16 cases, and on until the BK-tree has taken over a few times */
    for (int k = 0; lex && k < 60 && (k < 16 || cut_short < 3); k++) {
        int T = test_randint(6, 14);
        random_lp(lp, T, NCS, k % 4 < 2 ? 0 : 4);
        crnn_params p = crnn_default_params();
        p.lexicon = lex;
        p.lexicon_margin = -1;
        p.lexicon_case_insensitive = k % 2;
        p.lexicon_max_distance = k % 8 < 4 ? 100 : 1;
        crnn_result r;
        memset(&r, 0, sizeof r);
        decode_trace trace;
        CHECK(decode_frames_traced(dw, &m, lp, T, NCS, &p, &r, NULL, &trace) == CRNN_OK);
        int n_only = 0;
        for (int i = 0; i < n_words; i++)
            if (cps_distance(r.free_text, crnn_lexicon_word(lex, i)) <= p.lexicon_max_distance)
                only[n_only++] = i;
        double near_lp, all_lp, got_lp;
        brute_best(lex, lp, T, p.lexicon_case_insensitive, &near_lp, only, n_only);
        int best = brute_best(lex, lp, T, p.lexicon_case_insensitive, &all_lp, NULL, 0);
        /* count the cases where the BK-tree had to take over */
        ctc_frames f = {0};
        automaton_search *ts = automaton_search_new();
        ctc_frames_prepare(&f, lp, T, NCS, NULL, NULL);
        search_result sr = trie_walk(ts, &f, &lex->trie, &map, -INFINITY,
                                                CRNN_LEXICON_SEARCH_NODES);
        cut_short += !sr.complete;
        automaton_search_free(ts);
        ctc_frames_free(&f);
        int got = trace.lexicon_word;
        char got_text[4 * 64 + 1] = "";
        if (got >= 0)
            returned_as(crnn_lexicon_word(lex, got), lp, T, p.lexicon_case_insensitive, got_text);
        if (got < 0 || best < 0 || strcmp(r.text, got_text)) {
            bad++;
        } else {
            brute_best(lex, lp, T, p.lexicon_case_insensitive, &got_lp, &got, 1);
            double tol = 1e-6 * (1 + fabs(all_lp));
            bad += !(fabs(r.log_prob - got_lp) <= tol);
            bad += !(got_lp >= near_lp - tol && got_lp <= all_lp + tol);
            if (p.lexicon_max_distance == 100) bad += !(fabs(got_lp - all_lp) <= tol);
        }
        crnn_result_free(&r);
    }
    CHECK(bad == 0);
    CHECK_MSG(cut_short >= 3, "the BK-tree path ran %d times", cut_short);
    class_map_free(&map);
    free(only);
    crnn_lexicon_free(lex);
    decode_workspace_free(dw);
}

/* Frames that spell `text` (one class per frame, blanks between), with `peak` nats to spare. */
static int spell(float *lp, const char *text, double peak) {
    int T = 0;
    for (const char *s = text; *s; s++) {
        int cls = 0;
        for (int c = 1; c < NCS; c++)
            if (CHARSET[c] == (uint32_t)*s) cls = c;
        for (int r = 0; r < 2; r++) {
            int hot = r == 0 ? cls : 0;
            double sum = 0;
            for (int k = 0; k < NCS; k++) sum += exp(k == hot ? peak : 0);
            for (int k = 0; k < NCS; k++) lp[T * NCS + k] = (float)((k == hot ? peak : 0) - log(sum));
            T++;
        }
    }
    return T;
}

static void test_margin_and_case(void) {
    static float lp[MAXT * NCS];
    crnn_model m = fake_model();
    decode_workspace *dw = decode_workspace_new();
    const char *words[] = {"abc", "cab"};
    crnn_lexicon *lex = crnn_lexicon_from_words(words, 1, NULL);
    int T = spell(lp, "bab", 6);
    crnn_params p = crnn_default_params();
    p.lexicon = lex;
    crnn_result r;
    memset(&r, 0, sizeof r);
    /* the default margin: "abc" is far less probable than the free text, which stays */
    CHECK(decode_frames(dw, &m, lp, T, NCS, &p, &r, NULL) == CRNN_OK);
    CHECK(!strcmp(r.text, "bab") && r.fallback);
    crnn_result_free(&r);
    /* no fallback: the lexicon word, however poor, and a confidence that says so */
    p.lexicon_margin = -1;
    CHECK(decode_frames(dw, &m, lp, T, NCS, &p, &r, NULL) == CRNN_OK);
    CHECK(!strcmp(r.text, "abc") && !strcmp(r.free_text, "bab") && !r.fallback);
    CHECK_MSG(r.confidence < 1e-3 && r.log_prob < -CRNN_DEFAULT_LEXICON_MARGIN, "%g %g",
              r.confidence, r.log_prob);
    double word_lp = r.log_prob;
    crnn_result_free(&r);
    /* margin 0: the free text is more probable, so it stays */
    p.lexicon_margin = 0;
    CHECK(decode_frames(dw, &m, lp, T, NCS, &p, &r, NULL) == CRNN_OK);
    CHECK(!strcmp(r.text, "bab") && !strcmp(r.free_text, "bab") && r.fallback);
    CHECK(r.log_prob > word_lp && r.num_chars == 3);
    CHECK_NEAR(r.confidence, exp(r.log_prob), 1e-6);
    crnn_result_free(&r);
    /* a margin wider than the gap: the word again */
    p.lexicon_margin = (float)(r.log_prob - word_lp) + 1000;
    CHECK(decode_frames(dw, &m, lp, T, NCS, &p, &r, NULL) == CRNN_OK);
    CHECK(!strcmp(r.text, "abc"));
    crnn_result_free(&r);
    crnn_lexicon_free(lex);

    /* a lexicon in capitals read by lower-case frames: only case-insensitively, and returned
       in the frames' case, except 'C', which the model has only in lower case: the lexicon's
       spelling stands; "AbZ" has a character the model cannot write */
    const char *caps[] = {"ABC", "AbZ", "BAB"};
    lex = crnn_lexicon_from_words(caps, 3, NULL);
    T = spell(lp, "abc", 6);
    p = crnn_default_params();
    p.lexicon = lex;
    p.lexicon_margin = -1;
    p.lexicon_case_insensitive = 1;
    CHECK(decode_frames(dw, &m, lp, T, NCS, &p, &r, NULL) == CRNN_OK);
    CHECK_MSG(!strcmp(r.text, "abC") && !strcmp(r.free_text, "abc"), "'%s'", r.text);
    CHECK(r.confidence > 0.5f && r.log_prob > -1);
    crnn_result_free(&r);
    p.lexicon_case_insensitive = 0;
    CHECK(decode_frames(dw, &m, lp, T, NCS, &p, &r, NULL) == CRNN_OK);
    CHECK(!strcmp(r.text, "BAB")); /* the only word it can write, however poor */
    CHECK_MSG(r.log_prob < -5, "%s %g", r.text, r.log_prob);
    crnn_result_free(&r);
    crnn_lexicon_free(lex);
    /* no word can be written at all: the free text */
    const char *none[] = {"xyz"};
    lex = crnn_lexicon_from_words(none, 1, NULL);
    p.lexicon = lex;
    CHECK(decode_frames(dw, &m, lp, T, NCS, &p, &r, NULL) == CRNN_OK);
    CHECK(!strcmp(r.text, "abc"));
    crnn_result_free(&r);
    /* bad beam widths are refused */
    p.decoder = CRNN_DECODE_BEAM;
    p.beam_width = 0;
    crnn_error err;
    CHECK(decode_frames(dw, &m, lp, T, NCS, &p, &r, &err) == CRNN_ERR_ARG);
    crnn_result_free(&r);
    crnn_lexicon_free(lex);
    decode_workspace_free(dw);
}

/* One lexicon shared read-only by several threads, each with its own workspace, gives every
   thread the answers one thread gets (run under -Db_sanitize=thread to check for races). */
#define SHARED_CASES 40
typedef struct {
    const crnn_lexicon *lex;
    const float *lp;
    int T[SHARED_CASES];
    char *text[SHARED_CASES];
} shared_job;

static void *decode_all(void *arg) {
    shared_job *j = arg;
    crnn_model m = fake_model();
    decode_workspace *dw = decode_workspace_new();
    for (int k = 0; k < SHARED_CASES; k++) {
        crnn_params p = crnn_default_params();
        p.lexicon = j->lex;
        p.lexicon_margin = -1;
        p.lexicon_case_insensitive = k % 2;
        crnn_result r;
        memset(&r, 0, sizeof r);
        if (decode_frames(dw, &m, j->lp + (size_t)k * 16 * NCS, j->T[k], NCS, &p, &r, NULL) == CRNN_OK)
            j->text[k] = strdup(r.text);
        crnn_result_free(&r);
    }
    decode_workspace_free(dw);
    return NULL;
}

static void test_shared_lexicon(void) {
    static float lp[SHARED_CASES * 16 * NCS];
    crnn_lexicon *lex = random_lexicon(3000, 8);
    if (!lex) return;
    shared_job jobs[4];
    memset(jobs, 0, sizeof jobs);
    for (int k = 0; k < SHARED_CASES; k++) {
        jobs[0].T[k] = test_randint(4, 16);
        random_lp(lp + (size_t)k * 16 * NCS, jobs[0].T[k], NCS, k % 3 ? 3 : 0);
    }
    pthread_t tid[4];
    for (int i = 0; i < 4; i++) {
        jobs[i].lex = lex;
        jobs[i].lp = lp;
        memcpy(jobs[i].T, jobs[0].T, sizeof jobs[0].T);
        CHECK(pthread_create(&tid[i], NULL, decode_all, &jobs[i]) == 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(tid[i], NULL);
    int same = 1;
    for (int k = 0; k < SHARED_CASES; k++)
        for (int i = 1; i < 4; i++)
            same &= jobs[i].text[k] && jobs[0].text[k] && !strcmp(jobs[i].text[k], jobs[0].text[k]);
    CHECK(same);
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < SHARED_CASES; k++) free(jobs[i].text[k]);
    crnn_lexicon_free(lex);
}

/* A random-weight model of the default architecture, for the picture. */
static crnn_model *random_model(void) {
    static uint32_t charset[MODEL_MAX_CLASSES];
    crnn_error err;
    model_spec spec;
    memset(&spec, 0, sizeof spec);
    int nc = charset_build("ascii", charset, MODEL_MAX_CLASSES - 1, &err);
    spec.input_height = 32;
    spec.input_channels = 1;
    spec.norm_mean = 0.5f;
    spec.norm_std = 0.5f;
    spec.n_classes = nc;
    spec.charset = charset;
    if (nc < 0 || arch_parse("small", &spec, &err) != CRNN_OK) {
        fprintf(stderr, "%s\n", err.message);
        return NULL;
    }
    crnn_model *m = model_build(&spec, "random", &err);
    if (!m) {
        fprintf(stderr, "%s\n", err.message);
        return NULL;
    }
    for (int i = 0; i < m->n_tensors; i++) {
        const model_tensor *t = &m->tensors[i];
        float *p = m->params + t->offset;
        size_t fan = t->ndim > 1 ? t->count / (size_t)t->dims[0] : 1;
        float a = t->ndim > 1 ? 1.5f / sqrtf((float)fan) : 0.1f;
        int var = strstr(t->name, "bn_var") != NULL, w = strstr(t->name, "bn_weight") != NULL;
        for (size_t j = 0; j < t->count; j++) p[j] = var || w ? 1.0f : test_randf(-a, a);
    }
    model_fold_batchnorm(m);
    return m;
}

static void test_explain(void) {
    crnn_model *m = random_model();
    CHECK(m != NULL);
    if (!m) return;
    crnn_error err;
    crnn_recognizer *rec = crnn_recognizer_new(m, &err);
    enum { W = 120, H = 40 };
    static uint8_t px[W * H];
    for (int i = 0; i < W * H; i++) px[i] = (uint8_t)((i % W) * 2 + (i / W) * 3);
    crnn_image im = {W, H, W, px, 1};
    crnn_result r;
    char path[] = "/tmp/test_explain_XXXXXX.png";
    int fd = mkstemps(path, 4);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    /* nothing recognised yet */
    CHECK(crnn_explain_png(rec, 0, NULL, path, &err) == CRNN_ERR_ARG);
    CHECK(crnn_recognize_image(rec, &im, NULL, &r) == CRNN_OK);
    const char *words[] = {"hello", "world", "Hotel"};
    crnn_params p = crnn_default_params();
    p.lexicon = crnn_lexicon_from_words(words, 3, NULL);
    CHECK(crnn_explain_png(rec, 0, &p, path, &err) == CRNN_OK);
    int w = 0, h = 0, comp = 0;
    CHECK(stbi_info(path, &w, &h, &comp) == 1);
    int in_w = 0, in_h = 0;
    crnn_recognizer_input(rec, 0, &in_w, &in_h);
    CHECK_MSG(w >= in_w * 2 && w < 6000 && h > in_h * 2 && h < 800 && comp == 3,
              "%d x %d (input %d x %d)", w, h, in_w, in_h);
    CHECK(crnn_explain_png(rec, 1, &p, path, &err) == CRNN_ERR_ARG); /* no such image */
    CHECK(crnn_explain_png(rec, 0, &p, "/nonexistent-dir/x.png", &err) == CRNN_ERR_IO);
    remove(path);
    crnn_lexicon_free((crnn_lexicon *)p.lexicon);
    crnn_result_free(&r);
    crnn_recognizer_free(rec);
    crnn_model_free(m);
}

int main(void) {
    RUN(test_lexicon_small);
    RUN(test_trie_walk_budget);
    RUN(test_lexicon_large);
    RUN(test_margin_and_case);
    RUN(test_shared_lexicon);
    RUN(test_explain);
    TEST_EXIT();
}

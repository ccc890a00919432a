/* test_constraints.c — constrained decoding through decode_frames, on small random (T, C)
   log-probability matrices, against brute force and against independent references:

   - patterns: whole-text matching agrees with POSIX extended regular expressions (regcomp) on
     random patterns and strings; malformed patterns are refused with the position and reason;
   - pattern decoding returns exactly the most probable matching text: every label sequence
     that fits the frames is scored with the forward algorithm and the best one that matches
     is compared with the decoder's (text and log-probability), alone, under an allowlist,
     and within a lexicon;
   - allow/deny: no decoder (best path, beam, lexicon, pattern, nor the free text a margin
     falls back to) emits an excluded class, and best path under a mask equals best path on
     frames whose excluded classes were removed by hand;
   - confidence: p(text | image) for every decoder, Π_t p_t(blank) for an empty reading;
     min_confidence rejects exactly the readings below it;
   - crnn_params_check refuses bad parameters with a reason. */
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctc/ctc.h"
#include "decode/automaton_search.h"
#include "decode/best_path.h"
#include "decode/decode.h"
#include "lexicon/lexicon.h"
#include "model/model.h"
#include "test.h"
#include "util/util.h"

#define MAXT 64
#define NCS 5

/* blank, two letters, two digits */
static const uint32_t CHARSET[NCS] = {0, 'a', 'b', '0', '1'};

static crnn_model fake_model(void) {
    crnn_model m;
    memset(&m, 0, sizeof m);
    m.n_classes = NCS;
    m.charset = (uint32_t *)CHARSET;
    return m;
}

/* Random log-softmax rows; peak > 0 makes one random class per frame dominate by that many
   nats (a trained network's frames), 0 gives flat ones. */
static void random_lp(float *lp, int T, int C, double peak) {
    for (int t = 0; t < T; t++) {
        double x[16], mx = -1e30, sum = 0;
        int hot = test_randint(0, C - 1);
        for (int k = 0; k < C; k++) {
            x[k] = test_randf(-2, 2) + (k == hot ? peak : 0);
            if (x[k] > mx) mx = x[k];
        }
        for (int k = 0; k < C; k++) sum += exp(x[k] - mx);
        for (int k = 0; k < C; k++) lp[(size_t)t * C + k] = (float)(x[k] - mx - log(sum));
    }
}

static crnn_pattern *compile1(const char *regex) {
    crnn_error err;
    crnn_pattern *p = crnn_pattern_compile(&regex, 1, &err);
    if (!p) fprintf(stderr, "compile '%s': %s\n", regex, err.message);
    return p;
}

/* ---- random patterns, written twice: in our syntax and as a POSIX ERE ---- */

typedef struct {
    char ours[256], posix[256];
    int no, np;
} two_texts;

static void put(two_texts *w, const char *ours, const char *posix) {
    w->no += snprintf(w->ours + w->no, sizeof w->ours - (size_t)w->no, "%s", ours);
    w->np += snprintf(w->posix + w->np, sizeof w->posix - (size_t)w->np, "%s", posix);
}

static void random_regex(two_texts *w, int depth) {
    int kind = depth > 2 ? test_randint(0, 4) : test_randint(0, 8);
    static const char *atoms[][2] = {{"a", "a"},        {"b", "b"},       {"0", "0"},
                                     {"1", "1"},        {"[ab]", "[ab]"}, {"[^a]", "[^a]"},
                                     {"\\d", "[0-9]"}, {".", "."},       {"[a0-1]", "[a0-1]"}};
    if (kind <= 4) {
        int a = test_randint(0, 8);
        put(w, atoms[a][0], atoms[a][1]);
    } else if (kind <= 6) { /* a sequence */
        int n = test_randint(2, 3);
        for (int i = 0; i < n; i++) random_regex(w, depth + 1);
    } else if (kind == 7) { /* alternation in a group */
        put(w, "(", "(");
        random_regex(w, depth + 1);
        put(w, "|", "|");
        random_regex(w, depth + 1);
        put(w, ")", ")");
        return;
    } else {
        put(w, "(", "(");
        random_regex(w, depth + 1);
        put(w, ")", ")");
    }
    /* a repetition, now and then */
    static const char *reps[] = {"?", "*", "+", "{2}", "{1,2}", "{0,3}", "{2,}"};
    if (test_uniform() < 0.35) {
        const char *r = reps[test_randint(0, 6)];
        put(w, r, r);
    }
}

static void test_pattern_matches_posix(void) {
    int bad = 0, compared = 0, matched = 0;
    for (int k = 0; k < 300; k++) {
        two_texts w = {{0}, {0}, 0, 0};
        random_regex(&w, 0);
        char anchored[300];
        snprintf(anchored, sizeof anchored, "^(%s)$", w.posix);
        regex_t re;
        if (regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB) != 0) continue;
        crnn_pattern *p = compile1(w.ours);
        if (!p) {
            bad++;
            regfree(&re);
            continue;
        }
        for (int j = 0; j < 60; j++) {
            char s[16];
            int n = test_randint(0, 8);
            for (int i = 0; i < n; i++) s[i] = "ab01c"[test_randint(0, 4)];
            s[n] = 0;
            int want = regexec(&re, s, 0, NULL, 0) == 0, got = crnn_pattern_match(p, s);
            compared++;
            matched += want;
            if (want != got && bad++ < 5)
                fprintf(stderr, "'%s' on '%s': posix %d, ours %d\n", w.ours, s, want, got);
        }
        crnn_pattern_free(p);
        regfree(&re);
    }
    CHECK(bad == 0);
    CHECK_MSG(compared > 10000 && matched > 500, "%d compared, %d matched", compared, matched);
    /* several patterns: any may match; ^ and $ change nothing; classes and escapes */
    const char *two[] = {"\\d{2}/\\d{2}/\\d{4}", "^\\d{1,2}:\\d\\d$"};
    crnn_error err;
    crnn_pattern *p = crnn_pattern_compile(two, 2, &err);
    CHECK(p && crnn_pattern_match(p, "01/11/1915") && crnn_pattern_match(p, "9:45"));
    CHECK(p && !crnn_pattern_match(p, "01/11/915") && !crnn_pattern_match(p, "9:4"));
    CHECK(p && !crnn_pattern_match(p, "x01/11/1915") && !crnn_pattern_match(p, ""));
    crnn_pattern_free(p);
    p = compile1("\\$?\\d{1,3}(,\\d{3})*\\.\\d\\d");
    CHECK(p && crnn_pattern_match(p, "$1,234.50") && crnn_pattern_match(p, "13.00"));
    CHECK(p && !crnn_pattern_match(p, "$1234,5.50") && !crnn_pattern_match(p, "$.50"));
    crnn_pattern_free(p);
    p = compile1("[A-Z]{2}\\d{2} ?[A-Z]{3}|(?:é|\\x{E8})\\w*\\s\\W");
    CHECK(p && crnn_pattern_match(p, "AB12 CDE") && crnn_pattern_match(p, "AB12CDE"));
    CHECK(p && crnn_pattern_match(p, "\xC3\xA9t\xC3\xA9 !") == 0); /* é inside \w: no */
    CHECK(p && crnn_pattern_match(p, "\xC3\xA8t_9\t-"));
    CHECK(p && !crnn_pattern_match(p, "ab12 CDE"));
    /* equivalent states merge: "(a|b)*" and "[ab]*" have one state */
    crnn_pattern_free(p);
    p = compile1("(a|b)*");
    CHECK(p && crnn_pattern_num_states(p) == 1);
    crnn_pattern_free(p);
    p = compile1("a{0}"); /* only the empty text */
    CHECK(p && crnn_pattern_match(p, "") && !crnn_pattern_match(p, "a"));
    crnn_pattern_free(p);
}

/* ---- malformed patterns ---- */

static void test_pattern_errors(void) {
    static const struct {
        const char *regex;
        int column; /* 1-based character the error points at */
        const char *reason;
    } cases[] = {
        {"\\d{2}/\\d{2", 9, "without its closing '}'"},
        {"(ab", 1, "'(' without its closing ')'"},
        {"ab)", 3, "')' without an opening '('"},
        {"x[a-", 2, "'[' without its closing ']'"},
        {"*a", 1, "nothing before it to repeat"},
        {"a|+", 3, "nothing before it to repeat"},
        {"a{3,1}", 2, "m greater than n"},
        {"a{300}", 2, "over 255"},
        {"[z-a]", 2, "out of order"},
        {"[a-\\d]", 4, "cannot end a range"},
        {"[a-c-e]", 5, "'-' between ranges"},
        {"ab\\q", 3, "unknown escape"},
        {"a^", 2, "'^' only at the very start"},
        {"a$b", 2, "'$' only at the very end"},
        {"ab\\", 3, "a backslash with nothing after it"},
        {"a{,3}", 2, "must start a count"},
        {"(?=a)", 2, "only (?:...) groups"},
        {"\xC3\xA9\xff", 2, "not valid UTF-8"},
        {"a]", 2, "']' without an opening '['"},
        {"\\x{110000}", 1, "not a Unicode code point"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        crnn_error err;
        memset(&err, 0, sizeof err);
        const char *r = cases[i].regex;
        crnn_pattern *p = crnn_pattern_compile(&r, 1, &err);
        char at[40];
        snprintf(at, sizeof at, "at character %d:", cases[i].column);
        CHECK_MSG(!p && err.code == CRNN_ERR_ARG && strstr(err.message, at) &&
                      strstr(err.message, cases[i].reason),
                  "'%s': %s", r, err.message);
        /* the second line repeats the pattern, the third points at the character */
        const char *caret = strrchr(err.message, '\n');
        int col = caret ? (int)strcspn(caret + 1, "^") - 4 + 1 : -1;
        CHECK_MSG(col == cases[i].column, "'%s': caret at %d in\n%s", r, col, err.message);
        crnn_pattern_free(p);
    }
    /* the second of two patterns is named */
    const char *two[] = {"\\d+", "a{2"};
    crnn_error err;
    CHECK(!crnn_pattern_compile(two, 2, &err) && strstr(err.message, "pattern 2 'a{2'"));
    /* too large, matches nothing, too many */
    const char *big = "(a{255}){255}";
    CHECK(!crnn_pattern_compile(&big, 1, &err) && err.code == CRNN_ERR_LIMIT);
    const char *wide = "(a|b)*a(a|b){12}"; /* its minimal DFA has 2^13 states */
    CHECK(!crnn_pattern_compile(&wide, 1, &err) && err.code == CRNN_ERR_LIMIT &&
          strstr(err.message, "too complex"));
    const char *none = "[^\\x{0}-\\x{10FFFF}]";
    CHECK(!crnn_pattern_compile(&none, 1, &err) && strstr(err.message, "matches no text"));
    CHECK(!crnn_pattern_compile(two, 0, &err) && err.code == CRNN_ERR_ARG);
    CHECK(!crnn_pattern_compile(two, CRNN_PATTERN_MAX_COUNT + 1, &err));
}

/* ---- pattern decoding against brute force ---- */

static int next_seq(int *seq, int L, int C) { /* odometer over 1..C-1 */
    for (int i = L - 1; i >= 0; i--) {
        if (++seq[i] < C) return 1;
        seq[i] = 1;
    }
    return 0;
}

static void labels_text(const int *seq, int L, char *out) {
    for (int i = 0; i < L; i++) out[i] = (char)CHARSET[seq[i]];
    out[L] = 0;
}

/* The most probable text that p matches (and allowed permits), by scoring every label
   sequence that fits T frames; "" with -inf if none. */
static double brute_best_match(const float *lp, int T, const crnn_pattern *p,
                               const char *allowed_chars, char *best_text) {
    double best = -INFINITY;
    best_text[0] = 0;
    for (int L = 0; L <= T; L++) {
        int seq[MAXT];
        for (int i = 0; i < L; i++) seq[i] = 1;
        do {
            char text[MAXT + 1];
            labels_text(seq, L, text);
            if (allowed_chars && (int)strspn(text, allowed_chars) != L) continue;
            if (p && !crnn_pattern_match(p, text)) continue;
            double s = ctc_log_likelihood(lp, T, NCS, seq, L);
            if (s > best) {
                best = s;
                strcpy(best_text, text);
            }
        } while (L > 0 && next_seq(seq, L, NCS));
    }
    return best;
}

static void test_pattern_decoding_exact(void) {
    static float lp[MAXT * NCS];
    static const char *patterns[] = {
        "\\d+", "[ab]*", "a?b?0?1?", "(ab|ba)+", "\\d{2}", "a.b", ".*1", "(a|00)*b?",
        "[^0]{1,3}", "b{2,}|1{2,}", "a|b|0|1", "", "(a0|1b){1,2}0?"};
    const int n_patterns = (int)(sizeof patterns / sizeof patterns[0]);
    crnn_model m = fake_model();
    decode_workspace *dw = decode_workspace_new();
    int bad = 0, checked = 0, none = 0;
    for (int k = 0; k < 260; k++) {
        /* up to 6 frames: at most 5461 label sequences, so the exact walk always finishes */
        int T = test_randint(1, 6);
        random_lp(lp, T, NCS, k % 3 == 0 ? 0 : 2.5);
        crnn_pattern *p = compile1(patterns[k % n_patterns]);
        crnn_params params = crnn_default_params();
        params.pattern = p;
        params.lexicon_margin = -1; /* a match whatever its probability */
        params.decoder = k % 4 == 3 ? CRNN_DECODE_BEAM : CRNN_DECODE_GREEDY;
        const char *allowed = k % 5 == 4 ? "ab1" : NULL;
        params.allow = allowed;
        crnn_result r;
        memset(&r, 0, sizeof r);
        crnn_error err;
        CHECK(decode_frames(dw, &m, lp, T, NCS, &params, &r, &err) == CRNN_OK);
        char want[MAXT + 1];
        double want_lp = brute_best_match(lp, T, p, allowed, want);
        if (want_lp == -INFINITY) {
            none++;
            bad += !r.fallback || strcmp(r.text, r.free_text);
        } else {
            checked++;
            double tol = 1e-6 * (1 + fabs(want_lp));
            /* ties between texts are possible in principle: the probability must be the
               best, and the text must match */
            if (!(fabs(r.log_prob - want_lp) <= tol) || !crnn_pattern_match(p, r.text) ||
                r.fallback || (allowed && strspn(r.text, allowed) != strlen(r.text))) {
                if (bad++ < 5)
                    fprintf(stderr, "'%s' T=%d: got '%s' %.9g, want '%s' %.9g\n",
                            patterns[k % n_patterns], T, r.text, r.log_prob, want, want_lp);
            }
            CHECK_NEAR(r.confidence, exp(want_lp), 1e-6);
        }
        crnn_result_free(&r);
        crnn_pattern_free(p);
    }
    CHECK(bad == 0);
    CHECK_MSG(checked > 200 && none > 0, "%d checked, %d without a match", checked, none);
    decode_workspace_free(dw);
}

/* A lexicon under a pattern: the best word that matches, against brute force. */
static void test_lexicon_within_pattern(void) {
    static float lp[MAXT * NCS];
    crnn_model m = fake_model();
    decode_workspace *dw = decode_workspace_new();
    crnn_pattern *p = compile1("[ab]+\\d?");
    int bad = 0, checked = 0;
    for (int k = 0; k < 150; k++) {
        int T = test_randint(2, 12), n = test_randint(1, 30);
        char words[30][8];
        const char *w[30];
        for (int i = 0; i < n; i++) {
            int len = test_randint(1, 6);
            for (int j = 0; j < len; j++) words[i][j] = "ab01"[test_randint(0, 3)];
            words[i][len] = 0;
            w[i] = words[i];
        }
        crnn_lexicon *lex = crnn_lexicon_from_words(w, n, NULL);
        random_lp(lp, T, NCS, k % 3 == 0 ? 0 : 3);
        crnn_params params = crnn_default_params();
        params.lexicon = lex;
        params.pattern = p;
        params.lexicon_margin = -1;
        crnn_result r;
        memset(&r, 0, sizeof r);
        CHECK(decode_frames(dw, &m, lp, T, NCS, &params, &r, NULL) == CRNN_OK);
        double best = -INFINITY;
        int best_word = -1;
        for (int i = 0; i < crnn_lexicon_size(lex); i++) {
            const char *word = crnn_lexicon_word(lex, i);
            if (!crnn_pattern_match(p, word)) continue;
            int lab[8], L = (int)strlen(word);
            for (int j = 0; j < L; j++) lab[j] = (int)(strchr("\001ab01", word[j]) - "\001ab01");
            double s = ctc_log_likelihood(lp, T, NCS, lab, L);
            if (s > best) best = s, best_word = i;
        }
        if (best_word >= 0 && best > -INFINITY) {
            checked++;
            bad += !crnn_pattern_match(p, r.text) || crnn_lexicon_find(lex, r.text) < 0 ||
                   !(fabs(r.log_prob - best) <= 1e-6 * (1 + fabs(best)));
        } else {
            bad += !r.fallback;
        }
        crnn_result_free(&r);
        crnn_lexicon_free(lex);
    }
    CHECK(bad == 0);
    CHECK(checked > 80);
    crnn_pattern_free(p);
    decode_workspace_free(dw);
}

/* Long flat frames: the walk runs out of budget and the beam that follows the pattern takes
   over; the text still matches and is scored exactly. */
static void test_pattern_budget(void) {
    static float lp[MAXT * NCS];
    crnn_model m = fake_model();
    decode_workspace *dw = decode_workspace_new();
    crnn_pattern *p = compile1("(a\\d|b)+1");
    pattern_edges edges = {0};
    CHECK(pattern_edges_build(&edges, p, CHARSET, NCS, NULL) == CRNN_OK);
    automaton_search *search = automaton_search_new();
    ctc_frames f = {0};
    int bad = 0, cut_short = 0;
    for (int k = 0; k < 10; k++) {
        int T = 60, labels[MAXT];
        random_lp(lp, T, NCS, 0);
        /* the exact walk alone does not finish here */
        automaton a = {NULL, NULL, p, &edges};
        CHECK(ctc_frames_prepare(&f, lp, T, NCS, NULL, NULL) == CRNN_OK);
        cut_short += !automaton_search_run(search, &f, &a, -INFINITY, CRNN_PATTERN_SEARCH_NODES,
                                           labels).complete;
        crnn_params params = crnn_default_params();
        params.pattern = p;
        params.lexicon_margin = -1;
        crnn_result r;
        memset(&r, 0, sizeof r);
        CHECK(decode_frames(dw, &m, lp, T, NCS, &params, &r, NULL) == CRNN_OK);
        int lab[MAXT], L = (int)strlen(r.text);
        for (int j = 0; j < L; j++) lab[j] = (int)(strchr("\001ab01", r.text[j]) - "\001ab01");
        double s = ctc_log_likelihood(lp, T, NCS, lab, L);
        bad += r.fallback || !crnn_pattern_match(p, r.text) ||
               !(fabs(s - r.log_prob) <= 1e-6 * (1 + fabs(s)));
        crnn_result_free(&r);
    }
    CHECK(bad == 0);
    CHECK(cut_short == 10);
    ctc_frames_free(&f);
    automaton_search_free(search);
    pattern_edges_free(&edges);
    crnn_pattern_free(p);
    decode_workspace_free(dw);
}

/* ---- allow / deny ---- */

static void test_allow_deny(void) {
    static float lp[MAXT * NCS], by_hand[MAXT * NCS];
    crnn_model m = fake_model();
    decode_workspace *dw = decode_workspace_new();
    const char *words[] = {"ab", "a0", "1b", "ba1", "00"};
    crnn_lexicon *lex = crnn_lexicon_from_words(words, 5, NULL);
    crnn_pattern *p = compile1(".*");
    static const struct {
        const char *allow, *deny, *emitted; /* emitted: the characters that may come out */
    } sets[] = {{"0-9", NULL, "01"},  {"a", NULL, "a"},     {NULL, "a0", "b1"},
                {"\\d", "0", "1"},    {"a-b1", "b", "a1"},  {"\\w", "\\d", "ab"}};
    int bad = 0, masked_best_path = 0;
    for (int k = 0; k < 600; k++) {
        int T = test_randint(1, 20), s = k % 6;
        random_lp(lp, T, NCS, k % 2 ? 1.5 : 0);
        crnn_params params = crnn_default_params();
        params.allow = sets[s].allow;
        params.deny = sets[s].deny;
        switch (k / 6 % 5) { /* every decoder, and the fallback to the free text */
        case 1: params.decoder = CRNN_DECODE_BEAM; break;
        case 2: params.lexicon = lex; params.lexicon_margin = -1; break;
        case 3: params.lexicon = lex; params.lexicon_margin = 0; break;
        case 4: params.pattern = p; params.lexicon_margin = -1; break;
        default: break;
        }
        crnn_result r;
        memset(&r, 0, sizeof r);
        crnn_error err;
        if (decode_frames(dw, &m, lp, T, NCS, &params, &r, &err) != CRNN_OK) {
            bad++;
            fprintf(stderr, "%s\n", err.message);
            continue;
        }
        if (strspn(r.text, sets[s].emitted) != strlen(r.text)) {
            if (bad++ < 5)
                fprintf(stderr, "allow %s deny %s emitted '%s'\n", sets[s].allow, sets[s].deny,
                        r.text);
        }
        if (k / 6 % 5 == 0) { /* best path under the mask = best path without those classes */
            for (int t = 0; t < T; t++)
                for (int c = 0; c < NCS; c++)
                    by_hand[t * NCS + c] = c == 0 || strchr(sets[s].emitted, (int)CHARSET[c])
                                               ? lp[t * NCS + c] : -INFINITY;
            int lab[MAXT];
            float conf[MAXT];
            int n = best_path_decode(by_hand, T, NCS, lab, conf, NULL, MAXT);
            char text[MAXT + 1];
            labels_text(lab, n, text);
            bad += strcmp(text, r.text) != 0;
            /* the probability of the text is the model's, not a renormalised one */
            CHECK_NEAR(r.log_prob, ctc_log_likelihood(lp, T, NCS, lab, n), 1e-6 * (1 + T));
            masked_best_path++;
        }
        crnn_result_free(&r);
    }
    CHECK(bad == 0);
    CHECK(masked_best_path > 100);
    crnn_pattern_free(p);
    crnn_lexicon_free(lex);
    decode_workspace_free(dw);
}

/* ---- confidence and rejection ---- */

static void test_confidence(void) {
    static float lp[MAXT * NCS];
    crnn_model m = fake_model();
    decode_workspace *dw = decode_workspace_new();
    /* frames that say "nothing here": the blank dominates every frame */
    int T = 12;
    double p_empty = 1;
    for (int t = 0; t < T; t++) {
        double pb = 0.9 + 0.09 * test_uniform(), rest = (1 - pb) / (NCS - 1);
        for (int c = 0; c < NCS; c++) lp[t * NCS + c] = (float)log(c ? rest : pb);
        p_empty *= exp((double)lp[t * NCS]);
    }
    crnn_params params = crnn_default_params();
    crnn_result r;
    memset(&r, 0, sizeof r);
    CHECK(decode_frames(dw, &m, lp, T, NCS, &params, &r, NULL) == CRNN_OK);
    CHECK(!strcmp(r.text, "") && r.num_chars == 0);
    /* the probability that the image holds no text, not the empty product 1 */
    CHECK_NEAR(r.confidence, p_empty, 1e-6);
    CHECK(r.confidence < 0.9);
    crnn_result_free(&r);
    /* every decoder's confidence is the probability of its text */
    int bad = 0;
    for (int k = 0; k < 200; k++) {
        T = test_randint(1, 30);
        random_lp(lp, T, NCS, k % 2 ? 3 : 0.5);
        params = crnn_default_params();
        params.decoder = k % 3 == 1 ? CRNN_DECODE_BEAM : CRNN_DECODE_GREEDY;
        CHECK(decode_frames(dw, &m, lp, T, NCS, &params, &r, NULL) == CRNN_OK);
        int lab[MAXT], L = (int)strlen(r.text);
        for (int j = 0; j < L; j++) lab[j] = (int)(strchr("\001ab01", r.text[j]) - "\001ab01");
        double want = ctc_log_likelihood(lp, T, NCS, lab, L);
        bad += !(fabs(r.log_prob - want) <= 1e-6 * (1 + fabs(want)));
        bad += !(fabsf(r.confidence - (float)exp(want)) <= 1e-6f);
        /* a threshold just above rejects it, just below keeps it */
        crnn_result q;
        memset(&q, 0, sizeof q);
        params.min_confidence = fminf(1.0f, r.confidence * 1.01f + 1e-7f);
        CHECK(decode_frames(dw, &m, lp, T, NCS, &params, &q, NULL) == CRNN_OK);
        bad += !q.rejected || strcmp(q.text, "") || q.num_chars || q.confidence != r.confidence;
        crnn_result_free(&q);
        params.min_confidence = r.confidence * 0.99f;
        CHECK(decode_frames(dw, &m, lp, T, NCS, &params, &q, NULL) == CRNN_OK);
        bad += q.rejected || strcmp(q.text, r.text);
        crnn_result_free(&q);
        crnn_result_free(&r);
    }
    CHECK(bad == 0);
    decode_workspace_free(dw);
}

/* A text too long to score exactly (T × (2L + 1) past CRNN_DECODE_MAX_LATTICE) is best
   path's with the probability of its best alignment, for either decoder, and with a lexicon
   or a pattern it is returned as the free text, flagged; below the limit everything is exact
   and the pattern is followed. */
static void test_long_text(void) {
    const int T = 8192, Ts = 2000;
    float *lp = malloc(sizeof(float) * (size_t)T * NCS);
    CHECK(lp != NULL);
    if (!lp) return;
    crnn_model m = fake_model();
    decode_workspace *dw = decode_workspace_new();
    const char *word = "ab";
    crnn_lexicon *lex = crnn_lexicon_from_words(&word, 1, NULL);
    const char *regex[2] = {"[ab]*", "a*"};
    crnn_pattern *pat[2] = {crnn_pattern_compile(regex, 1, NULL), crnn_pattern_compile(regex + 1, 1, NULL)};
    CHECK(lex && pat[0] && pat[1]);
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: 'a' and 'b' in turn, a character every frame (L = T); pass 1: 'a' and blank
           in turn over Ts frames (L = Ts / 2, under the limit) */
        const int n = pass ? Ts : T;
        double best_sum = 0;
        for (int t = 0; t < n; t++) {
            int hot = pass ? (t % 2 ? 0 : 1) : 1 + t % 2;
            double ph = 0.6 + 0.3 * test_uniform(), rest = (1 - ph) / (NCS - 1);
            for (int c = 0; c < NCS; c++) lp[(size_t)t * NCS + c] = (float)log(c == hot ? ph : rest);
            best_sum += lp[(size_t)t * NCS + hot];
        }
        const int L = pass ? n / 2 : n;
        CHECK(((double)n * (2 * L + 1) > (double)CRNN_DECODE_MAX_LATTICE) == !pass);
        for (int k = 0; k < 4; k++) {
            crnn_params params = crnn_default_params();
            params.decoder = k == 1 ? CRNN_DECODE_BEAM : CRNN_DECODE_GREEDY;
            if (k == 2) params.lexicon = lex;
            if (k == 3) params.pattern = pat[pass];
            crnn_result r;
            memset(&r, 0, sizeof r);
            CHECK(decode_frames(dw, &m, lp, n, NCS, &params, &r, NULL) == CRNN_OK);
            const int len = (int)strlen(r.text);
            /* under the limit, beam search and the pattern's exact search may find a likelier
               text than best path's */
            if (!pass || (k != 1 && k != 3)) {
                CHECK_MSG(len == L && r.num_chars == L, "pass %d decoder %d: %d chars", pass, k, len);
                int ok = len == L;
                for (int i = 0; i < L && ok; i++) ok = r.text[i] == (pass || i % 2 == 0 ? 'a' : 'b');
                CHECK(ok);
            }
            if (!pass) {
                CHECK_NEAR(r.log_prob, best_sum, 1e-6 * fabs(best_sum));
            } else {
                int *lab = malloc(sizeof(int) * (size_t)(len ? len : 1));
                for (int i = 0; lab && i < len; i++) lab[i] = (int)(strchr("\001ab01", r.text[i]) - "\001ab01");
                double exact = lab ? ctc_log_likelihood(lp, n, NCS, lab, len) : 0;
                free(lab);
                CHECK_NEAR(r.log_prob, exact, 1e-6 * fabs(exact));
                CHECK(r.log_prob > best_sum + 1e-3); /* the sum over alignments, not one */
            }
            if (k == 2 || (k == 3 && !pass))
                CHECK(r.fallback == 1 && r.free_text && !strcmp(r.free_text, r.text));
            if (k == 3 && pass) CHECK(r.fallback == 0 && len > 0 && crnn_pattern_match(pat[1], r.text));
            crnn_result_free(&r);
        }
    }
    crnn_lexicon_free(lex);
    crnn_pattern_free(pat[0]);
    crnn_pattern_free(pat[1]);
    decode_workspace_free(dw);
    free(lp);
}

static void test_params_check(void) {
    crnn_model m = fake_model();
    crnn_error err;
    crnn_params p = crnn_default_params();
    CHECK(crnn_params_check(&m, &p, &err) == CRNN_OK);
    p.allow = "a-";
    CHECK(crnn_params_check(&m, &p, &err) == CRNN_OK); /* a and a literal '-' */
    p.allow = "z-a";
    CHECK(crnn_params_check(NULL, &p, &err) == CRNN_ERR_ARG && strstr(err.message, "allow 'z-a'"));
    p.allow = "xyz"; /* syntax fine, but the model has none of them */
    CHECK(crnn_params_check(NULL, &p, &err) == CRNN_OK);
    CHECK(crnn_params_check(&m, &p, &err) == CRNN_ERR_ARG && strstr(err.message, "none of"));
    p.allow = NULL;
    p.deny = "ab01";
    CHECK(crnn_params_check(&m, &p, &err) == CRNN_ERR_ARG && strstr(err.message, "no character"));
    p.deny = "\\";
    CHECK(crnn_params_check(&m, &p, &err) == CRNN_ERR_ARG && strstr(err.message, "deny"));
    p = crnn_default_params();
    p.min_confidence = 1.5f;
    CHECK(crnn_params_check(&m, &p, &err) == CRNN_ERR_ARG && strstr(err.message, "min_confidence"));
    p = crnn_default_params();
    p.decoder = CRNN_DECODE_BEAM;
    p.beam_width = 0;
    CHECK(crnn_params_check(&m, &p, &err) == CRNN_ERR_ARG);
    /* decode_frames refuses the same, without crashing */
    static float lp[4 * NCS];
    random_lp(lp, 4, NCS, 1);
    decode_workspace *dw = decode_workspace_new();
    crnn_result r;
    memset(&r, 0, sizeof r);
    p = crnn_default_params();
    p.allow = "[a"; /* '[' is just a character here; the model has only the 'a' */
    CHECK(decode_frames(dw, &m, lp, 4, NCS, &p, &r, &err) == CRNN_OK);
    CHECK(strspn(r.text, "a") == strlen(r.text));
    crnn_result_free(&r);
    p.allow = "q";
    CHECK(decode_frames(dw, &m, lp, 4, NCS, &p, &r, &err) == CRNN_ERR_ARG);
    crnn_result_free(&r);
    decode_workspace_free(dw);
}

int main(void) {
    RUN(test_pattern_matches_posix);
    RUN(test_pattern_errors);
    RUN(test_pattern_decoding_exact);
    RUN(test_lexicon_within_pattern);
    RUN(test_pattern_budget);
    RUN(test_allow_deny);
    RUN(test_confidence);
    RUN(test_long_text);
    RUN(test_params_check);
    TEST_EXIT();
}

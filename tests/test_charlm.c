/* test_charlm.c — the character language model and its fusion into the beam search: the
   model's probabilities against Witten-Bell counted with plain loops over the words, every
   context's distribution summing to one, bad word lists refused by name, and the free text
   of a beam search with the model against brute force over every text the frames can spell
   (exact CTC probability + weighted model score), through decode_frames. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crnn.h"
#include "ctc/ctc.h"
#include "decode/decode.h"
#include "lm/charlm.h"
#include "model/model.h"
#include "test.h"

/* ---- the reference: Witten-Bell by counting substrings of the padded words ---- */

#define MAXW 64
static int n_words;
static char words[MAXW][16];

/* The padded symbol sequence of word w: order − 1 boundaries, its letters, a boundary. */
static int padded(const char *w, int order, int *s) {
    int n = 0;
    for (int i = 0; i < order - 1; i++) s[n++] = 0;
    for (const char *p = w; *p; p++) s[n++] = charlm_symbol((unsigned char)*p);
    s[n++] = 0;
    return n;
}

/* n(h c) for a context h of len symbols (c = -1: n(h), any symbol after it), counting only
   positions that predict a symbol (the first order − 1 of each word do not). */
static double count(const int *h, int len, int c, int order) {
    double n = 0;
    for (int w = 0; w < n_words; w++) {
        int s[40], m = padded(words[w], order, s);
        for (int i = order - 1; i < m; i++) {
            int ok = c < 0 || s[i] == c;
            for (int k = 0; ok && k < len; k++) ok = s[i - len + k] == h[k];
            n += ok;
        }
    }
    return n;
}

static double reference(const int *h, int len, int c, int order) {
    if (len < 0) return 1.0 / CHARLM_SYMBOLS;
    double lower = reference(h + 1, len - 1, c, order); /* h without its oldest symbol */
    double total = count(h, len, -1, order);
    if (total == 0) return lower;
    double types = 0;
    for (int s = 0; s < CHARLM_SYMBOLS; s++) types += count(h, len, s, order) > 0;
    double lambda = total / (total + types);
    return lambda * count(h, len, c, order) / total + (1 - lambda) * lower;
}

static uint32_t pack(const int *h, int len) {
    uint32_t c = 0;
    for (int k = 0; k < len; k++) c = c << 5 | (uint32_t)h[k];
    return c;
}

static void random_words(int n, const char *letters) {
    n_words = n;
    int nl = (int)strlen(letters);
    for (int i = 0; i < n; i++) {
        int len = test_randint(1, 7);
        for (int j = 0; j < len; j++) words[i][j] = letters[test_randint(0, nl - 1)];
        words[i][len] = 0;
    }
}

static crnn_lm *build(int order) {
    const char *list[MAXW];
    for (int i = 0; i < n_words; i++) list[i] = words[i];
    crnn_error err;
    crnn_lm *lm = crnn_lm_from_words(list, n_words, order, &err);
    CHECK_MSG(lm != NULL, "%s", lm ? "" : err.message);
    return lm;
}

static void test_probabilities(void) {
    for (int order = 2; order <= CHARLM_MAX_ORDER; order++) {
        random_words(40, "abcab");
        crnn_lm *lm = build(order);
        if (!lm) return;
        CHECK(charlm_order(lm) == order);
        int worst_bad = 0;
        for (int trial = 0; trial < 60; trial++) {
            /* contexts as a word builds them: boundaries, then letters seen and unseen */
            int h[CHARLM_MAX_ORDER] = {0}, len = order - 1;
            int letters = test_randint(0, len);
            for (int k = len - letters; k < len; k++)
                h[k] = trial % 3 ? test_randint(1, 3) : test_randint(1, 26);
            double sum = 0;
            for (int c = 0; c < CHARLM_SYMBOLS; c++) {
                double want = reference(h, len, c, order);
                double got = exp(charlm_log_prob(lm, pack(h, len), c));
                sum += got;
                if (!(fabs(got - want) <= 1e-5 * want + 1e-9) && worst_bad++ < 3)
                    fprintf(stderr, "order %d context %x symbol %d: %.8g, want %.8g\n", order,
                            pack(h, len), c, got, want);
            }
            CHECK_MSG(fabs(sum - 1) < 1e-4, "order %d: the distribution sums to %.6f", order,
                      sum);
        }
        CHECK(worst_bad == 0);
        crnn_lm_free(lm);
    }
    /* the symbols: letters in either case, the rest a boundary */
    CHECK(charlm_symbol('a') == 1 && charlm_symbol('Z') == 26 && charlm_symbol('7') == 0 &&
          charlm_symbol(0xE9) == 0 && charlm_symbol(' ') == 0);
}

/* A word list's other characters split words ("rock&roll" is "rock" and "roll"); '#' lines
   are comments; case does not matter. */
static void test_word_list(void) {
    const char *a[] = {"rock&roll", "# comment line", "ROCK"};
    const char *b[] = {"rock", "roll", "rock"};
    crnn_error err;
    crnn_lm *la = crnn_lm_from_words(a, 3, 4, &err), *lb = crnn_lm_from_words(b, 3, 4, &err);
    CHECK(la && lb);
    for (uint32_t ctx = 0; la && lb && ctx < 40; ctx++)
        for (int c = 0; c < CHARLM_SYMBOLS; c++)
            CHECK(charlm_log_prob(la, ctx * 37 % (1u << 15), c) ==
                  charlm_log_prob(lb, ctx * 37 % (1u << 15), c));
    crnn_lm_free(la);
    crnn_lm_free(lb);
}

static void test_bad_lists(void) {
    crnn_error err;
    char dir[] = "/tmp/crnn-test-charlm-XXXXXX", path[64], none[96];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/binary.txt", dir);
    FILE *f = fopen(path, "wb");
    fwrite("ab\0cd\n", 1, 6, f);
    fclose(f);
    crnn_lm *lm = crnn_lm_load(path, 6, &err);
    CHECK(!lm && err.code == CRNN_ERR_FORMAT && strstr(err.message, path) &&
          strstr(err.message, "NUL"));
    f = fopen(path, "wb");
    fputs("123\n# words\n-- --\n", f);
    fclose(f);
    CHECK(!crnn_lm_load(path, 6, &err) && strstr(err.message, "no words"));
    snprintf(none, sizeof none, "%s/missing.txt", dir);
    CHECK(!crnn_lm_load(none, 6, &err) && err.code == CRNN_ERR_IO && strstr(err.message, none));
    /* a corpus too large to count is refused before it is read */
    f = fopen(path, "wb");
    CHECK(f && fseek(f, (long)CRNN_LM_MAX_FILE_BYTES, SEEK_SET) == 0 && fputc('a', f) == 'a');
    fclose(f);
    CHECK(!crnn_lm_load(path, 6, &err) && err.code == CRNN_ERR_LIMIT && strstr(err.message, path));
    CHECK(!crnn_lm_load_named("no-such-list", 6, &err) && strstr(err.message, "no-such-list"));
    const char *w[] = {"word"};
    CHECK(!crnn_lm_from_words(w, 1, 1, &err) && err.code == CRNN_ERR_ARG);
    CHECK(!crnn_lm_from_words(w, 1, CHARLM_MAX_ORDER + 1, &err) && err.code == CRNN_ERR_ARG);
    unlink(path);
    rmdir(dir);
}

/* The tables as bytes and back give the same model; damaged bytes are refused. */
static void test_table(void) {
    random_words(50, "abcdez");
    crnn_lm *lm = build(5);
    if (!lm) return;
    unsigned char *bytes = NULL;
    size_t size = 0;
    crnn_error err;
    CHECK(charlm_table_write(lm, &bytes, &size, &err) == CRNN_OK);
    crnn_lm *back = charlm_table_read(bytes, size, "test", &err);
    CHECK_MSG(back != NULL, "%s", back ? "" : err.message);
    for (int i = 0; back && i < 4000; i++) {
        uint32_t ctx = (uint32_t)test_randint(0, (1 << 20) - 1);
        if (i % 2) ctx &= 0x0f7bdef; /* symbols 0..15: mostly seen ones */
        int c = test_randint(0, CHARLM_SYMBOLS - 1);
        CHECK(charlm_log_prob(back, ctx, c) == charlm_log_prob(lm, ctx, c));
    }
    crnn_lm_free(back);
    unsigned char *bad = malloc(size + 4);
    memcpy(bad, bytes, size);
    bad[0] = 'X';
    CHECK(!charlm_table_read(bad, size, "test", &err) && strstr(err.message, "test: not a"));
    memcpy(bad, bytes, size);
    CHECK(!charlm_table_read(bad, size - 1, "test", &err) && err.code == CRNN_ERR_FORMAT);
    CHECK(!charlm_table_read(bad, size / 2, "test", &err) && strstr(err.message, "truncated"));
    memset(bad + size, 0, 4);
    CHECK(!charlm_table_read(bad, size + 4, "test", &err) && strstr(err.message, "after"));
    bad[size - 1 - (size - 1) % 4 - 4] = 200; /* damage near the end */
    crnn_lm *odd = charlm_table_read(bad, size, "test", &err);
    crnn_lm_free(odd); /* refused or not, never read out of bounds (ASan) */
    free(bad);
    free(bytes);
    crnn_lm_free(lm);
}

/* "en" is the tables the build counted from lexicons/en.txt: the same model as counting the
   file now. */
static void test_builtin_english(void) {
    crnn_error err;
    crnn_lm *table = crnn_lm_load_named("en", CRNN_LM_ORDER, &err);
    crnn_lm *counted = crnn_lm_load("lexicons/en.txt", CRNN_LM_ORDER, &err);
    CHECK(table && counted);
    for (int i = 0; table && counted && i < 20000; i++) {
        uint32_t ctx = 0;
        for (int k = 0, len = test_randint(0, CRNN_LM_ORDER - 1); k < len; k++)
            ctx = ctx << 5 | (uint32_t)test_randint(1, 26);
        int c = test_randint(0, CHARLM_SYMBOLS - 1);
        CHECK(charlm_log_prob(table, ctx, c) == charlm_log_prob(counted, ctx, c));
    }
    crnn_lm_free(table);
    crnn_lm_free(counted);
    /* another order than the tables' is counted from the list */
    crnn_lm *four = crnn_lm_load_named("en", 4, &err);
    CHECK(four && charlm_order(four) == 4);
    crnn_lm_free(four);
}

/* ---- fusion: beam search against every text the frames can spell ---- */

static const uint32_t CHARSET[] = {0, 'a', 'B', ' '}; /* a letter in each case, a space */
#define NCS 4
#define MAXT 5

static crnn_model fake_model(void) {
    crnn_model m;
    memset(&m, 0, sizeof m);
    m.n_classes = NCS;
    m.charset = (uint32_t *)CHARSET;
    return m;
}

/* weight × log p_lm(text) + bonus × length: words end at a space and at the end. */
static double lm_score(const crnn_lm *lm, const int *lab, int n, double weight, double bonus) {
    double s = 0;
    uint32_t ctx = 0;
    for (int i = 0; i < n; i++) {
        int sym = charlm_symbol(CHARSET[lab[i]]);
        if (sym || ctx & 31) s += charlm_log_prob(lm, ctx, sym);
        ctx = charlm_next_context(lm, ctx, sym);
    }
    if (ctx & 31) s += charlm_log_prob(lm, ctx, 0);
    return weight * s + bonus * n;
}

static void test_fusion_brute_force(void) {
    const char *list[] = {"ab", "abba", "bab", "baa", "a"};
    crnn_error err;
    crnn_lm *lm = crnn_lm_from_words(list, 5, 3, &err);
    CHECK(lm != NULL);
    if (!lm) return;
    crnn_model m = fake_model();
    decode_workspace *dw = decode_workspace_new();
    static float lp[MAXT * NCS];
    int bad = 0, differs = 0;
    for (int trial = 0; trial < 300; trial++) {
        int T = test_randint(1, MAXT);
        for (int t = 0; t < T; t++) {
            double z = 0, v[NCS];
            for (int k = 0; k < NCS; k++) z += v[k] = exp(test_uniform() * 4);
            for (int k = 0; k < NCS; k++) lp[t * NCS + k] = (float)log(v[k] / z);
        }
        const double weight = trial % 2 ? 0.3 : 1.5, bonus = trial % 3 ? 0.5 : -0.5;
        /* every label string of up to T labels, scored exactly */
        int best[MAXT], best_n = -1, lab[MAXT];
        double best_s = -INFINITY, best_ctc = 0, plain_best = -INFINITY;
        int plain_n = -1, plain[MAXT];
        for (int n = 0; n <= T; n++) {
            long combos = 1;
            for (int i = 0; i < n; i++) combos *= NCS - 1;
            for (long code = 0; code < combos; code++) {
                long x = code;
                for (int i = 0; i < n; i++, x /= NCS - 1) lab[i] = 1 + (int)(x % (NCS - 1));
                double ctc = ctc_log_likelihood(lp, T, NCS, lab, n);
                if (ctc == -INFINITY) continue;
                double s = ctc + lm_score(lm, lab, n, weight, bonus);
                if (s > best_s + 1e-9) {
                    best_s = s;
                    best_n = n;
                    best_ctc = ctc;
                    memcpy(best, lab, sizeof(int) * (size_t)n);
                }
                if (ctc > plain_best + 1e-9) {
                    plain_best = ctc;
                    plain_n = n;
                    memcpy(plain, lab, sizeof(int) * (size_t)n);
                }
            }
        }
        differs += best_n != plain_n || memcmp(best, plain, sizeof(int) * (size_t)best_n);
        crnn_params p = crnn_default_params();
        p.lm = lm;
        p.lm_weight = (float)weight;
        p.lm_bonus = (float)bonus;
        p.decoder = CRNN_DECODE_BEAM;
        p.beam_width = 1024; /* every prefix of ≤ 5 labels over 3 classes (364): exhaustive */
        crnn_result r;
        memset(&r, 0, sizeof r);
        CHECK(decode_frames(dw, &m, lp, T, NCS, &p, &r, &err) == CRNN_OK);
        char *want = labels_to_utf8(&m, best, best_n);
        if (strcmp(r.text, want) && bad++ < 5)
            fprintf(stderr, "T=%d weight %g bonus %g: got '%s', want '%s'\n", T, weight, bonus,
                    r.text, want);
        /* the probability reported is the network's alone */
        if (!strcmp(r.text, want)) CHECK_NEAR(r.log_prob, best_ctc, 1e-5 * (1 + fabs(best_ctc)));
        free(want);
        crnn_result_free(&r);
    }
    CHECK(bad == 0);
    CHECK_MSG(differs > 20, "the model changed the reading in only %d of 300 cases", differs);
    decode_workspace_free(dw);
    crnn_lm_free(lm);
}

/* A weight of 0 and no bonus: the beam search of the network alone. */
static void test_zero_weight(void) {
    const char *list[] = {"abba"};
    crnn_error err;
    crnn_lm *lm = crnn_lm_from_words(list, 1, 4, &err);
    crnn_model m = fake_model();
    decode_workspace *dw = decode_workspace_new();
    static float lp[MAXT * NCS];
    for (int trial = 0; lm && trial < 100; trial++) {
        int T = test_randint(1, MAXT);
        for (int i = 0; i < T * NCS; i++) lp[i] = (float)(-3 * test_uniform());
        crnn_params a = crnn_default_params(), b = crnn_default_params();
        a.decoder = b.decoder = CRNN_DECODE_BEAM;
        a.beam_width = b.beam_width = 4;
        a.lm = lm;
        a.lm_weight = 0;
        a.lm_bonus = 0;
        crnn_result ra, rb;
        memset(&ra, 0, sizeof ra);
        memset(&rb, 0, sizeof rb);
        CHECK(decode_frames(dw, &m, lp, T, NCS, &a, &ra, &err) == CRNN_OK);
        CHECK(decode_frames(dw, &m, lp, T, NCS, &b, &rb, &err) == CRNN_OK);
        CHECK(!strcmp(ra.text, rb.text));
        crnn_result_free(&ra);
        crnn_result_free(&rb);
    }
    crnn_params bad = crnn_default_params();
    bad.lm = lm;
    bad.lm_weight = -1;
    CHECK(crnn_params_check(NULL, &bad, &err) == CRNN_ERR_ARG);
    decode_workspace_free(dw);
    crnn_lm_free(lm);
}

/* With best path (the default decoder), the model weighs in only where the network is unsure:
   a best path of p(text) ≥ CRNN_LM_UNSURE_BELOW is the reading, whatever the model thinks;
   below it, the reading is the model's beam search (CRNN_LM_BEAM_WIDTH wide). */
static void test_unsure_only(void) {
    const char *list[] = {"ab", "abba", "bab"};
    crnn_error err;
    crnn_lm *lm = crnn_lm_from_words(list, 3, 3, &err);
    crnn_model m = fake_model();
    decode_workspace *dw = decode_workspace_new();
    static float lp[MAXT * NCS];
    int sure = 0, unsure = 0, overruled_if_asked = 0;
    for (int trial = 0; lm && trial < 400; trial++) {
        int T = test_randint(2, MAXT);
        const double peak = trial % 2 ? 12 : 3; /* confident frames, or not */
        for (int t = 0; t < T; t++) {
            double z = 0, v[NCS];
            int top = test_randint(0, NCS - 1);
            for (int k = 0; k < NCS; k++) z += v[k] = exp(k == top ? peak : test_uniform());
            for (int k = 0; k < NCS; k++) lp[t * NCS + k] = (float)log(v[k] / z);
        }
        crnn_params plain = crnn_default_params(), with = plain, beam = plain;
        with.lm = beam.lm = lm;
        with.lm_weight = beam.lm_weight = 3;
        beam.decoder = CRNN_DECODE_BEAM;
        beam.beam_width = CRNN_LM_BEAM_WIDTH;
        crnn_result a, b, c;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        memset(&c, 0, sizeof c);
        CHECK(decode_frames(dw, &m, lp, T, NCS, &plain, &a, &err) == CRNN_OK);
        CHECK(decode_frames(dw, &m, lp, T, NCS, &with, &b, &err) == CRNN_OK);
        CHECK(decode_frames(dw, &m, lp, T, NCS, &beam, &c, &err) == CRNN_OK);
        if (a.confidence >= CRNN_LM_UNSURE_BELOW) {
            sure++;
            CHECK_MSG(!strcmp(b.text, a.text), "sure '%s' (%g) became '%s'", a.text,
                      (double)a.confidence, b.text);
            overruled_if_asked += strcmp(c.text, a.text) != 0;
        } else {
            unsure++;
            CHECK_MSG(!strcmp(b.text, c.text), "unsure: '%s', the model's beam '%s'", b.text,
                      c.text);
        }
        crnn_result_free(&a);
        crnn_result_free(&b);
        crnn_result_free(&c);
    }
    CHECK_MSG(sure > 50 && unsure > 50, "%d sure, %d unsure", sure, unsure);
    CHECK_MSG(overruled_if_asked > 0, "the model never disagreed with a sure reading");
    decode_workspace_free(dw);
    crnn_lm_free(lm);
}

/* The English list that comes with ocr-crnn (the tests run in the source tree): an English
   word is likelier than the same word misread by a letter. */
static void test_english(void) {
    crnn_error err;
    crnn_lm *lm = crnn_lm_load("lexicons/en.txt", CRNN_LM_ORDER, &err);
    CHECK_MSG(lm != NULL, "%s", lm ? "" : err.message);
    if (!lm) return;
    const char *pairs[][2] = {{"malaysia", "malaysla"}, {"engineering", "engiyeering"},
                              {"public", "publid"}, {"carpark", "carparn"}};
    for (int i = 0; i < 4; i++) {
        double s[2];
        for (int k = 0; k < 2; k++) {
            uint32_t ctx = 0;
            s[k] = 0;
            for (const char *p = pairs[i][k]; *p; p++) {
                int sym = charlm_symbol((unsigned char)*p);
                s[k] += charlm_log_prob(lm, ctx, sym);
                ctx = charlm_next_context(lm, ctx, sym);
            }
            s[k] += charlm_log_prob(lm, ctx, 0);
        }
        CHECK_MSG(s[0] > s[1] + 2, "%s %.2f, %s %.2f", pairs[i][0], s[0], pairs[i][1], s[1]);
    }
    crnn_lm_free(lm);
}

int main(void) {
    RUN(test_probabilities);
    RUN(test_word_list);
    RUN(test_bad_lists);
    RUN(test_table);
    RUN(test_builtin_english);
    RUN(test_fusion_brute_force);
    RUN(test_zero_weight);
    RUN(test_unsure_only);
    RUN(test_english);
    TEST_EXIT();
}

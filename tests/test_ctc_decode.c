/* test_ctc_decode.c — the CTC pieces the decoders are built from, on small random (T, C)
   log-probability matrices, against brute force:

   - ctc_log_likelihood equals −ctc_loss; the scaled scorer of lexicon decoding
     (ctc_frames_score) equals it, including very long flat inputs, and its early exit only
     ever drops words below the floor;
   - forced alignment (ctc_align) equals the best of all C^T frame paths, with its runs and
     confidences;
   - prefix beam search with a beam wider than the number of prefixes finds the most probable
     labelling among all label sequences up to length T; width 1 equals best path on peaked
     frames. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctc/ctc.h"
#include "decode/best_path.h"
#include "decode/frames.h"
#include "decode/prefix_beam.h"
#include "test.h"

#define MAXT 400
#define MAXC 48

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

static void test_log_likelihood(void) {
    static float lp[MAXT * MAXC];
    for (int k = 0; k < 300; k++) {
        int T = test_randint(1, 12), C = test_randint(2, 6), L = test_randint(0, 6), lab[8];
        for (int i = 0; i < L; i++) lab[i] = test_randint(1, C - 1);
        random_lp(lp, T, C, k % 2 ? 3 : 0);
        double ll = ctc_log_likelihood(lp, T, C, lab, L), loss = ctc_loss(lp, T, C, lab, L, NULL);
        if (ctc_min_frames(lab, L) > T) CHECK(ll == -INFINITY && loss == INFINITY);
        else CHECK_NEAR(ll, -loss, 1e-12);
    }
}

static void test_frames_score(void) {
    static float lp[MAXT * MAXC];
    ctc_frames f = {0};
    double scratch[2 * (2 * 40 + 1)];
    int bad_floor = 0;
    for (int k = 0; k < 400; k++) {
        int T = test_randint(1, 30), C = test_randint(2, 8), L = test_randint(0, 10), lab[40];
        for (int i = 0; i < L; i++) lab[i] = test_randint(1, C - 1);
        random_lp(lp, T, C, k % 3 ? 4 : 0);
        CHECK(ctc_frames_prepare(&f, lp, T, C, NULL, NULL) == CRNN_OK);
        double exact = ctc_log_likelihood(lp, T, C, lab, L);
        double got = ctc_frames_score(&f, lab, L, -INFINITY, scratch);
        if (exact == -INFINITY) CHECK(got == -INFINITY);
        else CHECK_NEAR(got, exact, 1e-9 * (1 + fabs(exact)));
        /* with a floor: exact when the word reaches it, else at most below it */
        double floor = exact + test_randf(-3, 3);
        double g2 = ctc_frames_score(&f, lab, L, floor, scratch);
        if (exact == -INFINITY) bad_floor += g2 != -INFINITY;
        else if (exact >= floor && !(fabs(g2 - exact) <= 1e-9 * (1 + fabs(exact))))
            bad_floor++, fprintf(stderr, "T=%d L=%d exact %.12g floor %.12g got %.12g\n", T, L, exact, floor, g2);
        else bad_floor += !(g2 == -INFINITY || fabs(g2 - exact) <= 1e-9 * (1 + fabs(exact)));
    }
    CHECK(bad_floor == 0);
    /* a long, nearly flat input: the scaling must keep a plausible word finite and exact */
    int T = MAXT, C = 12, lab[40], L = 30;
    random_lp(lp, T, C, 0.3);
    for (int i = 0; i < L; i++) lab[i] = test_randint(1, C - 1);
    CHECK(ctc_frames_prepare(&f, lp, T, C, NULL, NULL) == CRNN_OK);
    double exact = ctc_log_likelihood(lp, T, C, lab, L);
    double got = ctc_frames_score(&f, lab, L, -INFINITY, scratch);
    CHECK(exact < -700); /* beyond double range unscaled */
    CHECK_NEAR(got, exact, 1e-7 * fabs(exact));
    ctc_frames_free(&f);
}

/* Collapse a frame path: merge repeats, drop blanks. */
static int collapse(const int *path, int T, int *out) {
    int n = 0, prev = -1;
    for (int t = 0; t < T; t++) {
        if (path[t] != prev && path[t] != 0) out[n++] = path[t];
        prev = path[t];
    }
    return n;
}

static void test_align(void) {
    static float lp[MAXT * MAXC];
    int bad = 0;
    for (int k = 0; k < 200; k++) {
        int T = test_randint(1, 7), C = test_randint(2, 4), L = test_randint(0, 4), lab[8];
        for (int i = 0; i < L; i++) lab[i] = test_randint(1, C - 1);
        random_lp(lp, T, C, k % 2 ? 2 : 0);
        int start[8], end[8];
        float conf[8];
        double got = ctc_align(lp, T, C, lab, L, start, end, conf);
        /* brute force: the best of all C^T paths that spell lab */
        long n = 1;
        for (int t = 0; t < T; t++) n *= C;
        double best = -INFINITY;
        int best_path[8] = {0};
        for (long i = 0; i < n; i++) {
            int path[8], col[8];
            long v = i;
            for (int t = 0; t < T; t++, v /= C) path[t] = (int)(v % C);
            if (collapse(path, T, col) != L || (L && memcmp(col, lab, sizeof(int) * (size_t)L))) continue;
            double s = 0;
            for (int t = 0; t < T; t++) s += lp[(size_t)t * C + path[t]];
            if (s > best) {
                best = s;
                memcpy(best_path, path, sizeof path);
            }
        }
        if (best == -INFINITY) {
            bad += got != -INFINITY;
            continue;
        }
        if (fabs(got - best) > 1e-5) bad++;
        /* runs and confidences along the best path */
        int i = -1, prev = 0;
        for (int t = 0; t < T; t++) {
            int c = best_path[t];
            if (c != 0 && c != prev) {
                i++;
                if (start[i] != t) bad++;
            }
            if (c != 0 && (t == T - 1 || best_path[t + 1] != c) && end[i] != t) bad++;
            prev = c;
        }
        for (int j = 0; j < L; j++) {
            float p = 0;
            for (int t = start[j]; t <= end[j]; t++) p = fmaxf(p, expf(lp[(size_t)t * C + lab[j]]));
            if (fabsf(p - conf[j]) > 1e-6f) bad++;
        }
    }
    CHECK(bad == 0);
}

static int next_seq(int *seq, int L, int C) { /* odometer over 1..C-1 */
    for (int i = L - 1; i >= 0; i--) {
        if (++seq[i] < C) return 1;
        seq[i] = 1;
    }
    return 0;
}

/* Rebuilding the prefix tree from the kept prefixes (which a long line triggers) changes no
   result: texts and log-probabilities are bit for bit those of a tree never rebuilt, on flat
   frames where every class is tried and the tree grows fastest. */
static void test_beam_compaction(void) {
    enum { T = 400, C = 12 };
    static float lp[T * C];
    prefix_beam *plain = prefix_beam_new(), *small = prefix_beam_new();
    prefix_beam_set_compact_nodes(plain, 1 << 30);
    prefix_beam_set_compact_nodes(small, 64);
    int bad = 0;
    for (int k = 0; k < 20; k++) {
        random_lp(lp, T, C, k % 2 ? 2 : 0);
        int a[T], c[T], width = k % 3 ? 8 : 64;
        double la, lc;
        int na = prefix_beam_decode(plain, lp, T, C, width, NULL, 0, NULL, a, T, &la);
        int nc = prefix_beam_decode(small, lp, T, C, width, NULL, 0, NULL, c, T, &lc);
        bad += na < 0 || na != nc || memcmp(a, c, sizeof(int) * (size_t)(na > 0 ? na : 0)) || la != lc;
    }
    CHECK_MSG(bad == 0, "%d of 20 decodings changed by compaction", bad);
    prefix_beam_free(plain);
    prefix_beam_free(small);
}

static void test_beam_exact(void) {
    static float lp[MAXT * MAXC];
    prefix_beam *b = prefix_beam_new();
    int bad = 0;
    for (int k = 0; k < 150; k++) {
        int T = test_randint(1, 5), C = test_randint(2, 4);
        random_lp(lp, T, C, k % 2 ? 1.5 : 0);
        double best = -INFINITY;
        int best_seq[8], best_len = 0;
        for (int L = 0; L <= T; L++) {
            int seq[8];
            for (int i = 0; i < L; i++) seq[i] = 1;
            do {
                double s = ctc_log_likelihood(lp, T, C, seq, L);
                if (s > best) {
                    best = s;
                    best_len = L;
                    memcpy(best_seq, seq, sizeof seq);
                }
            } while (L > 0 && next_seq(seq, L, C));
        }
        int out[8];
        double est;
        int n = prefix_beam_decode(b, lp, T, C, PREFIX_BEAM_MAX_WIDTH, NULL, 0, NULL, out, 8, &est);
        if (n != best_len || memcmp(out, best_seq, sizeof(int) * (size_t)n)) bad++;
        if (fabs(est - best) > 1e-9 * (1 + fabs(best))) bad++;
    }
    CHECK(bad == 0);
    /* width 1 on peaked frames reads what best path reads, with more classes within
       PREFIX_BEAM_PRUNE of the best than PREFIX_BEAM_MAX_CLASSES too */
    bad = 0;
    for (int k = 0; k < 200; k++) {
        int T = test_randint(1, 60), C = k % 2 ? test_randint(2, 12) : test_randint(17, MAXC);
        random_lp(lp, T, C, 6);
        int g[MAXT], o[MAXT];
        float conf[MAXT];
        int ng = best_path_decode(lp, T, C, g, conf, NULL, MAXT);
        int nb = prefix_beam_decode(b, lp, T, C, 1, NULL, 0, NULL, o, MAXT, NULL);
        if (ng != nb || memcmp(g, o, sizeof(int) * (size_t)ng)) bad++;
    }
    CHECK(bad == 0);
    prefix_beam_free(b);
}

int main(void) {
    RUN(test_log_likelihood);
    RUN(test_frames_score);
    RUN(test_align);
    RUN(test_beam_exact);
    RUN(test_beam_compaction);
    TEST_EXIT();
}

/* test_lexicon.c — lexicon data structures: loading (comments, blank lines, duplicates,
   spaces inside entries, CRLF, byte-order mark) and its errors (invalid UTF-8, over-long lines,
   control characters, no entries) naming file and line; trie lookups against a linear scan;
   case folding; the edit distance against the textbook recurrence; BK-tree queries against a
   linear scan for several δ; per-image lexicon maps by path and by file name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lexicon/lexicon.h"
#include "test.h"
#include "util/util.h"

static char tmpdir[256];

static const char *write_tmp(const char *name, const char *data, size_t n) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fwrite(data, 1, n, f);
    fclose(f);
    return path;
}

static void test_load(void) {
    const char txt[] = "\xEF\xBB\xBF# a comment\n"
                       "hotel\n"
                       "\n"
                       "   \t\n"
                       "  New York  \r\n"
                       "Hotel\n"
                       "hotel\n"
                       "  # indented comment\n"
                       "caf\xC3\xA9\n"
                       "hotel\r\n"
                       "last-no-newline";
    crnn_error err;
    crnn_lexicon *lex = crnn_lexicon_load(write_tmp("a.txt", txt, sizeof txt - 1), &err);
    CHECK_MSG(lex != NULL, "%s", err.message);
    if (!lex) return;
    CHECK(crnn_lexicon_size(lex) == 5);
    CHECK(!strcmp(crnn_lexicon_word(lex, 0), "hotel"));
    CHECK(!strcmp(crnn_lexicon_word(lex, 1), "New York"));
    CHECK(!strcmp(crnn_lexicon_word(lex, 2), "Hotel"));
    CHECK(!strcmp(crnn_lexicon_word(lex, 3), "caf\xC3\xA9"));
    CHECK(!strcmp(crnn_lexicon_word(lex, 4), "last-no-newline"));
    CHECK(crnn_lexicon_word(lex, 5) == NULL);
    CHECK(crnn_lexicon_find(lex, "hotel") == 0);
    CHECK(crnn_lexicon_find(lex, "New York") == 1);
    CHECK(crnn_lexicon_find(lex, "Hotel") == 2);
    CHECK(crnn_lexicon_find(lex, "caf\xC3\xA9") == 3);
    CHECK(crnn_lexicon_find(lex, "hote") == -1);
    CHECK(crnn_lexicon_find(lex, "hotels") == -1);
    CHECK(crnn_lexicon_find(lex, "New") == -1);
    CHECK(crnn_lexicon_find(lex, "HOTEL") == -1);
    CHECK(lex->max_len == 15);
    CHECK(lex->cp[lex->cp_off[2]] == 'H');
    crnn_lexicon_free(lex);
}

static void expect_error(const char *name, const char *data, size_t n, crnn_status code,
                         const char *must_contain) {
    crnn_error err;
    memset(&err, 0, sizeof err);
    const char *path = write_tmp(name, data, n);
    crnn_lexicon *lex = crnn_lexicon_load(path, &err);
    CHECK_MSG(lex == NULL, "%s loaded", name);
    crnn_lexicon_free(lex);
    CHECK_MSG(err.code == code, "%s: code %d, expected %d (%s)", name, err.code, code, err.message);
    CHECK_MSG(strstr(err.message, path) != NULL, "%s: message does not name the file: %s", name,
              err.message);
    CHECK_MSG(strstr(err.message, must_contain) != NULL, "%s: message lacks '%s': %s", name,
              must_contain, err.message);
}

static void test_load_errors(void) {
    const char bad_utf8[] = "good\nfine\nba\xC3(d\n";
    expect_error("utf8.txt", bad_utf8, sizeof bad_utf8 - 1, CRNN_ERR_FORMAT, ":3: not valid UTF-8");
    const char overlong[] = "\xC0\xAF\n"; /* an overlong '/' */
    expect_error("overlong.txt", overlong, sizeof overlong - 1, CRNN_ERR_FORMAT, ":1: not valid UTF-8");
    size_t n = CRNN_LEXICON_MAX_LINE_BYTES + 10;
    char *big = malloc(n + 16);
    memcpy(big, "ok\n", 3);
    memset(big + 3, 'x', n);
    big[3 + n] = '\n';
    expect_error("long.txt", big, n + 4, CRNN_ERR_LIMIT, ":2: line of");
    free(big);
    const char ctrl[] = "a\x01" "b\n";
    expect_error("ctrl.txt", ctrl, sizeof ctrl - 1, CRNN_ERR_FORMAT, ":1: control character U+0001");
    const char inner_tab[] = "a\tb\n";
    expect_error("tab.txt", inner_tab, sizeof inner_tab - 1, CRNN_ERR_FORMAT, "U+0009");
    const char nul[] = "ab\0c\n";
    expect_error("nul.txt", nul, sizeof nul - 1, CRNN_ERR_FORMAT, ":1: NUL byte");
    const char empty[] = "# nothing\n\n";
    expect_error("empty.txt", empty, sizeof empty - 1, CRNN_ERR_FORMAT, "no entries");
    crnn_error err;
    char missing[512];
    snprintf(missing, sizeof missing, "%s/does-not-exist.txt", tmpdir);
    CHECK(crnn_lexicon_load(missing, &err) == NULL && err.code == CRNN_ERR_IO &&
          strstr(err.message, missing));
    /* word lists follow the same rules */
    const char *words[] = {"one", " two ", "one", "", "th\xC3\xA9"};
    crnn_lexicon *lex = crnn_lexicon_from_words(words, 5, &err);
    CHECK_MSG(lex && crnn_lexicon_size(lex) == 3, "%s", lex ? "size" : err.message);
    if (lex) CHECK(crnn_lexicon_find(lex, "two") == 1);
    crnn_lexicon_free(lex);
    const char *bad[] = {"fine", "bro\xFFken"};
    CHECK(crnn_lexicon_from_words(bad, 2, &err) == NULL && err.code == CRNN_ERR_FORMAT &&
          strstr(err.message, "lexicon word 2"));
    CHECK(crnn_lexicon_from_words(bad, 0, &err) == NULL && err.code == CRNN_ERR_ARG);
}

static void random_word(char *w, int max_len, const char *alphabet) {
    int n = test_randint(1, max_len), k = (int)strlen(alphabet);
    for (int i = 0; i < n; i++) w[i] = alphabet[test_randint(0, k - 1)];
    w[n] = 0;
}

static void test_trie_random(void) {
    enum { N = 3000 };
    static char words[N][12];
    const char *ptr[N];
    for (int i = 0; i < N; i++) {
        random_word(words[i], 8, "abcdeAB");
        ptr[i] = words[i];
    }
    crnn_error err;
    crnn_lexicon *lex = crnn_lexicon_from_words(ptr, N, &err);
    CHECK_MSG(lex != NULL, "%s", err.message);
    if (!lex) return;
    /* every word found at the index of its first appearance; sizes agree with a linear scan */
    int distinct = 0;
    for (int i = 0; i < N; i++) {
        int first = i;
        for (int j = 0; j < i; j++)
            if (!strcmp(words[j], words[i])) {
                first = j;
                break;
            }
        if (first == i) distinct++;
        int id = crnn_lexicon_find(lex, words[i]);
        CHECK(id >= 0 && !strcmp(crnn_lexicon_word(lex, id), words[first]));
    }
    CHECK(crnn_lexicon_size(lex) == distinct);
    for (int k = 0; k < 2000; k++) {
        char q[12];
        random_word(q, 9, "abcdeABz");
        int expect = -1;
        for (int i = 0; i < crnn_lexicon_size(lex) && expect < 0; i++)
            if (!strcmp(crnn_lexicon_word(lex, i), q)) expect = i;
        CHECK(crnn_lexicon_find(lex, q) == expect);
    }
    /* the trie's shape: children sorted, word ids in range */
    const trie *t = &lex->trie;
    int ok = 1, words_in_trie = 0;
    for (uint32_t i = 0; i < t->n_nodes; i++) {
        const trie_node *nd = &t->nodes[i];
        if (nd->word >= 0) words_in_trie++;
        for (uint32_t j = 1; j < nd->n_children; j++)
            if (t->nodes[nd->first_child + j - 1].cp >= t->nodes[nd->first_child + j].cp) ok = 0;
    }
    CHECK(ok);
    CHECK(words_in_trie == distinct);
    crnn_lexicon_free(lex);
}

static void test_casefold(void) {
    CHECK(casefold('A') == 'a' && casefold('z') == 'z' && casefold('0') == '0');
    CHECK(casefold(0xC9) == 0xE9);   /* É */
    CHECK(casefold(0xD7) == 0xD7);   /* × is no letter */
    CHECK(casefold(0x100) == 0x101); /* Ā */
    CHECK(casefold(0x141) == 0x142); /* Ł */
    CHECK(casefold(0x17D) == 0x17E); /* Ž */
    CHECK(casefold(0x178) == 0xFF);  /* Ÿ */
    CHECK(casefold(0x394) == 0x3B4); /* Δ */
    CHECK(casefold(0x3C2) == 0x3C3); /* ς */
    CHECK(casefold(0x416) == 0x436); /* Ж */
    CHECK(casefold(0x401) == 0x451); /* Ё */
    CHECK(casefold(0x4E2D) == 0x4E2D);
}

static int dp_distance(const uint32_t *a, int n, const uint32_t *b, int m) {
    static int d[80][80];
    for (int i = 0; i <= n; i++) d[i][0] = i;
    for (int j = 0; j <= m; j++) d[0][j] = j;
    for (int i = 1; i <= n; i++)
        for (int j = 1; j <= m; j++) {
            int v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

static void test_edit_distance(void) {
    const uint32_t alphabet[] = {'a', 'b', 'c', 0xE9, 0x416, 0x4E2D};
    int bad = 0;
    for (int k = 0; k < 3000; k++) {
        uint32_t a[72], b[72];
        int n = k % 10 == 0 ? test_randint(60, 70) : test_randint(0, 12);
        int m = test_randint(0, k % 10 == 0 ? 70 : 12);
        for (int i = 0; i < n; i++) a[i] = alphabet[test_randint(0, 5)];
        for (int i = 0; i < m; i++) b[i] = alphabet[test_randint(0, 5)];
        ed_pattern p;
        ed_pattern_init(&p, a, n);
        int got = ed_distance(&p, b, m), want = dp_distance(a, n, b, m);
        if (got != want && bad++ < 5) fprintf(stderr, "n=%d m=%d: %d vs %d\n", n, m, got, want);
    }
    CHECK(bad == 0);
}

static int folded_distance(const crnn_lexicon *lex, int w, const uint32_t *q, int qn) {
    uint32_t f[80];
    int n = (int)(lex->cp_off[w + 1] - lex->cp_off[w]);
    for (int i = 0; i < n; i++) f[i] = casefold(lex->cp[lex->cp_off[w] + (uint32_t)i]);
    return dp_distance(q, qn, f, n);
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static void test_bktree(void) {
    enum { N = 4000 };
    static char words[N][16];
    const char *ptr[N];
    for (int i = 0; i < N; i++) {
        random_word(words[i], 9, "abcdefghAB");
        ptr[i] = words[i];
    }
    crnn_error err;
    crnn_lexicon *lex = crnn_lexicon_from_words(ptr, N, &err);
    CHECK_MSG(lex != NULL, "%s", err.message);
    if (!lex) return;
    int_vec out = {0}, dist = {0}, stack = {0};
    int mismatches = 0;
    long computed = 0, scans = 0;
    for (int k = 0; k < 200; k++) {
        uint32_t q[16];
        int qn = test_randint(0, 10);
        for (int i = 0; i < qn; i++) q[i] = (uint32_t)("abcdefghij"[test_randint(0, 9)]);
        int delta = k % 5;
        out.n = dist.n = 0;
        long c = bktree_query(&lex->bk, q, qn, delta, &out, &dist, &stack);
        CHECK(c > 0);
        computed += c;
        scans += lex->n_words;
        /* linear scan */
        int expect[N], ne = 0;
        for (int w = 0; w < lex->n_words; w++) {
            if (folded_distance(lex, w, q, qn) <= delta) expect[ne++] = w;
        }
        for (int i = 0; i < out.n; i++) {
            int w = out.v[i];
            if (folded_distance(lex, w, q, qn) != dist.v[i]) mismatches++;
        }
        if (out.n) qsort(out.v, (size_t)out.n, sizeof(int), cmp_int); /* out.v may be NULL */
        if (out.n != ne || (ne && memcmp(out.v, expect, sizeof(int) * (size_t)ne))) mismatches++;
    }
    CHECK(mismatches == 0);
    /* the point of the tree: far fewer distances than a scan at small δ */
    CHECK(computed < scans);
    free(out.v);
    free(dist.v);
    free(stack.v);
    crnn_lexicon_free(lex);
}

static void test_case_forms_in_bktree(void) {
    /* folded forms: "Polish" and "polish" both within 0 of "POLISH" */
    const char *w[] = {"Polish", "polish", "police", "Paris"};
    crnn_error err;
    crnn_lexicon *lex = crnn_lexicon_from_words(w, 4, &err);
    CHECK(lex != NULL);
    if (!lex) return;
    uint32_t q[6] = {'p', 'o', 'l', 'i', 's', 'h'};
    int_vec out = {0}, stack = {0};
    bktree_query(&lex->bk, q, 6, 0, &out, NULL, &stack);
    qsort(out.v, (size_t)out.n, sizeof(int), cmp_int);
    CHECK(out.n == 2 && out.v[0] == 0 && out.v[1] == 1);
    free(out.v);
    free(stack.v);
    crnn_lexicon_free(lex);
}

static void test_map(void) {
    const char tsv[] = "# image<TAB>words\n"
                       "scene1/0001.jpg\tHOTEL,PARIS, New York ,HOTEL\n"
                       "scene1/0002.jpg\tHOTEL,PARIS, New York ,HOTEL\n"
                       "\n"
                       "0003.jpg\tcafe,bar\r\n"
                       "a/dup.jpg\tone\n"
                       "b/dup.jpg\ttwo\n"
                       "c/same.jpg\tthree\n"
                       "d/same.jpg\tthree\n";
    crnn_error err;
    crnn_lexicon_map *map = crnn_lexicon_map_load(write_tmp("map.tsv", tsv, sizeof tsv - 1), &err);
    CHECK_MSG(map != NULL, "%s", err.message);
    if (!map) return;
    CHECK(crnn_lexicon_map_size(map) == 7);
    const crnn_lexicon *a = crnn_lexicon_map_find(map, "scene1/0001.jpg");
    const crnn_lexicon *b = crnn_lexicon_map_find(map, "/data/svt/0002.jpg"); /* by file name */
    CHECK(a != NULL && a == b); /* the same list: one shared lexicon */
    CHECK(a && crnn_lexicon_size(a) == 3 && crnn_lexicon_find(a, "New York") == 2);
    const crnn_lexicon *c = crnn_lexicon_map_find(map, "elsewhere/0003.jpg");
    CHECK(c && crnn_lexicon_size(c) == 2 && crnn_lexicon_find(c, "bar") == 1);
    CHECK(crnn_lexicon_map_find(map, "0003.jpg") == c);
    CHECK(crnn_lexicon_map_find(map, "0004.jpg") == NULL);
    CHECK(crnn_lexicon_map_find(map, "a/dup.jpg") != NULL);
    CHECK(crnn_lexicon_map_find(map, "x/dup.jpg") == NULL); /* ambiguous file name */
    CHECK(crnn_lexicon_map_find(map, "x/same.jpg") != NULL); /* same list: not ambiguous */
    crnn_lexicon_map_free(map);

    const char notab[] = "0001.jpg\tA,B\n0002.jpg A,B\n";
    map = crnn_lexicon_map_load(write_tmp("bad.tsv", notab, sizeof notab - 1), &err);
    CHECK(map == NULL && err.code == CRNN_ERR_FORMAT && strstr(err.message, "bad.tsv:2"));
    const char badword[] = "0001.jpg\tA,B\xFF\n";
    map = crnn_lexicon_map_load(write_tmp("bad2.tsv", badword, sizeof badword - 1), &err);
    CHECK(map == NULL && err.code == CRNN_ERR_FORMAT && strstr(err.message, "bad2.tsv:1: word 2"));
    const char conflict[] = "x.jpg\tA\nx.jpg\tB\n";
    map = crnn_lexicon_map_load(write_tmp("bad3.tsv", conflict, sizeof conflict - 1), &err);
    CHECK(map == NULL && strstr(err.message, "bad3.tsv:2") && strstr(err.message, "line 1"));
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_lexicon.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_load);
    RUN(test_load_errors);
    RUN(test_trie_random);
    RUN(test_casefold);
    RUN(test_edit_distance);
    RUN(test_bktree);
    RUN(test_case_forms_in_bktree);
    RUN(test_map);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    TEST_EXIT();
}

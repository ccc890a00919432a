/* bktree.c — Levenshtein distance over code points and the BK-tree over the lexicon. */
#include <stdlib.h>
#include <string.h>

#include "lexicon/bktree.h"
#include "util/util.h"

int int_vec_push(int_vec *v, int x) {
    if (v->n == v->cap) {
        int cap = v->cap ? v->cap * 2 : 256;
        int *p = realloc(v->v, sizeof(int) * (size_t)cap);
        if (!p) return 0;
        v->v = p;
        v->cap = cap;
    }
    v->v[v->n++] = x;
    return 1;
}

void ed_pattern_init(ed_pattern *p, const uint32_t *s, int n) {
    p->s = s;
    p->n = n;
    p->n_other = 0;
    if (n > 64) return; /* the dynamic-programming path needs no masks */
    memset(p->ascii, 0, sizeof p->ascii);
    for (int i = 0; i < n; i++) {
        uint64_t bit = 1ull << i;
        if (s[i] < 128) {
            p->ascii[s[i]] |= bit;
            continue;
        }
        int j = 0;
        while (j < p->n_other && p->other_cp[j] != s[i]) j++;
        if (j == p->n_other) {
            p->other_cp[j] = s[i];
            p->other_mask[j] = 0;
            p->n_other++;
        }
        p->other_mask[j] |= bit;
    }
}

static inline uint64_t peq(const ed_pattern *p, uint32_t c) {
    if (c < 128) return p->ascii[c];
    for (int j = 0; j < p->n_other; j++)
        if (p->other_cp[j] == c) return p->other_mask[j];
    return 0;
}

/* The textbook O(n·m) recurrence, one row; for patterns longer than a machine word. */
static int ed_dp(const uint32_t *a, int n, const uint32_t *b, int m) {
    int row[CRNN_LEXICON_MAX_LINE_BYTES + 1];
    int *r = row, *heap = NULL;
    if (n > CRNN_LEXICON_MAX_LINE_BYTES) {
        heap = malloc(sizeof(int) * (size_t)(n + 1));
        if (!heap) return n > m ? n : m; /* an upper bound; only reachable past the limits */
        r = heap;
    }
    for (int i = 0; i <= n; i++) r[i] = i;
    for (int j = 1; j <= m; j++) {
        int diag = r[0];
        r[0] = j;
        for (int i = 1; i <= n; i++) {
            int up = r[i];
            int v = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < v) v = up + 1;
            if (r[i - 1] + 1 < v) v = r[i - 1] + 1;
            r[i] = v;
            diag = up;
        }
    }
    int d = r[n];
    free(heap);
    return d;
}

int ed_distance(const ed_pattern *p, const uint32_t *t, int m) {
    int n = p->n;
    if (n == 0) return m;
    if (n > 64) return ed_dp(p->s, n, t, m);
    /* Myers 1999 / Hyyrö 2001: the vertical deltas of one DP column as bit vectors. */
    uint64_t pv = n == 64 ? ~0ull : (1ull << n) - 1, mv = 0, high = 1ull << (n - 1);
    int score = n;
    for (int j = 0; j < m; j++) {
        uint64_t eq = peq(p, t[j]);
        uint64_t xv = eq | mv;
        uint64_t xh = (((eq & pv) + pv) ^ pv) | eq;
        uint64_t ph = mv | ~(xh | pv);
        uint64_t mh = pv & xh;
        if (ph & high) score++;
        else if (mh & high) score--;
        ph = (ph << 1) | 1; /* row 0 of the DP grows by one per column */
        mh <<= 1;
        pv = mh | ~(xv | ph);
        mv = ph & xv;
    }
    return score;
}

crnn_status bktree_build(bktree *t, int n, const uint32_t *words, const uint32_t *off,
                         crnn_error *err) {
    memset(t, 0, sizeof *t);
    t->root = -1;
    if (n == 0) return CRNN_OK;
    t->nodes = malloc(sizeof(bk_node) * (size_t)n);
    int *order = malloc(sizeof(int) * (size_t)n);
    if (!t->nodes || !order) {
        free(t->nodes);
        free(order);
        t->nodes = NULL;
        return set_error(err, CRNN_ERR_NOMEM, "out of memory building the lexicon BK-tree");
    }
    /* Inserted in a fixed pseudo-random order: a sorted word list would make the first levels
       all near-identical words and the tree deep. */
    rng_t rng;
    rng_seed(&rng, 0x6c657869636f6eull, 1);
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(rng_u32(&rng) % (uint32_t)(i + 1));
        int tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    for (int i = 0; i < n; i++) t->nodes[i] = (bk_node){-1, -1, 0};
    t->root = order[0];
    t->n = n;
    ed_pattern pat;
    for (int i = 1; i < n; i++) {
        int w = order[i];
        ed_pattern_init(&pat, words + off[w], (int)(off[w + 1] - off[w]));
        int node = t->root;
        for (;;) {
            int d = ed_distance(&pat, words + off[node], (int)(off[node + 1] - off[node]));
            int c = t->nodes[node].first_child;
            while (c >= 0 && t->nodes[c].key != d) c = t->nodes[c].next_sibling;
            if (c < 0) {
                t->nodes[w].key = d;
                t->nodes[w].next_sibling = t->nodes[node].first_child;
                t->nodes[node].first_child = w;
                break;
            }
            node = c;
        }
    }
    free(order);
    return CRNN_OK;
}

void bktree_free(bktree *t) {
    free(t->nodes);
    memset(t, 0, sizeof *t);
    t->root = -1;
}

long bktree_query(const bktree *t, const uint32_t *words, const uint32_t *off, const uint32_t *q,
                  int qn, int max_dist, int_vec *out, int_vec *dist, int_vec *stack) {
    if (t->root < 0 || max_dist < 0) return 0;
    ed_pattern pat;
    ed_pattern_init(&pat, q, qn);
    long computed = 0;
    stack->n = 0;
    if (!int_vec_push(stack, t->root)) return -1;
    while (stack->n) {
        int node = stack->v[--stack->n];
        int d = ed_distance(&pat, words + off[node], (int)(off[node + 1] - off[node]));
        computed++;
        if (d <= max_dist && (!int_vec_push(out, node) || (dist && !int_vec_push(dist, d))))
            return -1;
        for (int c = t->nodes[node].first_child; c >= 0; c = t->nodes[c].next_sibling) {
            int k = t->nodes[c].key;
            if (k >= d - max_dist && k <= d + max_dist && !int_vec_push(stack, c)) return -1;
        }
    }
    return computed;
}

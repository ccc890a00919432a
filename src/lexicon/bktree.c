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

/* The tree while it is built: linked children, indexed by word id. */
typedef struct {
    int32_t first_child, next_sibling, key;
} link_node;

static int by_key(const void *a, const void *b, const link_node *nodes) {
    int x = nodes[*(const int *)a].key, y = nodes[*(const int *)b].key;
    return (x > y) - (x < y);
}

crnn_status bktree_build(bktree *t, int n, const uint32_t *words, const uint32_t *off,
                         crnn_error *err) {
    memset(t, 0, sizeof *t);
    if (n <= 0) return CRNN_OK;
    link_node *ln = malloc(sizeof(link_node) * (size_t)n);
    int *order = malloc(sizeof(int) * (size_t)n);
    t->nodes = malloc(sizeof(bk_node) * (size_t)n);
    t->cps = malloc(sizeof(uint32_t) * (off[n] ? off[n] : 1));
    if (!ln || !order || !t->nodes || !t->cps) {
        free(ln);
        free(order);
        bktree_free(t);
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
    for (int i = 0; i < n; i++) ln[i] = (link_node){-1, -1, 0};
    const int root = order[0];
    ed_pattern pat;
    for (int i = 1; i < n; i++) {
        int w = order[i];
        ed_pattern_init(&pat, words + off[w], (int)(off[w + 1] - off[w]));
        int node = root;
        for (;;) {
            int d = ed_distance(&pat, words + off[node], (int)(off[node + 1] - off[node]));
            int c = ln[node].first_child;
            while (c >= 0 && ln[c].key != d) c = ln[c].next_sibling;
            if (c < 0) {
                ln[w].key = d;
                ln[w].next_sibling = ln[node].first_child;
                ln[node].first_child = w;
                break;
            }
            node = c;
        }
    }
    /* Lay out breadth-first: order[] becomes the queue of word ids. */
    order[0] = root;
    int tail = 1;
    uint32_t cp = 0;
    for (int i = 0; i < n; i++) {
        int w = order[i], first = tail;
        for (int c = ln[w].first_child; c >= 0; c = ln[c].next_sibling) order[tail++] = c;
        /* children by key, insertion sort: a node has at most a few dozen */
        for (int a = first + 1; a < tail; a++) {
            int x = order[a], b = a - 1;
            while (b >= first && by_key(&order[b], &x, ln) > 0) {
                order[b + 1] = order[b];
                b--;
            }
            order[b + 1] = x;
        }
        int len = (int)(off[w + 1] - off[w]);
        memcpy(t->cps + cp, words + off[w], sizeof(uint32_t) * (size_t)len);
        t->nodes[i] = (bk_node){(uint32_t)first, (uint32_t)w, cp, (uint16_t)(tail - first),
                                (uint16_t)ln[w].key, (uint16_t)len};
        cp += (uint32_t)len;
    }
    t->n = n;
    free(ln);
    free(order);
    return CRNN_OK;
}

void bktree_free(bktree *t) {
    free(t->nodes);
    free(t->cps);
    memset(t, 0, sizeof *t);
}

long bktree_query(const bktree *t, const uint32_t *q, int qn, int max_dist, int_vec *out,
                  int_vec *dist, int_vec *stack) {
    if (t->n == 0 || max_dist < 0) return 0;
    ed_pattern pat;
    ed_pattern_init(&pat, q, qn);
    long computed = 0;
    stack->n = 0;
    if (!int_vec_push(stack, 0)) return -1;
    while (stack->n) {
        const bk_node *nd = &t->nodes[stack->v[--stack->n]];
        /* The length difference bounds the distance from below: when even that is too far
           for the node and for every child key, the distance is not needed at all. */
        int lb = nd->len > qn ? nd->len - qn : qn - nd->len;
        int max_key = nd->n_children ? t->nodes[nd->first_child + nd->n_children - 1u].key : -1;
        if (lb > max_dist && (max_key < 0 || lb > max_key + max_dist)) continue;
        int d = ed_distance(&pat, t->cps + nd->cp_off, nd->len);
        computed++;
        if (d <= max_dist &&
            (!int_vec_push(out, (int)nd->word) || (dist && !int_vec_push(dist, d))))
            return -1;
        /* children sorted by key: only those with |key − d| ≤ max_dist can hold matches */
        const bk_node *c = &t->nodes[nd->first_child], *end = c + nd->n_children;
        while (c < end && c->key < d - max_dist) c++;
        for (; c < end && c->key <= d + max_dist; c++)
            if (!int_vec_push(stack, (int)(c - t->nodes))) return -1;
    }
    return computed;
}

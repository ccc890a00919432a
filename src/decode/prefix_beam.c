/* prefix_beam.c — CTC prefix beam search, free or under a pattern (prefix_beam.h).

   Every frame, each kept prefix is extended by a blank, by its last label repeated (same
   prefix), and by every other class that is not negligible in this frame; the probabilities
   of the paths that collapse to the same prefix are summed, separately for paths ending in a
   blank (pb) and in a label (pnb), because a repeated label only starts a new character after
   a blank. Prefixes are nodes of a tree that grows as the search goes (parent + label), found
   again through a hash of (parent, label), so a prefix is identified in O(1) without comparing
   label strings. Values live in probability space, divided each frame by the best beam's
   total: exact (a common factor changes no comparison) and free of underflow. Under a
   pattern each node also carries its pattern state, and the pattern is deterministic, so
   (parent, label) still names one prefix. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/prefix_beam.h"
#include "lm/charlm.h"

typedef struct {
    int parent, label, len;
    int state;        /* under a pattern: its state after this prefix */
    uint32_t context; /* with a language model: its context after this prefix */
    double lm;        /* and weight × log p_lm + bonus × len of the prefix */
} pnode;

struct prefix_beam {
    pnode *nodes;
    double *npb, *npnb; /* per node: next frame's probabilities being summed */
    int *stamp;         /* per node: the frame npb/npnb belong to (1-based) */
    int *renumber;      /* per node, while compacting: its new id, or -1 */
    int n_nodes, cap_nodes;
    int compact_nodes;  /* 0: PREFIX_BEAM_COMPACT_NODES */
    uint64_t *hkey; /* child hash: (parent << 32 | label) + 1, 0 = empty */
    int *hval;
    size_t hcap, hcount;
    int *touched;
    int cap_touched;
    int beam[PREFIX_BEAM_MAX_WIDTH];
    double pb[PREFIX_BEAM_MAX_WIDTH], pnb[PREFIX_BEAM_MAX_WIDTH];
    double *prob, *scratch_prob;
    int *cand;
    uint8_t *tried; /* per class: worth trying as an extension in this frame */
    int cap_c;
    int *per_state_count; /* under a pattern: prefixes kept per state in this frame */
    int cap_states;
    struct ranked *ranked; /* under a pattern: the touched nodes, best first */
    int cap_ranked;
    const lm_fusion *fusion; /* of the decoding under way, or NULL */
};

prefix_beam *prefix_beam_new(void) { return calloc(1, sizeof(prefix_beam)); }

void prefix_beam_set_compact_nodes(prefix_beam *b, int nodes) { b->compact_nodes = nodes; }

void prefix_beam_free(prefix_beam *b) {
    if (!b) return;
    free(b->nodes);
    free(b->npb);
    free(b->npnb);
    free(b->stamp);
    free(b->renumber);
    free(b->hkey);
    free(b->hval);
    free(b->touched);
    free(b->prob);
    free(b->scratch_prob);
    free(b->cand);
    free(b->tried);
    free(b->per_state_count);
    free(b->ranked);
    free(b);
}

static int grow_nodes(prefix_beam *b) {
    int cap = b->cap_nodes ? b->cap_nodes * 2 : 1024;
    pnode *n = realloc(b->nodes, sizeof(pnode) * (size_t)cap);
    if (!n) return 0;
    b->nodes = n;
    double *p = realloc(b->npb, sizeof(double) * (size_t)cap);
    if (!p) return 0;
    b->npb = p;
    p = realloc(b->npnb, sizeof(double) * (size_t)cap);
    if (!p) return 0;
    b->npnb = p;
    int *s = realloc(b->stamp, sizeof(int) * (size_t)cap);
    if (!s) return 0;
    b->stamp = s;
    s = realloc(b->renumber, sizeof(int) * (size_t)cap);
    if (!s) return 0;
    b->renumber = s;
    b->cap_nodes = cap;
    return 1;
}

static size_t hash_slot(uint64_t key, size_t cap) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return (size_t)key & (cap - 1);
}

static int hash_grow(prefix_beam *b) {
    size_t cap = b->hcap ? b->hcap * 2 : 4096;
    uint64_t *k = calloc(cap, sizeof(uint64_t));
    int *v = malloc(sizeof(int) * cap);
    if (!k || !v) {
        free(k);
        free(v);
        return 0;
    }
    for (size_t i = 0; i < b->hcap; i++) {
        if (!b->hkey[i]) continue;
        size_t j = hash_slot(b->hkey[i], cap);
        while (k[j]) j = (j + 1) & (cap - 1);
        k[j] = b->hkey[i];
        v[j] = b->hval[i];
    }
    free(b->hkey);
    free(b->hval);
    b->hkey = k;
    b->hval = v;
    b->hcap = cap;
    return 1;
}

/* The node of prefix (parent, label), created if new; -1 if out of memory. */
static int child_of(prefix_beam *b, int parent, int label, int state) {
    if (2 * (b->hcount + 1) > b->hcap && !hash_grow(b)) return -1;
    uint64_t key = ((uint64_t)(uint32_t)parent << 32 | (uint32_t)label) + 1;
    size_t j = hash_slot(key, b->hcap);
    while (b->hkey[j]) {
        if (b->hkey[j] == key) return b->hval[j];
        j = (j + 1) & (b->hcap - 1);
    }
    if (b->n_nodes == b->cap_nodes && !grow_nodes(b)) return -1;
    int id = b->n_nodes++;
    const pnode *up = &b->nodes[parent];
    pnode nd = {parent, label, up->len + 1, state, 0, 0};
    const lm_fusion *f = b->fusion;
    if (f) { /* a letter continues the word; anything else ends it (if one was begun) */
        const int symbol = f->symbol[label];
        double lp = 0;
        if (symbol || up->context & 31) lp = charlm_log_prob(f->lm, up->context, symbol);
        nd.context = charlm_next_context(f->lm, up->context, symbol);
        nd.lm = up->lm + f->weight * lp + f->bonus;
    }
    b->nodes[id] = nd;
    b->stamp[id] = 0;
    b->hkey[j] = key;
    b->hval[j] = id;
    b->hcount++;
    return id;
}

/* The tree only grows, by up to width × classes nodes a frame, though only the kept prefixes
   and their ancestors can be extended again. On a long line whose frames all look alike
   (thousands of frames, dozens of classes worth trying) it would reach millions of nodes and a
   hash table that lives in cache misses; once it passes PREFIX_BEAM_COMPACT_NODES and has
   doubled since, the tree is rebuilt from the kept prefixes alone. Nodes keep their order
   (parents before children, ties broken the same), so results do not change. */
#define PREFIX_BEAM_COMPACT_NODES 65536

static void compact(prefix_beam *b, int n_beam) {
    for (int i = 0; i < b->n_nodes; i++) b->renumber[i] = -1;
    for (int i = 0; i < n_beam; i++)
        for (int node = b->beam[i]; node >= 0 && b->renumber[node] < 0; node = b->nodes[node].parent)
            b->renumber[node] = 0; /* kept; numbered below */
    int n = 0;
    for (int i = 0; i < b->n_nodes; i++) {
        if (b->renumber[i] < 0) continue;
        pnode nd = b->nodes[i];
        if (nd.parent >= 0) nd.parent = b->renumber[nd.parent];
        b->renumber[i] = n;
        b->nodes[n] = nd;
        b->stamp[n] = 0;
        n++;
    }
    for (int i = 0; i < n_beam; i++) b->beam[i] = b->renumber[b->beam[i]];
    b->n_nodes = n;
    memset(b->hkey, 0, sizeof(uint64_t) * b->hcap);
    b->hcount = 0;
    for (int id = 1; id < n; id++) { /* node 0, the empty prefix, is nobody's child */
        uint64_t key = ((uint64_t)(uint32_t)b->nodes[id].parent << 32 | (uint32_t)b->nodes[id].label) + 1;
        size_t j = hash_slot(key, b->hcap);
        while (b->hkey[j]) j = (j + 1) & (b->hcap - 1);
        b->hkey[j] = key;
        b->hval[j] = id;
        b->hcount++;
    }
}

/* Adds to node's sums for frame `stamp`, recording it as touched the first time. */
static int add(prefix_beam *b, int node, int stamp, double pb, double pnb, int *n_touched) {
    if (b->stamp[node] != stamp) {
        if (*n_touched == b->cap_touched) {
            int cap = b->cap_touched ? b->cap_touched * 2 : 1024;
            int *t = realloc(b->touched, sizeof(int) * (size_t)cap);
            if (!t) return 0;
            b->touched = t;
            b->cap_touched = cap;
        }
        b->touched[(*n_touched)++] = node;
        b->stamp[node] = stamp;
        b->npb[node] = 0;
        b->npnb[node] = 0;
    }
    b->npb[node] += pb;
    b->npnb[node] += pnb;
    return 1;
}

/* Selection: the k-th largest of v[0..n) (1 ≤ k ≤ n), reordering v. */
static double kth_largest(double *v, int n, int k) {
    int lo = 0, hi = n - 1, want = k - 1;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] > pivot) i++;
            while (v[j] < pivot) j--;
            if (i <= j) {
                double tmp = v[i];
                v[i++] = v[j];
                v[j--] = tmp;
            }
        }
        if (want <= j) hi = j;
        else if (want >= i) lo = i;
        else return v[want];
    }
    return v[want];
}

/* Only the PREFIX_BEAM_MAX_CLASSES likeliest of the nc candidates stay (those tied with the
   last one too), in class order. */
static int keep_likeliest_classes(prefix_beam *b, int nc) {
    for (int j = 0; j < nc; j++) b->scratch_prob[j] = b->prob[b->cand[j]];
    double floor = kth_largest(b->scratch_prob, nc, PREFIX_BEAM_MAX_CLASSES);
    int kept = 0;
    for (int j = 0; j < nc; j++) {
        int k = b->cand[j];
        b->tried[k] = b->prob[k] >= floor;
        if (b->tried[k]) b->cand[kept++] = k;
    }
    return kept;
}

/* Heap order: a is "worse" than b (lower total, with the language model's score when there
   is one; on a tie, the later-created node). */
static int worse(const prefix_beam *b, int x, int y) {
    double tx = b->npb[x] + b->npnb[x], ty = b->npb[y] + b->npnb[y];
    if (b->fusion) {
        tx = log(tx) + b->nodes[x].lm;
        ty = log(ty) + b->nodes[y].lm;
    }
    return tx < ty || (tx == ty && x > y);
}

static void sift_down(const prefix_beam *b, int *heap, int n, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(b, heap[l], heap[m])) m = l;
        if (r < n && worse(b, heap[r], heap[m])) m = r;
        if (m == i) return;
        int tmp = heap[i];
        heap[i] = heap[m];
        heap[m] = tmp;
        i = m;
    }
}

/* Keeps the `width` best of the touched nodes in b->beam: a min-heap of the best seen so far. */
static int keep_best(prefix_beam *b, int n_touched, int width) {
    int *heap = b->beam, n = 0;
    for (int i = 0; i < n_touched; i++) {
        int node = b->touched[i];
        if (n < width) {
            heap[n++] = node;
            for (int j = n / 2 - 1; n == width && j >= 0; j--) sift_down(b, heap, n, j);
        } else if (worse(b, heap[0], node)) {
            heap[0] = node;
            sift_down(b, heap, n, 0);
        }
    }
    return n;
}

typedef struct ranked {
    double total;
    int node;
} ranked;

static int best_first(const void *x, const void *y) {
    const ranked *a = x, *c = y;
    if (a->total != c->total) return a->total < c->total ? 1 : -1;
    return (a->node > c->node) - (a->node < c->node); /* ties: the earlier-created node */
}

/* Under a pattern: the best touched nodes, at most per_state of them in one pattern state. */
static int keep_best_per_state(prefix_beam *b, int n_touched, int width, int per_state) {
    if (n_touched > b->cap_ranked) {
        ranked *r = realloc(b->ranked, sizeof *r * (size_t)n_touched);
        if (!r) return -1;
        b->ranked = r;
        b->cap_ranked = n_touched;
    }
    for (int i = 0; i < n_touched; i++) {
        int node = b->touched[i];
        b->ranked[i] = (ranked){b->npb[node] + b->npnb[node], node};
    }
    qsort(b->ranked, (size_t)n_touched, sizeof(ranked), best_first);
    int n = 0;
    for (int i = 0; i < n_touched && n < width; i++) {
        int node = b->ranked[i].node, st = b->nodes[node].state;
        if (b->per_state_count[st] >= per_state) continue;
        b->per_state_count[st]++;
        b->beam[n++] = node;
    }
    for (int i = 0; i < n; i++) b->per_state_count[b->nodes[b->beam[i]].state] = 0;
    return n;
}

/* With a language model, the score a finished prefix is chosen by: its last word closed. */
static double final_score(const prefix_beam *b, int node, double total) {
    const lm_fusion *f = b->fusion;
    if (!f) return total;
    const pnode *nd = &b->nodes[node];
    double end = nd->context & 31 ? f->weight * charlm_log_prob(f->lm, nd->context, 0) : 0;
    return log(total) + nd->lm + end;
}

int prefix_beam_decode(prefix_beam *b, const float *lp, int T, int C, int width,
                       const pattern_edges *pattern, int per_state, const lm_fusion *fusion,
                       int *labels, int max, double *log_prob) {
    b->fusion = pattern ? NULL : fusion;
    if (width < 1) width = 1;
    if (width > PREFIX_BEAM_MAX_WIDTH) width = PREFIX_BEAM_MAX_WIDTH;
    if (per_state < 1) per_state = 1;
    if (C > b->cap_c) {
        double *p = realloc(b->prob, sizeof(double) * (size_t)C);
        if (p) b->prob = p;
        double *q = realloc(b->scratch_prob, sizeof(double) * (size_t)C);
        if (q) b->scratch_prob = q;
        int *c = realloc(b->cand, sizeof(int) * (size_t)C);
        if (c) b->cand = c;
        uint8_t *tr = realloc(b->tried, (size_t)C);
        if (tr) b->tried = tr;
        if (!p || !q || !c || !tr) return -1;
        b->cap_c = C;
    }
    if (pattern && pattern->n_states > b->cap_states) {
        int *cnt = realloc(b->per_state_count, sizeof(int) * (size_t)pattern->n_states);
        if (!cnt) return -1;
        b->per_state_count = cnt;
        b->cap_states = pattern->n_states;
    }
    if (pattern) memset(b->per_state_count, 0, sizeof(int) * (size_t)pattern->n_states);
    /* a fresh tree each call: node 0 is the empty prefix */
    b->n_nodes = 0;
    if (b->hcap > 65536 && b->hcount < b->hcap / 16) { /* a long input left it big: shrink */
        free(b->hkey);
        free(b->hval);
        b->hkey = NULL;
        b->hval = NULL;
        b->hcap = 0;
    }
    b->hcount = 0;
    if (b->hcap) memset(b->hkey, 0, sizeof(uint64_t) * b->hcap);
    if (!b->cap_nodes && !grow_nodes(b)) return -1;
    b->nodes[0] = (pnode){-1, 0, 0, pattern ? pattern->start : 0, 0, 0};
    b->stamp[0] = 0;
    b->n_nodes = 1;
    int n_beam = 1;
    b->beam[0] = 0;
    b->pb[0] = 1;
    b->pnb[0] = 0;
    double log_scale = 0;
    int compacted_to = 0;
    const int compact_above = b->compact_nodes > 0 ? b->compact_nodes : PREFIX_BEAM_COMPACT_NODES;
    for (int t = 0; t < T; t++) {
        const float *row = lp + (size_t)t * C;
        double pmax = 0;
        for (int k = 0; k < C; k++) {
            b->prob[k] = exp((double)row[k]);
            if (b->prob[k] > pmax) pmax = b->prob[k];
        }
        int nc = 0;
        for (int k = 1; k < C; k++) {
            b->tried[k] = b->prob[k] > 0 && b->prob[k] >= pmax * PREFIX_BEAM_PRUNE;
            if (b->tried[k]) b->cand[nc++] = k;
        }
        if (nc > PREFIX_BEAM_MAX_CLASSES) nc = keep_likeliest_classes(b, nc);
        int stamp = t + 1, n_touched = 0;
        for (int i = 0; i < n_beam; i++) {
            int node = b->beam[i];
            double pb = b->pb[i], pnb = b->pnb[i], total = pb + pnb;
            int last = b->nodes[node].label;
            if (!add(b, node, stamp, total * b->prob[0], 0, &n_touched)) return -1;
            if (node != 0 && !add(b, node, stamp, 0, pnb * b->prob[last], &n_touched)) return -1;
            /* the extensions: every class worth trying, or under a pattern the edges of the
               prefix's state that are */
            int st = b->nodes[node].state;
            int from = pattern ? pattern->edge_start[st] : 0;
            int to = pattern ? pattern->edge_start[st + 1] : nc;
            for (int j = from; j < to; j++) {
                int k = pattern ? pattern->edge_cls[j] : b->cand[j];
                if (pattern && (k >= C || !b->tried[k])) continue;
                int child = child_of(b, node, k, pattern ? pattern->edge_next[j] : 0);
                if (child < 0) return -1;
                /* the same label again starts a new character only after a blank */
                double p = (k == last ? pb : total) * b->prob[k];
                if (!add(b, child, stamp, 0, p, &n_touched)) return -1;
            }
        }
        int n = pattern ? keep_best_per_state(b, n_touched, width, per_state)
                        : keep_best(b, n_touched, width);
        if (n < 0) return -1;
        double best = 0;
        for (int i = 0; i < n; i++) {
            double tot = b->npb[b->beam[i]] + b->npnb[b->beam[i]];
            if (tot > best) best = tot;
        }
        if (!(best > 0)) { /* every path impossible (-inf log-probabilities): nothing to read */
            if (log_prob) *log_prob = -INFINITY;
            return pattern ? -2 : 0;
        }
        for (int i = 0; i < n; i++) {
            b->pb[i] = b->npb[b->beam[i]] / best;
            b->pnb[i] = b->npnb[b->beam[i]] / best;
        }
        n_beam = n;
        log_scale += log(best);
        if (b->n_nodes > compact_above && b->n_nodes > 2 * compacted_to) {
            compact(b, n_beam);
            compacted_to = b->n_nodes;
        }
    }
    int bi = -1;
    for (int i = 0; i < n_beam; i++) {
        if (pattern && !pattern_edges_accepting(pattern, b->nodes[b->beam[i]].state)) continue;
        double ti = final_score(b, b->beam[i], b->pb[i] + b->pnb[i]);
        double tb = bi < 0 ? -INFINITY : final_score(b, b->beam[bi], b->pb[bi] + b->pnb[bi]);
        if (bi < 0 || ti > tb || (ti == tb && b->beam[i] < b->beam[bi])) bi = i;
    }
    if (bi < 0) {
        if (log_prob) *log_prob = -INFINITY;
        return -2;
    }
    if (log_prob) *log_prob = log(b->pb[bi] + b->pnb[bi]) + log_scale;
    int node = b->beam[bi], len = b->nodes[node].len;
    for (int i = len - 1; i >= 0; i--) {
        if (i < max) labels[i] = b->nodes[node].label;
        node = b->nodes[node].parent;
    }
    return len < max ? len : max;
}

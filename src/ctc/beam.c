/* beam.c — CTC prefix beam search (Graves 2012 §7.5; Hannun et al. 2014, lexicon-free).

   Every frame, each kept prefix is extended by a blank, by its last label repeated (same
   prefix), and by every other class that is not negligible in this frame; the probabilities
   of the paths that collapse to the same prefix are summed, separately for paths ending in a
   blank (pb) and in a label (pnb), because a repeated label only starts a new character after
   a blank. Prefixes are nodes of a tree that grows as the search goes (parent + label), found
   again through a hash of (parent, label), so a prefix is identified in O(1) without comparing
   label strings. Values live in probability space, divided each frame by the best beam's
   total: exact (a common factor changes no comparison) and free of underflow. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctc/ctc.h"

typedef struct {
    int parent, label, len;
} pnode;

struct ctc_beam {
    pnode *nodes;
    double *npb, *npnb; /* per node: next frame's probabilities being summed */
    int *stamp;         /* per node: the frame npb/npnb belong to (1-based) */
    int n_nodes, cap_nodes;
    uint64_t *hkey; /* child hash: (parent << 32 | label) + 1, 0 = empty */
    int *hval;
    size_t hcap, hcount;
    int *touched;
    int cap_touched;
    int beam[CTC_BEAM_MAX_WIDTH];
    double pb[CTC_BEAM_MAX_WIDTH], pnb[CTC_BEAM_MAX_WIDTH];
    double *prob;
    int *cand;
    int cap_c;
};

ctc_beam *ctc_beam_new(void) { return calloc(1, sizeof(ctc_beam)); }

void ctc_beam_free(ctc_beam *b) {
    if (!b) return;
    free(b->nodes);
    free(b->npb);
    free(b->npnb);
    free(b->stamp);
    free(b->hkey);
    free(b->hval);
    free(b->touched);
    free(b->prob);
    free(b->cand);
    free(b);
}

static int grow_nodes(ctc_beam *b) {
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
    b->cap_nodes = cap;
    return 1;
}

static size_t hash_slot(uint64_t key, size_t cap) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return (size_t)key & (cap - 1);
}

static int hash_grow(ctc_beam *b) {
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
static int child_of(ctc_beam *b, int parent, int label) {
    if (2 * (b->hcount + 1) > b->hcap && !hash_grow(b)) return -1;
    uint64_t key = ((uint64_t)(uint32_t)parent << 32 | (uint32_t)label) + 1;
    size_t j = hash_slot(key, b->hcap);
    while (b->hkey[j]) {
        if (b->hkey[j] == key) return b->hval[j];
        j = (j + 1) & (b->hcap - 1);
    }
    if (b->n_nodes == b->cap_nodes && !grow_nodes(b)) return -1;
    int id = b->n_nodes++;
    b->nodes[id] = (pnode){parent, label, b->nodes[parent].len + 1};
    b->stamp[id] = 0;
    b->hkey[j] = key;
    b->hval[j] = id;
    b->hcount++;
    return id;
}

/* Adds to node's sums for frame `stamp`, recording it as touched the first time. */
static int add(ctc_beam *b, int node, int stamp, double pb, double pnb, int *n_touched) {
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

/* Heap order: a is "worse" than b (lower total; on a tie, the later-created node). */
static int worse(const ctc_beam *b, int x, int y) {
    double tx = b->npb[x] + b->npnb[x], ty = b->npb[y] + b->npnb[y];
    return tx < ty || (tx == ty && x > y);
}

static void sift_down(const ctc_beam *b, int *heap, int n, int i) {
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

int ctc_beam_decode(ctc_beam *b, const float *lp, int T, int C, int width, int *labels, int max,
                    double *log_prob) {
    if (width < 1) width = 1;
    if (width > CTC_BEAM_MAX_WIDTH) width = CTC_BEAM_MAX_WIDTH;
    if (C > b->cap_c) {
        double *p = realloc(b->prob, sizeof(double) * (size_t)C);
        if (p) b->prob = p;
        int *c = realloc(b->cand, sizeof(int) * (size_t)C);
        if (c) b->cand = c;
        if (!p || !c) return -1;
        b->cap_c = C;
    }
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
    b->nodes[0] = (pnode){-1, 0, 0};
    b->stamp[0] = 0;
    b->n_nodes = 1;
    int n_beam = 1;
    b->beam[0] = 0;
    b->pb[0] = 1;
    b->pnb[0] = 0;
    double log_scale = 0;
    for (int t = 0; t < T; t++) {
        const float *row = lp + (size_t)t * C;
        double pmax = 0;
        for (int k = 0; k < C; k++) {
            b->prob[k] = exp((double)row[k]);
            if (b->prob[k] > pmax) pmax = b->prob[k];
        }
        int nc = 0;
        for (int k = 1; k < C; k++)
            if (b->prob[k] >= pmax * CTC_BEAM_PRUNE) b->cand[nc++] = k;
        int stamp = t + 1, n_touched = 0;
        for (int i = 0; i < n_beam; i++) {
            int node = b->beam[i];
            double pb = b->pb[i], pnb = b->pnb[i], total = pb + pnb;
            int last = b->nodes[node].label;
            if (!add(b, node, stamp, total * b->prob[0], 0, &n_touched)) return -1;
            if (node != 0 && !add(b, node, stamp, 0, pnb * b->prob[last], &n_touched)) return -1;
            for (int j = 0; j < nc; j++) {
                int k = b->cand[j];
                int child = child_of(b, node, k);
                if (child < 0) return -1;
                /* the same label again starts a new character only after a blank */
                double p = (k == last ? pb : total) * b->prob[k];
                if (!add(b, child, stamp, 0, p, &n_touched)) return -1;
            }
        }
        /* keep the `width` best: a min-heap of the best seen so far */
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
        double best = 0;
        for (int i = 0; i < n; i++) {
            double tot = b->npb[heap[i]] + b->npnb[heap[i]];
            if (tot > best) best = tot;
        }
        if (!(best > 0)) { /* every path impossible (-inf log-probabilities): nothing to read */
            if (log_prob) *log_prob = -INFINITY;
            return 0;
        }
        for (int i = 0; i < n; i++) {
            b->pb[i] = b->npb[heap[i]] / best;
            b->pnb[i] = b->npnb[heap[i]] / best;
        }
        n_beam = n;
        log_scale += log(best);
    }
    int bi = 0;
    for (int i = 1; i < n_beam; i++) {
        double ti = b->pb[i] + b->pnb[i], tb = b->pb[bi] + b->pnb[bi];
        if (ti > tb || (ti == tb && b->beam[i] < b->beam[bi])) bi = i;
    }
    if (log_prob) *log_prob = log(b->pb[bi] + b->pnb[bi]) + log_scale;
    int node = b->beam[bi], len = b->nodes[node].len;
    for (int i = len - 1; i >= 0; i--) {
        if (i < max) labels[i] = b->nodes[node].label;
        node = b->nodes[node].parent;
    }
    return len < max ? len : max;
}

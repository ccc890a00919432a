/* lexicon_decode.c — exact CTC scores of lexicon words, one at a time or a whole trie. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctc/ctc.h"
#include "ctc/lexicon_decode.h"
#include "util/util.h"

/* Bounds are compared with this much slack so that rounding never prunes a word that ties. */
#define BOUND_SLACK (1.0 - 1e-9)
/* Scaled values stay below e^650 (see ctc_frames_prepare). */
#define MAX_LOG_SPAN 650.0

/* ---- code points to classes ---- */

typedef struct {
    uint32_t cp;
    int32_t cls;
} cp_cls;

static int by_cp_then_class(const void *a, const void *b) {
    const cp_cls *x = a, *y = b;
    if (x->cp != y->cp) return x->cp < y->cp ? -1 : 1;
    return (x->cls > y->cls) - (x->cls < y->cls);
}

crnn_status class_map_build(class_map *m, const uint32_t *charset, int n_classes, int fold,
                            crnn_error *err) {
    memset(m, 0, sizeof *m);
    m->fold = fold;
    for (int i = 0; i < 256; i++) m->low[i] = -1;
    cp_cls *hi = malloc(sizeof(cp_cls) * (size_t)(n_classes > 1 ? n_classes : 1));
    if (!hi) return set_error(err, CRNN_ERR_NOMEM, "out of memory for the class map");
    int n = 0;
    for (int k = 1; k < n_classes; k++) {
        uint32_t key = fold ? casefold(charset[k]) : charset[k];
        if (key < 256) {
            if (m->low[key] < 0) m->low[key] = k; /* classes in increasing order: lowest wins */
        } else {
            hi[n++] = (cp_cls){key, k};
        }
    }
    qsort(hi, (size_t)n, sizeof *hi, by_cp_then_class);
    m->cp = malloc(sizeof(uint32_t) * (size_t)(n ? n : 1));
    m->cls = malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
    if (!m->cp || !m->cls) {
        free(hi);
        class_map_free(m);
        return set_error(err, CRNN_ERR_NOMEM, "out of memory for the class map");
    }
    for (int i = 0; i < n; i++) {
        if (m->n && m->cp[m->n - 1] == hi[i].cp) continue;
        m->cp[m->n] = hi[i].cp;
        m->cls[m->n++] = hi[i].cls;
    }
    free(hi);
    return CRNN_OK;
}

void class_map_free(class_map *m) {
    free(m->cp);
    free(m->cls);
    m->cp = NULL;
    m->cls = NULL;
    m->n = 0;
}

int class_map_get(const class_map *m, uint32_t cp) {
    if (m->fold) cp = casefold(cp);
    if (cp < 256) return m->low[cp];
    int lo = 0, hi = m->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (m->cp[mid] == cp) return m->cls[mid];
        if (m->cp[mid] < cp) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

int class_map_labels(const class_map *m, const uint32_t *cps, int n, int *labels) {
    for (int i = 0; i < n; i++)
        if ((labels[i] = class_map_get(m, cps[i])) < 0) return 0;
    return 1;
}

/* ---- frames ---- */

crnn_status ctc_frames_prepare(ctc_frames *f, const float *lp, int T, int C, const int *rep,
                               crnn_error *err) {
    size_t need = (size_t)T * (size_t)C + (size_t)T;
    if (need > f->cap) {
        double *p = realloc(f->p, sizeof(double) * need);
        if (!p) return set_error(err, CRNN_ERR_NOMEM, "out of memory scoring a lexicon");
        f->p = p;
        f->cap = need;
    }
    f->T = T;
    f->C = C;
    f->inv_tail = f->p + (size_t)T * C;
    double *logc = f->inv_tail; /* holds log c_t until the tail products replace it */
    memset(f->p, 0, sizeof(double) * (size_t)T * C);
    double total = 0;
    for (int t = 0; t < T; t++) {
        const float *row = lp + (size_t)t * C;
        double best = 0;
        for (int k = 0; k < C; k++) {
            int r = rep ? rep[k] : k;
            if (r < 0) continue;
            double *q = &f->p[(size_t)r * T + t];
            *q += exp((double)row[k]);
        }
        for (int k = 0; k < C; k++)
            if (f->p[(size_t)k * T + t] > best) best = f->p[(size_t)k * T + t];
        logc[t] = best > 0 ? log(best) : 0;
        total += logc[t];
    }
    /* A long input with flat frames: divide by a power of c_t < 1 so the scaled values of
       plausible words stay within range (only the most hopeless words underflow). */
    double gamma = total < -MAX_LOG_SPAN ? -MAX_LOG_SPAN / total : 1.0;
    f->log_norm = 0;
    for (int t = 0; t < T; t++) {
        double lc = gamma * logc[t], inv = exp(-lc);
        for (int k = 0; k < C; k++) f->p[(size_t)k * T + t] *= inv;
        logc[t] = lc;
        f->log_norm += lc;
    }
    double tail = 1;
    for (int t = T - 1; t >= 0; t--) {
        double lc = logc[t];
        f->inv_tail[t] = tail;
        tail *= exp(-lc);
    }
    return CRNN_OK;
}

void ctc_frames_free(ctc_frames *f) {
    free(f->p);
    memset(f, 0, sizeof *f);
}

double ctc_frames_score(const ctc_frames *f, const int *labels, int L, double floor,
                        double *a) {
    const int T = f->T, S = 2 * L + 1;
    if (T < 1 || ctc_min_frames(labels, L) > T) return -INFINITY;
    const double *blank = f->p;
    double lim = floor > -INFINITY ? exp(floor - f->log_norm) * BOUND_SLACK : 0;
#define LAB(s) ((s) & 1 ? labels[(s) >> 1] : 0)
#define P(s, t) ((s) & 1 ? f->p[(size_t)labels[(s) >> 1] * T + (t)] : blank[t])
    for (int s = 0; s < S; s++) a[s] = 0;
    a[0] = blank[0];
    if (S > 1) a[1] = P(1, 0);
    for (int t = 1; t < T; t++) {
        int top = 2 * t + 1 < S - 1 ? 2 * t + 1 : S - 1;
        double sum = 0;
        /* in place, from the last state down: a[s - 1] and a[s - 2] still hold frame t - 1 */
        for (int s = top; s >= 0; s--) {
            double v = a[s];
            if (s >= 1) v += a[s - 1];
            if (s >= 2 && (s & 1) && LAB(s) != LAB(s - 2)) v += a[s - 2];
            a[s] = v * P(s, t);
            sum += a[s];
        }
        /* every path still has frames t+1.. to go, each costing at least its c_t: the mass
           now, scaled forward, bounds the final score */
        if (sum * f->inv_tail[t] < lim) return -INFINITY;
    }
#undef LAB
#undef P
    double v = a[S - 1] + (S > 1 ? a[S - 2] : 0);
    return v > 0 ? log(v) + f->log_norm : -INFINITY;
}

/* ---- trie search ---- */

typedef struct {
    double bound;
    size_t off;
    int node, cls;
} kid;

struct trie_search {
    double *arena;
    size_t arena_cap, arena_top;
    kid *kids;
    size_t kids_cap, kids_top;
};

trie_search *trie_search_new(void) { return calloc(1, sizeof(trie_search)); }

void trie_search_free(trie_search *s) {
    if (!s) return;
    free(s->arena);
    free(s->kids);
    free(s);
}

typedef struct {
    trie_search *s;
    const ctc_frames *f;
    const trie *t;
    const class_map *map;
    double best; /* scaled probability of the best word so far (or the floor) */
    int best_id;
    long nodes, budget;
    int stop, oom;
} search_ctx;

static int reserve(search_ctx *c, size_t doubles, size_t kids) {
    trie_search *s = c->s;
    if (s->arena_top + doubles > s->arena_cap) {
        size_t cap = s->arena_cap ? s->arena_cap : 4096;
        while (cap < s->arena_top + doubles) cap *= 2;
        double *p = realloc(s->arena, sizeof(double) * cap);
        if (!p) return 0;
        s->arena = p;
        s->arena_cap = cap;
    }
    if (s->kids_top + kids > s->kids_cap) {
        size_t cap = s->kids_cap ? s->kids_cap : 256;
        while (cap < s->kids_top + kids) cap *= 2;
        kid *k = realloc(s->kids, sizeof(kid) * cap);
        if (!k) return 0;
        s->kids = k;
        s->kids_cap = cap;
    }
    return 1;
}

/* Visits trie node `node` (reached by class `label`, -1 for the root) whose forward variables
   are at arena[off]: T values for "its last label is being emitted", T for "a blank after
   it". Children are scored first, then visited best bound first, so a good word is found
   early and prunes the rest. */
static void visit(search_ctx *c, int node, int label, size_t off, int depth) {
    const int T = c->f->T;
    if (c->budget > 0 && c->nodes >= c->budget) {
        c->stop = 1;
        return;
    }
    c->nodes++;
    const trie_node *nd = &c->t->nodes[node];
    if (depth > 0) { /* the blank-after vector, left to now: most children are pruned unseen */
        double *nc = c->s->arena + off, *nb = nc + T;
        const double *blank = c->f->p;
        nb[0] = 0;
        for (int t = 1; t < T; t++) nb[t] = (nb[t - 1] + nc[t - 1]) * blank[t];
    }
    if (nd->word >= 0 && depth > 0) {
        const double *ac = c->s->arena + off;
        double v = ac[T - 1] + ac[2 * T - 1];
        if (v > c->best || (v == c->best && v > 0 && c->best_id >= 0 && nd->word < c->best_id)) {
            c->best = v;
            c->best_id = nd->word;
        }
    }
    if (!nd->n_children) return;
    if (!reserve(c, (size_t)nd->n_children * 2 * (size_t)T, nd->n_children)) {
        c->oom = c->stop = 1;
        return;
    }
    trie_search *s = c->s;
    const size_t arena_base = s->arena_top, kid_base = s->kids_top;
    const double *ac = s->arena + off, *ab = ac + T;
    const double *tail = c->f->inv_tail;
    const double lim = c->best * BOUND_SLACK;
    for (uint32_t j = 0; j < nd->n_children; j++) {
        int child = (int)(nd->first_child + j);
        int cls = class_map_get(c->map, c->t->nodes[child].cp);
        if (cls < 0) continue;
        const double *pc = c->f->p + (size_t)cls * T;
        double *nc = s->arena + s->arena_top;
        nc[0] = depth == 0 ? pc[0] : 0;
        double bound = nc[0] * tail[0];
        const double *from = cls != label ? ac : NULL;
        for (int t = 1; t < T; t++) {
            /* enter the new label from the parent's blank, or straight from the parent's
               label when it differs */
            double e = (ab[t - 1] + (from ? from[t - 1] : 0)) * pc[t];
            bound += e * tail[t];
            nc[t] = nc[t - 1] * pc[t] + e;
        }
        if (!(bound > 0) || bound < lim) continue;
        s->kids[s->kids_top++] = (kid){bound, s->arena_top, child, cls};
        s->arena_top += 2 * (size_t)T;
    }
    kid *k = s->kids + kid_base;
    int n = (int)(s->kids_top - kid_base);
    for (int i = 1; i < n; i++) { /* insertion sort, best bound first */
        kid x = k[i];
        int j = i - 1;
        while (j >= 0 && (k[j].bound < x.bound || (k[j].bound == x.bound && k[j].node > x.node))) {
            k[j + 1] = k[j];
            j--;
        }
        k[j + 1] = x;
    }
    for (int i = 0; i < n && !c->stop; i++) {
        kid x = c->s->kids[kid_base + (size_t)i]; /* re-read: a child's visit may realloc */
        if (x.bound < c->best * BOUND_SLACK) break;
        visit(c, x.node, x.cls, x.off, depth + 1);
    }
    c->s->arena_top = arena_base;
    c->s->kids_top = kid_base;
}

trie_search_result ctc_trie_search(trie_search *s, const ctc_frames *f, const trie *t,
                                   const class_map *map, double floor, long node_budget) {
    trie_search_result r = {-1, -INFINITY, 0, 1, 0};
    const int T = f->T;
    if (T < 1 || !t->n_nodes) return r;
    search_ctx c = {s, f, t, map, 0, -1, 0, node_budget, 0, 0};
    if (floor > -INFINITY) c.best = exp(floor - f->log_norm);
    s->arena_top = s->kids_top = 0;
    if (!reserve(&c, 2 * (size_t)T, 0)) {
        r.oom = 1;
        return r;
    }
    /* the root: no label yet, only blanks so far */
    double *ac = s->arena, *ab = ac + T;
    for (int i = 0; i < T; i++) ac[i] = 0;
    ab[0] = f->p[0];
    for (int i = 1; i < T; i++) ab[i] = ab[i - 1] * f->p[i];
    s->arena_top = 2 * (size_t)T;
    visit(&c, 0, -1, 0, 0);
    r.nodes = c.nodes;
    r.complete = !c.stop;
    r.oom = c.oom;
    if (c.best_id >= 0) {
        r.word = c.best_id;
        r.log_prob = log(c.best) + f->log_norm;
    }
    return r;
}

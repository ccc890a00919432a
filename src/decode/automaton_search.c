/* automaton_search.c — the exact search of automaton_search.h.

   Forward variables of a prefix, in the scaled probabilities of ctc_frames: nc[t], the paths
   of frames 0..t that spell the prefix and are still on its last label at t, and nb[t], those
   that have moved on to a blank after it. A child on class k enters k at frame t from the
   parent's blank, or straight from the parent's label when k differs from it:
       e[t] = (nb[t-1] + (k != last ? nc[t-1] : 0)) · p_t(k),   nc'[t] = nc'[t-1] · p_t(k) + e[t]
   Σ_t e[t] · tail[t] bounds every sequence through the child: each one enters k at one frame,
   and whatever follows costs at most the frames' best probabilities. Only the bound is
   computed for every child; the vectors of the children actually visited are computed again
   on the way down, so memory is two vectors per depth, however wide the automaton. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decode/automaton_search.h"

typedef struct {
    double bound;
    automaton_state next;
    int cls;
    int order; /* its place among its siblings: ties keep it */
} kid;

struct automaton_search {
    double *levels; /* per depth: nc then nb, T each */
    size_t levels_cap;
    kid *kids;
    size_t kids_cap;
    automaton_edge *edges;
    int edges_cap;
    int *path; /* the labels of the prefix being visited */
    int path_cap;
};

automaton_search *automaton_search_new(void) { return calloc(1, sizeof(automaton_search)); }

void automaton_search_free(automaton_search *s) {
    if (!s) return;
    free(s->levels);
    free(s->kids);
    free(s->edges);
    free(s->path);
    free(s);
}

typedef struct {
    automaton_search *s;
    const ctc_frames *f;
    const automaton *a;
    double best; /* scaled probability of the best sequence so far (or the floor) */
    int best_id, best_len;
    int *best_labels;
    long nodes, budget;
    int max_edges;
    size_t kids_top;
    int stop, oom;
} search_ctx;

static int reserve_level(search_ctx *c, int depth) {
    automaton_search *s = c->s;
    size_t need = ((size_t)depth + 1) * 2 * (size_t)c->f->T;
    if (need > s->levels_cap) {
        size_t cap = s->levels_cap ? s->levels_cap : 4096;
        while (cap < need) cap *= 2;
        double *p = realloc(s->levels, sizeof(double) * cap);
        if (!p) return 0;
        s->levels = p;
        s->levels_cap = cap;
    }
    /* + 1: an automaton without edges (the pattern "") still gets a buffer to point into */
    if (c->kids_top + (size_t)c->max_edges + 1 > s->kids_cap) {
        size_t cap = s->kids_cap ? s->kids_cap : 256;
        while (cap < c->kids_top + (size_t)c->max_edges + 1) cap *= 2;
        kid *k = realloc(s->kids, sizeof(kid) * cap);
        if (!k) return 0;
        s->kids = k;
        s->kids_cap = cap;
    }
    return 1;
}

/* Sum over t of e[t] · tail[t] for a child on class cls of the prefix at `parent` (last label
   `label`); with out, also the child's vectors. */
static double child(const ctc_frames *f, const double *parent, int label, int cls, int depth,
                    double *out) {
    const int T = f->T;
    const double *pc = f->p + (size_t)cls * T, *tail = f->inv_tail;
    const double *ac = parent, *ab = parent + T;
    const double *from = cls != label ? ac : NULL;
    double nc = depth == 0 ? pc[0] : 0;
    double bound = nc * tail[0];
    if (out) out[0] = nc;
    for (int t = 1; t < T; t++) {
        double e = (ab[t - 1] + (from ? from[t - 1] : 0)) * pc[t];
        bound += e * tail[t];
        nc = nc * pc[t] + e;
        if (out) out[t] = nc;
    }
    if (out) { /* the blank-after vector */
        const double *blank = f->p;
        double *nb = out + T;
        nb[0] = 0;
        for (int t = 1; t < T; t++) nb[t] = (nb[t - 1] + out[t - 1]) * blank[t];
    }
    return bound;
}

/* Visits the prefix of length depth ending in state (last label `label`, -1 at the start)
   whose vectors are at levels[depth]. */
static void visit(search_ctx *c, automaton_state state, int label, int depth) {
    const int T = c->f->T;
    if (c->budget > 0 && c->nodes >= c->budget) {
        c->stop = 1;
        return;
    }
    c->nodes++;
    automaton_search *s = c->s;
    int id = automaton_accepts(c->a, state);
    if (id >= 0) {
        const double *v = s->levels + (size_t)depth * 2 * T;
        double p = v[T - 1] + v[2 * T - 1];
        if (p > c->best || (p == c->best && p > 0 && c->best_id >= 0 && id < c->best_id)) {
            c->best = p;
            c->best_id = id;
            c->best_len = depth;
            memcpy(c->best_labels, s->path, sizeof(int) * (size_t)depth);
        }
    }
    if (depth >= T || !reserve_level(c, depth + 1)) {
        if (depth < T) c->oom = c->stop = 1;
        return;
    }
    int n_edges = automaton_edges(c->a, state, s->edges);
    const size_t kid_base = c->kids_top;
    const double lim = c->best * CTC_BOUND_SLACK;
    for (int j = 0; j < n_edges; j++) {
        const double *parent = s->levels + (size_t)depth * 2 * T;
        double bound = child(c->f, parent, label, s->edges[j].cls, depth, NULL);
        if (!(bound > 0) || bound < lim) continue;
        s->kids[c->kids_top++] = (kid){bound, s->edges[j].next, s->edges[j].cls, j};
    }
    kid *k = s->kids + kid_base;
    int n = (int)(c->kids_top - kid_base);
    for (int i = 1; i < n; i++) { /* insertion sort, best bound first */
        kid x = k[i];
        int j = i - 1;
        while (j >= 0 &&
               (k[j].bound < x.bound || (k[j].bound == x.bound && k[j].order > x.order))) {
            k[j + 1] = k[j];
            j--;
        }
        k[j + 1] = x;
    }
    for (int i = 0; i < n && !c->stop; i++) {
        kid x = s->kids[kid_base + (size_t)i]; /* re-read: a deeper visit may realloc */
        if (x.bound < c->best * CTC_BOUND_SLACK) break;
        double *parent = s->levels + (size_t)depth * 2 * T;
        child(c->f, parent, label, x.cls, depth, parent + 2 * T);
        s->path[depth] = x.cls;
        visit(c, x.next, x.cls, depth + 1);
    }
    c->kids_top = kid_base;
}

search_result automaton_search_run(automaton_search *s, const ctc_frames *f, const automaton *a,
                                   double floor, long node_budget, int *labels) {
    search_result r = {-1, -INFINITY, 0, 0, 1, 0};
    const int T = f->T;
    if (T < 1) return r;
    search_ctx c = {.s = s, .f = f, .a = a, .best = 0, .best_id = -1, .best_labels = labels,
                    .budget = node_budget, .max_edges = automaton_max_edges(a)};
    if (floor > -INFINITY) c.best = exp(floor - f->log_norm);
    if (c.max_edges > s->edges_cap) {
        automaton_edge *e = realloc(s->edges, sizeof *e * (size_t)c.max_edges);
        if (!e) return r.oom = 1, r;
        s->edges = e;
        s->edges_cap = c.max_edges;
    }
    if (T + 1 > s->path_cap) {
        int *p = realloc(s->path, sizeof(int) * ((size_t)T + 1));
        if (!p) return r.oom = 1, r;
        s->path = p;
        s->path_cap = T + 1;
    }
    if (!reserve_level(&c, 0)) return r.oom = 1, r;
    /* the start: no label yet, only blanks so far */
    double *ac = s->levels, *ab = ac + T;
    for (int t = 0; t < T; t++) ac[t] = 0;
    ab[0] = f->p[0];
    for (int t = 1; t < T; t++) ab[t] = ab[t - 1] * f->p[t];
    visit(&c, automaton_start(a), -1, 0);
    r.nodes = c.nodes;
    r.complete = !c.stop;
    r.oom = c.oom;
    if (c.best_id >= 0) {
        r.id = c.best_id;
        r.n_labels = c.best_len;
        r.log_prob = log(c.best) + f->log_norm;
    }
    return r;
}

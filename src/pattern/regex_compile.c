/* regex_compile.c — a syntax tree to a minimal DFA: Thompson's construction of an NFA, subset
   construction over the pattern's symbols, removal of the states that can no longer reach a
   match, then Moore's partition refinement. Patterns are short (a date, a plate, a price), so
   the simple algorithms are plenty; the limits below turn a pathological pattern into an
   error instead of a long wait. */
#include <stdlib.h>
#include <string.h>

#include "pattern/pattern.h"
#include "util/util.h"

#define MAX_NFA_STATES 100000
#define MAX_DFA_STATES 4096
/* The subset construction's memory (NFA states listed in all DFA states) and work (NFA
   states looked at): a pattern with many states that each stand for many NFA states would
   otherwise take gigabytes or minutes before the state limit stops it. */
#define MAX_SUBSET_MEMBERS (8 << 20)
#define MAX_SUBSET_WORK (64L << 20)

/* ---- NFA ---- */

typedef struct {
    int set;    /* the character set of its one transition (to out[0]), or -1: epsilons only */
    int out[2]; /* -1 = none */
} nfa_state;

typedef struct {
    nfa_state *s;
    int n, cap;
    int too_big, oom;
} nfa;

typedef struct {
    int start, end; /* end: an epsilon state with no transitions yet, to patch */
} fragment;

static int nfa_new(nfa *a, int set, int out0, int out1) {
    if (a->n >= MAX_NFA_STATES) {
        a->too_big = 1;
        return -1;
    }
    if (a->n == a->cap) {
        int cap = a->cap ? a->cap * 2 : 256;
        nfa_state *s = realloc(a->s, sizeof *s * (size_t)cap);
        if (!s) {
            a->oom = 1;
            return -1;
        }
        a->s = s;
        a->cap = cap;
    }
    a->s[a->n] = (nfa_state){set, {out0, out1}};
    return a->n++;
}

static fragment emit(nfa *a, const rx_tree *t, int node);

static fragment fail_fragment(void) { return (fragment){-1, -1}; }

/* x? : either x or nothing */
static fragment optional(nfa *a, fragment f) {
    int end = nfa_new(a, -1, -1, -1);
    int start = nfa_new(a, -1, f.start, end);
    if (start < 0) return fail_fragment();
    a->s[f.end].out[0] = end;
    return (fragment){start, end};
}

static fragment concat(nfa *a, fragment x, fragment y) {
    if (x.start < 0 || y.start < 0) return fail_fragment();
    a->s[x.end].out[0] = y.start;
    return (fragment){x.start, y.end};
}

static fragment emit_repeat(nfa *a, const rx_tree *t, const rx_node *n) {
    int empty = nfa_new(a, -1, -1, -1);
    if (empty < 0) return fail_fragment();
    fragment f = {empty, empty};
    for (int i = 0; i < n->min && f.start >= 0; i++) f = concat(a, f, emit(a, t, n->a));
    if (f.start < 0) return f;
    if (n->max < 0) { /* x* : loop back from the end of x */
        fragment x = emit(a, t, n->a);
        if (x.start < 0) return x;
        int end = nfa_new(a, -1, -1, -1);
        int loop = nfa_new(a, -1, x.start, end);
        if (loop < 0) return fail_fragment();
        a->s[x.end].out[0] = loop;
        return concat(a, f, (fragment){loop, end});
    }
    for (int i = n->min; i < n->max && f.start >= 0; i++) {
        fragment x = emit(a, t, n->a);
        if (x.start < 0) return x;
        f = concat(a, f, optional(a, x));
    }
    return f;
}

static fragment emit(nfa *a, const rx_tree *t, int node) {
    const rx_node *n = &t->nodes[node];
    switch (n->kind) {
    case RX_EMPTY: {
        int s = nfa_new(a, -1, -1, -1);
        return s < 0 ? fail_fragment() : (fragment){s, s};
    }
    case RX_SET: {
        int end = nfa_new(a, -1, -1, -1);
        int s = nfa_new(a, n->set, end, -1);
        return s < 0 ? fail_fragment() : (fragment){s, end};
    }
    case RX_CONCAT: {
        fragment x = emit(a, t, n->a);
        if (x.start < 0) return x;
        return concat(a, x, emit(a, t, n->b));
    }
    case RX_ALT: {
        fragment x = emit(a, t, n->a);
        if (x.start < 0) return x;
        fragment y = emit(a, t, n->b);
        if (y.start < 0) return y;
        int end = nfa_new(a, -1, -1, -1);
        int s = nfa_new(a, -1, x.start, y.start);
        if (s < 0) return fail_fragment();
        a->s[x.end].out[0] = end;
        a->s[y.end].out[0] = end;
        return (fragment){s, end};
    }
    case RX_REPEAT: return emit_repeat(a, t, n);
    }
    return fail_fragment();
}

/* ---- symbols: the intervals no character set tells apart ---- */

static int cmp_u32(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

int pattern_symbol(const crnn_pattern *p, uint32_t cp) {
    int lo = 0, hi = p->n_symbols - 1; /* the last symbol_start <= cp */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (p->symbol_start[mid] <= cp) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

int pattern_step(const crnn_pattern *p, int state, uint32_t cp) {
    if (state < 0 || cp > CHAR_SET_MAX_CP) return -1;
    return p->next[(size_t)state * p->n_symbols + pattern_symbol(p, cp)];
}

/* ---- subset construction ---- */

typedef struct {
    const nfa *a;
    int *stack, *mark, stamp;
    /* DFA states as sorted NFA state lists, found again through a hash table */
    int **members, *n_members;
    int n, cap;
    int *table; /* open addressing: DFA ids + 1, 0 = empty */
    size_t table_cap;
    int32_t *next; /* n × n_symbols, grown with the states */
    uint8_t *accepting;
    int n_symbols, nfa_accept;
    long members_total;
    int oom;
} subsets;

static uint64_t hash_list(const int *v, int n) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < n; i++) h = (h ^ (uint64_t)(uint32_t)v[i]) * 1099511628211ull;
    return h;
}

/* The epsilon closure of the states in list[0..n) (marked with the current stamp), sorted;
   returns its size. list must have room for every NFA state. */
static int closure(subsets *b, int *list, int n) {
    int top = 0;
    for (int i = 0; i < n; i++) b->stack[top++] = list[i];
    n = 0;
    while (top) {
        int s = b->stack[--top];
        list[n++] = s;
        const nfa_state *st = &b->a->s[s];
        if (st->set >= 0) continue;
        for (int k = 0; k < 2; k++) {
            int o = st->out[k];
            if (o >= 0 && b->mark[o] != b->stamp) {
                b->mark[o] = b->stamp;
                b->stack[top++] = o;
            }
        }
    }
    qsort(list, (size_t)n, sizeof(int), cmp_u32);
    return n;
}

/* The DFA state of a closure, created if new; -1 if out of memory or over the limit. */
static int intern(subsets *b, const int *list, int n) {
    if (2 * (size_t)(b->n + 1) > b->table_cap) {
        size_t cap = b->table_cap ? b->table_cap * 2 : 1024;
        int *t = calloc(cap, sizeof(int));
        if (!t) return b->oom = 1, -1;
        for (int id = 0; id < b->n; id++) {
            size_t j = hash_list(b->members[id], b->n_members[id]) & (cap - 1);
            while (t[j]) j = (j + 1) & (cap - 1);
            t[j] = id + 1;
        }
        free(b->table);
        b->table = t;
        b->table_cap = cap;
    }
    size_t j = hash_list(list, n) & (b->table_cap - 1);
    for (; b->table[j]; j = (j + 1) & (b->table_cap - 1)) {
        int id = b->table[j] - 1;
        if (b->n_members[id] == n && !memcmp(b->members[id], list, sizeof(int) * (size_t)n))
            return id;
    }
    if (b->n >= MAX_DFA_STATES || b->members_total + n > MAX_SUBSET_MEMBERS) return -1;
    if (b->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 64;
        int **m = realloc(b->members, sizeof *m * (size_t)cap);
        if (m) b->members = m;
        int *nm = m ? realloc(b->n_members, sizeof *nm * (size_t)cap) : NULL;
        if (nm) b->n_members = nm;
        int32_t *nx = nm ? realloc(b->next, sizeof *nx * (size_t)cap * (size_t)b->n_symbols) : NULL;
        if (nx) b->next = nx;
        uint8_t *ac = nx ? realloc(b->accepting, (size_t)cap) : NULL;
        if (ac) b->accepting = ac;
        if (!ac) return b->oom = 1, -1;
        b->cap = cap;
    }
    int *copy = malloc(sizeof(int) * (size_t)(n ? n : 1));
    if (!copy) return b->oom = 1, -1;
    memcpy(copy, list, sizeof(int) * (size_t)n);
    int id = b->n++;
    b->members_total += n;
    b->members[id] = copy;
    b->n_members[id] = n;
    b->accepting[id] = 0;
    for (int i = 0; i < n; i++) b->accepting[id] |= list[i] == b->nfa_accept;
    b->table[j] = id + 1;
    return id;
}

/* ---- the states that can still reach a match, and Moore's minimisation ---- */

/* Keeps the states from which an accepting one is reachable (transitions into the others
   become -1) and renumbers breadth-first from start. Returns the new count (0: nothing
   matches), or -1 if out of memory. */
static int trim(int n, int k, int32_t **next, uint8_t **accepting, int *start) {
    int32_t *nx = *next;
    uint8_t *live = calloc((size_t)n, 1);
    int *order = malloc(sizeof(int) * (size_t)n), *id = malloc(sizeof(int) * (size_t)n);
    /* the transitions reversed, grouped by target: who leads into each state */
    int *in_start = calloc((size_t)n + 1, sizeof(int));
    int *in_from = malloc(sizeof(int) * ((size_t)n * k + 1));
    int m = -1;
    int32_t *out = NULL;
    uint8_t *acc = NULL;
    if (!live || !order || !id || !in_start || !in_from) goto done;
    for (size_t e = 0; e < (size_t)n * k; e++)
        if (nx[e] >= 0) in_start[nx[e] + 1]++;
    for (int s = 0; s < n; s++) in_start[s + 1] += in_start[s];
    for (int s = 0; s < n; s++) id[s] = in_start[s]; /* fill positions */
    for (int s = 0; s < n; s++)
        for (int c = 0; c < k; c++) {
            int t = nx[(size_t)s * k + c];
            if (t >= 0) in_from[id[t]++] = s;
        }
    int top = 0; /* backwards from the accepting states */
    for (int s = 0; s < n; s++)
        if ((*accepting)[s]) live[s] = 1, order[top++] = s;
    while (top) {
        int s = order[--top];
        for (int i = in_start[s]; i < in_start[s + 1]; i++)
            if (!live[in_from[i]]) live[in_from[i]] = 1, order[top++] = in_from[i];
    }
    m = 0; /* forwards from start, numbering the live states */
    if (live[*start]) {
        for (int s = 0; s < n; s++) id[s] = -1;
        id[*start] = 0;
        order[m++] = *start;
        for (int i = 0; i < m; i++)
            for (int c = 0; c < k; c++) {
                int t = nx[(size_t)order[i] * k + c];
                if (t >= 0 && live[t] && id[t] < 0) {
                    id[t] = m;
                    order[m++] = t;
                }
            }
    }
    out = malloc(sizeof(int32_t) * (size_t)(m ? m : 1) * (size_t)k);
    acc = malloc((size_t)(m ? m : 1));
    if (!out || !acc) {
        m = -1;
        goto done;
    }
    for (int i = 0; i < m; i++) {
        acc[i] = (*accepting)[order[i]];
        for (int c = 0; c < k; c++) {
            int t = nx[(size_t)order[i] * k + c];
            out[(size_t)i * k + c] = t >= 0 && live[t] ? id[t] : -1;
        }
    }
    free(*next);
    free(*accepting);
    *next = out;
    *accepting = acc;
    out = NULL;
    acc = NULL;
    *start = 0;
done:
    free(out), free(acc), free(live), free(order), free(id), free(in_start), free(in_from);
    return m;
}

/* Merges equivalent states (Moore): classes start as accepting / not, and split until every
   state of a class goes to the same classes on every symbol. Each round finds a state's new
   class through a hash of its signature (its class, then its targets' classes). Returns the
   new count, -1 if out of memory. */
static int minimize(int n, int k, int32_t **next, uint8_t **accepting, int *start) {
    int32_t *nx = *next;
    int *cls = malloc(sizeof(int) * (size_t)n), *fresh = malloc(sizeof(int) * (size_t)n);
    int *first = malloc(sizeof(int) * (size_t)n); /* a representative of each new class */
    size_t cap = 16;
    while (cap < 2 * (size_t)n) cap *= 2;
    int *table = malloc(sizeof(int) * cap);
    int n_cls = -1;
    int32_t *out = NULL;
    uint8_t *acc = NULL;
    if (!cls || !fresh || !first || !table) goto done;
#define TARGET(s, c) (nx[(size_t)(s) * k + (c)] < 0 ? -1 : cls[nx[(size_t)(s) * k + (c)]])
    for (int s = 0; s < n; s++) cls[s] = (*accepting)[s];
    for (int before = 0;;) {
        int m = 0;
        for (size_t j = 0; j < cap; j++) table[j] = -1;
        for (int s = 0; s < n; s++) {
            uint64_t h = 1469598103934665603ull ^ (uint64_t)cls[s];
            for (int c = 0; c < k; c++)
                h = (h ^ (uint64_t)(uint32_t)TARGET(s, c)) * 1099511628211ull;
            size_t j = h & (cap - 1);
            for (;; j = (j + 1) & (cap - 1)) {
                if (table[j] < 0) { /* a new class */
                    table[j] = m;
                    first[m] = s;
                    fresh[s] = m++;
                    break;
                }
                int r = first[table[j]], same = cls[r] == cls[s];
                for (int c = 0; c < k && same; c++) same = TARGET(r, c) == TARGET(s, c);
                if (same) {
                    fresh[s] = table[j];
                    break;
                }
            }
        }
        memcpy(cls, fresh, sizeof(int) * (size_t)n);
        if (m == before) {
            n_cls = m;
            break;
        }
        before = m;
    }
#undef TARGET
    out = malloc(sizeof(int32_t) * (size_t)n_cls * (size_t)k);
    acc = malloc((size_t)n_cls);
    if (!out || !acc) {
        n_cls = -1;
        goto done;
    }
    for (int j = 0; j < n_cls; j++) {
        int r = first[j];
        acc[j] = (*accepting)[r];
        for (int c = 0; c < k; c++) {
            int t = nx[(size_t)r * k + c];
            out[(size_t)j * k + c] = t < 0 ? -1 : cls[t];
        }
    }
    *start = cls[*start];
    free(*next);
    free(*accepting);
    *next = out;
    *accepting = acc;
    out = NULL;
    acc = NULL;
done:
    free(out), free(acc), free(cls), free(fresh), free(first), free(table);
    return n_cls;
}

/* ---- all together ---- */

void crnn_pattern_free(crnn_pattern *p) {
    if (!p) return;
    free(p->symbol_start);
    free(p->next);
    free(p->accepting);
    free(p);
}

crnn_pattern *rx_compile(const rx_tree *t, crnn_error *err) {
    nfa a = {0};
    subsets b = {0};
    uint32_t *bounds = NULL;
    uint8_t *in_set = NULL;
    int *list = NULL, *targets = NULL;
    crnn_pattern *p = calloc(1, sizeof *p);
    if (!p) goto oom;
    fragment f = emit(&a, t, t->root);
    if (f.start < 0) {
        if (a.too_big) {
            set_error(err, CRNN_ERR_LIMIT,
                      "pattern too large: its repeats unroll past %d automaton states",
                      MAX_NFA_STATES);
            goto fail;
        }
        goto oom;
    }
    /* symbols: cut the code points at every range boundary of every set */
    size_t nb = 1;
    for (int i = 0; i < t->n_sets; i++) nb += 2 * (size_t)t->sets[i].n;
    bounds = malloc(sizeof(uint32_t) * nb);
    if (!bounds) goto oom;
    size_t m = 0;
    bounds[m++] = 0;
    for (int i = 0; i < t->n_sets; i++)
        for (int j = 0; j < t->sets[i].n; j++) {
            bounds[m++] = t->sets[i].r[j].lo;
            if (t->sets[i].r[j].hi < CHAR_SET_MAX_CP) bounds[m++] = t->sets[i].r[j].hi + 1;
        }
    qsort(bounds, m, sizeof(uint32_t), cmp_u32);
    int k = 0;
    for (size_t i = 0; i < m; i++)
        if (k == 0 || bounds[i] != bounds[k - 1]) bounds[k++] = bounds[i];
    /* in_set[set * k + symbol]: whether the set holds the symbol */
    in_set = malloc((size_t)(t->n_sets ? t->n_sets : 1) * (size_t)k);
    list = malloc(sizeof(int) * (size_t)a.n);
    targets = malloc(sizeof(int) * (size_t)a.n);
    b.stack = malloc(sizeof(int) * (size_t)a.n);
    b.mark = calloc((size_t)a.n, sizeof(int));
    if (!in_set || !list || !targets || !b.stack || !b.mark) goto oom;
    for (int i = 0; i < t->n_sets; i++)
        for (int c = 0; c < k; c++)
            in_set[(size_t)i * k + c] = (uint8_t)char_set_has(&t->sets[i], bounds[c]);
    b.a = &a;
    b.n_symbols = k;
    b.nfa_accept = f.end;
    b.stamp = 1;
    list[0] = f.start;
    b.mark[f.start] = b.stamp;
    int n = closure(&b, list, 1);
    if (intern(&b, list, n) < 0) goto oom;
    long work = 0;
    for (int d = 0; d < b.n; d++) { /* b.n grows as new subsets appear */
        work += (long)k * b.n_members[d];
        if (work > MAX_SUBSET_WORK) {
            set_error(err, CRNN_ERR_LIMIT,
                      "pattern too complex: its automaton takes too long to build");
            goto fail;
        }
        for (int c = 0; c < k; c++) {
            b.stamp++;
            int nt = 0;
            for (int i = 0; i < b.n_members[d]; i++) {
                const nfa_state *st = &a.s[b.members[d][i]];
                if (st->set >= 0 && in_set[(size_t)st->set * k + c] &&
                    b.mark[st->out[0]] != b.stamp) {
                    b.mark[st->out[0]] = b.stamp;
                    targets[nt++] = st->out[0];
                }
            }
            int id = -1;
            if (nt) {
                memcpy(list, targets, sizeof(int) * (size_t)nt);
                id = intern(&b, list, closure(&b, list, nt));
                if (id < 0) {
                    if (b.oom) goto oom;
                    set_error(err, CRNN_ERR_LIMIT,
                              "pattern too complex: its automaton passes %d states",
                              b.n >= MAX_DFA_STATES ? MAX_DFA_STATES : b.n);
                    goto fail;
                }
            }
            b.next[(size_t)d * k + c] = id;
        }
    }
    int start = 0;
    int32_t *next = b.next;
    uint8_t *accepting = b.accepting;
    b.next = NULL;
    b.accepting = NULL;
    int states = trim(b.n, k, &next, &accepting, &start);
    if (states > 0) states = minimize(states, k, &next, &accepting, &start);
    p->next = next;
    p->accepting = accepting;
    if (states < 0) goto oom;
    if (states == 0) {
        set_error(err, CRNN_ERR_ARG, "the pattern matches no text at all");
        goto fail;
    }
    p->n_states = states;
    p->n_symbols = k;
    p->start = start;
    p->symbol_start = bounds;
    bounds = NULL;
    uint64_t h = 1469598103934665603ull;
#define MIX(x) (h = (h ^ (uint64_t)(x)) * 1099511628211ull)
    MIX(p->n_states), MIX(p->n_symbols), MIX(p->start);
    for (int i = 0; i < k; i++) MIX(p->symbol_start[i]);
    for (size_t i = 0; i < (size_t)states * k; i++) MIX((uint32_t)p->next[i]);
    for (int i = 0; i < states; i++) MIX(p->accepting[i]);
#undef MIX
    p->fingerprint = h;
    goto done;
oom:
    set_error(err, CRNN_ERR_NOMEM, "out of memory compiling a pattern");
fail:
    crnn_pattern_free(p);
    p = NULL;
done:
    for (int i = 0; i < b.n; i++) free(b.members[i]);
    free(b.members);
    free(b.n_members);
    free(b.table);
    free(b.next);
    free(b.accepting);
    free(b.stack);
    free(b.mark);
    free(a.s);
    free(bounds);
    free(in_set);
    free(list);
    free(targets);
    return p;
}

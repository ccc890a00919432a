/* automaton.c — the edges of lexicon tries, patterns and their product, over model classes. */
#include <stdlib.h>
#include <string.h>

#include "decode/automaton.h"
#include "pattern/pattern.h"
#include "util/util.h"

crnn_status pattern_edges_build(pattern_edges *e, const crnn_pattern *p, const uint32_t *charset,
                                int n_classes, crnn_error *err) {
    pattern_edges_free(e);
    int n = p->n_states;
    /* the pattern's symbol of every class, so each state costs one table row */
    int *symbol = malloc(sizeof(int) * (size_t)n_classes);
    e->edge_start = malloc(sizeof(int) * ((size_t)n + 1));
    size_t cap = 0;
    for (int s = 0; s < n; s++)
        for (int k = 1; k < n_classes; k++)
            cap += charset[k] <= CHAR_SET_MAX_CP &&
                   p->next[(size_t)s * p->n_symbols + pattern_symbol(p, charset[k])] >= 0;
    e->edge_cls = malloc(sizeof(int) * (cap ? cap : 1));
    e->edge_next = malloc(sizeof(int) * (cap ? cap : 1));
    if (!symbol || !e->edge_start || !e->edge_cls || !e->edge_next) {
        free(symbol);
        pattern_edges_free(e);
        return set_error(err, CRNN_ERR_NOMEM, "out of memory for a pattern's edges");
    }
    for (int k = 1; k < n_classes; k++)
        symbol[k] = charset[k] <= CHAR_SET_MAX_CP ? pattern_symbol(p, charset[k]) : -1;
    int m = 0;
    for (int s = 0; s < n; s++) {
        e->edge_start[s] = m;
        for (int k = 1; k < n_classes; k++) {
            int next = symbol[k] < 0 ? -1 : p->next[(size_t)s * p->n_symbols + symbol[k]];
            if (next < 0) continue;
            e->edge_cls[m] = k;
            e->edge_next[m++] = next;
        }
        if (m - e->edge_start[s] > e->max_edges) e->max_edges = m - e->edge_start[s];
    }
    e->edge_start[n] = m;
    e->n_states = n;
    e->start = p->start;
    e->pattern = p;
    e->fingerprint = p->fingerprint;
    free(symbol);
    return CRNN_OK;
}

void pattern_edges_free(pattern_edges *e) {
    free(e->edge_start);
    free(e->edge_cls);
    free(e->edge_next);
    memset(e, 0, sizeof *e);
}

int pattern_edges_of(const pattern_edges *e, const crnn_pattern *p) {
    return e->pattern == p && e->fingerprint == p->fingerprint;
}

int pattern_edges_accepting(const pattern_edges *e, int s) { return e->pattern->accepting[s]; }

#define TRIE_NODE(s) ((int)(uint32_t)(s))
#define PATTERN_STATE(s) ((int)((s) >> 32))
#define STATE(node, ps) ((automaton_state)(uint32_t)(node) | (automaton_state)(uint32_t)(ps) << 32)

automaton_state automaton_start(const automaton *a) {
    int ps = a->pattern ? a->pattern->start : 0;
    return STATE(0, ps);
}

int automaton_max_edges(const automaton *a) {
    if (a->trie) return a->trie->max_fanout;
    return a->edges ? a->edges->max_edges : 0;
}

int automaton_edges(const automaton *a, automaton_state s, automaton_edge *out) {
    int n = 0, ps = PATTERN_STATE(s);
    if (a->trie) {
        const trie_node *nd = &a->trie->nodes[TRIE_NODE(s)];
        for (uint32_t j = 0; j < nd->n_children; j++) {
            uint32_t child = nd->first_child + j, cp = a->trie->nodes[child].cp;
            int cls = class_map_get(a->map, cp);
            if (cls < 0) continue;
            /* under a pattern, the word as written must match it */
            int next_ps = a->pattern ? pattern_step(a->pattern, ps, cp) : 0;
            if (next_ps < 0) continue;
            out[n++] = (automaton_edge){cls, STATE(child, next_ps)};
        }
        return n;
    }
    const pattern_edges *e = a->edges;
    for (int i = e->edge_start[ps]; i < e->edge_start[ps + 1]; i++)
        out[n++] = (automaton_edge){e->edge_cls[i], STATE(0, e->edge_next[i])};
    return n;
}

int automaton_accepts(const automaton *a, automaton_state s) {
    int ps = PATTERN_STATE(s);
    if (a->pattern && !a->pattern->accepting[ps]) return -1;
    if (a->trie) return a->trie->nodes[TRIE_NODE(s)].word;
    return 0;
}

/* automaton.h — what constrained decoding searches: a deterministic automaton whose edges
   carry model classes. A lexicon trie is one (a state per prefix, accepting where a word
   ends); so is a compiled pattern (its DFA, with an edge for every class whose character the
   pattern allows there); a lexicon under a pattern is their product (a trie edge is kept when
   the pattern can take its character). An allowlist needs no automaton of its own: masked
   classes have probability 0 in the frames, so every edge on them is pruned at once.

   States are 64-bit: the trie node in the low half, the pattern state in the high half. */
#ifndef CRNN_AUTOMATON_H
#define CRNN_AUTOMATON_H

#include <stdint.h>

#include "crnn.h"
#include "decode/class_map.h"
#include "lexicon/trie.h"

/* A pattern over one model's classes: per pattern state, the (class, next state) edges, by
   increasing class. Built once per model and pattern. */
typedef struct {
    const crnn_pattern *pattern; /* the pattern it was built from */
    uint64_t fingerprint;        /* and that pattern's fingerprint then */
    int n_states, start;
    int *edge_start; /* n_states + 1 */
    int *edge_cls, *edge_next;
    int max_edges;
} pattern_edges;

crnn_status pattern_edges_build(pattern_edges *e, const crnn_pattern *p, const uint32_t *charset,
                                int n_classes, crnn_error *err);
void pattern_edges_free(pattern_edges *e);
/* Whether e was built from p (the same pattern, not another one at its address). */
int pattern_edges_of(const pattern_edges *e, const crnn_pattern *p);
/* Whether pattern state s accepts. */
int pattern_edges_accepting(const pattern_edges *e, int s);

typedef uint64_t automaton_state;

typedef struct {
    int cls;              /* the class scored on this edge (with folding, the representative) */
    automaton_state next;
} automaton_edge;

typedef struct {
    const trie *trie;               /* lexicon words, or NULL */
    const class_map *map;           /* with a trie: the class of each edge's code point */
    const crnn_pattern *pattern;    /* NULL, or the text must match it */
    const pattern_edges *edges;     /* without a trie: the pattern's edges over the classes */
} automaton;

automaton_state automaton_start(const automaton *a);
/* The most edges one state can have: room for automaton_edges' out. */
int automaton_max_edges(const automaton *a);
/* Writes the edges leaving s; returns their count. */
int automaton_edges(const automaton *a, automaton_state s, automaton_edge *out);
/* What s accepts: the lexicon word id ending there, 0 for a pattern-only automaton, or -1 if
   it is not accepting. */
int automaton_accepts(const automaton *a, automaton_state s);

#endif

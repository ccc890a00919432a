/* pattern.h — a compiled pattern: a deterministic finite automaton over Unicode code points,
   minimal, anchored at both ends, with every state able to reach acceptance (a step that
   could never lead to a match goes nowhere: -1).

   The alphabet is split into symbols: the code-point intervals that no character class of the
   pattern tells apart (for "[0-9]+\.[0-9]{2}": below '.', '.', '/', the digits, the rest), so
   a transition table stays small whatever the character classes. The decoder maps each
   class of a model to its symbol once. */
#ifndef CRNN_PATTERN_H
#define CRNN_PATTERN_H

#include <stdint.h>

#include "crnn.h"
#include "pattern/char_set.h"

struct crnn_pattern {
    int n_states, n_symbols;
    int start;
    uint32_t *symbol_start; /* n_symbols: the first code point of each symbol, increasing */
    int32_t *next;          /* n_states × n_symbols: the state after a symbol, or -1 */
    uint8_t *accepting;     /* n_states */
    uint64_t fingerprint;   /* a hash of all the above: caches built from a pattern compare
                               it, since a freed pattern's address may come back */
};

/* The symbol of a code point. */
int pattern_symbol(const crnn_pattern *p, uint32_t cp);
/* The state after cp from state, or -1. */
int pattern_step(const crnn_pattern *p, int state, uint32_t cp);

/* ---- the syntax tree, between the parser and the compiler ---- */

typedef enum { RX_EMPTY, RX_SET, RX_CONCAT, RX_ALT, RX_REPEAT } rx_kind;

typedef struct {
    rx_kind kind;
    int a, b;     /* children (CONCAT, ALT: a then b; REPEAT: a) */
    int min, max; /* REPEAT: bounds, max -1 = unbounded */
    int set;      /* SET: index into the tree's sets */
} rx_node;

typedef struct {
    rx_node *nodes;
    int n_nodes, cap_nodes;
    char_set *sets;
    int n_sets, cap_sets;
    int root;
} rx_tree;

void rx_tree_free(rx_tree *t);
/* Parses regex into t (which may already hold other patterns' nodes; *root gets this one's).
   `what` names it in messages ("pattern 2"). Errors point at the offending character. */
crnn_status rx_parse(rx_tree *t, const char *regex, const char *what, int *root,
                     crnn_error *err);
/* Adds a node; -1 if out of memory. */
int rx_add(rx_tree *t, rx_node node);

/* Compiles the tree from t->root into a minimal DFA. */
crnn_pattern *rx_compile(const rx_tree *t, crnn_error *err);

#endif

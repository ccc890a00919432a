/* prefix_beam.h — CTC prefix beam search (Graves 2012 §7.5; Hannun et al. 2014): keeps the
   most probable label prefixes, each with its probability of ending in a blank and in a
   non-blank, merging the paths that collapse to the same prefix. Classes far below the best
   of their frame (a factor of PREFIX_BEAM_PRUNE), or not among its PREFIX_BEAM_MAX_CLASSES
   likeliest, are not tried as extensions; masked classes (-inf) never are. (A trained
   network's frames rarely hold more than three classes within 1e-8 of the best; an untrained
   one's hold all, and trying every one on every frame of a 32,768-frame line is 12 M
   extensions.)

   Under a pattern, prefixes only grow along the pattern's edges, and at most per_state
   prefixes are kept in any one pattern state, so that the prefixes on the way to acceptance
   are not all crowded out by likelier ones that can no longer match; the answer is the most
   probable prefix that ends in an accepting state. It is the fallback of pattern decoding
   when the exact search runs out of budget.

   With a character language model (shallow fusion, lm_fusion), prefixes are ranked by
   log p(prefix) + weight × log p_lm(prefix) + bonus × characters, and the answer is the best
   by that score with the last word closed (its end-of-word probability added); the
   probabilities summed are still the network's alone. */
#ifndef CRNN_PREFIX_BEAM_H
#define CRNN_PREFIX_BEAM_H

#include <stdint.h>

#include "crnn.h"
#include "decode/automaton.h"

#define PREFIX_BEAM_PRUNE 1e-8
#define PREFIX_BEAM_MAX_CLASSES 16
#define PREFIX_BEAM_MAX_WIDTH 1024

typedef struct {
    const crnn_lm *lm;
    const uint8_t *symbol; /* per class: its letter's charlm symbol (1..26), or 0 */
    double weight, bonus;
} lm_fusion;

typedef struct prefix_beam prefix_beam;
prefix_beam *prefix_beam_new(void);
void prefix_beam_free(prefix_beam *b);

/* Writes at most max labels of the most probable prefix; returns the count, -1 if out of
   memory, -2 if under a pattern no kept prefix ends in an accepting state. *log_prob (if not
   NULL) receives the beam's estimate of its log-probability (a lower bound: paths through
   pruned prefixes are missing). pattern: NULL, or prefixes must follow it (per_state ≥ 1).
   fusion: NULL, or the language model to rank prefixes with (not with a pattern). */
int prefix_beam_decode(prefix_beam *b, const float *log_probs, int T, int C, int beam_width,
                       const pattern_edges *pattern, int per_state, const lm_fusion *fusion,
                       int *labels, int max, double *log_prob);

/* The prefix tree is rebuilt from the kept prefixes once it passes this many nodes (default
   65536) and has doubled since; results do not depend on it. For tests. */
void prefix_beam_set_compact_nodes(prefix_beam *b, int nodes);

#endif

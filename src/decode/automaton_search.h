/* automaton_search.h — the most probable accepted label sequence of an automaton under CTC,
   by an exact search over (frame, automaton state).

   A depth-first walk of the automaton's paths from its start: each step extends the CTC
   forward variables of the prefix by one label (O(T), shared by every sequence below it), and
   a branch is dropped when its prefix probability — an upper bound on every sequence that
   starts with it — is below the best accepted sequence found so far. Children are visited
   best bound first, so a good sequence is found early and prunes the rest. For a lexicon trie
   this is the exact lexicon search; for a pattern (whose automaton has loops) the walk stops
   by itself because a prefix longer than the frames has probability 0.

   With a node budget the walk may stop early (complete = 0): the answer is then the best
   sequence found so far, not necessarily the best one. */
#ifndef CRNN_AUTOMATON_SEARCH_H
#define CRNN_AUTOMATON_SEARCH_H

#include "decode/automaton.h"
#include "decode/frames.h"

typedef struct automaton_search automaton_search;
automaton_search *automaton_search_new(void);
void automaton_search_free(automaton_search *s);

typedef struct {
    int id;          /* what the best sequence's final state accepts (automaton_accepts), -1
                        if no sequence beat floor */
    double log_prob; /* its log-probability */
    int n_labels;    /* its length; the labels went to the caller's buffer */
    long nodes;      /* states visited */
    int complete;    /* 0 if node_budget stopped the search early (then not exact) */
    int oom;         /* 1 if scratch memory could not be allocated */
} search_result;

/* The accepted sequence of a with the highest probability, above floor (ties: the lower id,
   then the first found). node_budget > 0 bounds the states visited. labels needs room for
   f->T entries. */
search_result automaton_search_run(automaton_search *s, const ctc_frames *f, const automaton *a,
                                   double floor, long node_budget, int *labels);

#endif

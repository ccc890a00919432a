/* candidates.h — the CRNN paper's candidate search for large lexicons (§2.3.2): the words
   within edit distance δ of the unconstrained text, found in the lexicon's BK-tree and each
   scored exactly, nearest first, each cut short as soon as it cannot win. The decoder falls
   back to it when the exact walk of a large lexicon runs out of budget. */
#ifndef CRNN_CANDIDATES_H
#define CRNN_CANDIDATES_H

#include "decode/class_map.h"
#include "decode/frames.h"
#include "lexicon/lexicon.h"

typedef struct {
    int_vec cand, dist, stack;
    uint32_t *query;
    int *labels;
    double *scratch;
    int cap;
} candidates_workspace;

void candidates_free(candidates_workspace *w);

/* Scores every word within max_distance of query (folded code points) and updates *best_word
   and *best_log_prob when one beats them (ties: the lower id). pattern: NULL, or only words
   that match it. */
crnn_status candidates_search(candidates_workspace *w, const crnn_lexicon *lex,
                              const class_map *map, const crnn_pattern *pattern,
                              const ctc_frames *f, const uint32_t *query, int query_len,
                              int max_distance, int *best_word, double *best_log_prob,
                              crnn_error *err);

#endif

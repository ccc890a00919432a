/* lexicon_decode.h — exact CTC scoring of lexicon words: the probability of a word summed over
   all its alignments, for one word at a time (BK-tree candidates) or for a whole trie at once
   (depth-first, prefixes shared, hopeless subtrees skipped by an upper bound).

   Scores work on probabilities divided, frame by frame, by a common factor c_t (the frame's
   best probability): exact, since every word is divided by the same product, and a plausible
   word stays near 1 instead of underflowing. A word more than about 700 nats below best path
   underflows to "impossible"; decode.c rescues small lexicons from that in log space. */
#ifndef CRNN_LEXICON_DECODE_H
#define CRNN_LEXICON_DECODE_H

#include <stdint.h>

#include "crnn.h"
#include "lexicon/lexicon.h"

/* Code point → class of a model; with fold, case forms share their lowest class (the
   "representative") and code points are folded before the lookup. */
typedef struct {
    int32_t low[256]; /* code points < 256 */
    uint32_t *cp;     /* the others, sorted */
    int32_t *cls;
    int n, fold;
} class_map;

crnn_status class_map_build(class_map *m, const uint32_t *charset, int n_classes, int fold,
                            crnn_error *err);
void class_map_free(class_map *m);
/* The class of cp, or -1 if the model cannot write it. */
int class_map_get(const class_map *m, uint32_t cp);
/* Labels of a word's code points; 0 if a character has no class. */
int class_map_labels(const class_map *m, const uint32_t *cps, int n, int *labels);

/* One image's frames, prepared for scoring. */
typedef struct {
    double *p;        /* class-major: p[k * T + t] = p_t(k) / c_t (k summed over case forms
                         into its representative when folded) */
    double *inv_tail; /* T: Π_{t' > t} 1 / c_t' — turns prefix mass into an upper bound */
    double log_norm;  /* Σ_t log c_t: add to a scaled log-probability to get the true one */
    int T, C;
    size_t cap;
} ctc_frames;

/* rep: NULL, or for folding the representative class of each class (rep[0] = 0). */
crnn_status ctc_frames_prepare(ctc_frames *f, const float *log_probs, int T, int C,
                               const int *rep, crnn_error *err);
void ctc_frames_free(ctc_frames *f);

/* log p(labels | frames), exact; -INFINITY if impossible, or as soon as it is sure the word
   cannot reach floor (pass -INFINITY to always finish). scratch: 2 * (2L + 1) doubles. */
double ctc_frames_score(const ctc_frames *f, const int *labels, int L, double floor,
                        double *scratch);

typedef struct trie_search trie_search;
trie_search *trie_search_new(void);
void trie_search_free(trie_search *s);

typedef struct {
    int word;        /* best word id, -1 if none beat floor */
    double log_prob; /* its log-probability */
    long nodes;      /* trie nodes visited */
    int complete;    /* 0 if node_budget stopped the search early (then not exact) */
    int oom;         /* 1 if scratch memory could not be allocated */
} trie_search_result;

/* The word of the trie with the highest probability (ties: the lower id), among the words
   every character of which map has a class for, and above floor. node_budget > 0 bounds the
   nodes visited. */
trie_search_result ctc_trie_search(trie_search *s, const ctc_frames *f, const trie *t,
                                   const class_map *map, double floor, long node_budget);

#endif

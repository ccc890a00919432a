/* constrained.h — the most probable text under a constraint: a lexicon (one of its words), a
   pattern (a text it matches), or both (a word that matches). All of them are one exact
   search over (frame, automaton state) (automaton_search.h); what differs is only what is
   done when that search may not finish:

   - lexicons of up to CRNN_LEXICON_EXACT_WORDS words (or any, with max_distance < 0): never
     cut short;
   - larger lexicons: CRNN_LEXICON_SEARCH_NODES states, then the BK-tree candidates near the
     free text (candidates.h);
   - patterns alone: CRNN_PATTERN_SEARCH_NODES states, then a prefix beam search that follows
     the pattern (prefix_beam.h);
   - and when every match underflowed the scaled probabilities (hundreds of nats below the
     free text) but the caller wants a match whatever its probability (no margin): small
     lexicons scored word by word, and patterns through the beam, in log space.

   With a margin, the search starts from the floor log p(free text) − margin instead of
   nothing: an image far from any match (a word under a date pattern) is done with at once. */
#ifndef CRNN_CONSTRAINED_H
#define CRNN_CONSTRAINED_H

#include "crnn.h"
#include "model/model.h"

typedef struct constrained_workspace constrained_workspace;
constrained_workspace *constrained_workspace_new(void);
void constrained_workspace_free(constrained_workspace *w);

typedef struct {
    const crnn_lexicon *lexicon; /* NULL, or only its words */
    int fold;                    /* with a lexicon: match it in any case */
    int max_distance;            /* BK-tree δ; < 0: search a large lexicon to the end */
    const crnn_pattern *pattern; /* NULL, or only texts that match it */
    double margin;               /* only matches within this many nats of the free text count
                                    (the others would be dropped for it anyway: they bound the
                                    search); < 0: a match however improbable, rescued in log
                                    space if it underflows */
} constraint;

typedef struct {
    int found;       /* a text within the constraint (and the margin) was found */
    int word;        /* its lexicon word, -1 without a lexicon */
    const int *labels; /* its labels (case representatives when folded), n of them; valid
                          until the workspace's next use */
    int n;
    double log_prob; /* log p(text | image), case forms summed when folded */
    double free_log_prob; /* the free text's, in the same probabilities */
    int complete;    /* the exact search ran to the end */
} constrained_choice;

/* log_probs: the (masked) frames; free_labels: the unconstrained text, n_free labels. */
crnn_status constrained_decode(constrained_workspace *w, const crnn_model *m,
                               const float *log_probs, int T, int C, const constraint *c,
                               const int *free_labels, int n_free, constrained_choice *out,
                               crnn_error *err);

/* The log-probabilities in which the choice's labels align: log_probs itself, or with fold its
   case forms summed into their representatives. NULL if out of memory. */
const float *constrained_alignment_log_probs(constrained_workspace *w, const float *log_probs,
                                             int T, int C, int fold);

/* A case-insensitive lexicon word in the case the image shows. word: the lexicon's spelling
   (UTF-8), its n characters aligned to labels (case representatives) over frames
   start[i]..end[i] of log_probs (constrained_alignment_log_probs with fold). Each character
   the model writes in more than one case form takes the form most probable on its frames
   (best path's measure, the highest probability in the run); the others stay as the lexicon
   writes them (a model of lower case only, a lexicon in capitals). Returns the malloc'ed
   UTF-8 text, or NULL if out of memory. */
char *constrained_recase(const constrained_workspace *w, const crnn_model *m, const char *word,
                         const float *log_probs, int C, const int *labels, const int *start,
                         const int *end, int n);

#endif

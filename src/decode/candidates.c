/* candidates.c — BK-tree candidates of a large lexicon, scored exactly. */
#include <math.h>
#include <stdlib.h>

#include "decode/candidates.h"
#include "pattern/pattern.h"
#include "util/util.h"

void candidates_free(candidates_workspace *w) {
    free(w->cand.v);
    free(w->dist.v);
    free(w->stack.v);
    free(w->query);
    free(w->labels);
    free(w->scratch);
}

/* Whether a lexicon word (code points) matches the pattern. */
static int word_matches(const crnn_pattern *p, const uint32_t *cps, int n) {
    int state = p->start;
    for (int i = 0; i < n && state >= 0; i++) state = pattern_step(p, state, cps[i]);
    return state >= 0 && p->accepting[state];
}

crnn_status candidates_search(candidates_workspace *w, const crnn_lexicon *lex,
                              const class_map *map, const crnn_pattern *pattern,
                              const ctc_frames *f, const uint32_t *query, int query_len,
                              int max_distance, int *best_word, double *best_log_prob,
                              crnn_error *err) {
    int L_max = lex->max_len > 0 ? lex->max_len : 1;
    if (L_max > w->cap) {
        int *l = realloc(w->labels, sizeof(int) * (size_t)L_max);
        if (l) w->labels = l;
        double *s = realloc(w->scratch, sizeof(double) * 2 * (2 * (size_t)L_max + 1));
        if (s) w->scratch = s;
        if (!l || !s) return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
        w->cap = L_max;
    }
    w->cand.n = w->dist.n = 0;
    if (bktree_query(&lex->bk, query, query_len, max_distance, &w->cand, &w->dist, &w->stack) < 0)
        return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    /* nearest first: the likeliest words come early and cut the others short */
    for (int d = 0; d <= max_distance; d++)
        for (int i = 0; i < w->cand.n; i++) {
            if (w->dist.v[i] != d) continue;
            int word = w->cand.v[i];
            const uint32_t *cps = lex->cp + lex->cp_off[word];
            int L = (int)(lex->cp_off[word + 1] - lex->cp_off[word]);
            if (!class_map_labels(map, cps, L, w->labels)) continue;
            if (pattern && !word_matches(pattern, cps, L)) continue;
            double lp = ctc_frames_score(f, w->labels, L, *best_log_prob, w->scratch);
            if (lp > *best_log_prob ||
                (lp == *best_log_prob && lp > -INFINITY && word < *best_word)) {
                *best_word = word;
                *best_log_prob = lp;
            }
        }
    return CRNN_OK;
}

/* constrained.c — lexicon and pattern decoding: the automaton, the exact search, and the
   fallbacks of constrained.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctc/ctc.h"
#include "decode/automaton_search.h"
#include "decode/candidates.h"
#include "decode/constrained.h"
#include "decode/frames.h"
#include "decode/prefix_beam.h"
#include "lexicon/lexicon.h"
#include "pattern/pattern.h"
#include "util/util.h"

/* When every word of a lexicon this small underflows in the scaled scorer (all are hundreds of
   nats below best path), the words are scored again in log space so that a lexicon word is
   still chosen, as the benchmark protocols expect. */
#define RESCUE_MAX_WORDS 1000
/* The pattern fallback: prefixes kept in all, and in any one pattern state. */
#define PATTERN_BEAM_WIDTH 64
#define PATTERN_BEAM_PER_STATE 4

struct constrained_workspace {
    const crnn_model *model;   /* the model the maps below were built for */
    class_map map[2];          /* [0] exact, [1] case-folded */
    int *rep;                  /* class → folded representative */
    ctc_frames frames;
    float *lp_fold;            /* log-probabilities with case forms added up */
    size_t lp_fold_cap;
    automaton_search *search;
    pattern_edges edges;       /* the pattern over the model's classes */
    const crnn_model *edges_model;
    prefix_beam *beam;
    candidates_workspace cand;
    int cap;                   /* frames the arrays below hold */
    int *labels, *beam_labels, *mapped;
    double *scratch;           /* 2 (2 cap + 1) doubles for the scorers */
    uint32_t *query;
};

constrained_workspace *constrained_workspace_new(void) {
    return calloc(1, sizeof(constrained_workspace));
}

void constrained_workspace_free(constrained_workspace *w) {
    if (!w) return;
    class_map_free(&w->map[0]);
    class_map_free(&w->map[1]);
    free(w->rep);
    ctc_frames_free(&w->frames);
    free(w->lp_fold);
    automaton_search_free(w->search);
    pattern_edges_free(&w->edges);
    prefix_beam_free(w->beam);
    candidates_free(&w->cand);
    free(w->labels);
    free(w->beam_labels);
    free(w->mapped);
    free(w->scratch);
    free(w->query);
    free(w);
}

#define GROW(p, n) (tmp_ = realloc((p), sizeof *(p) * (size_t)(n)), tmp_ ? ((p) = tmp_, 1) : 0)

static int grow(constrained_workspace *w, int n) {
    if (n <= w->cap) return 1;
    void *tmp_;
    if (!GROW(w->labels, n) || !GROW(w->beam_labels, n) || !GROW(w->mapped, n) ||
        !GROW(w->query, n) || !GROW(w->scratch, 2 * (2 * (size_t)n + 1)))
        return 0;
    w->cap = n;
    return 1;
}

/* Class maps (exact and folded) and the representatives, once per model. */
static crnn_status prepare_maps(constrained_workspace *w, const crnn_model *m, crnn_error *err) {
    if (w->model == m) return CRNN_OK;
    class_map_free(&w->map[0]);
    class_map_free(&w->map[1]);
    w->model = NULL;
    crnn_status s = class_map_build(&w->map[0], m->charset, m->n_classes, 0, err);
    if (s == CRNN_OK) s = class_map_build(&w->map[1], m->charset, m->n_classes, 1, err);
    if (s != CRNN_OK) return s;
    int *rep = realloc(w->rep, sizeof(int) * (size_t)m->n_classes);
    if (!rep) return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    w->rep = rep;
    rep[0] = 0;
    for (int k = 1; k < m->n_classes; k++) rep[k] = class_map_get(&w->map[1], m->charset[k]);
    w->model = m;
    return CRNN_OK;
}

const float *constrained_alignment_log_probs(constrained_workspace *w, const float *lp, int T,
                                             int C, int fold) {
    if (!fold) return lp;
    size_t need = (size_t)T * C;
    if (need > w->lp_fold_cap) {
        float *p = realloc(w->lp_fold, sizeof(float) * need);
        if (!p) return NULL;
        w->lp_fold = p;
        w->lp_fold_cap = need;
    }
    for (int t = 0; t < T; t++) {
        const float *row = lp + (size_t)t * C;
        float *out = w->lp_fold + (size_t)t * C;
        for (int k = 0; k < C; k++) out[k] = 0;
        for (int k = 0; k < C; k++) out[w->rep[k]] += expf(row[k]);
        for (int k = 0; k < C; k++) out[k] = out[k] > 0 ? logf(out[k]) : -INFINITY;
    }
    return w->lp_fold;
}

/* The labels of lexicon word `word` under map; -1 if the model cannot write it. */
static int word_labels(const crnn_lexicon *lex, const class_map *map, int word, int *labels) {
    int L = (int)(lex->cp_off[word + 1] - lex->cp_off[word]);
    return class_map_labels(map, lex->cp + lex->cp_off[word], L, labels) ? L : -1;
}

static crnn_status choose_word(constrained_workspace *w, const crnn_model *m, const float *lp,
                               int T, int C, const constraint *c, int n_free, double floor,
                               constrained_choice *out, crnn_error *err) {
    const crnn_lexicon *lex = c->lexicon;
    const class_map *map = &w->map[c->fold];
    if (!grow(w, lex->max_len > T ? lex->max_len : T))
        return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    const int large = lex->n_words > CRNN_LEXICON_EXACT_WORDS && c->max_distance >= 0;
    automaton a = {&lex->trie, map, c->pattern, NULL};
    /* exact over the whole trie: unbounded for small lexicons, within a budget for large
       ones, where on confident frames it usually finishes long before the budget */
    search_result r = automaton_search_run(w->search, &w->frames, &a, floor,
                                           large ? CRNN_LEXICON_SEARCH_NODES : 0, w->labels);
    if (r.oom) return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    int word = r.id;
    double best = word >= 0 ? r.log_prob : floor;
    out->complete = r.complete;
    if (large && !r.complete) {
        /* the paper's candidates: words within δ of the free text (in case folding), beside
           the best word the cut-short search had found */
        for (int i = 0; i < n_free; i++) w->query[i] = casefold(m->charset[w->mapped[i]]);
        crnn_status s = candidates_search(&w->cand, lex, map, c->pattern, &w->frames, w->query,
                                          n_free, c->max_distance, &word, &best, err);
        if (s != CRNN_OK) return s;
    }
    if (word < 0 && c->margin < 0 && lex->n_words <= RESCUE_MAX_WORDS) {
        const float *alp = constrained_alignment_log_probs(w, lp, T, C, c->fold);
        if (!alp) return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
        for (int i = 0; i < lex->n_words; i++) {
            int L = word_labels(lex, map, i, w->labels);
            if (L < 0) continue;
            if (c->pattern) {
                const uint32_t *cps = lex->cp + lex->cp_off[i];
                int st = c->pattern->start;
                for (int j = 0; j < L && st >= 0; j++) st = pattern_step(c->pattern, st, cps[j]);
                if (st < 0 || !c->pattern->accepting[st]) continue;
            }
            double lpw = ctc_log_likelihood(alp, T, C, w->labels, L);
            if (isnan(lpw)) return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
            if (lpw > best || (lpw == best && lpw > -INFINITY && i < word)) {
                word = i;
                best = lpw;
            }
        }
    }
    if (word >= 0) {
        out->found = 1;
        out->word = word;
        out->n = word_labels(lex, map, word, w->labels);
        out->labels = w->labels;
        out->log_prob = best;
    }
    return CRNN_OK;
}

static crnn_status choose_pattern_text(constrained_workspace *w, const crnn_model *m,
                                       const float *lp, int T, int C, const constraint *c,
                                       double floor, constrained_choice *out, crnn_error *err) {
    if (!grow(w, T)) return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    if (!pattern_edges_of(&w->edges, c->pattern) || w->edges_model != m) {
        w->edges_model = NULL;
        crnn_status s = pattern_edges_build(&w->edges, c->pattern, m->charset, m->n_classes, err);
        if (s != CRNN_OK) return s;
        w->edges_model = m;
    }
    automaton a = {NULL, NULL, c->pattern, &w->edges};
    search_result r = automaton_search_run(w->search, &w->frames, &a, floor,
                                           CRNN_PATTERN_SEARCH_NODES, w->labels);
    if (r.oom) return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    out->complete = r.complete;
    int n = r.id >= 0 ? r.n_labels : -1;
    double best = r.id >= 0 ? r.log_prob : floor;
    const int *labels = w->labels;
    if (!r.complete || (r.id < 0 && c->margin < 0)) {
        /* cut short, or nothing above the scaled range: a beam that follows the pattern */
        if (!w->beam && !(w->beam = prefix_beam_new()))
            return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
        int nb = prefix_beam_decode(w->beam, lp, T, C, PATTERN_BEAM_WIDTH, &w->edges,
                                    PATTERN_BEAM_PER_STATE, NULL, w->beam_labels, T, NULL);
        if (nb == -1) return set_error(err, CRNN_ERR_NOMEM, "out of memory in beam search");
        /* a text too long to score exactly is no candidate (CRNN_DECODE_MAX_LATTICE) */
        if (nb >= 0 && (double)T * (2.0 * nb + 1) <= (double)CRNN_DECODE_MAX_LATTICE) {
            double lpb = ctc_frames_score(&w->frames, w->beam_labels, nb, -INFINITY, w->scratch);
            if (lpb == -INFINITY) /* underflowed in the scaled frames: in log space */
                lpb = ctc_sequence_log_prob(lp, T, C, w->beam_labels, nb, w->scratch);
            if (lpb > best) {
                n = nb;
                best = lpb;
                labels = w->beam_labels;
            }
        }
    }
    if (n >= 0 && best > -INFINITY) {
        out->found = 1;
        out->n = n;
        out->labels = labels;
        out->log_prob = best;
    }
    return CRNN_OK;
}

char *constrained_recase(const constrained_workspace *w, const crnn_model *m, const char *word,
                         const float *lp, int C, const int *labels, const int *start,
                         const int *end, int n) {
    uint32_t *cps = malloc(sizeof *cps * (size_t)(n ? n : 1));
    char *text = malloc(4 * (size_t)n + 1);
    const int allocated = cps && text;
    if (!allocated || utf8_to_codepoints(word, cps, n) != n) {
        free(cps);
        free(text);
        return allocated ? strdup(word) : NULL; /* not the labels' word: as written */
    }
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        int best = -1, forms = 0;
        float best_p = -INFINITY;
        for (int k = 1; k < m->n_classes && k < C; k++) {
            if (w->rep[k] != labels[i]) continue;
            forms++;
            for (int t = start[i]; t <= end[i]; t++)
                if (lp[(size_t)t * C + k] > best_p) {
                    best_p = lp[(size_t)t * C + k];
                    best = k;
                }
        }
        if (forms > 1 && best > 0) cps[i] = m->charset[best];
        len += (size_t)utf8_encode(cps[i], text + len);
    }
    text[len] = 0;
    free(cps);
    return text;
}

crnn_status constrained_decode(constrained_workspace *w, const crnn_model *m, const float *lp,
                               int T, int C, const constraint *c, const int *free_labels,
                               int n_free, constrained_choice *out, crnn_error *err) {
    memset(out, 0, sizeof *out);
    out->word = -1;
    out->log_prob = -INFINITY;
    const int fold = c->lexicon && c->fold;
    crnn_status s = prepare_maps(w, m, err);
    if (s == CRNN_OK) s = ctc_frames_prepare(&w->frames, lp, T, C, fold ? w->rep : NULL, err);
    if (s != CRNN_OK) return s;
    if (!grow(w, T > n_free ? T : n_free))
        return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    if (!w->search && !(w->search = automaton_search_new()))
        return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    for (int i = 0; i < n_free; i++) w->mapped[i] = fold ? w->rep[free_labels[i]] : free_labels[i];
    /* the free text in the same (folded or not) probabilities as the matches it is held
       against */
    out->free_log_prob = ctc_frames_score(&w->frames, w->mapped, n_free, -INFINITY, w->scratch);
    if (out->free_log_prob == -INFINITY) {
        const float *alp = constrained_alignment_log_probs(w, lp, T, C, fold);
        if (!alp) return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
        out->free_log_prob = ctc_sequence_log_prob(alp, T, C, w->mapped, n_free, w->scratch);
    }
    /* slightly below free − margin: a match exactly at the margin is still kept */
    double floor = c->margin >= 0 ? out->free_log_prob - c->margin - 1e-9 : -INFINITY;
    if (c->lexicon) return choose_word(w, m, lp, T, C, c, n_free, floor, out, err);
    return choose_pattern_text(w, m, lp, T, C, c, floor, out, err);
}

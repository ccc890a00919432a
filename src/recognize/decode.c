/* decode.c — decoder dispatch and the conversion of labels to text.

   Best path is the default: one pass, no allocation, and on a well-trained network beam
   search rarely changes the text. With CRNN_DECODE_BEAM the unconstrained text comes from
   prefix beam search instead. With a lexicon, that unconstrained ("free") text is kept beside
   the lexicon word chosen as crnn.h describes; all the scoring is exact CTC probability. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctc/ctc.h"
#include "ctc/lexicon_decode.h"
#include "lexicon/lexicon.h"
#include "recognize/decode.h"
#include "util/util.h"

/* When every word of a lexicon this small underflows in the scaled scorer (all are hundreds of
   nats below best path), the words are scored again in log space so that a lexicon word is
   still chosen, as the benchmark protocols expect. */
#define RESCUE_MAX_WORDS 1000

struct decode_workspace {
    int cap;                              /* frames the per-frame arrays hold */
    int *labels, *start, *end, *mapped;   /* the free text */
    float *conf;
    int wcap;                             /* code points the word arrays hold */
    int *wlabels, *wstart, *wend, *wtmp;  /* the lexicon word */
    float *wconf;
    double *scratch;                      /* 2 (2 wcap + 1) doubles for the scorer */
    uint32_t *query;                      /* free text, case-folded, for the BK-tree */
    ctc_beam *beam;
    const crnn_model *model;              /* the model the class maps were built for */
    class_map map[2];                     /* [0] exact, [1] case-folded */
    int *rep;                             /* class → folded representative */
    ctc_frames frames;
    float *lp_fold;                       /* log-probabilities with case forms added up */
    size_t lp_fold_cap;
    trie_search *search;
    int_vec cand, dist, stack;
};

decode_workspace *decode_workspace_new(void) { return calloc(1, sizeof(decode_workspace)); }

void decode_workspace_free(decode_workspace *dw) {
    if (!dw) return;
    free(dw->labels);
    free(dw->start);
    free(dw->end);
    free(dw->mapped);
    free(dw->conf);
    free(dw->wlabels);
    free(dw->wstart);
    free(dw->wend);
    free(dw->wtmp);
    free(dw->wconf);
    free(dw->scratch);
    free(dw->query);
    ctc_beam_free(dw->beam);
    class_map_free(&dw->map[0]);
    class_map_free(&dw->map[1]);
    free(dw->rep);
    ctc_frames_free(&dw->frames);
    free(dw->lp_fold);
    trie_search_free(dw->search);
    free(dw->cand.v);
    free(dw->dist.v);
    free(dw->stack.v);
    free(dw);
}

char *labels_to_utf8(const crnn_model *m, const int *labels, int n) {
    char *s = malloc((size_t)n * 4 + 1);
    if (!s) return NULL;
    size_t k = 0;
    for (int i = 0; i < n; i++) k += (size_t)utf8_encode(m->charset[labels[i]], s + k);
    s[k] = 0;
    return s;
}

crnn_status result_set_text(crnn_result *res, const crnn_model *m, const int *labels,
                            const float *conf, int n, crnn_error *err) {
    free(res->text);
    free(res->char_confidence);
    res->text = labels_to_utf8(m, labels, n);
    res->char_confidence = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!res->text || !res->char_confidence)
        return set_error(err, CRNN_ERR_NOMEM, "out of memory for the result");
    res->num_chars = n;
    double c = 1.0;
    for (int i = 0; i < n; i++) {
        res->char_confidence[i] = conf[i];
        c *= conf[i];
    }
    res->confidence = (float)c;
    return CRNN_OK;
}

#define GROW(p, n) (tmp_ = realloc((p), sizeof *(p) * (size_t)(n)), tmp_ ? ((p) = tmp_, 1) : 0)

static int grow_frames(decode_workspace *dw, int T) {
    if (T <= dw->cap) return 1;
    void *tmp_;
    if (!GROW(dw->labels, T) || !GROW(dw->start, T) || !GROW(dw->end, T) ||
        !GROW(dw->mapped, T) || !GROW(dw->conf, T) || !GROW(dw->query, T))
        return 0;
    dw->cap = T;
    return 1;
}

static int grow_word(decode_workspace *dw, int L) {
    if (L <= dw->wcap) return 1;
    void *tmp_;
    if (!GROW(dw->wlabels, L) || !GROW(dw->wstart, L) || !GROW(dw->wend, L) ||
        !GROW(dw->wtmp, L) || !GROW(dw->wconf, L) || !GROW(dw->scratch, 2 * (2 * L + 1)))
        return 0;
    dw->wcap = L;
    return 1;
}

/* Class maps (exact and folded) and the representatives, once per model. */
static crnn_status prepare_maps(decode_workspace *dw, const crnn_model *m, crnn_error *err) {
    if (dw->model == m) return CRNN_OK;
    class_map_free(&dw->map[0]);
    class_map_free(&dw->map[1]);
    dw->model = NULL;
    crnn_status s = class_map_build(&dw->map[0], m->charset, m->n_classes, 0, err);
    if (s == CRNN_OK) s = class_map_build(&dw->map[1], m->charset, m->n_classes, 1, err);
    if (s != CRNN_OK) return s;
    int *rep = realloc(dw->rep, sizeof(int) * (size_t)m->n_classes);
    if (!rep) return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    dw->rep = rep;
    rep[0] = 0;
    for (int k = 1; k < m->n_classes; k++) rep[k] = class_map_get(&dw->map[1], m->charset[k]);
    dw->model = m;
    return CRNN_OK;
}

/* Log-probabilities with each case form's probability added into its representative (the
   others -inf): what the folded scores mean, for aligning and for log-space rescoring. */
static const float *folded_log_probs(decode_workspace *dw, const float *lp, int T, int C) {
    size_t need = (size_t)T * C;
    if (need > dw->lp_fold_cap) {
        float *p = realloc(dw->lp_fold, sizeof(float) * need);
        if (!p) return NULL;
        dw->lp_fold = p;
        dw->lp_fold_cap = need;
    }
    for (int t = 0; t < T; t++) {
        const float *row = lp + (size_t)t * C;
        float *out = dw->lp_fold + (size_t)t * C;
        for (int k = 0; k < C; k++) out[k] = 0;
        for (int k = 0; k < C; k++) out[dw->rep[k]] += expf(row[k]);
        for (int k = 0; k < C; k++) out[k] = out[k] > 0 ? logf(out[k]) : -INFINITY;
    }
    return dw->lp_fold;
}

typedef struct {
    int word;
    double log_prob;
} choice;

static void consider(choice *c, int word, double lp) {
    if (lp > c->log_prob || (lp == c->log_prob && lp > -INFINITY && word < c->word)) {
        c->word = word;
        c->log_prob = lp;
    }
}

/* The labels of lexicon word w under map (0 if the model cannot write it). */
static int word_labels(const crnn_lexicon *lex, const class_map *map, int w, int *labels) {
    int L = (int)(lex->cp_off[w + 1] - lex->cp_off[w]);
    return class_map_labels(map, lex->cp + lex->cp_off[w], L, labels) ? L : -1;
}

/* Picks the lexicon word (see crnn.h for the strategy). */
static crnn_status choose_word(decode_workspace *dw, const crnn_model *m, const float *lp, int T,
                               int C, const crnn_params *params, int n_free, choice *best,
                               crnn_error *err) {
    const crnn_lexicon *lex = params->lexicon;
    const int fold = params->lexicon_case_insensitive != 0;
    const class_map *map = &dw->map[fold];
    best->word = -1;
    best->log_prob = -INFINITY;
    if (!grow_word(dw, lex->max_len > 0 ? lex->max_len : 1))
        return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    if (!dw->search && !(dw->search = trie_search_new()))
        return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    const int large = lex->n_words > CRNN_LEXICON_EXACT_WORDS && params->lexicon_max_distance >= 0;
    /* exact over the whole trie: unbounded for small lexicons, within a budget for large ones,
       where on confident frames it usually finishes long before the budget */
    trie_search_result r = ctc_trie_search(dw->search, &dw->frames, &lex->trie, map, -INFINITY,
                                           large ? CRNN_LEXICON_SEARCH_NODES : 0);
    if (r.oom) return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    if (r.word >= 0) consider(best, r.word, r.log_prob);
    if (large && !r.complete) {
        /* the paper's candidates: words within δ of the free text (in case folding), each
           scored exactly, beside the best word the cut-short search had found */
        for (int i = 0; i < n_free; i++) dw->query[i] = casefold(m->charset[dw->labels[i]]);
        dw->cand.n = dw->dist.n = 0;
        if (bktree_query(&lex->bk, dw->query, n_free, params->lexicon_max_distance, &dw->cand,
                         &dw->dist, &dw->stack) < 0)
            return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
        /* nearest first: the likeliest words come early and cut the others short */
        for (int d = 0; d <= params->lexicon_max_distance; d++)
            for (int i = 0; i < dw->cand.n; i++) {
                if (dw->dist.v[i] != d) continue;
                int w = dw->cand.v[i], L = word_labels(lex, map, w, dw->wtmp);
                if (L < 0) continue;
                consider(best, w, ctc_frames_score(&dw->frames, dw->wtmp, L, best->log_prob,
                                                   dw->scratch));
            }
    }
    if (best->word < 0 && params->lexicon_margin < 0 && lex->n_words <= RESCUE_MAX_WORDS) {
        const float *alp = fold ? folded_log_probs(dw, lp, T, C) : lp;
        if (!alp) return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
        for (int w = 0; w < lex->n_words; w++) {
            int L = word_labels(lex, map, w, dw->wtmp);
            if (L >= 0) consider(best, w, ctc_log_likelihood(alp, T, C, dw->wtmp, L));
        }
        if (best->log_prob != best->log_prob) best->word = -1; /* NAN: out of memory */
    }
    return CRNN_OK;
}

crnn_status decode_frames_traced(decode_workspace *dw, const crnn_model *m, const float *lp,
                                 int T, int C, const crnn_params *params, crnn_result *res,
                                 crnn_error *err, decode_trace *trace) {
    crnn_params defaults = crnn_default_params();
    if (!params) params = &defaults;
    if (!grow_frames(dw, T)) return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    const int beam = params->decoder == CRNN_DECODE_BEAM;
    if (params->decoder != CRNN_DECODE_GREEDY && !beam)
        return set_error(err, CRNN_ERR_ARG, "unknown decoder %d", (int)params->decoder);
    if (beam && (params->beam_width < 1 || params->beam_width > CTC_BEAM_MAX_WIDTH))
        return set_error(err, CRNN_ERR_ARG, "beam width %d outside 1..%d", params->beam_width,
                         CTC_BEAM_MAX_WIDTH);
    const crnn_lexicon *lex = params->lexicon;
    int n;
    double free_lp = 0;
    if (beam) {
        if (!dw->beam && !(dw->beam = ctc_beam_new()))
            return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
        n = ctc_beam_decode(dw->beam, lp, T, C, params->beam_width, dw->labels, T, NULL);
        if (n < 0) return set_error(err, CRNN_ERR_NOMEM, "out of memory in beam search");
        /* confidences as best path defines them, along the text's best alignment */
        if (isnan(ctc_align(lp, T, C, dw->labels, n, dw->start, dw->end, dw->conf)))
            return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
        free_lp = ctc_log_likelihood(lp, T, C, dw->labels, n);
    } else {
        n = ctc_greedy_decode(lp, T, C, dw->labels, dw->conf, NULL, T);
        if (trace && isnan(ctc_align(lp, T, C, dw->labels, n, dw->start, dw->end, NULL)))
            return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    }
    if (free_lp != free_lp) return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    if (trace) {
        memset(trace, 0, sizeof *trace);
        trace->n_free = trace->n = n;
        trace->free_labels = trace->labels = dw->labels;
        trace->free_start = trace->start = dw->start;
        trace->free_end = trace->end = dw->end;
        trace->lexicon_word = -1;
        trace->free_log_prob = free_lp;
    }
    if (!lex) {
        res->log_prob = free_lp;
        return result_set_text(res, m, dw->labels, dw->conf, n, err);
    }

    /* ---- lexicon ---- */
    const int fold = params->lexicon_case_insensitive != 0;
    crnn_status s = prepare_maps(dw, m, err);
    if (s == CRNN_OK)
        s = ctc_frames_prepare(&dw->frames, lp, T, C, fold ? dw->rep : NULL, err);
    if (s != CRNN_OK) return s;
    if (!grow_word(dw, n > 0 ? n : 1))
        return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    for (int i = 0; i < n; i++) dw->mapped[i] = fold ? dw->rep[dw->labels[i]] : dw->labels[i];
    /* the free text in the same (folded or not) probabilities as the words it is held against */
    free_lp = ctc_frames_score(&dw->frames, dw->mapped, n, -INFINITY, dw->scratch);
    choice best;
    s = choose_word(dw, m, lp, T, C, params, n, &best, err);
    if (s != CRNN_OK) return s;
    const double margin = params->lexicon_margin;
    int use_word = best.word >= 0 && !(margin >= 0 && best.log_prob < free_lp - margin);
    free(res->free_text);
    res->free_text = labels_to_utf8(m, dw->labels, n);
    if (!res->free_text) return set_error(err, CRNN_ERR_NOMEM, "out of memory for the result");
    if (trace) trace->free_log_prob = free_lp;
    if (!use_word) {
        res->log_prob = free_lp;
        return result_set_text(res, m, dw->labels, dw->conf, n, err);
    }
    const class_map *map = &dw->map[fold];
    int L = word_labels(lex, map, best.word, dw->wlabels);
    const float *alp = fold ? folded_log_probs(dw, lp, T, C) : lp;
    if (!alp) return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    if (isnan(ctc_align(alp, T, C, dw->wlabels, L, dw->wstart, dw->wend, dw->wconf)))
        return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    free(res->text);
    free(res->char_confidence);
    const char *word = lex->text + lex->text_off[best.word];
    res->text = strdup(word);
    res->char_confidence = malloc(sizeof(float) * (size_t)(L ? L : 1));
    if (!res->text || !res->char_confidence)
        return set_error(err, CRNN_ERR_NOMEM, "out of memory for the result");
    res->num_chars = L;
    double c = 1;
    for (int i = 0; i < L; i++) {
        res->char_confidence[i] = dw->wconf[i];
        c *= dw->wconf[i];
    }
    res->confidence = (float)c;
    res->log_prob = best.log_prob;
    if (trace) {
        trace->n = L;
        trace->labels = dw->wlabels;
        trace->start = dw->wstart;
        trace->end = dw->wend;
        trace->lexicon_word = best.word;
    }
    return CRNN_OK;
}

crnn_status decode_frames(decode_workspace *dw, const crnn_model *m, const float *lp, int T,
                          int C, const crnn_params *params, crnn_result *res, crnn_error *err) {
    return decode_frames_traced(dw, m, lp, T, C, params, res, err, NULL);
}

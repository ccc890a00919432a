/* decoder.c — the order of a decoding (see crnn.h, "Decoding"):

   1. mask: classes outside params.allow, or in params.deny, get probability 0 (class_mask.c);
   2. the free text: best path (default) or prefix beam search, on the masked frames; with a
      character language model (params.lm), a beam search that weighs it in;
   3. with a lexicon or a pattern, the most probable text within it (constrained.c), kept
      unless it is more than params.lexicon_margin nats less probable than the free text;
   4. the confidence: p(text | image), the CTC probability of the text returned summed over
      its alignments; for an empty text that is the probability that the image holds no text;
   5. below params.min_confidence, the reading is rejected: empty text, rejected = 1.

   Per-character confidences are taken along the text's most probable alignment, as best path
   takes them: the highest probability of the character among the frames of its run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctc/ctc.h"
#include "decode/best_path.h"
#include "decode/class_mask.h"
#include "decode/constrained.h"
#include "decode/decode.h"
#include "decode/frames.h"
#include "decode/prefix_beam.h"
#include "lexicon/lexicon.h"
#include "lm/charlm.h"
#include "util/util.h"

struct decode_workspace {
    int cap;                             /* frames the arrays below hold */
    int *labels, *start, *end;           /* the free text */
    float *conf;
    int *wstart, *wend;                  /* the constrained text */
    float *wconf;
    double *scratch;                     /* 2 cap + 1 doubles for the sequence scorer */
    prefix_beam *beam;
    class_mask mask;
    constrained_workspace *constrained;
    const crnn_model *lm_model; /* the model lm_symbol was made for */
    uint8_t *lm_symbol;         /* per class: the language model's symbol of its character */
};

decode_workspace *decode_workspace_new(void) { return calloc(1, sizeof(decode_workspace)); }

void decode_workspace_free(decode_workspace *dw) {
    if (!dw) return;
    free(dw->labels);
    free(dw->start);
    free(dw->end);
    free(dw->conf);
    free(dw->wstart);
    free(dw->wend);
    free(dw->wconf);
    free(dw->scratch);
    prefix_beam_free(dw->beam);
    class_mask_free(&dw->mask);
    constrained_workspace_free(dw->constrained);
    free(dw->lm_symbol);
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

#define GROW(p, n) (tmp_ = realloc((p), sizeof *(p) * (size_t)(n)), tmp_ ? ((p) = tmp_, 1) : 0)

static int grow_frames(decode_workspace *dw, int T) {
    if (T <= dw->cap) return 1;
    void *tmp_;
    if (!GROW(dw->labels, T) || !GROW(dw->start, T) || !GROW(dw->end, T) || !GROW(dw->conf, T) ||
        !GROW(dw->wstart, T) || !GROW(dw->wend, T) || !GROW(dw->wconf, T) ||
        !GROW(dw->scratch, 2 * (size_t)T + 1))
        return 0;
    dw->cap = T;
    return 1;
}

static crnn_status out_of_memory(crnn_error *err) {
    return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
}

/* Everything but allow/deny, which class_mask_update checks when they change. */
static crnn_status check_settings(const crnn_params *p, crnn_error *err) {
    if (p->decoder != CRNN_DECODE_GREEDY && p->decoder != CRNN_DECODE_BEAM)
        return set_error(err, CRNN_ERR_ARG, "unknown decoder %d", (int)p->decoder);
    if (p->decoder == CRNN_DECODE_BEAM &&
        (p->beam_width < 1 || p->beam_width > PREFIX_BEAM_MAX_WIDTH))
        return set_error(err, CRNN_ERR_ARG, "beam width %d outside 1..%d", p->beam_width,
                         PREFIX_BEAM_MAX_WIDTH);
    if (!(p->min_confidence >= 0 && p->min_confidence <= 1))
        return set_error(err, CRNN_ERR_ARG, "min_confidence %g outside 0..1",
                         (double)p->min_confidence);
    if (!(p->reread_below >= 0 && p->reread_below <= 1))
        return set_error(err, CRNN_ERR_ARG, "reread_below %g outside 0..1",
                         (double)p->reread_below);
    if (p->rotate != CRNN_ROTATE_AUTO && p->rotate != CRNN_ROTATE_NONE)
        return set_error(err, CRNN_ERR_ARG, "rotate %d is neither CRNN_ROTATE_AUTO nor "
                         "CRNN_ROTATE_NONE", p->rotate);
    if (p->lm && !(p->lm_weight >= 0 && isfinite(p->lm_weight) && isfinite(p->lm_bonus)))
        return set_error(err, CRNN_ERR_ARG, "lm_weight %g (must be ≥ 0) or lm_bonus %g is not "
                         "usable", (double)p->lm_weight, (double)p->lm_bonus);
    if (isnan(p->lexicon_margin))
        return set_error(err, CRNN_ERR_ARG, "lexicon_margin is not a number");
    return CRNN_OK;
}

crnn_status decode_check_params(const crnn_model *m, const crnn_params *p, crnn_error *err) {
    crnn_status s = check_settings(p, err);
    if (s != CRNN_OK) return s;
    if (!m) return class_mask_check(p->allow, p->deny, err);
    class_mask cm = {0};
    s = class_mask_update(&cm, m, p->allow, p->deny, err);
    class_mask_free(&cm);
    return s;
}

/* A text's exact probability and its alignment cost T × (2L + 1) lattice steps for L
   characters on T frames. Real lines stay far below the limit: 4,096 px at 32 high is 1,024
   frames and ~150 characters, 0.3 M. A picture a pixel high stretched to the widest input
   (32,768 frames), through a network that changes its mind at every frame, reaches 10⁹ steps,
   a gigabyte of back pointers and minutes. */
static int lattice_too_large(int T, int L) {
    return (double)T * (2.0 * L + 1) > (double)CRNN_DECODE_MAX_LATTICE;
}

/* log p of best path's alignment: the most probable path of all, so the most probable of its
   text's, and a lower bound of p(text | image). */
static double best_alignment_log_prob(const float *lp, int T, int C) {
    double sum = 0;
    for (int t = 0; t < T; t++) {
        const float *row = lp + (size_t)t * C;
        float best = row[0];
        for (int k = 1; k < C; k++) best = row[k] > best ? row[k] : best;
        sum += best;
    }
    return sum;
}

/* The result's text, its per-character confidences and its probability. text: NULL to
   write it from the labels. */
static crnn_status set_result(crnn_result *res, const crnn_model *m, const char *text,
                              const int *labels, const float *conf, int n, double log_prob,
                              crnn_error *err) {
    free(res->text);
    free(res->char_confidence);
    res->text = text ? strdup(text) : labels_to_utf8(m, labels, n);
    res->char_confidence = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!res->text || !res->char_confidence)
        return set_error(err, CRNN_ERR_NOMEM, "out of memory for the result");
    res->num_chars = n;
    for (int i = 0; i < n; i++) res->char_confidence[i] = conf[i];
    res->log_prob = log_prob;
    res->confidence = log_prob > -INFINITY ? (float)exp(log_prob) : 0.0f;
    return CRNN_OK;
}

/* Below min_confidence: no text, flagged, the confidence kept so that the caller sees why. */
static crnn_status reject_if_unsure(crnn_result *res, const crnn_params *p, crnn_error *err) {
    if (!(p->min_confidence > 0) || res->confidence >= p->min_confidence) return CRNN_OK;
    free(res->text);
    res->text = strdup("");
    if (!res->text) return set_error(err, CRNN_ERR_NOMEM, "out of memory for the result");
    res->num_chars = 0;
    res->rejected = 1;
    return CRNN_OK;
}

/* Best path's text into dw (labels, conf, start, and end when traced) and *log_prob its
   probability; for a text too long to score, best path's own alignment, a lower bound, and
   each run's peak frame as its end. -1 if out of memory. */
static int best_path_reading(decode_workspace *dw, const float *lp, int T, int C, int traced,
                             double *log_prob) {
    int n = best_path_decode(lp, T, C, dw->labels, dw->conf, dw->start, T);
    if (lattice_too_large(T, n)) {
        *log_prob = best_alignment_log_prob(lp, T, C);
        memcpy(dw->end, dw->start, sizeof(int) * (size_t)n);
        return n;
    }
    if (traced && isnan(ctc_align(lp, T, C, dw->labels, n, dw->start, dw->end, NULL))) return -1;
    *log_prob = ctc_sequence_log_prob(lp, T, C, dw->labels, n, dw->scratch);
    return n;
}

crnn_status decode_frames_traced(decode_workspace *dw, const crnn_model *m, const float *lp,
                                 int T, int C, const crnn_params *params, crnn_result *res,
                                 crnn_error *err, decode_trace *trace) {
    crnn_params defaults = crnn_default_params();
    if (!params) params = &defaults;
    crnn_status s = check_settings(params, err);
    if (s != CRNN_OK) return s;
    if (!grow_frames(dw, T)) return out_of_memory(err);
    s = class_mask_update(&dw->mask, m, params->allow, params->deny, err);
    if (s != CRNN_OK) return s;
    lp = class_mask_apply(&dw->mask, lp, T, C);
    if (!lp) return out_of_memory(err);
    res->rejected = 0;
    res->fallback = 0;
    res->free_log_prob = 0;

    /* ---- the free text ---- */
    int n = -1;
    double free_lp;
    lm_fusion fusion = {params->lm, NULL, params->lm_weight, params->lm_bonus};
    if (params->lm) {
        if (dw->lm_model != m) {
            uint8_t *sym = realloc(dw->lm_symbol, (size_t)C);
            if (!sym) return out_of_memory(err);
            dw->lm_symbol = sym;
            for (int k = 0; k < C; k++) sym[k] = (uint8_t)(k ? charlm_symbol(m->charset[k]) : 0);
            dw->lm_model = m;
        }
        fusion.symbol = dw->lm_symbol;
    }
    /* Best path first (unless a beam search was asked for): it is the free text, or with a
       character model, the free text where the network is sure of it. The model is weighed
       in only where it is not, so most crops cost no beam search. */
    int search = params->decoder == CRNN_DECODE_BEAM;
    if (!search) {
        n = best_path_reading(dw, lp, T, C, trace != NULL, &free_lp);
        if (n < 0) return out_of_memory(err);
        search = params->lm && !lattice_too_large(T, n) && free_lp < log(CRNN_LM_UNSURE_BELOW);
    }
    if (search) {
        const int width = params->decoder == CRNN_DECODE_BEAM ? params->beam_width
                                                              : CRNN_LM_BEAM_WIDTH;
        if (!dw->beam && !(dw->beam = prefix_beam_new())) return out_of_memory(err);
        n = prefix_beam_decode(dw->beam, lp, T, C, width, NULL, 0, params->lm ? &fusion : NULL,
                               dw->labels, T, NULL);
        if (n < 0) return set_error(err, CRNN_ERR_NOMEM, "out of memory in beam search");
        if (lattice_too_large(T, n)) {
            /* too long to score: best path's text instead */
            n = best_path_reading(dw, lp, T, C, trace != NULL, &free_lp);
            if (n < 0) return out_of_memory(err);
        } else if (isnan(ctc_align(lp, T, C, dw->labels, n, dw->start, dw->end, dw->conf))) {
            /* confidences as best path defines them, along the text's best alignment */
            return out_of_memory(err);
        } else {
            free_lp = ctc_sequence_log_prob(lp, T, C, dw->labels, n, dw->scratch);
        }
    }
    if (trace) {
        memset(trace, 0, sizeof *trace);
        trace->n_free = trace->n = n;
        trace->free_labels = trace->labels = dw->labels;
        trace->free_start = trace->start = dw->start;
        trace->free_end = trace->end = dw->end;
        trace->lexicon_word = -1;
        trace->free_log_prob = free_lp;
    }
    const crnn_lexicon *lex = params->lexicon;
    if (!lex && !params->pattern) {
        s = set_result(res, m, NULL, dw->labels, dw->conf, n, free_lp, err);
        return s == CRNN_OK ? reject_if_unsure(res, params, err) : s;
    }
    if (lattice_too_large(T, n)) {
        /* No match can be weighed against a free text this long: it is returned, flagged. */
        s = set_result(res, m, NULL, dw->labels, dw->conf, n, free_lp, err);
        if (s != CRNN_OK) return s;
        free(res->free_text);
        res->free_text = strdup(res->text);
        if (!res->free_text) return set_error(err, CRNN_ERR_NOMEM, "out of memory for the result");
        res->free_log_prob = free_lp;
        res->fallback = 1;
        return reject_if_unsure(res, params, err);
    }

    /* ---- lexicon, pattern, or both ---- */
    if (!dw->constrained && !(dw->constrained = constrained_workspace_new()))
        return out_of_memory(err);
    const double margin = params->lexicon_margin;
    constraint c = {lex, lex && params->lexicon_case_insensitive, params->lexicon_max_distance,
                    params->pattern, margin >= 0 ? margin : -1};
    constrained_choice choice;
    s = constrained_decode(dw->constrained, m, lp, T, C, &c, dw->labels, n, &choice, err);
    if (s != CRNN_OK) return s;
    free(res->free_text);
    res->free_text = labels_to_utf8(m, dw->labels, n);
    if (!res->free_text) return set_error(err, CRNN_ERR_NOMEM, "out of memory for the result");
    res->free_log_prob = choice.free_log_prob;
    if (trace) {
        trace->free_log_prob = choice.free_log_prob;
        trace->search_complete = choice.complete;
    }
    int use = choice.found && !(margin >= 0 && choice.log_prob < choice.free_log_prob - margin);
    if (!use) { /* out of vocabulary, or no match: the free text, flagged */
        res->fallback = 1;
        s = set_result(res, m, NULL, dw->labels, dw->conf, n, choice.free_log_prob, err);
        return s == CRNN_OK ? reject_if_unsure(res, params, err) : s;
    }
    const float *alp = constrained_alignment_log_probs(dw->constrained, lp, T, C, c.fold);
    if (!alp) return out_of_memory(err);
    if (isnan(ctc_align(alp, T, C, choice.labels, choice.n, dw->wstart, dw->wend, dw->wconf)))
        return out_of_memory(err);
    /* a word is returned as the lexicon writes it, or matched in any case, as the image
       shows it (its labels are case representatives) */
    const char *word = choice.word >= 0 ? lex->text + lex->text_off[choice.word] : NULL;
    char *recased = NULL;
    if (word && c.fold &&
        !(recased = constrained_recase(dw->constrained, m, word, lp, C, choice.labels,
                                       dw->wstart, dw->wend, choice.n)))
        return out_of_memory(err);
    s = set_result(res, m, recased ? recased : word, choice.labels, dw->wconf, choice.n,
                   choice.log_prob, err);
    free(recased);
    if (s != CRNN_OK) return s;
    if (trace) {
        trace->n = choice.n;
        trace->labels = choice.labels;
        trace->start = dw->wstart;
        trace->end = dw->wend;
        trace->constrained = 1;
        trace->lexicon_word = choice.word;
    }
    return reject_if_unsure(res, params, err);
}

crnn_status decode_frames(decode_workspace *dw, const crnn_model *m, const float *lp, int T,
                          int C, const crnn_params *params, crnn_result *res, crnn_error *err) {
    return decode_frames_traced(dw, m, lp, T, C, params, res, err, NULL);
}

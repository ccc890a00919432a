/* decode_options.c — character language model, beam search, lexicon, character-set,
   pattern, confidence and --explain options for the commands. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define HASH_NONFATAL_OOM 1 /* uthash exits on allocation failure unless told otherwise */
#define uthash_nonfatal_oom(obj) (oom = 1)
#include <uthash.h>

#include "cli/cli.h"
#include "cli/decode_options.h"

struct per_lexicon {
    const crnn_lexicon *key;
    crnn_params params;
    UT_hash_handle hh;
};

/* A finite number, the whole of s. */
static int parse_number(const char *s, double *x) {
    char *end;
    errno = 0;
    *x = strtod(s, &end);
    return errno || end == s || *end || !isfinite(*x) ? -1 : 0;
}

/* Adds the character-set text b to a (realloc'ed; NULL if out of memory). A '-' that is
   literal at either end of b would start or end a range once joined, so it is escaped. */
static char *append(char *a, const char *b) {
    size_t na = a ? strlen(a) : 0, nb = strlen(b), backslashes = 0;
    while (backslashes + 1 < nb && b[nb - 2 - backslashes] == '\\') backslashes++;
    int lead = b[0] == '-', trail = nb > 1 && b[nb - 1] == '-' && backslashes % 2 == 0;
    char *s = realloc(a, na + nb + 3);
    if (!s) return NULL;
    char *o = s + na;
    if (lead) *o++ = '\\';
    memcpy(o, b, nb - (size_t)trail);
    o += nb - (size_t)trail;
    if (trail) *o++ = '\\', *o++ = '-';
    *o = 0;
    return s;
}

void decode_options_init(decode_options *d) {
    memset(d, 0, sizeof *d);
    d->params = crnn_default_params();
    d->lm_name = "en";
    pthread_mutex_init(&d->mu, NULL);
}

int decode_options_parse(decode_options *d, int c, const char *arg, const char *prog) {
    switch (c) {
    case DECODE_OPT_BEAM: {
        long n = cli_parse_long(arg, 1, 1024);
        if (n < 1) {
            fprintf(stderr, "%s: --beam needs a width from 1 to 1024, got '%s'\n", prog, arg);
            return 2;
        }
        d->params.decoder = CRNN_DECODE_BEAM;
        d->params.beam_width = (int)n;
        return 0;
    }
    case DECODE_OPT_LEXICON:
    case DECODE_OPT_LEXICON_MAP:
        if (c == DECODE_OPT_LEXICON ? d->map_path != NULL : d->lexicon_path != NULL) {
            fprintf(stderr, "%s: --lexicon and --lexicon-per-image exclude each other\n", prog);
            return 2;
        }
        *(c == DECODE_OPT_LEXICON ? &d->lexicon_path : &d->map_path) = arg;
        return 0;
    case DECODE_OPT_IGNORE_CASE: d->params.lexicon_case_insensitive = 1; return 0;
    case DECODE_OPT_MARGIN: {
        if (!strcmp(arg, "off")) {
            d->params.lexicon_margin = -1;
            return 0;
        }
        double x;
        if (parse_number(arg, &x) != 0 || x < 0) {
            fprintf(stderr, "%s: --lexicon-margin needs a number of nats >= 0 or 'off', got '%s'\n",
                    prog, arg);
            return 2;
        }
        d->params.lexicon_margin = (float)x;
        return 0;
    }
    case DECODE_OPT_ALLOW:
    case DECODE_OPT_DENY:
    case DECODE_OPT_DIGITS: {
        const char *what = c == DECODE_OPT_DENY    ? "--deny"
                           : c == DECODE_OPT_ALLOW ? "--allow"
                                                   : "--digits";
        if (c == DECODE_OPT_DIGITS) arg = "0-9";
        /* each value must make sense alone; several --allow (or --digits) add up */
        crnn_error err;
        crnn_status st = crnn_params_check(NULL, &(crnn_params){.allow = arg, .beam_width = 1},
                                           &err);
        if (st != CRNN_OK) {
            fprintf(stderr, "%s: %s%s\n", prog, what, err.message + strcspn(err.message, " "));
            return 2;
        }
        char **set = c == DECODE_OPT_DENY ? &d->deny : &d->allow;
        char *joined = append(*set, arg);
        if (!joined) {
            fprintf(stderr, "%s: out of memory\n", prog);
            return 1;
        }
        *set = joined;
        d->params.allow = d->allow;
        d->params.deny = d->deny;
        return 0;
    }
    case DECODE_OPT_PATTERN: {
        if (d->n_patterns == CRNN_PATTERN_MAX_COUNT) {
            fprintf(stderr, "%s: at most %d --pattern options\n", prog, CRNN_PATTERN_MAX_COUNT);
            return 2;
        }
        /* compiled alone now, so that a bad one is named with its position at once */
        crnn_error err;
        crnn_pattern *p = crnn_pattern_compile(&arg, 1, &err);
        if (!p) {
            fprintf(stderr, "%s: --%s\n", prog, err.message);
            return 2;
        }
        crnn_pattern_free(p);
        d->patterns[d->n_patterns++] = arg;
        return 0;
    }
    case DECODE_OPT_ROTATE:
        if (!strcmp(arg, "auto")) d->params.rotate = CRNN_ROTATE_AUTO;
        else if (!strcmp(arg, "none")) d->params.rotate = CRNN_ROTATE_NONE;
        else {
            fprintf(stderr, "%s: --rotate is auto or none, got '%s'\n", prog, arg);
            return 2;
        }
        return 0;
    case DECODE_OPT_REREAD: {
        double x = 0;
        if (strcmp(arg, "off") && (parse_number(arg, &x) != 0 || x < 0 || x > 1)) {
            fprintf(stderr, "%s: --reread needs a number from 0 to 1 or 'off', got '%s'\n",
                    prog, arg);
            return 2;
        }
        d->params.reread_below = (float)x;
        return 0;
    }
    case DECODE_OPT_MIN_CONFIDENCE: {
        double x;
        if (parse_number(arg, &x) != 0 || x < 0 || x > 1) {
            fprintf(stderr, "%s: --min-confidence needs a number from 0 to 1, got '%s'\n", prog,
                    arg);
            return 2;
        }
        d->params.min_confidence = (float)x;
        return 0;
    }
    case DECODE_OPT_DISTANCE: {
        long n = strcmp(arg, "-1") ? cli_parse_long(arg, 0, 64) : 0;
        if (n < 0) {
            fprintf(stderr, "%s: --lexicon-distance needs 0..64 or -1, got '%s'\n", prog, arg);
            return 2;
        }
        d->params.lexicon_max_distance = strcmp(arg, "-1") ? (int)n : -1;
        return 0;
    }
    case DECODE_OPT_EXPLAIN: d->explain_path = arg; return 0;
    case DECODE_OPT_LM:
        d->lm_name = strcmp(arg, "off") ? arg : NULL;
        d->lm_given = 1;
        return 0;
    case DECODE_OPT_LM_WEIGHT:
    case DECODE_OPT_LM_BONUS: {
        double x;
        const int weight = c == DECODE_OPT_LM_WEIGHT;
        if (parse_number(arg, &x) != 0 || (weight && x < 0)) {
            fprintf(stderr, "%s: --%s needs a number%s, got '%s'\n", prog,
                    weight ? "lm-weight" : "lm-bonus", weight ? " >= 0" : "", arg);
            return 2;
        }
        *(weight ? &d->params.lm_weight : &d->params.lm_bonus) = (float)x;
        return 0;
    }
    }
    return 2;
}

int decode_options_load(decode_options *d, const crnn_model *model, const char *prog) {
    crnn_error err;
    if (d->lexicon_path && !(d->lexicon = crnn_lexicon_load_named(d->lexicon_path, &err))) {
        fprintf(stderr, "%s: %s\n", prog, err.message);
        return 1;
    }
    if (d->map_path && !(d->map = crnn_lexicon_map_load(d->map_path, &err))) {
        fprintf(stderr, "%s: %s\n", prog, err.message);
        return 1;
    }
    d->params.lexicon = d->lexicon;
    if (d->lm_name && !(d->lm = crnn_lm_load_named(d->lm_name, CRNN_LM_ORDER, &err))) {
        if (d->lm_given) {
            fprintf(stderr, "%s: --lm: %s\n", prog, err.message);
            return 1;
        }
        /* the default, where the word list was not installed: say so once, read without */
        fprintf(stderr, "%s: note: reading without the English character model (%s; --lm "
                "off says so)\n", prog, err.message);
    }
    d->params.lm = d->lm;
    if (d->n_patterns) {
        if (!(d->pattern = crnn_pattern_compile(d->patterns, d->n_patterns, &err))) {
            fprintf(stderr, "%s: --pattern: %s\n", prog, err.message);
            return 1;
        }
        d->params.pattern = d->pattern;
    }
    /* --allow and --deny together, against the model's characters */
    if (crnn_params_check(model, &d->params, &err) != CRNN_OK) {
        fprintf(stderr, "%s: %s\n", prog, err.message);
        return 2;
    }
    return 0;
}

static char *message(const char *fmt, const char *arg) {
    size_t n = strlen(fmt) + strlen(arg) + 1;
    char *m = malloc(n);
    if (m) snprintf(m, n, fmt, arg);
    return m;
}

const crnn_params *decode_options_for(decode_options *d, const char *path, char **msg) {
    *msg = NULL;
    if (!d->map) return &d->params;
    const crnn_lexicon *lex = crnn_lexicon_map_find(d->map, path);
    if (!lex) {
        *msg = message("no word list for it in %s", d->map_path);
        return NULL;
    }
    struct per_lexicon *e;
    int oom = 0;
    pthread_mutex_lock(&d->mu);
    HASH_FIND_PTR(d->per_lexicon, &lex, e);
    if (!e && (e = malloc(sizeof *e)) != NULL) {
        e->key = lex;
        e->params = d->params;
        e->params.lexicon = lex;
        HASH_ADD_PTR(d->per_lexicon, key, e);
        if (oom) {
            free(e);
            e = NULL;
        }
    }
    pthread_mutex_unlock(&d->mu);
    if (!e) *msg = message("%s", "out of memory");
    return e ? &e->params : NULL;
}

int decode_options_explain(decode_options *d, const crnn_model *model, const char *path,
                           const char *prog) {
    char *msg;
    const crnn_params *p = decode_options_for(d, path, &msg);
    if (!p) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, msg ? msg : "out of memory");
        free(msg);
        return 1;
    }
    crnn_error err;
    crnn_recognizer *rec = crnn_recognizer_new(model, &err);
    if (!rec) {
        fprintf(stderr, "%s: %s\n", prog, err.message);
        return 1;
    }
    crnn_result r;
    int status = 0;
    if (crnn_recognize_file(rec, path, p, &r) != CRNN_OK) {
        fprintf(stderr, "%s: %s\n", prog, crnn_recognizer_error(rec));
        status = 1;
    } else if (crnn_explain_png(rec, 0, p, d->explain_path, &err) != CRNN_OK) {
        fprintf(stderr, "%s: %s\n", prog, err.message);
        status = 1;
    }
    crnn_result_free(&r);
    crnn_recognizer_free(rec);
    return status;
}

void decode_options_free(decode_options *d) {
    struct per_lexicon *e, *tmp;
    HASH_ITER(hh, d->per_lexicon, e, tmp) {
        HASH_DEL(d->per_lexicon, e);
        free(e);
    }
    crnn_lexicon_free(d->lexicon);
    crnn_lm_free(d->lm);
    crnn_lexicon_map_free(d->map);
    crnn_pattern_free(d->pattern);
    free(d->allow);
    free(d->deny);
    pthread_mutex_destroy(&d->mu);
    memset(d, 0, sizeof *d);
}

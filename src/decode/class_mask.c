/* class_mask.c — params.allow / params.deny as a per-class mask over the log-probabilities. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decode/class_mask.h"
#include "pattern/char_set.h"
#include "util/util.h"

void class_mask_free(class_mask *cm) {
    free(cm->allow);
    free(cm->deny);
    free(cm->allowed);
    free(cm->masked);
    memset(cm, 0, sizeof *cm);
}

static int same_text(const char *a, const char *b) {
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static char *copy_text(const char *s) { return s ? strdup(s) : NULL; }

crnn_status class_mask_check(const char *allow, const char *deny, crnn_error *err) {
    char_set set;
    if (allow) {
        crnn_status s = char_set_parse_spec(allow, "allow", &set, err);
        if (s != CRNN_OK) return s;
        char_set_free(&set);
    }
    if (deny) {
        crnn_status s = char_set_parse_spec(deny, "deny", &set, err);
        if (s != CRNN_OK) return s;
        char_set_free(&set);
    }
    return CRNN_OK;
}

crnn_status class_mask_update(class_mask *cm, const crnn_model *m, const char *allow,
                              const char *deny, crnn_error *err) {
    if (cm->valid && cm->model == m && same_text(cm->allow, allow) && same_text(cm->deny, deny))
        return CRNN_OK;
    cm->valid = 0;
    free(cm->allow);
    free(cm->deny);
    cm->allow = cm->deny = NULL;
    uint8_t *allowed = realloc(cm->allowed, (size_t)m->n_classes);
    if (!allowed) return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    cm->allowed = allowed;
    char_set yes = {0}, no = {0};
    crnn_status s = CRNN_OK;
    if (allow) s = char_set_parse_spec(allow, "allow", &yes, err);
    if (s == CRNN_OK && deny) s = char_set_parse_spec(deny, "deny", &no, err);
    if (s != CRNN_OK) {
        char_set_free(&yes);
        char_set_free(&no);
        return s;
    }
    cm->n_allowed = 0;
    cm->masks_any = 0;
    allowed[0] = 1; /* the blank: always, or no text could ever end */
    for (int k = 1; k < m->n_classes; k++) {
        uint32_t cp = m->charset[k];
        int in = !allow || char_set_has(&yes, cp), out = deny && char_set_has(&no, cp);
        allowed[k] = (uint8_t)(in && !out);
        cm->n_allowed += allowed[k];
        cm->masks_any |= !allowed[k];
    }
    char_set_free(&yes);
    char_set_free(&no);
    if (cm->n_allowed == 0) {
        if (!deny)
            return set_error(err, CRNN_ERR_ARG,
                             "allow '%s': the model can write none of these characters", allow);
        return set_error(err, CRNN_ERR_ARG,
                         "allow '%s', deny '%s': no character of the model is left to write",
                         allow ? allow : "(any)", deny);
    }
    cm->allow = copy_text(allow);
    cm->deny = copy_text(deny);
    if ((allow && !cm->allow) || (deny && !cm->deny))
        return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
    cm->model = m;
    cm->valid = 1;
    return CRNN_OK;
}

const float *class_mask_apply(class_mask *cm, const float *lp, int T, int C) {
    if (!cm->masks_any) return lp;
    size_t need = (size_t)T * (size_t)C;
    if (need > cm->masked_cap) {
        float *p = realloc(cm->masked, sizeof(float) * need);
        if (!p) return NULL;
        cm->masked = p;
        cm->masked_cap = need;
    }
    for (int t = 0; t < T; t++) {
        const float *row = lp + (size_t)t * C;
        float *out = cm->masked + (size_t)t * C;
        for (int k = 0; k < C; k++) out[k] = cm->allowed[k] ? row[k] : -INFINITY;
    }
    return cm->masked;
}

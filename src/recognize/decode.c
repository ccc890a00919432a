/* decode.c — decoder dispatch and the conversion of labels to text. */
#include <stdlib.h>
#include <string.h>

#include "ctc/ctc.h"
#include "recognize/decode.h"
#include "util/util.h"

struct decode_workspace {
    int *labels;
    float *conf;
    int cap;
};

decode_workspace *decode_workspace_new(void) { return calloc(1, sizeof(decode_workspace)); }

void decode_workspace_free(decode_workspace *dw) {
    if (!dw) return;
    free(dw->labels);
    free(dw->conf);
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

crnn_status decode_frames(decode_workspace *dw, const crnn_model *m, const float *lp, int T,
                          int C, const crnn_params *params, crnn_result *res, crnn_error *err) {
    if (T > dw->cap) {
        int *l = realloc(dw->labels, sizeof(int) * (size_t)T);
        if (l) dw->labels = l;
        float *c = realloc(dw->conf, sizeof(float) * (size_t)T);
        if (c) dw->conf = c;
        if (!l || !c) return set_error(err, CRNN_ERR_NOMEM, "out of memory decoding");
        dw->cap = T;
    }
    (void)params; /* beam search and lexicons plug in here */
    int n = ctc_greedy_decode(lp, T, C, dw->labels, dw->conf, NULL, T);
    res->log_prob = 0;
    return result_set_text(res, m, dw->labels, dw->conf, n, err);
}

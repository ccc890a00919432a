/* class_map.c — code points to a model's classes, exact or case-folded. */
#include <stdlib.h>
#include <string.h>

#include "decode/class_map.h"
#include "lexicon/lexicon.h"
#include "util/util.h"

typedef struct {
    uint32_t cp;
    int32_t cls;
} cp_cls;

static int by_cp_then_class(const void *a, const void *b) {
    const cp_cls *x = a, *y = b;
    if (x->cp != y->cp) return x->cp < y->cp ? -1 : 1;
    return (x->cls > y->cls) - (x->cls < y->cls);
}

crnn_status class_map_build(class_map *m, const uint32_t *charset, int n_classes, int fold,
                            crnn_error *err) {
    memset(m, 0, sizeof *m);
    m->fold = fold;
    for (int i = 0; i < 256; i++) m->low[i] = -1;
    cp_cls *hi = malloc(sizeof(cp_cls) * (size_t)(n_classes > 1 ? n_classes : 1));
    if (!hi) return set_error(err, CRNN_ERR_NOMEM, "out of memory for the class map");
    int n = 0;
    for (int k = 1; k < n_classes; k++) {
        uint32_t key = fold ? casefold(charset[k]) : charset[k];
        if (key < 256) {
            if (m->low[key] < 0) m->low[key] = k; /* classes in increasing order: lowest wins */
        } else {
            hi[n++] = (cp_cls){key, k};
        }
    }
    qsort(hi, (size_t)n, sizeof *hi, by_cp_then_class);
    m->cp = malloc(sizeof(uint32_t) * (size_t)(n ? n : 1));
    m->cls = malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
    if (!m->cp || !m->cls) {
        free(hi);
        class_map_free(m);
        return set_error(err, CRNN_ERR_NOMEM, "out of memory for the class map");
    }
    for (int i = 0; i < n; i++) {
        if (m->n && m->cp[m->n - 1] == hi[i].cp) continue;
        m->cp[m->n] = hi[i].cp;
        m->cls[m->n++] = hi[i].cls;
    }
    free(hi);
    return CRNN_OK;
}

void class_map_free(class_map *m) {
    free(m->cp);
    free(m->cls);
    m->cp = NULL;
    m->cls = NULL;
    m->n = 0;
}

int class_map_get(const class_map *m, uint32_t cp) {
    if (m->fold) cp = casefold(cp);
    if (cp < 256) return m->low[cp];
    int lo = 0, hi = m->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (m->cp[mid] == cp) return m->cls[mid];
        if (m->cp[mid] < cp) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

int class_map_labels(const class_map *m, const uint32_t *cps, int n, int *labels) {
    for (int i = 0; i < n; i++)
        if ((labels[i] = class_map_get(m, cps[i])) < 0) return 0;
    return 1;
}


/* pattern.c — the public crnn_pattern_* functions: several regular expressions, any of which
   may match, compiled into one automaton. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern/pattern.h"
#include "util/util.h"

crnn_pattern *crnn_pattern_compile(const char *const *regexes, int n, crnn_error *err) {
    if (!regexes || n < 1 || n > CRNN_PATTERN_MAX_COUNT) {
        set_error(err, CRNN_ERR_ARG, "crnn_pattern_compile: %d patterns, need 1..%d", n,
                  CRNN_PATTERN_MAX_COUNT);
        return NULL;
    }
    rx_tree t = {0};
    crnn_pattern *p = NULL;
    int root = -1;
    for (int i = 0; i < n; i++) {
        char what[32];
        if (n > 1) snprintf(what, sizeof what, "pattern %d", i + 1);
        else snprintf(what, sizeof what, "pattern");
        if (!regexes[i]) {
            set_error(err, CRNN_ERR_ARG, "%s: NULL", what);
            goto done;
        }
        if (strlen(regexes[i]) > CRNN_PATTERN_MAX_BYTES) {
            set_error(err, CRNN_ERR_LIMIT, "%s: %zu bytes, limit is %d", what, strlen(regexes[i]),
                      CRNN_PATTERN_MAX_BYTES);
            goto done;
        }
        int r;
        if (rx_parse(&t, regexes[i], what, &r, err) != CRNN_OK) goto done;
        root = root < 0 ? r : rx_add(&t, (rx_node){RX_ALT, root, r, 0, 0, -1});
        if (root < 0) {
            set_error(err, CRNN_ERR_NOMEM, "out of memory compiling a pattern");
            goto done;
        }
    }
    t.root = root;
    p = rx_compile(&t, err);
done:
    rx_tree_free(&t);
    return p;
}

int crnn_pattern_match(const crnn_pattern *p, const char *text) {
    if (!p || !text) return 0;
    int state = p->start;
    size_t n = strlen(text);
    for (size_t i = 0; i < n && state >= 0;) {
        uint32_t cp;
        int used = utf8_decode(text + i, n - i, &cp);
        if (!used) return 0;
        state = pattern_step(p, state, cp);
        i += (size_t)used;
    }
    return state >= 0 && p->accepting[state];
}

int crnn_pattern_num_states(const crnn_pattern *p) { return p ? p->n_states : 0; }

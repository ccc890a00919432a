/* kinds.c — the table itself: every layer kind the engine knows, one line each. */
#include <ctype.h>
#include <stdlib.h>

#include "layers/conv.h"
#include "layers/convrnn.h"
#include "layers/linear.h"
#include "layers/maxpool.h"
#include "layers/recurrent.h"

static const layer_kind *const table[] = {
    &conv_kind,
    &maxpool_kind,
    &lstm_kind,
    &gru_kind,
    &linear_kind,
    &convrnn_kind,
};

#define N_KINDS (int)(sizeof table / sizeof table[0])

const layer_kind *layer_kind_of(int id) {
    for (int i = 0; i < N_KINDS; i++)
        if (table[i]->id == id) return table[i];
    return NULL;
}

const layer_kind *const *layer_kinds(int *n) {
    *n = N_KINDS;
    return table;
}

int window_out_size(int in, int k, int s, int pad) {
    if (in + 2 * pad < k) return 0;
    return (in + 2 * pad - k) / s + 1;
}

int token_pair(const char **s, int *a, int *b) {
    if (!isdigit((unsigned char)**s)) return 0;
    *a = (int)strtol(*s, (char **)s, 10);
    *b = *a;
    if (**s == 'x' && isdigit((unsigned char)(*s)[1])) {
        (*s)++;
        *b = (int)strtol(*s, (char **)s, 10);
    }
    return 1;
}

int params_zero_from(const int p[8], int from) {
    for (int i = from; i < 8; i++)
        if (p[i] != 0) return 0;
    return 1;
}

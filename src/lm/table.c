/* table.c — a character model's tables as bytes, and back:

     "CRNNLM1\0", order (u32), then for each context length 0 .. order − 1:
     n_contexts, n_pairs (u32), context[n_contexts] (u32), log_backoff[n_contexts] (f32),
     first[n_contexts + 1] (u32), log_p[n_pairs] (f32), symbol[n_pairs] (u8), zero bytes to a
     multiple of 4.

   Little-endian throughout (the byte order of every machine the library is built for; the
   build writes and reads it on the same one). Reading copies into fresh arrays, so the
   bytes may sit anywhere, aligned or not, and every count is checked against the size. */
#include <stdlib.h>
#include <string.h>

#include "lm/charlm.h"
#include "util/util.h"

static const char MAGIC[8] = "CRNNLM1";

static size_t level_bytes(const charlm_level *lv) {
    size_t n = 8 + (size_t)lv->n_contexts * 12 + 4 + (size_t)lv->n_pairs * 5;
    return (n + 3) & ~(size_t)3;
}

crnn_status charlm_table_write(const crnn_lm *lm, unsigned char **out, size_t *size,
                               crnn_error *err) {
    size_t total = sizeof MAGIC + 4;
    for (int len = 0; len < lm->order; len++) total += level_bytes(&lm->level[len]);
    unsigned char *p = calloc(total, 1);
    if (!p) return set_error(err, CRNN_ERR_NOMEM, "out of memory writing the model's tables");
    unsigned char *w = p;
#define PUT(src, bytes) (memcpy(w, (src), (bytes)), w += (bytes))
    const uint32_t order = (uint32_t)lm->order;
    PUT(MAGIC, sizeof MAGIC);
    PUT(&order, 4);
    for (int len = 0; len < lm->order; len++) {
        const charlm_level *lv = &lm->level[len];
        const uint32_t nc = (uint32_t)lv->n_contexts, np = (uint32_t)lv->n_pairs;
        unsigned char *start = w;
        PUT(&nc, 4);
        PUT(&np, 4);
        PUT(lv->context, 4 * (size_t)nc);
        PUT(lv->log_backoff, 4 * (size_t)nc);
        PUT(lv->first, 4 * ((size_t)nc + 1));
        PUT(lv->log_p, 4 * (size_t)np);
        PUT(lv->symbol, (size_t)np);
        w = start + level_bytes(lv);
    }
#undef PUT
    *out = p;
    *size = total;
    return CRNN_OK;
}

crnn_lm *charlm_table_read(const unsigned char *data, size_t size, const char *name,
                           crnn_error *err) {
    size_t at = 0;
    uint32_t order = 0;
    if (size < sizeof MAGIC + 4 || memcmp(data, MAGIC, sizeof MAGIC) != 0) {
        set_error(err, CRNN_ERR_FORMAT, "%s: not a character model's tables", name);
        return NULL;
    }
    at = sizeof MAGIC;
    memcpy(&order, data + at, 4);
    at += 4;
    crnn_lm *lm = calloc(1, sizeof *lm);
    if (!lm) {
        set_error(err, CRNN_ERR_NOMEM, "%s: out of memory", name);
        return NULL;
    }
    const char *why = order < 2 || order > CHARLM_MAX_ORDER ? "bad order" : NULL;
    lm->order = (int)order;
    for (int len = 0; !why && len < lm->order; len++) {
        charlm_level *lv = &lm->level[len];
        uint32_t nc, np;
        if (size - at < 8) {
            why = "truncated";
            break;
        }
        memcpy(&nc, data + at, 4);
        memcpy(&np, data + at + 4, 4);
        if (nc > (1u << 30) / 16 || np > (1u << 30) / 8) {
            why = "counts out of range";
            break;
        }
        lv->n_contexts = (int)nc;
        lv->n_pairs = (int)np;
        const size_t need = level_bytes(lv);
        if (size - at < need) {
            why = "truncated";
            break;
        }
        const unsigned char *r = data + at + 8;
        lv->context = malloc(4 * (size_t)(nc ? nc : 1));
        lv->log_backoff = malloc(4 * (size_t)(nc ? nc : 1));
        lv->first = malloc(4 * ((size_t)nc + 1));
        lv->log_p = malloc(4 * (size_t)(np ? np : 1));
        lv->symbol = malloc(np ? np : 1);
        if (!lv->context || !lv->log_backoff || !lv->first || !lv->log_p || !lv->symbol) {
            crnn_lm_free(lm);
            set_error(err, CRNN_ERR_NOMEM, "%s: out of memory", name);
            return NULL;
        }
        memcpy(lv->context, r, 4 * (size_t)nc);
        r += 4 * (size_t)nc;
        memcpy(lv->log_backoff, r, 4 * (size_t)nc);
        r += 4 * (size_t)nc;
        memcpy(lv->first, r, 4 * ((size_t)nc + 1));
        r += 4 * ((size_t)nc + 1);
        memcpy(lv->log_p, r, 4 * (size_t)np);
        r += 4 * (size_t)np;
        memcpy(lv->symbol, r, np);
        /* what lookups rely on: runs inside the pairs, in order; symbols in range */
        for (uint32_t i = 0; !why && i < nc; i++)
            if (lv->first[i] > lv->first[i + 1]) why = "runs out of order";
        if (!why && (lv->first[0] != 0 || lv->first[nc] != np)) why = "runs do not cover the pairs";
        for (uint32_t j = 0; !why && j < np; j++)
            if (lv->symbol[j] >= CHARLM_SYMBOLS) why = "symbol out of range";
        at += need;
    }
    if (!why && at != size) why = "bytes after the tables";
    if (why) {
        crnn_lm_free(lm);
        set_error(err, CRNN_ERR_FORMAT, "%s: character model's tables: %s", name, why);
        return NULL;
    }
    return lm;
}

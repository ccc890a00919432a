/* charset.c — the classes a model can output, and text ↔ class indices. */
#include <stdlib.h>
#include <string.h>

#include "train/train.h"

static int add_cp(uint32_t *out, int *n, int max, uint32_t cp) {
    for (int i = 1; i < *n; i++)
        if (out[i] == cp) return 1;
    if (*n > max) return 0;
    out[(*n)++] = cp;
    return 1;
}

int charset_build(const char *name, uint32_t *out, int max, crnn_error *err) {
    int n = 1;
    out[0] = 0;
    if (!strcmp(name, "ascii")) {
        for (uint32_t c = 0x20; c <= 0x7E; c++) add_cp(out, &n, max, c);
    } else if (!strcmp(name, "alnum") || !strcmp(name, "ALNUM")) {
        for (uint32_t c = '0'; c <= '9'; c++) add_cp(out, &n, max, c);
        for (uint32_t c = 'a'; c <= 'z'; c++) add_cp(out, &n, max, c);
        if (name[0] == 'A')
            for (uint32_t c = 'A'; c <= 'Z'; c++) add_cp(out, &n, max, c);
    } else if (!strncmp(name, "file:", 5)) {
        unsigned char *data;
        size_t size;
        if (read_file(name + 5, 1 << 20, &data, &size, err) != CRNN_OK) return -1;
        size_t i = 0;
        while (i < size) {
            uint32_t cp;
            int used = utf8_decode((const char *)data + i, size - i, &cp);
            if (!used) {
                free(data);
                set_error(err, CRNN_ERR_FORMAT, "%s: not valid UTF-8 at byte %zu", name + 5, i);
                return -1;
            }
            i += (size_t)used;
            if (cp < 0x20) continue; /* newlines and tabs separate, they are not classes */
            if (!add_cp(out, &n, max, cp)) {
                free(data);
                set_error(err, CRNN_ERR_LIMIT, "%s: more than %d characters", name + 5, max);
                return -1;
            }
        }
        free(data);
    } else {
        set_error(err, CRNN_ERR_ARG, "unknown charset '%s' (ascii, alnum, ALNUM or file:PATH)",
                  name);
        return -1;
    }
    return n;
}

int charset_encode(const crnn_model *m, const char *text, int *labels, int max,
                   uint32_t *missing) {
    size_t len = strlen(text), i = 0;
    int n = 0;
    while (i < len) {
        uint32_t cp;
        int used = utf8_decode(text + i, len - i, &cp);
        if (!used) {
            if (missing) *missing = 0xFFFD;
            return -1;
        }
        i += (size_t)used;
        int k = -1;
        /* Charsets are small (≤ a few hundred for Latin); a linear scan is cheap next to
           the network. */
        for (int c = 1; c < m->n_classes; c++)
            if (m->charset[c] == cp) { k = c; break; }
        if (k < 0) {
            if (missing) *missing = cp;
            return -1;
        }
        if (n >= max) return -1;
        labels[n++] = k;
    }
    return n;
}

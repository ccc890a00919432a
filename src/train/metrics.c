/* metrics.c — the scoring conventions of the scene-text benchmarks. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "train/train.h"

void text_normalize_alnum(const char *in, char *out, size_t out_size) {
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && k + 1 < out_size; p++) {
        if (*p >= 0x80) continue; /* non-ASCII is outside 0-9a-z */
        int c = tolower(*p);
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')) out[k++] = (char)c;
    }
    out[k] = 0;
}

int edit_distance_utf8(const char *a, const char *b) {
    uint32_t sa[512], sb[512];
    int na = utf8_to_codepoints(a, sa, 512), nb = utf8_to_codepoints(b, sb, 512);
    if (na < 0 || nb < 0) { /* invalid or huge: fall back to bytes, capped */
        na = (int)strnlen(a, 512);
        nb = (int)strnlen(b, 512);
        for (int i = 0; i < na; i++) sa[i] = (unsigned char)a[i];
        for (int i = 0; i < nb; i++) sb[i] = (unsigned char)b[i];
    }
    int row[513];
    for (int j = 0; j <= nb; j++) row[j] = j;
    for (int i = 1; i <= na; i++) {
        int diag = row[0];
        row[0] = i;
        for (int j = 1; j <= nb; j++) {
            int up = row[j];
            int best = diag + (sa[i - 1] != sb[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

double text_similarity(const char *a, const char *b) {
    uint32_t tmp[512];
    int na = utf8_to_codepoints(a, tmp, 512), nb = utf8_to_codepoints(b, tmp, 512);
    if (na < 0) na = (int)strnlen(a, 512);
    if (nb < 0) nb = (int)strnlen(b, 512);
    int mx = na > nb ? na : nb;
    if (mx == 0) return 1.0;
    return 1.0 - (double)edit_distance_utf8(a, b) / mx;
}

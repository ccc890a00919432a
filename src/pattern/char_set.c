/* char_set.c — code-point sets as ranges, and the bracket notation of --allow, --deny and
   patterns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern/char_set.h"
#include "util/util.h"

void char_set_free(char_set *s) {
    free(s->r);
    memset(s, 0, sizeof *s);
}

int char_set_add(char_set *s, uint32_t lo, uint32_t hi) {
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 8;
        cp_range *r = realloc(s->r, sizeof *r * (size_t)cap);
        if (!r) return 0;
        s->r = r;
        s->cap = cap;
    }
    s->r[s->n++] = (cp_range){lo, hi};
    return 1;
}

int char_set_add_set(char_set *s, const char_set *other) {
    for (int i = 0; i < other->n; i++)
        if (!char_set_add(s, other->r[i].lo, other->r[i].hi)) return 0;
    return 1;
}

static int by_lo(const void *a, const void *b) {
    const cp_range *x = a, *y = b;
    return (x->lo > y->lo) - (x->lo < y->lo);
}

void char_set_normalize(char_set *s) {
    if (s->n < 2) return;
    qsort(s->r, (size_t)s->n, sizeof *s->r, by_lo);
    int m = 0;
    for (int i = 1; i < s->n; i++) {
        if (s->r[i].lo <= s->r[m].hi + 1) { /* overlapping or adjacent: one range */
            if (s->r[i].hi > s->r[m].hi) s->r[m].hi = s->r[i].hi;
        } else {
            s->r[++m] = s->r[i];
        }
    }
    s->n = m + 1;
}

int char_set_negate(char_set *s) {
    char_set out = {0};
    uint32_t next = 0; /* the first code point not yet covered */
    for (int i = 0; i < s->n; i++) {
        if (s->r[i].lo > next && !char_set_add(&out, next, s->r[i].lo - 1)) goto oom;
        next = s->r[i].hi + 1;
    }
    if (next <= CHAR_SET_MAX_CP && !char_set_add(&out, next, CHAR_SET_MAX_CP)) goto oom;
    char_set_free(s);
    *s = out;
    return 1;
oom:
    char_set_free(&out);
    return 0;
}

int char_set_has(const char_set *s, uint32_t cp) {
    int lo = 0, hi = s->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cp < s->r[mid].lo) hi = mid;
        else if (cp > s->r[mid].hi) lo = mid + 1;
        else return 1;
    }
    return 0;
}

int char_set_add_escape_class(char_set *s, char letter, int *oom) {
    char_set c = {0};
    int ok = 1;
    switch (letter | 0x20) { /* the lower-case letter names the set, upper case negates it */
    case 'd': ok = char_set_add(&c, '0', '9'); break;
    case 'w':
        ok = char_set_add(&c, '0', '9') && char_set_add(&c, 'A', 'Z') &&
             char_set_add(&c, 'a', 'z') && char_set_add(&c, '_', '_');
        break;
    case 's': ok = char_set_add(&c, ' ', ' ') && char_set_add(&c, '\t', '\t'); break;
    default: return 0;
    }
    char_set_normalize(&c);
    if (ok && letter >= 'A' && letter <= 'Z') ok = char_set_negate(&c);
    if (ok) ok = char_set_add_set(s, &c);
    char_set_free(&c);
    if (!ok) *oom = 1;
    return 1;
}

static int is_alnum(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int char_set_read_char(const char *text, int *pos, int end, uint32_t *cp, int *error_pos,
                       const char **reason) {
    int at = *pos;
    if (text[at] != '\\') {
        int used = utf8_decode(text + at, (size_t)(end - at), cp);
        if (!used) {
            *error_pos = at;
            *reason = "not valid UTF-8";
            return 0;
        }
        *pos = at + used;
        return 1;
    }
    if (at + 1 >= end) {
        *error_pos = at;
        *reason = "a backslash with nothing after it";
        return 0;
    }
    unsigned char c = (unsigned char)text[at + 1];
    if (strchr("dwsDWS", c)) {
        *cp = c;
        *pos = at + 2;
        return 2;
    }
    if (c == 'x' && at + 2 < end && text[at + 2] == '{') {
        uint32_t v = 0;
        int i = at + 3, digits = 0;
        for (; i < end && text[i] != '}'; i++, digits++) {
            char h = text[i];
            char lower = (char)(h | 0x20);
            int d = h >= '0' && h <= '9'           ? h - '0'
                    : lower >= 'a' && lower <= 'f' ? lower - 'a' + 10
                                                   : -1;
            if (d < 0 || digits >= 6) {
                *error_pos = i;
                *reason = d < 0 ? "\\x{...} holds hexadecimal digits only"
                                : "\\x{...}: more than 6 digits";
                return 0;
            }
            v = v * 16 + (uint32_t)d;
        }
        if (i >= end || digits == 0 || v > CHAR_SET_MAX_CP || (v >= 0xD800 && v <= 0xDFFF)) {
            *error_pos = at;
            *reason = i >= end ? "\\x{ without its closing }"
                               : "\\x{...} is not a Unicode code point";
            return 0;
        }
        *cp = v;
        *pos = i + 1;
        return 1;
    }
    if (is_alnum(c)) {
        *error_pos = at;
        *reason = "unknown escape (known: \\d \\w \\s \\D \\W \\S \\x{HHHH}, or a backslash "
                  "before punctuation)";
        return 0;
    }
    int used = utf8_decode(text + at + 1, (size_t)(end - at - 1), cp);
    if (!used) {
        *error_pos = at + 1;
        *reason = "not valid UTF-8";
        return 0;
    }
    *pos = at + 1 + used;
    return 1;
}

int char_set_parse_element(const char *text, int *pos, int begin, int end, char_set *set,
                           int *error_pos, const char **reason) {
    int at = *pos;
    if (text[at] == '-' && at != begin && at != end - 1) {
        *error_pos = at;
        *reason = "'-' between ranges: write it first, last, or as \\-";
        return 0;
    }
    uint32_t lo;
    int kind = char_set_read_char(text, pos, end, &lo, error_pos, reason);
    if (!kind) return 0;
    int oom = 0;
    if (kind == 2) {
        char_set_add_escape_class(set, (char)lo, &oom);
        if (oom) goto oom;
        return 1;
    }
    uint32_t hi = lo;
    /* a range: "x-y", unless the '-' is the last character of the list */
    if (*pos + 1 < end && text[*pos] == '-') {
        int dash = *pos;
        *pos = dash + 1;
        kind = char_set_read_char(text, pos, end, &hi, error_pos, reason);
        if (!kind) return 0;
        if (kind == 2) {
            *error_pos = dash + 1;
            *reason = "a class such as \\d cannot end a range";
            return 0;
        }
        if (hi < lo) {
            *error_pos = at;
            *reason = "range out of order (the first character must come first)";
            return 0;
        }
    }
    if (!char_set_add(set, lo, hi)) goto oom;
    return 1;
oom:
    *error_pos = at;
    *reason = "out of memory";
    return 0;
}

int char_set_column(const char *text, int byte_offset) {
    int col = 0;
    for (int i = 0; i < byte_offset && text[i]; i++) col += ((unsigned char)text[i] & 0xC0) != 0x80;
    return col;
}

void char_set_caret(const char *text, int byte_offset, char *out, size_t size) {
    /* at most this many bytes of the text either side of the caret */
    const int context = 60;
    int n = (int)strlen(text), from = 0, to = n;
    if (byte_offset > n) byte_offset = n;
    if (byte_offset - from > context) from = byte_offset - context;
    if (to - byte_offset > context) to = byte_offset + context;
    while (from > 0 && ((unsigned char)text[from] & 0xC0) == 0x80) from--;
    while (to < n && ((unsigned char)text[to] & 0xC0) == 0x80) to++;
    const char *pre = from > 0 ? "..." : "";
    int col = (int)strlen(pre) + char_set_column(text + from, byte_offset - from);
    int k = snprintf(out, size, "    %s%.*s%s\n    ", pre, to - from, text + from,
                     to < n ? "..." : "");
    for (int i = 0; i < col && k >= 0 && (size_t)k + 2 < size; i++) out[k++] = ' ';
    if (k >= 0 && (size_t)k + 2 <= size) {
        out[k++] = '^';
        out[k] = 0;
    }
}

crnn_status char_set_parse_spec(const char *spec, const char *what, char_set *set,
                                crnn_error *err) {
    memset(set, 0, sizeof *set);
    if (!spec || !*spec) return set_error(err, CRNN_ERR_ARG, "%s: no characters given", what);
    int end = (int)strlen(spec), pos = 0, error_pos = 0;
    const char *reason = NULL;
    while (pos < end)
        if (!char_set_parse_element(spec, &pos, 0, end, set, &error_pos, &reason)) {
            char caret[400];
            char_set_caret(spec, error_pos, caret, sizeof caret);
            char_set_free(set);
            return set_error(err, CRNN_ERR_ARG, "%s '%s': at character %d: %s\n%s", what, spec,
                             char_set_column(spec, error_pos) + 1, reason, caret);
        }
    char_set_normalize(set);
    return CRNN_OK;
}

/* text.c — what the generator writes: mostly English words from a word list (with the case
   mix of real signs: many in CAPITALS, then Title, then lower), and, less often, numbers,
   prices, dates, codes, phrases, words with punctuation and random strings so that every
   character of the charset is seen. Word lengths follow the peaked distribution of words in
   photos (3–6 letters most common) rather than the long-tailed dictionary. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synth/internal.h"

#define MAX_WORDLIST_BYTES (64u << 20)

/* Relative frequency of word lengths 1..14 (14 = 14 or more) in scene text. */
static const float len_weight[15] = {0, 3, 8, 14, 16, 15, 12, 10, 7, 5, 4, 2.5f, 1.5f, 1, 1};

int text_allowed(const synth_text *t, uint32_t cp) {
    if (cp < 128) return (int)((t->ascii[cp >> 6] >> (cp & 63)) & 1);
    int lo = 0, hi = t->nextra - 1;
    while (lo <= hi) {
        int m = (lo + hi) / 2;
        if (t->extra[m] == cp) return 1;
        if (t->extra[m] < cp) lo = m + 1; else hi = m - 1;
    }
    return 0;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static const char *find_wordlist(const char *given) {
    if (given) return given;
    static const char *const order[] = {"lexicons/en.txt", "/usr/share/dict/american-english-large",
                                        "/usr/share/dict/words", NULL};
    for (int i = 0; order[i]; i++)
        if (access(order[i], R_OK) == 0) return order[i];
    return NULL;
}

crnn_status text_init(synth_text *t, const char *wordlist, const uint32_t *charset,
                      int charset_size, int max_len, crnn_error *err) {
    memset(t, 0, sizeof *t);
    if (max_len < 1) max_len = 24;
    if (max_len > SYNTH_MAX_LABEL) max_len = SYNTH_MAX_LABEL;
    t->max_len = max_len;
    uint32_t ascii_set[95];
    if (!charset) {
        for (int i = 0; i < 95; i++) ascii_set[i] = 0x20 + (uint32_t)i;
        charset = ascii_set;
        charset_size = 95;
    }
    if (charset_size <= 0) return set_error(err, CRNN_ERR_ARG, "synth: empty charset");
    t->all = malloc((size_t)charset_size * sizeof *t->all);
    t->extra = malloc((size_t)charset_size * sizeof *t->extra);
    if (!t->all || !t->extra) goto nomem;
    for (int i = 0; i < charset_size; i++) {
        uint32_t cp = charset[i];
        if (cp < 0x20 || cp == 0x7f || cp > 0x10ffff) continue; /* controls cannot be drawn */
        if (cp < 128) {
            if ((t->ascii[cp >> 6] >> (cp & 63)) & 1) continue;
            t->ascii[cp >> 6] |= 1ull << (cp & 63);
        } else {
            t->extra[t->nextra++] = cp;
        }
        if (cp != ' ') t->all[t->nall++] = cp;
    }
    qsort(t->extra, (size_t)t->nextra, sizeof *t->extra, cmp_u32);
    if (t->nall == 0) return set_error(err, CRNN_ERR_ARG, "synth: charset has no drawable characters");
    t->has_space = text_allowed(t, ' ');
    t->has_upper = text_allowed(t, 'A') && text_allowed(t, 'Z');
    t->has_lower = text_allowed(t, 'a') && text_allowed(t, 'z');
    t->has_digit = text_allowed(t, '0') && text_allowed(t, '9');

    t->by_len = calloc((size_t)max_len + 1, sizeof *t->by_len);
    t->count_by_len = calloc((size_t)max_len + 1, sizeof *t->count_by_len);
    if (!t->by_len || !t->count_by_len) goto nomem;

    const char *path = find_wordlist(wordlist);
    if (!path) return CRNN_OK; /* no word list: random strings, numbers and codes only */
    unsigned char *data;
    size_t size;
    crnn_status st = read_file(path, MAX_WORDLIST_BYTES, &data, &size, err);
    if (st) return st;
    t->buf = (char *)data;
    int *cap = calloc((size_t)max_len + 1, sizeof *cap);
    if (!cap) goto nomem;
    uint32_t cps[SYNTH_MAX_LABEL + 1];
    char *line = t->buf;
    while (line < t->buf + size) {
        char *nl = memchr(line, '\n', (size_t)(t->buf + size - line));
        char *end = nl ? nl : t->buf + size;
        *end = 0;
        if (end > line && end[-1] == '\r') end[-1] = 0;
        /* Apostrophes in a dictionary are possessives ("cat's"); punctuation is added by the
           sampler instead, at a realistic rate. */
        int n = strchr(line, '\'') ? -1 : utf8_to_codepoints(line, cps, max_len);
        int ok = n > 0;
        for (int i = 0; ok && i < n; i++) ok = cps[i] != ' ' && text_allowed(t, cps[i]);
        if (ok) {
            if (t->count_by_len[n] == cap[n]) {
                int c = cap[n] ? 2 * cap[n] : 64;
                int *v = realloc(t->by_len[n], (size_t)c * sizeof *v);
                if (!v) { free(cap); goto nomem; }
                t->by_len[n] = v;
                cap[n] = c;
            }
            t->by_len[n][t->count_by_len[n]++] = (int)(line - t->buf);
            t->nwords++;
        }
        line = end + 1;
    }
    free(cap);
    return CRNN_OK;
nomem:
    text_free(t);
    return set_error(err, CRNN_ERR_NOMEM, "synth: out of memory for the word list");
}

void text_free(synth_text *t) {
    if (t->by_len)
        for (int i = 0; i <= t->max_len; i++) free(t->by_len[i]);
    free(t->by_len);
    free(t->count_by_len);
    free(t->buf);
    free(t->extra);
    free(t->all);
    memset(t, 0, sizeof *t);
}

/* ---- building blocks --------------------------------------------------------------------- */

typedef struct {
    char s[4 * SYNTH_MAX_LABEL + 64];
    size_t n;
} sbuf;

static void put(sbuf *b, const char *s) {
    for (; *s && b->n + 1 < sizeof b->s; s++) b->s[b->n++] = *s;
    b->s[b->n] = 0;
}

static void putc_(sbuf *b, char c) {
    if (b->n + 1 < sizeof b->s) b->s[b->n++] = c;
    b->s[b->n] = 0;
}

static int weighted(rng_t *r, const float *w, int n) {
    float sum = 0;
    for (int i = 0; i < n; i++) sum += w[i];
    float x = rng_uniform(r) * sum;
    for (int i = 0; i < n; i++) {
        if (x < w[i]) return i;
        x -= w[i];
    }
    return n - 1;
}

static const char *pick(rng_t *r, const char *const *v, int n) { return v[rng_int(r, 0, n - 1)]; }

/* A dictionary word of a realistic length (≤ maxl code points), or NULL if there is none. */
static const char *word(const synth_text *t, rng_t *r, int maxl) {
    if (t->nwords == 0) return NULL;
    if (maxl > t->max_len) maxl = t->max_len;
    int len = weighted(r, len_weight, 15);
    if (len == 14) len = rng_int(r, 14, 20);
    if (len > maxl) len = rng_int(r, 1, maxl);
    /* Nearest length that has words (short lists filtered by a charset may have gaps). */
    for (int d = 0; d <= t->max_len; d++) {
        int l = len - d;
        if (l >= 1 && l <= maxl && t->count_by_len[l])
            return t->buf + t->by_len[l][rng_int(r, 0, t->count_by_len[l] - 1)];
        l = len + d;
        if (d && l <= maxl && t->count_by_len[l])
            return t->buf + t->by_len[l][rng_int(r, 0, t->count_by_len[l] - 1)];
    }
    return NULL;
}

enum { CASE_UPPER, CASE_TITLE, CASE_LOWER, CASE_ASIS };

static int pick_case(rng_t *r) {
    static const float w[4] = {44, 30, 20, 6};
    return weighted(r, w, 4);
}

/* Appends w in case c (ASCII letters only; other code points are kept). */
static void put_cased(sbuf *b, const char *w, int c) {
    size_t start = b->n;
    put(b, w);
    int first = 1;
    for (size_t i = start; i < b->n; i++) {
        char ch = b->s[i];
        int up = c == CASE_UPPER || (c == CASE_TITLE && first);
        if (c == CASE_ASIS) break;
        if (up && ch >= 'a' && ch <= 'z') b->s[i] = (char)(ch - 32);
        else if (!up && ch >= 'A' && ch <= 'Z') b->s[i] = (char)(ch + 32);
        if ((unsigned char)ch < 0x80 || (unsigned char)ch >= 0xc0) first = 0;
    }
}

static void put_digits(sbuf *b, rng_t *r, int n) {
    for (int i = 0; i < n; i++) putc_(b, (char)('0' + rng_int(r, 0, 9)));
}

/* A number with a realistic leading digit and length: 1-4 digits mostly. */
static void put_number(sbuf *b, rng_t *r) {
    static const float w[7] = {0, 30, 30, 22, 12, 4, 2};
    int n = weighted(r, w, 7);
    putc_(b, (char)('0' + (n == 1 ? rng_int(r, 0, 9) : rng_int(r, 1, 9))));
    put_digits(b, r, n - 1);
}

static void put_letters(sbuf *b, rng_t *r, int n, int upper) {
    for (int i = 0; i < n; i++) putc_(b, (char)((upper ? 'A' : 'a') + rng_int(r, 0, 25)));
}

/* ---- categories -------------------------------------------------------------------------- */

static void gen_word(const synth_text *t, rng_t *r, sbuf *b) {
    const char *w = word(t, r, t->max_len);
    if (w) put_cased(b, w, pick_case(r));
}

static void gen_phrase(const synth_text *t, rng_t *r, sbuf *b) {
    int c = pick_case(r), n = rng_chance(r, 0.75f) ? 2 : 3;
    for (int i = 0; i < n; i++) {
        const char *w = word(t, r, 8);
        if (!w) return;
        if (i) putc_(b, rng_chance(r, 0.08f) ? '-' : ' ');
        put_cased(b, w, c == CASE_TITLE && i && rng_chance(r, 0.3f) ? CASE_LOWER : c);
    }
}

static void gen_punct_word(const synth_text *t, rng_t *r, sbuf *b) {
    static const char *const pre[] = {"(", "\"", "'", "#", "@", "-", "*", "[", "<", "~", "+", "&"};
    static const char *const post[] = {".", ",", "!", "?", ":", ";", "'s", ")", "\"", "'", "-",
                                       "*", "!!", "...", "]", ">", "%", "/", "_", "|", "^", "`"};
    static const char *const join[] = {"-", "&", "/", ".", "_", "+", "'", ".com", "@", "=", "\\"};
    const char *w = word(t, r, 10);
    if (!w) return;
    int c = pick_case(r), k = rng_int(r, 0, 3);
    if (k == 3) c = CASE_LOWER;
    if (k == 0) put(b, pick(r, pre, 12));
    put_cased(b, w, c);
    if (k == 1 || k == 0) put(b, pick(r, post, 22));
    if (k == 2) {
        put(b, pick(r, join, 11));
        const char *w2 = word(t, r, 8);
        if (w2) put_cased(b, w2, c);
    }
    if (k == 3) { /* web address: replaces what was written above */
        b->n = 0;
        b->s[0] = 0;
        if (rng_chance(r, 0.5f)) put(b, "www.");
        put_cased(b, w, CASE_LOWER);
        put(b, rng_chance(r, 0.7f) ? ".com" : rng_chance(r, 0.5f) ? ".org" : ".co.uk");
    }
}

static void gen_number(rng_t *r, sbuf *b) {
    static const char *const units[] = {"KM", "km", "kg", "mm", "cm", "m", "ml", "MPH", "mph",
                                        "g", "L", "V", "W", "ft", "in", "lbs", "%", "x", "th", "st"};
    switch (rng_int(r, 0, 7)) {
    case 0: case 1: case 2: put_number(b, r); break;
    case 3: /* thousands separator */
        put_digits(b, r, 1 + rng_int(r, 0, 1));
        putc_(b, rng_chance(r, 0.8f) ? ',' : '.');
        put_digits(b, r, 3);
        break;
    case 4: put_number(b, r); putc_(b, '.'); put_digits(b, r, rng_int(r, 1, 2)); break;
    case 5: put_number(b, r); if (rng_chance(r, 0.3f)) putc_(b, ' '); put(b, pick(r, units, 20)); break;
    case 6: put(b, rng_chance(r, 0.5f) ? "No." : "#"); put_number(b, r); break;
    default: put_digits(b, r, 1); putc_(b, '/'); put_digits(b, r, 1); break;
    }
}

static void gen_price(rng_t *r, sbuf *b) {
    int k = rng_int(r, 0, 5);
    if (k <= 3) putc_(b, '$');
    if (k == 4) put(b, rng_chance(r, 0.5f) ? "-" : "+");
    put_number(b, r);
    if (k == 1 || k == 5) { putc_(b, '.'); put_digits(b, r, 2); }
    if (k == 2) put(b, rng_chance(r, 0.5f) ? ".99" : ".00");
    if (k == 4) putc_(b, '%');
    if (k == 3 && rng_chance(r, 0.5f)) put(b, rng_chance(r, 0.5f) ? "/mo" : " ea");
}

static void gen_date(rng_t *r, sbuf *b) {
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                                      "Sep", "Oct", "Nov", "Dec", "MON", "TUE", "FRI", "SAT"};
    char s[64];
    int y = rng_int(r, 1890, 2030), m = rng_int(r, 1, 12), d = rng_int(r, 1, 28);
    switch (rng_int(r, 0, 6)) {
    case 0: snprintf(s, sizeof s, "%02d/%02d/%04d", m, d, y); break;
    case 1: snprintf(s, sizeof s, "%04d-%02d-%02d", y, m, d); break;
    case 2: snprintf(s, sizeof s, "%d:%02d", rng_int(r, 0, 23), rng_int(r, 0, 59)); break;
    case 3: snprintf(s, sizeof s, "%d:%02d%s", rng_int(r, 1, 12), 5 * rng_int(r, 0, 11),
                     rng_chance(r, 0.5f) ? "PM" : "am"); break;
    case 4: snprintf(s, sizeof s, "%d", y); break;
    case 5: snprintf(s, sizeof s, "%s %d", pick(r, mon, 16), d); break;
    default: snprintf(s, sizeof s, "'%02d", y % 100); break;
    }
    put(b, s);
}

static void gen_code(rng_t *r, sbuf *b) {
    switch (rng_int(r, 0, 6)) {
    case 0: put_digits(b, r, 3); putc_(b, '-'); put_digits(b, r, 4); break;
    case 1: putc_(b, '('); put_digits(b, r, 3); put(b, ") "); put_digits(b, r, 3); putc_(b, '-');
            put_digits(b, r, 4); break;
    case 2: put_letters(b, r, rng_int(r, 1, 3), 1); if (rng_chance(r, 0.4f)) putc_(b, '-');
            put_digits(b, r, rng_int(r, 1, 4)); break;
    case 3: put_letters(b, r, 3, 1); putc_(b, ' '); put_digits(b, r, 4); break;
    case 4: put_digits(b, r, rng_int(r, 1, 3)); put_letters(b, r, rng_int(r, 1, 2), 1); break;
    case 5: put_letters(b, r, 2, 1); put_digits(b, r, 1); put_letters(b, r, 1, 1); putc_(b, ' ');
            put_digits(b, r, 1); put_letters(b, r, 2, 1); break;
    default: put_letters(b, r, rng_int(r, 3, 7), 0); putc_(b, '@'); put_letters(b, r, rng_int(r, 3, 6), 0);
             put(b, ".com"); break;
    }
}

static void gen_alnum(rng_t *r, sbuf *b) {
    static const char up[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static const char lo[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    static const char any[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    int k = rng_int(r, 0, 2), n = rng_int(r, 1, 10);
    const char *set = k == 0 ? up : k == 1 ? lo : any;
    int m = (int)strlen(set);
    for (int i = 0; i < n; i++) putc_(b, set[rng_int(r, 0, m - 1)]);
}

/* Any characters of the charset, so that rare ones (`{|}~^) are seen at all. */
static int gen_random(const synth_text *t, rng_t *r, uint32_t *cps) {
    int n = rng_int(r, 1, t->max_len < 10 ? t->max_len : 10);
    for (int i = 0; i < n; i++) {
        if (t->has_space && i > 0 && i < n - 1 && cps[i - 1] != ' ' && rng_chance(r, 0.1f))
            cps[i] = ' ';
        else
            cps[i] = t->all[rng_int(r, 0, t->nall - 1)];
    }
    return n;
}

/* Checks a candidate: drawable, in the charset, short enough, spaces only between words. */
static int accept(const synth_text *t, const char *s, uint32_t *cps) {
    int n = utf8_to_codepoints(s, cps, t->max_len);
    if (n <= 0 || cps[0] == ' ' || cps[n - 1] == ' ') return 0;
    for (int i = 0; i < n; i++) {
        if (!text_allowed(t, cps[i])) return 0;
        if (cps[i] == ' ' && i && cps[i - 1] == ' ') return 0;
    }
    return n;
}

int text_sample(const synth_text *t, rng_t *r, uint32_t *cps) {
    /* Most mass on words: reading English words in photos is the main target. */
    static const float w[9] = {66, 6, 6, 8, 4, 3, 4, 3, 3};
    for (int attempt = 0; attempt < 20; attempt++) {
        sbuf b = {.n = 0};
        b.s[0] = 0;
        int cat = weighted(r, w, 9);
        if (t->nwords == 0 && cat <= 2) cat = 3 + rng_int(r, 0, 5);
        switch (cat) {
        case 0: gen_word(t, r, &b); break;
        case 1: gen_punct_word(t, r, &b); break;
        case 2: gen_phrase(t, r, &b); break;
        case 3: gen_number(r, &b); break;
        case 4: gen_price(r, &b); break;
        case 5: gen_date(r, &b); break;
        case 6: gen_code(r, &b); break;
        case 7: gen_alnum(r, &b); break;
        default: return gen_random(t, r, cps);
        }
        int n = accept(t, b.s, cps);
        if (n > 0) return n;
    }
    return gen_random(t, r, cps);
}

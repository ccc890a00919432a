/* regex_parse.c — the pattern syntax, by recursive descent, into a syntax tree:

     alternation  a|b        groups  (ab)  (?:ab)        classes  [A-Z0-9]  [^,]  \d \w \s
     repetition   * + ?  {m}  {m,}  {m,n}                any      .
     anchors      ^ at the start and $ at the end are allowed and change nothing: a pattern
                  always has to match the whole text

   Every error names the character it stops at. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern/pattern.h"
#include "util/util.h"

/* {m,n} bounds: a repeat is unrolled into copies, so bounds stay small */
#define MAX_REPEAT 255
/* nested groups */
#define MAX_DEPTH 200

typedef struct {
    rx_tree *t;
    const char *s;
    int n, pos, depth;
    int error_pos;
    const char *reason;
} parser;

void rx_tree_free(rx_tree *t) {
    for (int i = 0; i < t->n_sets; i++) char_set_free(&t->sets[i]);
    free(t->sets);
    free(t->nodes);
    memset(t, 0, sizeof *t);
}

int rx_add(rx_tree *t, rx_node node) {
    if (t->n_nodes == t->cap_nodes) {
        int cap = t->cap_nodes ? t->cap_nodes * 2 : 64;
        rx_node *p = realloc(t->nodes, sizeof *p * (size_t)cap);
        if (!p) return -1;
        t->nodes = p;
        t->cap_nodes = cap;
    }
    t->nodes[t->n_nodes] = node;
    return t->n_nodes++;
}

static int fail(parser *p, int at, const char *reason) {
    p->error_pos = at;
    p->reason = reason;
    return -1;
}

/* A SET node owning a fresh empty set; -1 if out of memory. */
static int new_set(parser *p, char_set **set) {
    rx_tree *t = p->t;
    if (t->n_sets == t->cap_sets) {
        int cap = t->cap_sets ? t->cap_sets * 2 : 16;
        char_set *s = realloc(t->sets, sizeof *s * (size_t)cap);
        if (!s) return fail(p, p->pos, "out of memory");
        t->sets = s;
        t->cap_sets = cap;
    }
    memset(&t->sets[t->n_sets], 0, sizeof(char_set));
    int id = rx_add(t, (rx_node){RX_SET, -1, -1, 0, 0, t->n_sets});
    if (id < 0) return fail(p, p->pos, "out of memory");
    *set = &t->sets[t->n_sets++];
    return id;
}

static int parse_alt(parser *p);

/* [...] at p->pos (on the '['). */
static int parse_bracket(parser *p) {
    int open = p->pos++;
    int negate = p->pos < p->n && p->s[p->pos] == '^';
    if (negate) p->pos++;
    /* the list ends at the first ']' that is not its first character and not escaped */
    int begin = p->pos, end = begin;
    while (end < p->n && (p->s[end] != ']' || end == begin)) end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->n) return fail(p, open, "'[' without its closing ']'");
    char_set *set;
    int id = new_set(p, &set);
    if (id < 0) return -1;
    while (p->pos < end)
        if (!char_set_parse_element(p->s, &p->pos, begin, end, set, &p->error_pos, &p->reason))
            return -1;
    char_set_normalize(set);
    if (negate && !char_set_negate(set)) return fail(p, open, "out of memory");
    p->pos = end + 1;
    return id;
}

static int parse_atom(parser *p) {
    char c = p->s[p->pos];
    char_set *set;
    int id;
    switch (c) {
    case '(': {
        int open = p->pos++;
        if (++p->depth > MAX_DEPTH) return fail(p, open, "groups nested too deep");
        if (p->pos + 1 < p->n && p->s[p->pos] == '?') {
            if (p->s[p->pos + 1] != ':')
                return fail(p, p->pos, "only (?:...) groups are known after '(?'");
            p->pos += 2;
        }
        int inner = parse_alt(p);
        if (inner < 0) return -1;
        if (p->pos >= p->n || p->s[p->pos] != ')')
            return fail(p, open, "'(' without its closing ')'");
        p->pos++;
        p->depth--;
        return inner;
    }
    case '[': return parse_bracket(p);
    case '.':
        if ((id = new_set(p, &set)) < 0) return -1;
        p->pos++;
        if (!char_set_add(set, 0, CHAR_SET_MAX_CP)) return fail(p, p->pos, "out of memory");
        return id;
    case '*': case '+': case '?': case '{':
        return fail(p, p->pos, "nothing before it to repeat");
    case ')': return fail(p, p->pos, "')' without an opening '('");
    case ']': return fail(p, p->pos, "']' without an opening '[' (write \\] for the character)");
    case '^':
        return fail(p, p->pos, "'^' only at the very start (patterns always match the whole text)");
    case '$':
        return fail(p, p->pos, "'$' only at the very end (patterns always match the whole text)");
    default: break;
    }
    int at = p->pos, oom = 0;
    uint32_t cp;
    int kind = char_set_read_char(p->s, &p->pos, p->n, &cp, &p->error_pos, &p->reason);
    if (!kind) return -1;
    if ((id = new_set(p, &set)) < 0) return -1;
    if (kind == 2) char_set_add_escape_class(set, (char)cp, &oom);
    else oom = !char_set_add(set, cp, cp);
    if (oom) return fail(p, at, "out of memory");
    char_set_normalize(set);
    return id;
}

/* A decimal count at p->pos; -1 if none. */
static int read_count(parser *p) {
    int v = -1;
    while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        int d = p->s[p->pos++] - '0';
        v = v < 0 ? d : v * 10 + d;
        if (v > 100000) v = 100000; /* reported as over the limit below */
    }
    return v;
}

static int parse_repeat(parser *p) {
    int atom = parse_atom(p);
    while (atom >= 0 && p->pos < p->n) {
        char c = p->s[p->pos];
        int at = p->pos, min, max;
        if (c == '*') min = 0, max = -1;
        else if (c == '+') min = 1, max = -1;
        else if (c == '?') min = 0, max = 1;
        else if (c == '{') {
            p->pos++;
            min = read_count(p);
            if (min < 0) return fail(p, at, "'{' must start a count: {m}, {m,} or {m,n}");
            max = min;
            if (p->pos < p->n && p->s[p->pos] == ',') {
                p->pos++;
                max = read_count(p); /* {m,}: -1, unbounded */
            }
            if (p->pos >= p->n || p->s[p->pos] != '}')
                return fail(p, at, "'{' without its closing '}' (counts: {m}, {m,} or {m,n})");
            if (min > MAX_REPEAT || max > MAX_REPEAT)
                return fail(p, at, "a count over 255");
            if (max >= 0 && max < min) return fail(p, at, "{m,n} with m greater than n");
        } else {
            break;
        }
        p->pos++;
        atom = rx_add(p->t, (rx_node){RX_REPEAT, atom, -1, min, max, -1});
        if (atom < 0) return fail(p, at, "out of memory");
    }
    return atom;
}

static int parse_concat(parser *p) {
    int left = -1;
    while (p->pos < p->n && p->s[p->pos] != '|' && p->s[p->pos] != ')') {
        if (p->s[p->pos] == '$' && p->pos == p->n - 1 && p->depth == 0) { /* a redundant anchor */
            p->pos++;
            break;
        }
        int at = p->pos, right = parse_repeat(p);
        if (right < 0) return -1;
        left = left < 0 ? right : rx_add(p->t, (rx_node){RX_CONCAT, left, right, 0, 0, -1});
        if (left < 0) return fail(p, at, "out of memory");
    }
    if (left < 0) left = rx_add(p->t, (rx_node){RX_EMPTY, -1, -1, 0, 0, -1});
    if (left < 0) return fail(p, p->pos, "out of memory");
    return left;
}

static int parse_alt(parser *p) {
    int left = parse_concat(p);
    while (left >= 0 && p->pos < p->n && p->s[p->pos] == '|') {
        int at = p->pos++, right = parse_concat(p);
        if (right < 0) return -1;
        left = rx_add(p->t, (rx_node){RX_ALT, left, right, 0, 0, -1});
        if (left < 0) return fail(p, at, "out of memory");
    }
    return left;
}

crnn_status rx_parse(rx_tree *t, const char *regex, const char *what, int *root,
                     crnn_error *err) {
    parser p = {t, regex, (int)strlen(regex), 0, 0, 0, NULL};
    if (p.n > 0 && regex[0] == '^') p.pos = 1; /* a redundant anchor */
    int r = parse_alt(&p);
    if (r >= 0 && p.pos < p.n) r = fail(&p, p.pos, "')' without an opening '('");
    if (r < 0) {
        char caret[400];
        char_set_caret(regex, p.error_pos, caret, sizeof caret);
        return set_error(err, strcmp(p.reason, "out of memory") ? CRNN_ERR_ARG : CRNN_ERR_NOMEM,
                         "%s '%s': at character %d: %s\n%s", what, regex,
                         char_set_column(regex, p.error_pos) + 1, p.reason, caret);
    }
    *root = r;
    return CRNN_OK;
}

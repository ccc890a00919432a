/* trie.c — the compact lexicon trie, built breadth-first from sorted words: the words below a
   node are a contiguous run of the sorted list, and its children split that run by the code
   point at the node's depth, so each level is one scan and no node is ever moved. */
#include <stdlib.h>
#include <string.h>

#include "lexicon/trie.h"
#include "util/util.h"

static int cmp_words(const void *pa, const void *pb) {
    const trie_word *a = pa, *b = pb;
    int n = a->n < b->n ? a->n : b->n;
    for (int i = 0; i < n; i++)
        if (a->s[i] != b->s[i]) return a->s[i] < b->s[i] ? -1 : 1;
    if (a->n != b->n) return a->n < b->n ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

void trie_sort_words(trie_word *words, int n) { qsort(words, (size_t)n, sizeof *words, cmp_words); }

crnn_status trie_build(trie *t, const trie_word *w, int n, crnn_error *err) {
    memset(t, 0, sizeof *t);
    size_t cap = 1024, count = 1;
    trie_node *nodes = malloc(sizeof(trie_node) * cap);
    /* per node, while building: its run of words [lo, hi) and depth */
    int *lo = malloc(sizeof(int) * cap), *hi = malloc(sizeof(int) * cap);
    int *depth = malloc(sizeof(int) * cap);
    crnn_status st = CRNN_OK;
    if (!nodes || !lo || !hi || !depth) {
        st = set_error(err, CRNN_ERR_NOMEM, "out of memory building the lexicon trie");
        goto done;
    }
    nodes[0] = (trie_node){0, -1, 0, 0};
    lo[0] = 0;
    hi[0] = n;
    depth[0] = 0;
    for (size_t i = 0; i < count; i++) {
        int a = lo[i], b = hi[i], d = depth[i];
        if (a < b && w[a].n == d) { /* sorted: the word equal to the prefix comes first */
            nodes[i].word = w[a].id;
            if (d > t->max_depth) t->max_depth = d;
            a++;
        }
        nodes[i].first_child = (uint32_t)count;
        while (a < b) {
            int e = a + 1;
            while (e < b && w[e].s[d] == w[a].s[d]) e++;
            if (count == cap) {
                if (cap >= UINT32_MAX / 2) {
                    st = set_error(err, CRNN_ERR_LIMIT, "lexicon trie too large");
                    goto done;
                }
                cap *= 2;
                void *p1 = realloc(nodes, sizeof(trie_node) * cap);
                if (p1) nodes = p1;
                void *p2 = realloc(lo, sizeof(int) * cap);
                if (p2) lo = p2;
                void *p3 = realloc(hi, sizeof(int) * cap);
                if (p3) hi = p3;
                void *p4 = realloc(depth, sizeof(int) * cap);
                if (p4) depth = p4;
                if (!p1 || !p2 || !p3 || !p4) {
                    st = set_error(err, CRNN_ERR_NOMEM, "out of memory building the lexicon trie");
                    goto done;
                }
            }
            nodes[count] = (trie_node){w[a].s[d], -1, 0, 0};
            lo[count] = a;
            hi[count] = e;
            depth[count] = d + 1;
            count++;
            nodes[i].n_children++;
            a = e;
        }
        if ((int)nodes[i].n_children > t->max_fanout) t->max_fanout = (int)nodes[i].n_children;
    }
    trie_node *shrunk = realloc(nodes, sizeof(trie_node) * count);
    t->nodes = shrunk ? shrunk : nodes;
    t->n_nodes = (uint32_t)count;
    nodes = NULL;
done:
    free(nodes);
    free(lo);
    free(hi);
    free(depth);
    if (st != CRNN_OK) memset(t, 0, sizeof *t);
    return st;
}

void trie_free(trie *t) {
    free(t->nodes);
    memset(t, 0, sizeof *t);
}

int trie_child(const trie *t, int node, uint32_t cp) {
    uint32_t lo = t->nodes[node].first_child, hi = lo + t->nodes[node].n_children;
    while (hi - lo > 8) { /* binary search down to a short run, then scan */
        uint32_t mid = lo + (hi - lo) / 2, c = t->nodes[mid].cp;
        if (c == cp) return (int)mid;
        if (c < cp) lo = mid + 1;
        else hi = mid;
    }
    for (uint32_t i = lo; i < hi; i++)
        if (t->nodes[i].cp == cp) return (int)i;
    return -1;
}

int trie_lookup(const trie *t, const uint32_t *cps, int n) {
    int node = 0;
    for (int i = 0; i < n && node >= 0; i++) node = trie_child(t, node, cps[i]);
    return node >= 0 ? t->nodes[node].word : -1;
}

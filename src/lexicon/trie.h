/* trie.h — the lexicon's prefix tree over Unicode code points, in compact arrays: every node's
   children are contiguous and sorted by code point (16 bytes a node), found by a short scan or
   a binary search. Built in one pass, level by level, from the words sorted by code points.

   Why not uthash child maps: bench_lexicon builds one beside it over the 100k English lexicon
   (228k nodes). Each node with children carries its own hash table (32 buckets to start):
   107 MB against 3.7 MB here, and lookups take 4x as long (lexicons/README.md). */
#ifndef CRNN_TRIE_H
#define CRNN_TRIE_H

#include <stdint.h>

#include "crnn.h"

typedef struct {
    uint32_t cp;          /* code point on the edge from the parent (0 for the root) */
    int32_t word;         /* id of the word that ends here, or -1 */
    uint32_t first_child; /* index of the first child */
    uint32_t n_children;
} trie_node;

typedef struct {
    trie_node *nodes; /* [0] is the root (the empty prefix) */
    uint32_t n_nodes;
    int max_depth;  /* longest word, in code points */
    int max_fanout; /* most children of one node */
} trie;

/* A word for the builder: its code points and id. */
typedef struct {
    const uint32_t *s;
    int n, id;
} trie_word;

/* Sorts words by code points (a prefix first; equal words by id), as trie_build needs them. */
void trie_sort_words(trie_word *words, int n);
/* Builds the trie of n sorted words, all distinct. */
crnn_status trie_build(trie *t, const trie_word *sorted, int n, crnn_error *err);
void trie_free(trie *t);
/* The child of node `node` on code point cp, or -1. */
int trie_child(const trie *t, int node, uint32_t cp);
/* The id of the word, or -1. */
int trie_lookup(const trie *t, const uint32_t *cps, int n);

#endif

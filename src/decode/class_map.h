/* class_map.h — from Unicode code points to a model's classes: how a lexicon word or a
   pattern's characters become the labels the network scores. With case folding, the case
   forms of a letter share their lowest class (the "representative"), and code points are
   folded before the lookup. */
#ifndef CRNN_CLASS_MAP_H
#define CRNN_CLASS_MAP_H

#include <stdint.h>

#include "crnn.h"

typedef struct {
    int32_t low[256]; /* code points < 256 */
    uint32_t *cp;     /* the others, sorted */
    int32_t *cls;
    int n, fold;
} class_map;

crnn_status class_map_build(class_map *m, const uint32_t *charset, int n_classes, int fold,
                            crnn_error *err);
void class_map_free(class_map *m);
/* The class of cp, or -1 if the model cannot write it. */
int class_map_get(const class_map *m, uint32_t cp);
/* Labels of a word's code points; 0 if a character has no class. */
int class_map_labels(const class_map *m, const uint32_t *cps, int n, int *labels);

#endif

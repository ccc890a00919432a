/* linear.h — the linear layer kind: an affine map of every step of a sequence. The last layer
   of every model is one, to the charset's classes. */
#ifndef CRNN_LAYERS_LINEAR_H
#define CRNN_LAYERS_LINEAR_H

#include "layers/layer.h"

#define LAYER_LINEAR 5

/* p[8]: out, 0... */
#define LINEAR_OUT(l) ((l)->p[0])

enum { LINEAR_WEIGHT, LINEAR_BIAS };

extern const layer_kind linear_kind;

#endif

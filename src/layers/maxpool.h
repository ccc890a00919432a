/* maxpool.h — the maxpool layer kind: max-pooling over a map; padding never wins. */
#ifndef CRNN_LAYERS_MAXPOOL_H
#define CRNN_LAYERS_MAXPOOL_H

#include "layers/layer.h"

#define LAYER_MAXPOOL 2

/* p[8]: kh, kw, stride_h, stride_w, pad_h, pad_w, 0, 0 */
#define POOL_KH(l) ((l)->p[0])
#define POOL_KW(l) ((l)->p[1])
#define POOL_SH(l) ((l)->p[2])
#define POOL_SW(l) ((l)->p[3])
#define POOL_PH(l) ((l)->p[4])
#define POOL_PW(l) ((l)->p[5])

extern const layer_kind maxpool_kind;

#endif

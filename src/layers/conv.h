/* conv.h — the conv2d layer kind: a 2-D convolution, optionally followed by batch-norm and a
   ReLU (in that order), over a map. A depthwise one (flag bit 2) convolves each channel with
   its own kernel: out_channels = in_channels, weights [out, 1, kh, kw], as PyTorch's Conv2d
   with groups = in_channels. */
#ifndef CRNN_LAYERS_CONV_H
#define CRNN_LAYERS_CONV_H

#include "layers/layer.h"

#define LAYER_CONV 1

/* p[8]: out_channels, kh, kw, stride_h, stride_w, pad_h, pad_w, flags */
#define CONV_OUT(l) ((l)->p[0])
#define CONV_KH(l) ((l)->p[1])
#define CONV_KW(l) ((l)->p[2])
#define CONV_SH(l) ((l)->p[3])
#define CONV_SW(l) ((l)->p[4])
#define CONV_PH(l) ((l)->p[5])
#define CONV_PW(l) ((l)->p[6])
#define CONV_FLAGS(l) ((l)->p[7])
#define CONV_FLAG_BN 1
#define CONV_FLAG_RELU 2
#define CONV_FLAG_DEPTHWISE 4

/* Tensors, in declaration order; the four batch-norm ones only with CONV_FLAG_BN. */
enum { CONV_WEIGHT, CONV_BIAS, CONV_BN_WEIGHT, CONV_BN_BIAS, CONV_BN_MEAN, CONV_BN_VAR };

extern const layer_kind conv_kind;

#endif

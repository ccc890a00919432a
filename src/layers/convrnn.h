/* convrnn.h — the convrnn layer kind: the Convolutional RNN of Keren & Schuller (2016) over a
   map (nn/convrnn.c). Each window a convolution would map affinely is read column by column
   by a small LSTM or GRU instead; its last hidden state (or the mean of its outputs) is the
   window's feature vector. With a window as tall as the map it reads the column sequence the
   CNN hands to the recurrent layers, a few columns at a time. Not the ConvLSTM of Shi et al.
   (2015), whose gates are convolutions. */
#ifndef CRNN_LAYERS_CONVRNN_H
#define CRNN_LAYERS_CONVRNN_H

#include "layers/layer.h"

#define LAYER_CONVRNN 6

/* p[8]: hidden, kh, kw, stride_h, stride_w, pad_h, pad_w, flags */
#define CONVRNN_HIDDEN(l) ((l)->p[0])
#define CONVRNN_KH(l) ((l)->p[1])
#define CONVRNN_KW(l) ((l)->p[2])
#define CONVRNN_SH(l) ((l)->p[3])
#define CONVRNN_SW(l) ((l)->p[4])
#define CONVRNN_PH(l) ((l)->p[5])
#define CONVRNN_PW(l) ((l)->p[6])
#define CONVRNN_FLAGS(l) ((l)->p[7])
#define CONVRNN_FLAG_LSTM 1  /* LSTM cells (else GRU) */
#define CONVRNN_FLAG_BIDIR 2 /* also right to left; output [left to right ; right to left] */
#define CONVRNN_FLAG_MEAN 4  /* the mean of the outputs (else the last hidden state) */

/* Tensors: per direction d (0 left to right, 1 right to left) the four at
   CONVRNN_TENSOR(d, k), named and shaped as a recurrent layer's. */
enum { CONVRNN_W_IH, CONVRNN_W_HH, CONVRNN_B_IH, CONVRNN_B_HH };
#define CONVRNN_TENSOR(d, k) (4 * (d) + (k))

extern const layer_kind convrnn_kind;

#endif

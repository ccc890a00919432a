/* recurrent.h — the lstm and gru layer kinds: a recurrent layer over a sequence, optionally
   bidirectional (output [forward ; backward]). */
#ifndef CRNN_LAYERS_RECURRENT_H
#define CRNN_LAYERS_RECURRENT_H

#include "layers/layer.h"

#define LAYER_LSTM 3
#define LAYER_GRU 4

/* p[8]: hidden, bidirectional (0/1), 0... */
#define RNN_HIDDEN(l) ((l)->p[0])
#define RNN_BIDIR(l) ((l)->p[1])

/* Tensors: per direction d (0 forward, 1 backward) the four at RNN_TENSOR(d, k). */
enum { RNN_W_IH, RNN_W_HH, RNN_B_IH, RNN_B_HH };
#define RNN_TENSOR(d, k) (4 * (d) + (k))

extern const layer_kind lstm_kind, gru_kind;

#endif

/* nn.h — the layers. Each is a forward/backward pair of plain functions (outputs first, then
   inputs, then sizes). Backward passes accumulate into parameter gradients with +=, and into
   input gradients with += as well, so a tensor used twice simply gets both contributions.

   Convolutional layers work on a batch of images of one height and different widths, stored
   as a C × P matrix: row c holds channel c of every image, image b occupying the columns
   [off[b], off[b] + h·w[b]) in row-major (y, x) order. One sgemm then covers the whole batch,
   and no image is padded, so a narrow image's result never depends on its neighbours.

   Sequence layers work on B × T × F arrays (T = longest sequence); sample b uses its first
   len[b] steps and the rest is ignored on input and zero on output. */
#ifndef CRNN_NN_H
#define CRNN_NN_H

#include <stddef.h>

#include "util/team.h"

typedef struct {
    int n;             /* images */
    int h;             /* rows, the same for every image */
    const int *w;      /* columns of each image */
    const size_t *off; /* first column of each image in the C × P matrix */
    size_t total;      /* P = Σ h·w[b] */
} map_geom;

typedef struct {
    int kh, kw, sh, sw, ph, pw;
} window2d;

/* The output columns [*lo, *hi) of a window row whose kernel column kj reads inside the image:
   input column ox·sw − pw + kj ∈ [0, win). Convolutions copy or multiply those and treat the
   rest as padding. */
static inline void window_valid_columns(int wout, int win, window2d k, int kj, int *lo, int *hi) {
    int a = 0, b = wout;
    while (a < wout && a * k.sw - k.pw + kj < 0) a++;
    while (b > a && (b - 1) * k.sw - k.pw + kj >= win) b--;
    *lo = a;
    *hi = b;
}

/* ---- conv2d.c ---- */
/* inp is (Cin, Pin), weight (Cout, Cin·kh·kw), bias (Cout), out (Cout, Pout). cols is scratch of
   cols_cap floats, which must hold at least Cin·kh·kw × (the largest single image's h·w at the
   output); images are processed in groups that fit. A team (NULL: the caller alone) splits the
   unfolding by input channel and the product by output channel among its threads. */
void conv2d_forward(float *out, float *cols, size_t cols_cap, const float *inp,
                    const float *weight, const float *bias, int cin, int cout, window2d k,
                    const map_geom *gin, const map_geom *gout, team *tm);
/* dinp (may be NULL) and dweight, dbias accumulate. */
void conv2d_backward(float *dinp, float *dweight, float *dbias, float *cols, size_t cols_cap,
                     const float *dout, const float *inp, const float *weight, int cin, int cout,
                     window2d k, const map_geom *gin, const map_geom *gout);

/* ---- depthwise.c ---- */
/* Depthwise convolution: inp (C, Pin), weight (C, kh·kw), bias (C; NULL: none), out (C, Pout);
   output channel c sees input channel c only. */
void depthwise2d_forward(float *out, const float *inp, const float *weight, const float *bias,
                         int C, window2d k, const map_geom *gin, const map_geom *gout);
/* dinp (may be NULL), dweight and dbias accumulate. */
void depthwise2d_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                          const float *inp, const float *weight, int C, window2d k,
                          const map_geom *gin, const map_geom *gout);

/* ---- batchnorm.c ---- */
/* Training mode: normalise each of the C rows of inp (C, P) with its own mean and variance.
   Saves mean and rstd (C) for backward, and the unbiased variance (C) for the running
   statistics when var_unbiased is not NULL. */
void batchnorm_forward(float *out, float *mean, float *rstd, float *var_unbiased,
                       const float *inp, const float *gamma, const float *beta, int C, size_t P);
/* running = (1 − momentum)·running + momentum·batch (C each), as PyTorch. */
void batchnorm_update_running(float *running_mean, float *running_var, const float *mean,
                              const float *var_unbiased, float momentum, int C);
void batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                        const float *inp, const float *gamma, const float *mean,
                        const float *rstd, int C, size_t P);

/* ---- activation.c ---- */
void relu_forward(float *out, const float *inp, size_t n);      /* out may equal inp */
void relu_backward(float *dinp, const float *dout, const float *out, size_t n);

/* ---- maxpool.c ---- */
/* inp (C, Pin), out (C, Pout); argmax (C, Pout) gets the winning column of inp for backward
   (may be NULL at inference). */
void maxpool_forward(float *out, int *argmax, const float *inp, int C, window2d k,
                     const map_geom *gin, const map_geom *gout);
void maxpool_backward(float *dinp, const float *dout, const int *argmax, int C, size_t Pin,
                      size_t Pout);

/* ---- sequence.c ---- */
/* map (C, P) with height h → seq (B, T, C·h), feature c·h + y; padding steps are zeroed. */
void map_to_sequence_forward(float *seq, const float *map, int C, const map_geom *g, int T);
void map_to_sequence_backward(float *dmap, const float *dseq, int C, const map_geom *g, int T);

/* ---- lstm.c ---- one direction of an LSTM layer (PyTorch gate order i, f, g, o).
   inp (B, T, In); out (B, T, out_stride), h written at columns [col, col + H);
   w_ih (4H, In), w_hh (4H, H), b_ih, b_hh (4H).
   gates (B, T, 4H) and cells (B, T, H) are saved for backward; state (B, 2H) and step (B, 4H)
   are scratch. reverse runs each sample from its own last step back to 0. */
void lstm_forward(float *out, int out_stride, int col, float *gates, float *cells, float *state,
                  float *step, const float *inp, const float *w_ih, const float *w_hh,
                  const float *b_ih, const float *b_hh, const int *len, int B, int T, int In,
                  int H, int reverse);
/* dinp (B, T, In) accumulates; dgates (B, T, 4H), hprev (B, T, H) and step (B, 6H) are scratch. */
void lstm_backward(float *dinp, float *dw_ih, float *dw_hh, float *db_ih, float *db_hh,
                   float *dgates, float *hprev, float *step, const float *dout, int out_stride,
                   int col, const float *out, const float *gates, const float *cells,
                   const float *inp, const float *w_ih, const float *w_hh, const int *len, int B,
                   int T, int In, int H, int reverse);

/* ---- gru.c ---- one direction of a GRU layer (PyTorch gate order r, z, n).
   gates (B, T, 4H) saves r, z, n and W_hn·h + b_hn per step; state (B, H), step (B, 3H). */
void gru_forward(float *out, int out_stride, int col, float *gates, float *state, float *step,
                 const float *inp, const float *w_ih, const float *w_hh, const float *b_ih,
                 const float *b_hh, const int *len, int B, int T, int In, int H, int reverse);
/* dx (B, T, 3H), dh (B, T, 3H), hprev (B, T, H) and step (B, 4H) are scratch. */
void gru_backward(float *dinp, float *dw_ih, float *dw_hh, float *db_ih, float *db_hh, float *dx,
                  float *dh, float *hprev, float *step, const float *dout, int out_stride,
                  int col, const float *out, const float *gates, const float *inp,
                  const float *w_ih, const float *w_hh, const int *len, int B, int T, int In,
                  int H, int reverse);

/* ---- convrnn.c ---- the Convolutional RNN (Keren & Schuller 2016) over a map.
   inp (cin, Pin), out (dirs·H, Pout). Where a convolution maps the kh × kw window around each
   output position affinely, this reads it as kw frames (its columns, left to right) of
   F = cin·kh features each (feature c·kh + ki; zero where the window leaves the image), runs
   them through an LSTM or GRU of H units from a zero state — and a second one right to left
   when bidirectional — and keeps each direction's last hidden state, or the mean of its
   outputs (mean). w[4d + k] are direction d's w_ih (G, F), w_hh (G, H), b_ih, b_hh (G), G = 4H
   for an LSTM (gates i, f, g, o), 3H for a GRU (r, z, n), as lstm.c and gru.c. */
typedef struct {
    int cin, hidden;
    int lstm;  /* 1: LSTM, 0: GRU */
    int bidir; /* 1: both directions, output [left to right ; right to left] */
    int mean;  /* 1: the mean of a direction's outputs, 0: its last hidden state */
    window2d k;
} convrnn_shape;
/* Floats for `windows` (= Pout) windows: saved from a training forward for backward, scratch
   for a forward (at inference it holds what training saves), and backward scratch. */
void convrnn_sizes(const convrnn_shape *s, size_t windows, int training, size_t *saved,
                   size_t *scratch, size_t *back);
/* saved is NULL at inference; a team (NULL: the caller alone) splits the windows among its
   threads. */
void convrnn_forward(float *out, float *saved, float *scratch, const float *inp,
                     const float *const *w, const convrnn_shape *s, const map_geom *gin,
                     const map_geom *gout, team *tm);
/* dinp (may be NULL) and dw[4d + k] accumulate; saved as the training forward left it. */
void convrnn_backward(float *dinp, float *const *dw, float *scratch, const float *dout,
                      const float *saved, const float *const *w, const convrnn_shape *s,
                      const map_geom *gin, const map_geom *gout);

/* ---- linear.c ---- inp (N, In), weight (O, In), bias (O), out (N, O). */
void linear_forward(float *out, const float *inp, const float *weight, const float *bias, int N,
                    int In, int O);
void linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                     const float *inp, const float *weight, int N, int In, int O);

/* ---- softmax.c ---- log-softmax over the last dimension of (N, C). */
void log_softmax_forward(float *out, const float *inp, int N, int C);
void log_softmax_backward(float *dinp, const float *dout, const float *out, int N, int C);

#endif

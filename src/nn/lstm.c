/* lstm.c — one direction of an LSTM layer over a padded batch of sequences.
   The input projections of all time steps are one sgemm; each step then needs only the small
   recurrent product h·W_hhᵀ. Samples of different lengths share the batch: sample b is active
   for steps s < len[b], and in reverse mode its step s is time len[b]−1−s, so each sequence
   starts from its own end and padding never reaches it. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "nn/fastmath.h"
#include "nn/nn.h"
#include "nn/recurrent.h"


void lstm_forward(float *out, int out_stride, int col, float *gates, float *cells, float *state,
                  float *step, const float *inp, const float *w_ih, const float *w_hh,
                  const float *b_ih, const float *b_hh, const int *len, int B, int T, int In,
                  int H, int reverse) {
    const int G = 4 * H;
    const int BT = B * T;
    /* Both biases first, then the projections accumulate onto them (one pass over the gates
       fewer than zeroing, projecting and adding). */
    for (int k = 0; k < G; k++) gates[k] = b_ih[k] + b_hh[k];
    for (int r = 1; r < BT; r++) memcpy(gates + (size_t)r * G, gates, sizeof(float) * (size_t)G);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, BT, G, In, 1.0f, inp, In, w_ih, In, 1.0f,
                gates, G);
    float *h = state, *c = state + (size_t)B * H;
    memset(state, 0, sizeof(float) * 2 * (size_t)B * H);
    for (int s = 0; s < T; s++) {
        if (s == 0) memset(step, 0, sizeof(float) * (size_t)B * G);
        else
            recurrent_product(step, h, w_hh, B, G, H);
        for (int b = 0; b < B; b++) {
            if (s >= len[b]) continue;
            int t = time_of(s, len[b], reverse);
            size_t row = (size_t)b * T + t;
            float *restrict g = gates + row * G;
            const float *restrict st = step + (size_t)b * G;
            float *restrict hb = h + (size_t)b * H, *restrict cb = c + (size_t)b * H;
            float *restrict o_row = out + row * out_stride + col;
            /* Separate passes keep each loop branch-free, so all of them vectorise. */
            for (int k = 0; k < G; k++) g[k] += st[k];
            for (int k = 0; k < 2 * H; k++) g[k] = fast_sigmoidf(g[k]);        /* i, f */
            for (int k = 2 * H; k < 3 * H; k++) g[k] = fast_tanhf(g[k]);       /* g */
            for (int k = 3 * H; k < 4 * H; k++) g[k] = fast_sigmoidf(g[k]);    /* o */
            for (int j = 0; j < H; j++) {
                float cn = g[H + j] * cb[j] + g[j] * g[2 * H + j];
                float hn = g[3 * H + j] * fast_tanhf(cn);
                cb[j] = cn;
                hb[j] = hn;
                o_row[j] = hn;
            }
            if (cells) memcpy(cells + row * H, cb, sizeof(float) * (size_t)H);
        }
    }
    for (int b = 0; b < B; b++)
        for (int t = len[b]; t < T; t++)
            memset(out + ((size_t)b * T + t) * out_stride + col, 0, sizeof(float) * (size_t)H);
}

void lstm_backward(float *dinp, float *dw_ih, float *dw_hh, float *db_ih, float *db_hh,
                   float *dgates, float *hprev, float *step, const float *dout, int out_stride,
                   int col, const float *out, const float *gates, const float *cells,
                   const float *inp, const float *w_ih, const float *w_hh, const int *len, int B,
                   int T, int In, int H, int reverse) {
    const int G = 4 * H;
    const int BT = B * T;
    memset(dgates, 0, sizeof(float) * (size_t)BT * G);
    memset(hprev, 0, sizeof(float) * (size_t)BT * H);
    float *dh_next = step, *dc_next = step + (size_t)B * H, *dgs = step + 2 * (size_t)B * H;
    memset(step, 0, sizeof(float) * 2 * (size_t)B * H);
    for (int s = T - 1; s >= 0; s--) {
        memset(dgs, 0, sizeof(float) * (size_t)B * G);
        for (int b = 0; b < B; b++) {
            if (s >= len[b]) continue;
            int t = time_of(s, len[b], reverse);
            int tp = s > 0 ? time_of(s - 1, len[b], reverse) : -1;
            size_t row = (size_t)b * T + t;
            const float *g = gates + row * G;
            const float *dy = dout + row * out_stride + col;
            float *dg = dgates + row * G, *dgb = dgs + (size_t)b * G;
            float *dhn = dh_next + (size_t)b * H, *dcn = dc_next + (size_t)b * H;
            float *hp = hprev + row * H;
            for (int j = 0; j < H; j++) {
                float ig = g[j], fg = g[H + j], gg = g[2 * H + j], og = g[3 * H + j];
                float cc = cells[row * H + j];
                float cp = tp >= 0 ? cells[((size_t)b * T + tp) * H + j] : 0.0f;
                float dh = dy[j] + dhn[j];
                float tc = fast_tanhf(cc);
                float d_o = dh * tc;
                float dc = dh * og * (1.0f - tc * tc) + dcn[j];
                float di = dc * gg, dgg = dc * ig, df = dc * cp;
                dcn[j] = dc * fg;
                dg[j] = dgb[j] = di * ig * (1.0f - ig);
                dg[H + j] = dgb[H + j] = df * fg * (1.0f - fg);
                dg[2 * H + j] = dgb[2 * H + j] = dgg * (1.0f - gg * gg);
                dg[3 * H + j] = dgb[3 * H + j] = d_o * og * (1.0f - og);
                hp[j] = tp >= 0 ? out[((size_t)b * T + tp) * out_stride + col + j] : 0.0f;
            }
        }
        /* Inactive rows of dgs are zero, so their dh_next stays zero too. */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, G, 1.0f, dgs, G, w_hh, H,
                    0.0f, dh_next, H);
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, H, BT, 1.0f, dgates, G, hprev, H, 1.0f,
                dw_hh, H);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, In, BT, 1.0f, dgates, G, inp, In, 1.0f,
                dw_ih, In);
    for (int r = 0; r < BT; r++) {
        const float *dg = dgates + (size_t)r * G;
        for (int k = 0; k < G; k++) {
            db_ih[k] += dg[k];
            db_hh[k] += dg[k];
        }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, BT, In, G, 1.0f, dgates, G, w_ih, In,
                1.0f, dinp, In);
}

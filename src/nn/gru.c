/* gru.c — one direction of a GRU layer, PyTorch's formulation:
     r = σ(W_ir x + b_ir + W_hr h + b_hr)      z = σ(W_iz x + b_iz + W_hz h + b_hz)
     n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))      h' = (1 − z) ⊙ n + z ⊙ h
   Batching, lengths and reverse mode as in lstm.c. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "nn/fastmath.h"
#include "nn/nn.h"
#include "nn/recurrent.h"


void gru_forward(float *out, int out_stride, int col, float *gates, float *state, float *step,
                 const float *inp, const float *w_ih, const float *w_hh, const float *b_ih,
                 const float *b_hh, const int *len, int B, int T, int In, int H, int reverse) {
    const int G = 3 * H, S = 4 * H; /* S: saved row = r, z, n, W_hn h + b_hn */
    const int BT = B * T;
    /* Input projections land in the first 3H of each saved row. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, BT, G, In, 1.0f, inp, In, w_ih, In, 0.0f,
                gates, S);
    float *h = state;
    memset(h, 0, sizeof(float) * (size_t)B * H);
    for (int s = 0; s < T; s++) {
        if (s == 0) memset(step, 0, sizeof(float) * (size_t)B * G);
        else
            recurrent_product(step, h, w_hh, B, G, H);
        for (int b = 0; b < B; b++) {
            if (s >= len[b]) continue;
            int t = time_of(s, len[b], reverse);
            size_t row = (size_t)b * T + t;
            float *g = gates + row * S;
            const float *st = step + (size_t)b * G;
            float *hb = h + (size_t)b * H;
            float *o_row = out + row * out_stride + col;
            for (int j = 0; j < H; j++) {
                float r = fast_sigmoidf(g[j] + b_ih[j] + st[j] + b_hh[j]);
                float z = fast_sigmoidf(g[H + j] + b_ih[H + j] + st[H + j] + b_hh[H + j]);
                float hn = st[2 * H + j] + b_hh[2 * H + j];
                float n = fast_tanhf(g[2 * H + j] + b_ih[2 * H + j] + r * hn);
                float hv = (1.0f - z) * n + z * hb[j];
                g[j] = r;
                g[H + j] = z;
                g[2 * H + j] = n;
                g[3 * H + j] = hn;
                hb[j] = hv;
                o_row[j] = hv;
            }
        }
    }
    for (int b = 0; b < B; b++)
        for (int t = len[b]; t < T; t++)
            memset(out + ((size_t)b * T + t) * out_stride + col, 0, sizeof(float) * (size_t)H);
}

void gru_backward(float *dinp, float *dw_ih, float *dw_hh, float *db_ih, float *db_hh, float *dx,
                  float *dh, float *hprev, float *step, const float *dout, int out_stride,
                  int col, const float *out, const float *gates, const float *inp,
                  const float *w_ih, const float *w_hh, const int *len, int B, int T, int In,
                  int H, int reverse) {
    const int G = 3 * H, S = 4 * H;
    const int BT = B * T;
    memset(dx, 0, sizeof(float) * (size_t)BT * G);
    memset(dh, 0, sizeof(float) * (size_t)BT * G);
    memset(hprev, 0, sizeof(float) * (size_t)BT * H);
    float *dh_next = step, *dhs = step + (size_t)B * H;
    memset(dh_next, 0, sizeof(float) * (size_t)B * H);
    for (int s = T - 1; s >= 0; s--) {
        memset(dhs, 0, sizeof(float) * (size_t)B * G);
        for (int b = 0; b < B; b++) {
            if (s >= len[b]) continue;
            int t = time_of(s, len[b], reverse);
            int tp = s > 0 ? time_of(s - 1, len[b], reverse) : -1;
            size_t row = (size_t)b * T + t;
            const float *g = gates + row * S;
            const float *dy = dout + row * out_stride + col;
            float *dxr = dx + row * G, *dhr = dh + row * G, *dhb = dhs + (size_t)b * G;
            float *dhn_b = dh_next + (size_t)b * H, *hp = hprev + row * H;
            for (int j = 0; j < H; j++) {
                float r = g[j], z = g[H + j], n = g[2 * H + j], hn = g[3 * H + j];
                float hpv = tp >= 0 ? out[((size_t)b * T + tp) * out_stride + col + j] : 0.0f;
                float dhv = dy[j] + dhn_b[j];
                float dn = dhv * (1.0f - z);
                float dz = dhv * (hpv - n);
                float dnp = dn * (1.0f - n * n);
                float drp = dnp * hn * r * (1.0f - r);
                float dzp = dz * z * (1.0f - z);
                dxr[j] = dhr[j] = dhb[j] = drp;
                dxr[H + j] = dhr[H + j] = dhb[H + j] = dzp;
                dxr[2 * H + j] = dnp;
                dhr[2 * H + j] = dhb[2 * H + j] = dnp * r;
                hp[j] = hpv;
                dhn_b[j] = dhv * z;
            }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, G, 1.0f, dhs, G, w_hh, H,
                    1.0f, dh_next, H);
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, H, BT, 1.0f, dh, G, hprev, H, 1.0f,
                dw_hh, H);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, In, BT, 1.0f, dx, G, inp, In, 1.0f,
                dw_ih, In);
    for (int r = 0; r < BT; r++)
        for (int k = 0; k < G; k++) {
            db_ih[k] += dx[(size_t)r * G + k];
            db_hh[k] += dh[(size_t)r * G + k];
        }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, BT, In, G, 1.0f, dx, G, w_ih, In, 1.0f,
                dinp, In);
}

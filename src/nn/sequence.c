/* sequence.c — the CRNN "map-to-sequence": each column of the final feature map becomes one
   time step whose features are all channels × rows of that column. */
#include <string.h>

#include "nn/nn.h"

void map_to_sequence_forward(float *seq, const float *map, int C, const map_geom *g, int T) {
    int F = C * g->h;
    memset(seq, 0, sizeof(float) * (size_t)g->n * T * F);
    for (int b = 0; b < g->n; b++) {
        int w = g->w[b];
        for (int c = 0; c < C; c++) {
            for (int y = 0; y < g->h; y++) {
                const float *src = map + (size_t)c * g->total + g->off[b] + (size_t)y * w;
                float *dst = seq + (size_t)b * T * F + c * g->h + y;
                for (int t = 0; t < w; t++) dst[(size_t)t * F] = src[t];
            }
        }
    }
}

void map_to_sequence_backward(float *dmap, const float *dseq, int C, const map_geom *g, int T) {
    int F = C * g->h;
    for (int b = 0; b < g->n; b++) {
        int w = g->w[b];
        for (int c = 0; c < C; c++) {
            for (int y = 0; y < g->h; y++) {
                float *dst = dmap + (size_t)c * g->total + g->off[b] + (size_t)y * w;
                const float *src = dseq + (size_t)b * T * F + c * g->h + y;
                for (int t = 0; t < w; t++) dst[t] += src[(size_t)t * F];
            }
        }
    }
}

/* convrnn.c — the Convolutional RNN (Keren & Schuller, 2016) over a map: every window a
   convolution would map affinely is read as a short sequence of frames (its columns) by a
   small LSTM or GRU instead. All windows of the batch are the sequences of one batch of the
   recurrent layer (lstm.c, gru.c), kw steps long, so the whole layer is a few large sgemms.

   The buffers, in floats (N windows = Pout, T = kw frames, F = cin·kh features a frame,
   OH = dirs·H outputs, G = gate rows):
     keep:    frames (N, T, F), seq (N, T, OH) the recurrent outputs, then per direction its
              gates (N, T, 4H) and, for an LSTM, cells (N, T, H) — what backward reads;
     state:   (N, 6H) the recurrent state and step products, shared by the directions;
     lengths: N ints, every window T long.
   Training keeps "keep" in saved; inference has it in scratch, before the rest. */
#include <string.h>

#include "nn/nn.h"

static int dirs_of(const convrnn_shape *s) { return 1 + (s->bidir != 0); }
static size_t frame_floats(const convrnn_shape *s) { return (size_t)s->cin * s->k.kh; }

static size_t keep_floats(const convrnn_shape *s, size_t N, int with_cells) {
    const size_t T = (size_t)s->k.kw, H = (size_t)s->hidden;
    size_t per_dir = N * T * 4 * H + (s->lstm && with_cells ? N * T * H : 0);
    return N * T * frame_floats(s) + N * T * dirs_of(s) * H + dirs_of(s) * per_dir;
}

/* Ints stored in a float buffer take a float's place each. */
static size_t state_and_lengths(const convrnn_shape *s, size_t N) {
    return N * 6 * (size_t)s->hidden + N;
}

static size_t rnn_back_floats(const convrnn_shape *s, size_t N) {
    const size_t T = (size_t)s->k.kw, H = (size_t)s->hidden;
    if (s->lstm) return N * T * 4 * H + N * T * H + N * 6 * H;
    return 2 * N * T * 3 * H + N * T * H + N * 4 * H;
}

void convrnn_sizes(const convrnn_shape *s, size_t windows, int training, size_t *saved,
                   size_t *scratch, size_t *back) {
    const size_t N = windows, T = (size_t)s->k.kw;
    *saved = training ? keep_floats(s, N, 1) : 0;
    *scratch = (training ? 0 : keep_floats(s, N, 0)) + state_and_lengths(s, N);
    *back = N * T * dirs_of(s) * s->hidden + N * T * frame_floats(s) + rnn_back_floats(s, N) + N;
}

/* Where each part of "keep" starts (floats); cells only where kept. */
typedef struct {
    size_t frames, seq, gates[2], cells[2];
    int has_cells;
} keep_layout;

static keep_layout layout_of(const convrnn_shape *s, size_t N, int with_cells) {
    const size_t T = (size_t)s->k.kw, H = (size_t)s->hidden;
    keep_layout k;
    k.has_cells = s->lstm && with_cells;
    k.frames = 0;
    k.seq = N * T * frame_floats(s);
    size_t at = k.seq + N * T * dirs_of(s) * H;
    for (int d = 0; d < 2; d++) {
        k.gates[d] = at;
        at += d < dirs_of(s) ? N * T * 4 * H : 0;
        k.cells[d] = at;
        at += d < dirs_of(s) && k.has_cells ? N * T * H : 0;
    }
    return k;
}

/* lstm.c and gru.c count rows (windows × frames) in int: larger batches go in chunks. */
#define MAX_ROWS (1 << 30)

static int chunks_of(size_t N, int T, int threads) {
    size_t need = (N * (size_t)T + MAX_ROWS - 1) / MAX_ROWS;
    size_t c = threads > 1 ? (size_t)threads : 1;
    if (need > c) c = need;
    if (c > N) c = N ? N : 1;
    return (int)c;
}

/* frames[n][j][c·kh + ki] = inp[c] at (oy·sh − ph + ki, ox·sw − pw + j) of window n's image,
   or 0 outside it. */
static void gather_windows(float *frames, const float *inp, const convrnn_shape *s,
                           const map_geom *gin, const map_geom *gout) {
    const window2d k = s->k;
    const size_t F = frame_floats(s);
    for (int b = 0; b < gout->n; b++) {
        const int win = gin->w[b], wout = gout->w[b];
        for (int oy = 0; oy < gout->h; oy++)
            for (int ox = 0; ox < wout; ox++) {
                size_t n = gout->off[b] + (size_t)oy * wout + ox;
                float *row = frames + n * k.kw * F;
                for (int j = 0; j < k.kw; j++) {
                    int ix = ox * k.sw - k.pw + j;
                    for (int c = 0; c < s->cin; c++) {
                        const float *src = inp + (size_t)c * gin->total + gin->off[b];
                        float *dst = row + (size_t)j * F + (size_t)c * k.kh;
                        for (int ki = 0; ki < k.kh; ki++) {
                            int iy = oy * k.sh - k.ph + ki;
                            int inside = ix >= 0 && ix < win && iy >= 0 && iy < gin->h;
                            dst[ki] = inside ? src[(size_t)iy * win + ix] : 0.0f;
                        }
                    }
                }
            }
    }
}

/* The adjoint of gather_windows: adds each frame's gradient back onto the pixels it read. */
static void scatter_windows(float *dinp, const float *dframes, const convrnn_shape *s,
                            const map_geom *gin, const map_geom *gout) {
    const window2d k = s->k;
    const size_t F = frame_floats(s);
    for (int b = 0; b < gout->n; b++) {
        const int win = gin->w[b], wout = gout->w[b];
        for (int oy = 0; oy < gout->h; oy++)
            for (int ox = 0; ox < wout; ox++) {
                size_t n = gout->off[b] + (size_t)oy * wout + ox;
                const float *row = dframes + n * k.kw * F;
                for (int j = 0; j < k.kw; j++) {
                    int ix = ox * k.sw - k.pw + j;
                    if (ix < 0 || ix >= win) continue;
                    for (int c = 0; c < s->cin; c++) {
                        float *dst = dinp + (size_t)c * gin->total + gin->off[b];
                        const float *src = row + (size_t)j * F + (size_t)c * k.kh;
                        for (int ki = 0; ki < k.kh; ki++) {
                            int iy = oy * k.sh - k.ph + ki;
                            if (iy >= 0 && iy < gin->h) dst[(size_t)iy * win + ix] += src[ki];
                        }
                    }
                }
            }
    }
}

/* A direction's hidden state when it has read the whole window: after the last frame going
   left to right, after the first going right to left. */
static int last_frame(int d, int T) { return d ? 0 : T - 1; }

/* The windows' recurrent passes, a range of windows a part: windows are independent. */
typedef struct {
    const convrnn_shape *s;
    const float *const *w;
    float *keep, *state, *frames, *seq;
    const int *len;
    keep_layout kl;
    size_t N;
} convrnn_job;

static void windows_part(void *arg, int part, int chunks) {
    const convrnn_job *j = arg;
    const convrnn_shape *s = j->s;
    const size_t N = j->N, F = frame_floats(s);
    const int T = s->k.kw, H = s->hidden, OH = dirs_of(s) * H;
    size_t n0 = N * (size_t)part / (size_t)chunks, n1 = N * (size_t)(part + 1) / (size_t)chunks;
    int nb = (int)(n1 - n0);
    float *st = j->state + n0 * 6 * (size_t)H, *step = st + (size_t)nb * 2 * H;
    const float *x = j->frames + n0 * T * F;
    float *y = j->seq + n0 * T * OH;
    for (int d = 0; d < dirs_of(s); d++) {
        const float *const *wd = j->w + 4 * d;
        float *gates = j->keep + j->kl.gates[d] + n0 * T * 4 * H;
        if (s->lstm)
            lstm_forward(y, OH, d * H, gates,
                         j->kl.has_cells ? j->keep + j->kl.cells[d] + n0 * T * H : NULL, st,
                         step, x, wd[0], wd[1], wd[2], wd[3], j->len + n0, nb, T, (int)F, H, d);
        else
            gru_forward(y, OH, d * H, gates, st, step, x, wd[0], wd[1], wd[2], wd[3],
                        j->len + n0, nb, T, (int)F, H, d);
    }
}

void convrnn_forward(float *out, float *saved, float *scratch, const float *inp,
                     const float *const *w, const convrnn_shape *s, const map_geom *gin,
                     const map_geom *gout, team *tm) {
    const size_t N = gout->total, P = N;
    const int T = s->k.kw, H = s->hidden, OH = dirs_of(s) * H, training = saved != NULL;
    float *keep = training ? saved : scratch;
    const keep_layout kl = layout_of(s, N, training);
    float *frames = keep + kl.frames, *seq = keep + kl.seq;
    float *state = training ? scratch : scratch + keep_floats(s, N, 0);
    int *len = (int *)(state + N * 6 * (size_t)H);
    for (size_t n = 0; n < N; n++) len[n] = T;
    gather_windows(frames, inp, s, gin, gout);
    /* Windows are independent: the team's threads claim ranges of them. */
    convrnn_job job = {s, w, keep, state, frames, seq, len, kl, N};
    team_run(tm, chunks_of(N, T, team_threads(tm)), windows_part, &job);
    /* Pool each window's outputs into its column of the (OH, P) map. */
    for (int d = 0; d < dirs_of(s); d++)
        for (int j = 0; j < H; j++) {
            float *dst = out + (size_t)(d * H + j) * P;
            const float *src = seq + d * H + j;
            if (s->mean) {
                for (size_t n = 0; n < N; n++) {
                    float sum = 0;
                    for (int t = 0; t < T; t++) sum += src[(n * T + t) * OH];
                    dst[n] = sum / (float)T;
                }
            } else {
                for (size_t n = 0; n < N; n++) dst[n] = src[(n * T + last_frame(d, T)) * OH];
            }
        }
}

void convrnn_backward(float *dinp, float *const *dw, float *scratch, const float *dout,
                      const float *saved, const float *const *w, const convrnn_shape *s,
                      const map_geom *gin, const map_geom *gout) {
    const size_t N = gout->total, P = N, F = frame_floats(s);
    const int T = s->k.kw, H = s->hidden, OH = dirs_of(s) * H;
    const keep_layout kl = layout_of(s, N, 1);
    const float *frames = saved + kl.frames, *seq = saved + kl.seq;
    float *dseq = scratch, *dframes = dseq + N * T * OH, *rnn = dframes + N * T * F;
    int *len = (int *)(rnn + rnn_back_floats(s, N));
    for (size_t n = 0; n < N; n++) len[n] = T;
    /* Un-pool: each window's output gradient back onto the frames it came from. */
    memset(dseq, 0, sizeof(float) * N * T * OH);
    for (int d = 0; d < dirs_of(s); d++)
        for (int j = 0; j < H; j++) {
            const float *src = dout + (size_t)(d * H + j) * P;
            float *dst = dseq + d * H + j;
            if (s->mean) {
                for (size_t n = 0; n < N; n++)
                    for (int t = 0; t < T; t++) dst[(n * T + t) * OH] = src[n] / (float)T;
            } else {
                for (size_t n = 0; n < N; n++) dst[(n * T + last_frame(d, T)) * OH] = src[n];
            }
        }
    memset(dframes, 0, sizeof(float) * N * T * F);
    const int chunks = chunks_of(N, T, 1);
    for (int part = 0; part < chunks; part++) {
        size_t n0 = N * (size_t)part / (size_t)chunks, n1 = N * (size_t)(part + 1) / (size_t)chunks;
        const int nb = (int)(n1 - n0);
        const size_t rows = n0 * T;
        for (int d = 0; d < dirs_of(s); d++) {
            const float *const *wd = w + 4 * d;
            float *const *dwd = dw + 4 * d;
            const float *gates = saved + kl.gates[d] + rows * 4 * H;
            if (s->lstm) {
                float *dgates = rnn, *hprev = dgates + (size_t)nb * T * 4 * H;
                float *step = hprev + (size_t)nb * T * H;
                lstm_backward(dframes + rows * F, dwd[0], dwd[1], dwd[2], dwd[3], dgates, hprev,
                              step, dseq + rows * OH, OH, d * H, seq + rows * OH, gates,
                              saved + kl.cells[d] + rows * H, frames + rows * F, wd[0], wd[1],
                              len + n0, nb, T, (int)F, H, d);
            } else {
                float *dx = rnn, *dh = dx + (size_t)nb * T * 3 * H, *hprev = dh + (size_t)nb * T * 3 * H;
                float *step = hprev + (size_t)nb * T * H;
                gru_backward(dframes + rows * F, dwd[0], dwd[1], dwd[2], dwd[3], dx, dh, hprev,
                             step, dseq + rows * OH, OH, d * H, seq + rows * OH, gates,
                             frames + rows * F, wd[0], wd[1], len + n0, nb, T, (int)F, H, d);
            }
        }
    }
    if (dinp) scatter_windows(dinp, dframes, s, gin, gout);
}

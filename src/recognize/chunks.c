/* chunks.c — see chunks.h. */
#include "recognize/chunks.h"

#include "layers/layer.h"

static int round_up(int v, int step) { return (v + step - 1) / step * step; }

/* The layer table gives output widths, not strides, but a layer of stride s makes exactly
   SPAN / s more columns of SPAN more, since every stride the format allows (1..8) divides
   SPAN. Capped at a network pass, so that a hostile stack of strided layers cannot overflow. */
#define SPAN 840
int chunk_stride(const crnn_model *m) {
    const int wide = CRNN_MAX_INPUT_WIDTH; /* every kernel fits: the division is exact */
    int stride = 1;
    for (int i = 0; i < m->first_seq_layer && stride < CRNN_MAX_INPUT_WIDTH; i++) {
        const model_layer *l = &m->layers[i];
        const layer_kind *k = layer_kind_of(l->kind);
        int more = k->out_width(l, wide + SPAN) - k->out_width(l, wide);
        if (more > 0) stride *= SPAN / more;
    }
    return stride < CRNN_MAX_INPUT_WIDTH ? stride : CRNN_MAX_INPUT_WIDTH;
}

int chunk_line(const crnn_model *m, int width, chunk *out) {
    int frames = model_output_width(m, width);
    if (width <= CHUNK_WHOLE_COLUMNS) {
        if (out) *out = (chunk){0, width, 0, frames, 0};
        return 1;
    }
    const int stride = chunk_stride(m);
    const int core = round_up(CHUNK_CORE_COLUMNS, stride);
    const int margin = round_up(CHUNK_MARGIN_COLUMNS, stride);
    const int core_frames = core / stride;
    int n = 0, next = 0; /* the line frame the next window starts keeping at */
    for (int i = 0; next < frames; i++) {
        int start = i * core - margin;
        if (start < 0) start = 0;
        int end = (i + 1) * core + margin;
        if (end > width) end = width;
        int first = start / stride; /* the line frame of the window's frame 0 */
        int have = model_output_width(m, end - start);
        int keep_to = (i + 1) * core_frames;
        if (end == width || keep_to > frames) keep_to = frames;
        if (keep_to > first + have) keep_to = first + have;
        if (keep_to <= next) break; /* cannot happen with the presets; never loop forever */
        if (out) out[n] = (chunk){start, end - start, next - first, keep_to - first, next};
        n++;
        next = keep_to;
    }
    return n;
}

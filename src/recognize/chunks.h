/* chunks.h — reading a line wider than one network pass should see: overlapping windows whose
   output frames, their margins dropped, join into the frames of the whole line.

   CTC frames are local: each depends on the columns around it (the CNN's receptive field,
   and what the BiLSTM carries, which in a model trained on words is mostly the word it is
   in). So a window of CHUNK_CORE_COLUMNS columns with CHUNK_MARGIN_COLUMNS of context on
   each side gives its middle frames as the whole line would, and consecutive windows' middles
   tile the line. Windows start at multiples of the model's horizontal stride, so that their
   frames fall exactly on the line's. */
#ifndef CRNN_CHUNKS_H
#define CRNN_CHUNKS_H

#include "model/model.h"

/* Lines up to this many columns (at the model's height) are read whole, as always; the
   model was trained on crops up to 1024 columns wide. */
#define CHUNK_WHOLE_COLUMNS 1280
#define CHUNK_CORE_COLUMNS 1024
#define CHUNK_MARGIN_COLUMNS 128

typedef struct {
    int start, width;         /* the window's columns in the line */
    int keep_from, keep_to;   /* its own output frames that are kept, [from, to) */
    int first_frame;          /* the frame of the line that keep_from becomes */
} chunk;

/* The columns of a line between two of its frames: the horizontal strides of the model's
   map layers multiplied (at most CRNN_MAX_INPUT_WIDTH). Windows start at its multiples. */
int chunk_stride(const crnn_model *m);

/* Windows to read a line `width` columns wide, written to out (NULL: only counted). Returns
   their number; the kept frames of consecutive windows follow each other without gap or
   overlap from frame 0, and the last one's keep_to − keep_from + first_frame is the line's
   frame count. */
int chunk_line(const crnn_model *m, int width, chunk *out);

#endif

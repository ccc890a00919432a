/* image.h — decoding files to grey or RGB and turning an image into the network's input. */
#ifndef CRNN_IMAGE_H
#define CRNN_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "crnn.h"

/* For messages: the formats crnn_image_decode_* reads. */
#define IMAGE_FORMATS_READ "PNG, JPEG, BMP, GIF, TGA, PNM, PSD, HDR"

/* A progressive JPEG's scans are each a pass over the whole image; real encoders write up to
   a few dozen. */
#define IMAGE_MAX_JPEG_SCANS 100
/* Inflated PNG data may exceed what the pixels need by this much (some encoders pad; stb_image
   accepts it), and no more. */
#define IMAGE_PNG_INFLATE_SLACK (1u << 20)

/* Checks what stbi_info itself would mishandle (see check.c); call it first. */
crnn_status image_check_header(const unsigned char *data, size_t size, const char *name,
                               crnn_error *err);
/* Checks, before stb_image sees them, that the bytes of a w × h image (the size stbi_info
   read) are a format the API documents and can hold what the header promises: see check.c.
   CRNN_ERR_IMAGE (truncated, unsupported) or CRNN_ERR_LIMIT (decompression bomb, too many
   JPEG scans), naming `name`. */
crnn_status image_check_data(const unsigned char *data, size_t size, int w, int h,
                             const char *name, crnn_error *err);

/* stbi_load_from_memory(..., 2) (grey + alpha), or (..., 4) (RGBA) when rgb is set;
   *channels = the file's. Works around a stb_image 2.27 bug with 16-bit PNM. Free with
   stbi_image_free (or free). */
unsigned char *image_load_alpha(const unsigned char *data, size_t size, int *w, int *h,
                                int *channels, int rgb);

/* The channel count of img: 1 or 3 (0 is read as 1). */
static inline int image_channels(const crnn_image *img) { return img->channels == 3 ? 3 : 1; }
/* A copy of img with `channels` channels (grey → RGB repeats the grey; RGB → grey is the
   luminance stb_image computes), stride = width × channels; NULL when out of memory. */
uint8_t *image_convert(const crnn_image *img, int channels);
/* img turned a quarter clockwise (clockwise != 0) or counter-clockwise into *out (height and
   width swapped, stride = height × channels); returns out->pixels to free(), NULL when out of
   memory. */
uint8_t *image_turn(const crnn_image *img, int clockwise, crnn_image *out);

/* The width an image of w × h gets at the model's input height: aspect kept, clamped to
   [min_width, CRNN_MAX_INPUT_WIDTH] (the widest one network pass reads; the recogniser reads
   wider lines in chunks, up to CRNN_MAX_LINE_WIDTH). */
int image_input_width(int w, int h, int input_height, int min_width);
/* The same up to CRNN_MAX_LINE_WIDTH: a line as the recogniser reads it. */
int image_line_width(int w, int h, int input_height, int min_width);

/* Scales img to input_height rows and out_width columns (from image_input_width), then maps
   pixels to (v/255 − mean)/std. Images narrower than their aspect would allow are centred on
   a background of their border's mean. Each of the image's channels becomes one plane of
   input_height × out_width floats, the planes plane_stride floats apart (a batch stores all
   images' plane 0, then all planes 1, ...); scratch needs img->height × out_width floats. An
   image already input_height tall at its natural width passes through exactly. */
void image_to_input(float *out, size_t plane_stride, float *scratch, const crnn_image *img,
                    int input_height, int out_width, float mean, float std);

/* The same, rows row_stride floats apart (a line written into a wider picture), the image
   taken as `stretch` times as wide as it is (1: as it is). */
void image_to_input_strided(float *out, size_t plane_stride, size_t row_stride, float *scratch,
                            const crnn_image *img, int input_height, int out_width,
                            float stretch, float mean, float std);

/* A text line of an image: its rows [top, bottom), and among them the rows and the columns
   [ink_left, ink_right) with ink (all of them when the splitter had no opinion). */
typedef struct {
    int top, bottom;
    int ink_top, ink_bottom;
    int ink_left, ink_right;
} image_line;

/* The simple line splitter (lines.c): finds text lines stacked with clear space between them
   by the rows of ink of the Otsu-binarised crop (a grey image). Returns the number of lines n (1 to
   max_lines; 1, the whole image, when it does not clearly look like several lines), top to
   bottom, or 0 when out of memory. Not a detector: see lines.c. */
int image_find_lines(const crnn_image *img, image_line *lines, int max_lines);

/* A rectangle of an image: columns [left, right), rows [top, bottom). */
typedef struct {
    int left, top, right, bottom;
} image_box;

/* A crop pasted on a flat canvas (pasted.c): when the grey image is a rectangle whose every
   side either touches the image's border or meets a flat one-colour margin with a hard edge,
   sets *box to it and returns 1; otherwise (no canvas, or flat margins around text drawn on
   them) returns 0. */
int image_find_pasted(const crnn_image *img, image_box *box);

/* Resamples a grey float image (h × w) to (oh × ow): area averaging where it shrinks,
   bilinear where it grows; identity when the size is unchanged. tmp holds h × ow floats. */
void image_resample(float *out, int oh, int ow, const float *in, int h, int w, float *tmp);

#endif

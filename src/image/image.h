/* image.h — decoding files to grey and turning a grey image into the network's input. */
#ifndef CRNN_IMAGE_H
#define CRNN_IMAGE_H

#include <stdint.h>

#include "crnn.h"

/* The width an image of w × h gets at the model's input height: aspect kept, clamped to
   [min_width, CRNN_MAX_INPUT_WIDTH]. */
int image_input_width(int w, int h, int input_height, int min_width);

/* Scales img to input_height rows and out_width columns (from image_input_width), then maps
   pixels to (v/255 − mean)/std. Images narrower than their aspect would allow are centred on
   a background of their border's mean. out holds input_height × out_width floats; scratch
   needs img->height × out_width floats. An image already input_height tall at its natural
   width passes through exactly. */
void image_to_input(float *out, float *scratch, const crnn_image *img, int input_height,
                    int out_width, float mean, float std);

/* Resamples a grey float image (h × w) to (oh × ow): area averaging where it shrinks,
   bilinear where it grows; identity when the size is unchanged. tmp holds h × ow floats. */
void image_resample(float *out, int oh, int ow, const float *in, int h, int w, float *tmp);

#endif

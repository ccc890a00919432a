/* recognizer.h — what the rest of recognize/ needs of a recognizer beyond crnn.h. */
#ifndef CRNN_RECOGNIZER_H
#define CRNN_RECOGNIZER_H

#include "crnn.h"

/* The model a recognizer runs. */
const crnn_model *recognizer_model(const crnn_recognizer *rec);

/* How params.rotate ranks the readings of one crop's orientations: log p(text | image), an
   empty text lowest, the upright reading favoured by CRNN_ROTATE_UPRIGHT_BIAS. */
double recognizer_orientation_score(const crnn_result *res, int upright);

/* Lines are read `scale` times their natural width (1 by default; the recogniser's second
   look, params.reread_below, reads CRNN_REREAD_STRETCH times wider). */
void recognizer_set_width_scale(crnn_recognizer *rec, float scale);

#endif

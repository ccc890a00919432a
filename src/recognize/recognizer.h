/* recognizer.h — what the rest of recognize/ needs of a recognizer beyond crnn.h. */
#ifndef CRNN_RECOGNIZER_H
#define CRNN_RECOGNIZER_H

#include "crnn.h"

/* The model a recognizer runs. */
const crnn_model *recognizer_model(const crnn_recognizer *rec);

#endif

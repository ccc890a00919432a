/* version.c — the version of the library a program runs with. */
#include "crnn.h"

const char *crnn_version(void) { return CRNN_VERSION_STRING; }

/* cli.h — shared pieces of the ocr-crnn command-line program. */
#ifndef CRNN_CLI_H
#define CRNN_CLI_H

#include <stdio.h>

#include "crnn.h"

/* Each sub-command: argv[0] is its name; returns the exit status (0 ok, 1 failure, 2 usage). */
int cmd_recognize(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_synth(int argc, char **argv);

/* Loads --model or, without one, the default model (crnn_model_load_default: $OCR_CRNN_MODEL,
   a file beside the program or installed, else the built-in one); prints the reason and
   returns NULL on failure. */
crnn_model *cli_load_model(const char *path);

/* Writes s as a JSON string literal (quotes included). */
void json_write_string(FILE *f, const char *s);

/* Parses a positive integer option; returns -1 if malformed or outside [lo, hi]. */
long cli_parse_long(const char *s, long lo, long hi);

int cli_num_cores(void);

#endif

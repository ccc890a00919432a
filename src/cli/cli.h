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

/* The synthetic generator's default backgrounds, ../shared/data/backgrounds/svt-train-scenes
   beside the project (found from the executable, as the model is: not from the current
   folder), written to buf; NULL if it is not there. */
const char *cli_default_backgrounds(char *buf, size_t size);
/* Loads --model or, without one, the default model (crnn_model_load_default: $OCR_CRNN_MODEL,
   a file beside the program or installed, else the built-in one); prints the reason and
   returns NULL on failure. */
crnn_model *cli_load_model(const char *path);

/* Writes s as a JSON string literal (quotes included). */
void json_write_string(FILE *f, const char *s);

/* Parses a positive integer option; returns -1 if malformed or outside [lo, hi]. */
long cli_parse_long(const char *s, long lo, long hi);

int cli_num_cores(void);

/* After a usage error (already explained on stderr): the one line that says where the
   options are, instead of the whole help. command is NULL for recognition, else "train"... */
void cli_usage_hint(const char *command);

#endif

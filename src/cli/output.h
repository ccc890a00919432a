/* output.h — the recogniser's result formats, an --output file that appears atomically, and
   the progress bar on stderr. */
#ifndef CRNN_CLI_OUTPUT_H
#define CRNN_CLI_OUTPUT_H

#include <stdio.h>

#include "crnn.h"

typedef enum {
    OUT_TEXT,      /* TEXT (one image named on the command line) */
    OUT_PATH_TEXT, /* PATH<TAB>TEXT */
    OUT_TSV,       /* PATH<TAB>TEXT<TAB>CONFIDENCE[<TAB>REJECTED], fields escaped */
    OUT_CSV,       /* path,text,confidence,[rejected,]error with a header row, RFC 4180 quoting */
    OUT_JSONL      /* one JSON object per line */
} out_format;

typedef struct {
    FILE *f;
    out_format format;
    int with_rejected; /* --min-confidence: say which readings were rejected */
    char *path;     /* --output FILE, or NULL for stdout */
    char *tmp_path; /* where FILE is written until it is complete */
} out_sink;

/* Opens stdout, or the temporary beside --output FILE (so that a run that cannot write its
   output fails before any work). with_rejected adds the rejected flag to TSV, CSV and JSON.
   Prints the reason and returns -1 on failure. */
int out_open(out_sink *o, const char *path, out_format format, int with_rejected);
void out_result(out_sink *o, const char *path, const crnn_result *res);
/* A failed image: a record in CSV and JSONL (so every input is accounted for there); nothing
   in the tab-separated formats, whose lines must always have their columns. reason is
   without the path. */
void out_failure(out_sink *o, const char *path, const char *reason);
/* commit: flush, fsync and rename the temporary over FILE (or flush stdout); else remove the
   temporary, leaving any previous FILE as it was. Prints the reason and returns -1 if the
   output could not be written. */
int out_close(out_sink *o, int commit);

/* ---- progress ---- */
typedef struct {
    int enabled;
    int stdout_tty;   /* results share the terminal: clear the bar before each */
    double t0, last_draw;
    int shown;        /* a bar is on the screen */
} progress_bar;

void progress_init(progress_bar *p, int enabled);
/* Redraws at most every 0.2 s unless force. total < 0: not known (yet). */
void progress_update(progress_bar *p, long done, long total, long failed, int force);
/* Takes the bar off the screen, before anything else is written to the terminal. */
void progress_clear(progress_bar *p);
/* Replaces the bar with a one-line summary. */
void progress_finish(progress_bar *p, long done, long failed);

#endif

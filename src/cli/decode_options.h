/* decode_options.h — the decoding options that `ocr-crnn` and `ocr-crnn eval` share: beam
   search, lexicons (one for all images, or one per image), character sets, patterns, the
   confidence threshold and --explain. A command adds
   DECODE_LONG_OPTIONS to its getopt_long table, hands the DECODE_OPT_* codes to
   decode_options_parse, prints DECODE_OPTIONS_HELP in its --help, calls decode_options_load
   before recognising, and asks decode_options_for for each image's parameters. */
#ifndef CRNN_CLI_DECODE_OPTIONS_H
#define CRNN_CLI_DECODE_OPTIONS_H

#include <pthread.h>

#include "crnn.h"

enum {
    DECODE_OPT_BEAM = 0x200,
    DECODE_OPT_LEXICON,
    DECODE_OPT_LEXICON_MAP,
    DECODE_OPT_IGNORE_CASE,
    DECODE_OPT_MARGIN,
    DECODE_OPT_DISTANCE,
    DECODE_OPT_ALLOW,
    DECODE_OPT_DENY,
    DECODE_OPT_DIGITS,
    DECODE_OPT_PATTERN,
    DECODE_OPT_MIN_CONFIDENCE,
    DECODE_OPT_ROTATE,
    DECODE_OPT_REREAD,
    DECODE_OPT_EXPLAIN,
    DECODE_OPT_LM,
    DECODE_OPT_LM_WEIGHT,
    DECODE_OPT_LM_BONUS,
    DECODE_OPT_LAST = DECODE_OPT_LM_BONUS
};

#define DECODE_LONG_OPTIONS                                                                     \
    {"beam", required_argument, 0, DECODE_OPT_BEAM},                                            \
        {"lexicon", required_argument, 0, DECODE_OPT_LEXICON},                                  \
        {"lexicon-per-image", required_argument, 0, DECODE_OPT_LEXICON_MAP},                    \
        {"lexicon-ignore-case", no_argument, 0, DECODE_OPT_IGNORE_CASE},                        \
        {"lexicon-margin", required_argument, 0, DECODE_OPT_MARGIN},                            \
        {"lexicon-distance", required_argument, 0, DECODE_OPT_DISTANCE},                        \
        {"allow", required_argument, 0, DECODE_OPT_ALLOW},                                      \
        {"deny", required_argument, 0, DECODE_OPT_DENY},                                        \
        {"digits", no_argument, 0, DECODE_OPT_DIGITS},                                          \
        {"pattern", required_argument, 0, DECODE_OPT_PATTERN},                                  \
        {"min-confidence", required_argument, 0, DECODE_OPT_MIN_CONFIDENCE},                    \
        {"rotate", required_argument, 0, DECODE_OPT_ROTATE},                                    \
        {"reread", required_argument, 0, DECODE_OPT_REREAD},                                    \
        {"explain", required_argument, 0, DECODE_OPT_EXPLAIN},                                  \
        {"lm", required_argument, 0, DECODE_OPT_LM},                                            \
        {"lm-weight", required_argument, 0, DECODE_OPT_LM_WEIGHT},                              \
        {"lm-bonus", required_argument, 0, DECODE_OPT_LM_BONUS}

#define DECODE_IS_OPTION(c) ((c) >= DECODE_OPT_BEAM && (c) <= DECODE_OPT_LAST)

/* CRNN_DEFAULT_LEXICON_MARGIN as the help text writes it */
#define DECODE_STRINGIFY_(x) #x
#define DECODE_STRINGIFY(x) DECODE_STRINGIFY_(x)
#define DECODE_MARGIN_TEXT DECODE_STRINGIFY(CRNN_DEFAULT_LEXICON_MARGIN)

#define DECODE_OPTIONS_HELP                                                                     \
    "      --lm NAME|FILE|off\n"                                                              \
    "                       the character language model weighed into the free text: one\n" \
    "                       built from a word list (one per line); NAME 'en' (the default):\n"\
    "                       the 100k English words; off: the network alone (best path)\n"   \
    "      --lm-weight X    its weight against the network's log-probability (default 0.3)\n"\
    "      --lm-bonus X     nats added a character, against short readings (default 0.5)\n" \
    "      --beam N         prefix beam search N prefixes wide (1..1024), not best path\n"    \
    "      --allow CHARS    emit only these characters: 'A-Z0-9', '\\d.,' (ranges, \\d \\w\n"  \
    "                       \\s, '-' first or last); the others are masked before decoding\n"  \
    "      --deny CHARS     never emit these characters (same notation)\n"                    \
    "      --digits         the same as --allow 0-9\n"                                         \
    "      --pattern REGEX  the most probable text that REGEX matches as a whole: classes\n"  \
    "                       [A-Z] \\d \\w \\s ., groups, |, ? * + {m,n}; repeat the option\n"   \
    "                       for alternatives (e.g. --pattern '\\d{2}/\\d{2}/\\d{4}')\n"         \
    "      --lexicon FILE|NAME\n"                                                            \
    "                       read only words of FILE (UTF-8, one per line, '#' comments):\n"   \
    "                       the most probable one; NAME 'en': 100k English words\n"           \
    "      --lexicon-per-image FILE\n"                                                         \
    "                       each image's own words: IMAGE<TAB>word,word,... per line, found\n"\
    "                       by path, else by file name (the SVT-50 protocol)\n"               \
    "      --lexicon-ignore-case\n"                                                           \
    "                       match lexicon words in any case (returned in the image's case)\n" \
    "      --lexicon-margin X|off\n"                                                          \
    "                       lexicon or pattern: keep the unconstrained text when the best\n"  \
    "                       match is more than X nats less probable (default "             \
    DECODE_MARGIN_TEXT ");\n"                                                                   \
    "                       off: always a match (closed vocabularies)\n"                      \
    "      --lexicon-distance D\n"                                                            \
    "                       large lexicons: edit distance of the BK-tree candidates\n"        \
    "                       (default 3); -1: search every word exactly, however long\n"       \
    "      --min-confidence X\n"                                                              \
    "                       reject readings whose confidence, p(text | image), is below X\n"  \
    "                       (0..1): empty text, flagged as rejected in --json/--tsv/--csv\n"  \
    "      --rotate auto|none\n"                                                              \
    "                       auto (default): a crop 1.1x as tall as wide or more is also read\n"\
    "                       turned 90 degrees each way, the most probable reading kept\n"     \
    "                       (--json says \"rotation\":90 or 270); none: as given\n"       \
    "      --reread X|off   a one-line reading less confident than X (0..1, default 0.9)\n"  \
    "                       is read again from the image twice as wide, the more\n"         \
    "                       confident reading kept (--json says \"stretch\":2); off: never\n"

#define DECODE_EXPLAIN_HELP                                                                     \
    "      --explain OUT.png\n"                                                               \
    "                       draw how the image was read: the input, each frame's label and\n" \
    "                       probability, where each character aligns (one image only)\n"

typedef struct {
    crnn_params params; /* what every image gets (with --lexicon, its lexicon) */
    const char *lexicon_path, *map_path, *explain_path;
    const char *patterns[CRNN_PATTERN_MAX_COUNT];
    int n_patterns;
    char *allow, *deny; /* --allow / --deny / --digits, accumulated */
    crnn_pattern *pattern;
    crnn_lexicon *lexicon;
    const char *lm_name; /* --lm: a word list's name or path, NULL for off */
    int lm_given;        /* --lm was on the command line (else a missing 'en' is a note) */
    crnn_lm *lm;
    crnn_lexicon_map *map;
    /* --lexicon-per-image: one parameter set per distinct lexicon, created on first use, so
       that images sharing a list share network batches */
    pthread_mutex_t mu;
    struct per_lexicon *per_lexicon;
} decode_options;

void decode_options_init(decode_options *d);
/* Takes option c (DECODE_IS_OPTION(c)) and its argument. 0, or 2 after printing why. */
int decode_options_parse(decode_options *d, int c, const char *arg, const char *prog);
/* Loads the lexicon files named, compiles the patterns and checks the character sets
   against the model. 0, or after printing why 1 (a file) or 2 (options that leave the model
   nothing to write). */
int decode_options_load(decode_options *d, const crnn_model *model, const char *prog);
/* The parameters of one image (thread-safe; valid until decode_options_free). NULL with a
   malloc'ed *message when --lexicon-per-image has no list for the image or memory ran out. */
const crnn_params *decode_options_for(decode_options *d, const char *path, char **message);
/* --explain: recognises path once more with its parameters and draws it. 0, or 1 after
   printing why. */
int decode_options_explain(decode_options *d, const crnn_model *model, const char *path,
                           const char *prog);
void decode_options_free(decode_options *d);

#endif

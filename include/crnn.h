/* crnn.h — ocr-crnn: scene-text recognition (CNN + BiLSTM + CTC) in C.

   A cropped image of a word or short line goes in; its text comes out.

   Quick example:

       crnn_error err;
       crnn_model *model = crnn_model_load_default(&err);  // or crnn_model_load(path, &err)
       if (!model) { fprintf(stderr, "%s\n", err.message); return 1; }
       crnn_recognizer *rec = crnn_recognizer_new(model, &err);
       crnn_result res;
       crnn_params params = crnn_default_params();
       if (crnn_recognize_file(rec, "word.png", &params, &res) == CRNN_OK)
           printf("%s (%.2f)\n", res.text, res.confidence);
       crnn_result_free(&res);
       crnn_recognizer_free(rec);
       crnn_model_free(model);

   Building: cc prog.c $(pkg-config --cflags --libs crnn), with --static to link libcrnn.a.
   The library exports the functions declared here and nothing else.

   Ownership and threads
   - A crnn_model is immutable after loading; any number of threads may share one.
   - A crnn_recognizer holds one thread's scratch memory; never use one from two threads at
     once. Create one per worker thread over the same model.
   - A crnn_result owns its strings and arrays; release them with crnn_result_free().

   Errors
   - Functions that can fail return a crnn_status (CRNN_OK = 0). The message that explains it
     — always naming the file and the reason where a file is involved — is in the crnn_error the
     caller passed, or, for recognizer calls, in crnn_recognizer_error(rec).
   - Nothing in the library prints, exits or aborts. */
#ifndef CRNN_H
#define CRNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is the library's interface; the library is built with every other
   symbol hidden, so programs cannot come to depend on its internals. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

#define CRNN_VERSION_STRING "0.1.0"
/* The version of the library actually loaded, which may be newer than the header's. */
const char *crnn_version(void);

/* Named limits, checked before any allocation. */
#define CRNN_MAX_IMAGE_SIDE 65535            /* pixels per side of an input image */
#define CRNN_MAX_IMAGE_PIXELS (64u << 20)    /* 64 megapixels */
#define CRNN_MAX_INPUT_WIDTH 4096            /* columns of one network pass */
#define CRNN_MAX_LINE_WIDTH 65536            /* columns of one text line after scaling to the
                                                model height: read in overlapping chunks;
                                                wider lines are squeezed to this */
#define CRNN_MAX_LINES 16                    /* text lines read from one image */
#define CRNN_MAX_IMAGE_FILE_BYTES (256u << 20)
#define CRNN_MAX_MODEL_FILE_BYTES (512u << 20)

typedef enum {
    CRNN_OK = 0,
    CRNN_ERR_IO,       /* a file could not be opened, read or written */
    CRNN_ERR_FORMAT,   /* a model, dataset or lexicon file is malformed */
    CRNN_ERR_IMAGE,    /* an image could not be decoded */
    CRNN_ERR_LIMIT,    /* an input exceeds a named limit */
    CRNN_ERR_NOMEM,    /* an allocation failed */
    CRNN_ERR_ARG,      /* a caller passed an invalid argument */
    CRNN_ERR_DIVERGED  /* training: loss or gradients kept turning non-finite */
} crnn_status;

typedef struct {
    crnn_status code;
    char message[512];
} crnn_error;

const char *crnn_status_name(crnn_status status);

/* ---- models ------------------------------------------------------------------------------ */

typedef struct crnn_model crnn_model;

/* Loads a model in the v1 format (docs/model-format.md) for inference: batch-norm is folded
   into the convolutions. Returns NULL and fills *err on failure. */
crnn_model *crnn_model_load(const char *path, crnn_error *err);
crnn_model *crnn_model_load_memory(const void *data, size_t size, const char *name,
                                   crnn_error *err);
void crnn_model_free(crnn_model *model);

/* The default English model (models/en.crnn of the source tree it was built from), built into
   the library. NULL with *err only in a library built without one. */
crnn_model *crnn_model_load_builtin(crnn_error *err);
/* The default model, found as the ocr-crnn program finds it: the file named by
   $OCR_CRNN_MODEL if that is set; else the first of models/en.crnn in the running program's
   (or the shared library's) parent folder (a build tree), share/ocr-crnn/default.crnn there
   (an installed prefix, moved or not) and in the prefix the library was built for; else the
   built-in model. A file found
   is loaded or reported, never skipped for the next one: a damaged installed model is an
   error, not a silent change of model. */
crnn_model *crnn_model_load_default(crnn_error *err);

/* Facts about a loaded model. */
int crnn_model_input_height(const crnn_model *model);
int crnn_model_num_classes(const crnn_model *model);
/* 1 for a model of grey images, 3 for one of RGB images. */
int crnn_model_input_channels(const crnn_model *model);
size_t crnn_model_num_params(const crnn_model *model);
/* Writes a one-line human-readable summary ("7 conv, 2 lstm(256), 96 classes, 8.3 M params"). */
void crnn_model_describe(const crnn_model *model, char *out, size_t out_size);
/* The free-form metadata string stored in the file ("" if none). */
const char *crnn_model_metadata(const crnn_model *model);

/* ---- images ------------------------------------------------------------------------------ */

/* An 8-bit image, row-major; stride is the distance between rows in bytes. channels is 1
   (grey; 0 is read as 1) or 3 (RGB, interleaved). A model is given what it was trained on:
   RGB is turned into grey (stb_image's luminance) for a grey model, grey is repeated in all
   three channels for a colour model. */
typedef struct {
    int width, height, stride;
    const uint8_t *pixels;
    int channels;
} crnn_image;

/* Decodes PNG, JPEG, BMP, GIF (first frame), TGA, PSD, PNM or HDR to 8-bit grey, any channel count or
   bit depth. Dimensions are checked against the limits before decoding. On success *pixels
   is malloc'ed (free() it) with stride == width. Transparent pixels are composited on the
   background that contrasts with the visible ink. */
crnn_status crnn_image_decode_file(const char *path, uint8_t **pixels, int *width, int *height,
                                   crnn_error *err);
crnn_status crnn_image_decode_memory(const void *data, size_t size, const char *name,
                                     uint8_t **pixels, int *width, int *height, crnn_error *err);
/* The same to `channels` (1: grey, 3: RGB interleaved, stride == 3 × width). */
crnn_status crnn_image_decode_file_channels(const char *path, int channels, uint8_t **pixels,
                                            int *width, int *height, crnn_error *err);
crnn_status crnn_image_decode_memory_channels(const void *data, size_t size, const char *name,
                                              int channels, uint8_t **pixels, int *width,
                                              int *height, crnn_error *err);

/* ---- recognition -------------------------------------------------------------------------

   Lines
   - Each image is scaled to the model's input height keeping its aspect ratio. A line up to
     1280 columns wide (at that height) is read in one pass; a wider one, up to
     CRNN_MAX_LINE_WIDTH, is read in overlapping windows of 1024 columns plus 128 on each side,
     and the middle frames of each are joined before decoding (CTC frames depend on the
     columns around them, not on the whole line). Wider still is squeezed to
     CRNN_MAX_LINE_WIDTH and flagged (result.squeezed).
   - With params.split_lines (the default), an image whose rows of ink (after Otsu
     binarisation) form several bands, each at least half as tall as the tallest, with empty
     rows between them, is cut between the bands and each line is read on its own; the text
     joins them with '\n' and result.lines counts them. This is a simple splitter by the
     horizontal projection profile, not a text detector: it only separates lines stacked with
     clear space between them, and leaves an image as one line when in doubt. Descenders,
     underlines and accents stay with their line. A single line whose blank rows above
     and below its ink add up to more than half the ink's height (a loose crop) is read
     from its ink and a margin, like each of several lines. A crop pasted on a flat
     one-colour canvas is read without the canvas, whose edge would read as a letter.
   - crnn_recognizer_input and crnn_recognizer_log_probs give such an image's lines side by
     side: the lines' inputs and their frames one after another. */

typedef enum {
    CRNN_DECODE_GREEDY = 0, /* best path: most likely label per column, merged */
    CRNN_DECODE_BEAM = 1    /* prefix beam search */
} crnn_decoder;

typedef enum {
    CRNN_ROTATE_AUTO = 0, /* a crop at least CRNN_ROTATE_TALL times as tall as wide (a vertical
                             sign, a word photographed sideways) is also read turned a quarter
                             each way, each orientation with its second look
                             (params.reread_below), and the reading with the best CTC score
                             is kept */
    CRNN_ROTATE_NONE = 1  /* read every image as given */
} crnn_rotate;
#define CRNN_ROTATE_TALL 1.1
/* Nats added to the upright reading's log p(text | image) when the orientations compete (an
   empty reading loses to any text). Measured with the shipped model on the IIIT5K held-out
   half turned 90° clockwise: 0 reads 87.1 %, 0.5 about 85 %, 1.0 about 82 %; favouring the
   turned readings costs upright short words. */
#define CRNN_ROTATE_UPRIGHT_BIAS 0.0

/* A second look: a single-line reading less confident than params.reread_below is read again
   from the same image stretched to CRNN_REREAD_STRETCH times its width (twice the frames per
   letter; a tall crop's orientations each get theirs before they compete, params.rotate), and
   the more confident of the two readings is kept (result.stretch says which).
   The two readings err differently, and the confidence picks the right one more often than
   not: on the held-out sets of docs/model-card.md, 53.8 → 59.6 % (ic15) and 93.2 → 95.0 %
   (IIIT5K), while only the crops read below 0.9 (27 % of IIIT5K, 69 % of ic15) cost the
   second, wider pass. Stretches of 1.5, 2.5 and 3 read ic15 at 57.4, 58.0 and 57.0 %. */
#define CRNN_REREAD_STRETCH 2.0f
#define CRNN_DEFAULT_REREAD_BELOW 0.9f

typedef struct crnn_lexicon crnn_lexicon;
typedef struct crnn_pattern crnn_pattern;
typedef struct crnn_lm crnn_lm;

/* The character language model's defaults (see "character language model" below): its order,
   and how much it weighs in the free text's beam search, chosen by measurement
   (docs/decoding.md). */
#define CRNN_LM_ORDER 6
#define CRNN_DEFAULT_LM_WEIGHT 0.3f
#define CRNN_DEFAULT_LM_BONUS 0.5f
#define CRNN_LM_BEAM_WIDTH 8
#ifndef CRNN_LM_UNSURE_BELOW
#define CRNN_LM_UNSURE_BELOW 0.9 /* with best path, the model weighs in below this p(text) */
#endif

/* The out-of-vocabulary margin of crnn_default_params(), in nats (see "lexicons" below);
   chosen by measurement, docs/decoding.md. */
#define CRNN_DEFAULT_LEXICON_MARGIN 4.0

typedef struct {
    crnn_decoder decoder;
    int beam_width;                /* beam search only; default 10 */
    const crnn_lexicon *lexicon;   /* NULL = lexicon-free */
    int lexicon_case_insensitive;  /* match the lexicon ignoring case */
    float lexicon_margin;          /* lexicon or pattern: keep the free text when the best match
                                      is more than this many nats less probable than it;
                                      default CRNN_DEFAULT_LEXICON_MARGIN; < 0: always a match
                                      when there is one */
    int lexicon_max_distance;      /* BK-tree candidate edit distance δ; default 3;
                                      < 0 = score the whole lexicon exactly, any size */
    /* ---- constraints: see "constrained decoding" below ---- */
    const char *allow;             /* NULL = any character; else only these, e.g. "A-Z0-9" */
    const char *deny;              /* NULL, or characters never to emit, e.g. "Il|" */
    const crnn_pattern *pattern;   /* NULL, or the text must match (crnn_pattern_compile) */
    float min_confidence;          /* 0..1: a reading less confident is rejected (empty text,
                                      rejected = 1); default 0, nothing rejected */
    int split_lines;               /* default 1: an image that looks like several stacked
                                      text lines is cut into them, each read on its own
                                      (see "Lines" below); 0: always read as one line */
    int rotate;                    /* crnn_rotate; default CRNN_ROTATE_AUTO */
    float reread_below;            /* a single-line reading less confident than this is read
                                      again CRNN_REREAD_STRETCH times wider, the more
                                      confident reading kept; default
                                      CRNN_DEFAULT_REREAD_BELOW; 0: never */
    /* ---- the character language model: see "character language model" below ---- */
    const crnn_lm *lm;             /* NULL (the default), or the free text is found by a beam
                                      search (beam_width wide with CRNN_DECODE_BEAM, else
                                      CRNN_LM_BEAM_WIDTH, and then only where best path's
                                      p(text) < CRNN_LM_UNSURE_BELOW) that adds lm_weight ×
                                      log p_lm(text) + lm_bonus × characters to
                                      log p(text | image) */
    float lm_weight;               /* default CRNN_DEFAULT_LM_WEIGHT; ≥ 0 */
    float lm_bonus;                /* nats a character; default CRNN_DEFAULT_LM_BONUS */
} crnn_params;

crnn_params crnn_default_params(void);
/* Checks params as recognition would (decoder, beam width, allow/deny syntax, margins and
   bounds) without recognising anything; with a model, also that allow/deny leave it some
   character to write. For programs that want to refuse bad options up front. */
crnn_status crnn_params_check(const crnn_model *model, const crnn_params *params,
                              crnn_error *err);

typedef struct {
    char *text;               /* UTF-8, NUL-terminated; "" when rejected */
    float confidence;         /* p(text | image): the CTC probability of the text, summed over
                                 all its alignments (its case forms too with a case-insensitive
                                 lexicon). For an empty text, the probability that the image
                                 holds no text. Calibrated on real crops: docs/decoding.md */
    int num_chars;            /* code points in text */
    float *char_confidence;   /* num_chars entries: each character's highest probability among
                                 the frames of its run, along the text's best alignment */
    char *free_text;          /* lexicon or pattern decoding: the unconstrained text, else NULL */
    double free_log_prob;     /* and log p(free_text | image), in the same probabilities as
                                 log_prob (what the margin compares against) */
    double log_prob;          /* log p(text | image) = log(confidence), exact */
    int fallback;             /* lexicon or pattern decoding: no match within the margin (or
                                 none at all), so text is the free text */
    int rejected;             /* confidence < params.min_confidence: text is "", confidence
                                 and log_prob are those of the reading rejected */
    double milliseconds;      /* preprocessing + network + decoding */
    int lines;                /* text lines read (1, or more when the image was split): the
                                 text holds a '\n' between lines */
    int squeezed;             /* 1 if a line was wider than CRNN_MAX_LINE_WIDTH columns at
                                 the model's height and was squeezed to it (read poorly) */
    int rotation;             /* 0, or 90 / 270 when the reading kept is of the image turned
                                 that many degrees clockwise (params.rotate) */
    float stretch;            /* 1, or CRNN_REREAD_STRETCH when the reading kept is of the
                                 image read that much wider (params.reread_below) */
} crnn_result;

void crnn_result_free(crnn_result *result);

typedef struct crnn_recognizer crnn_recognizer;

crnn_recognizer *crnn_recognizer_new(const crnn_model *model, crnn_error *err);
void crnn_recognizer_free(crnn_recognizer *rec);
/* Threads that share each recognition of this recogniser (default 1: the calling thread
   alone). 2 roughly halves the latency of a single image on an idle 2-core machine; when
   several recognisers already run in parallel, leave it at 1. Keep BLAS single-threaded
   (openblas_set_num_threads(1)) when using it. Clamped to 1..8. The extra threads never spin
   on a core another program needs: idle ones sleep after 0.2 ms, and when they fall behind
   (their core is busy) the calling thread does their share and goes on alone for a while,
   so a loaded machine costs at most what one thread would. */
void crnn_recognizer_set_threads(crnn_recognizer *rec, int threads);
/* The message of the last failed call on this recognizer. */
const char *crnn_recognizer_error(const crnn_recognizer *rec);

crnn_status crnn_recognize_image(crnn_recognizer *rec, const crnn_image *image,
                                 const crnn_params *params, crnn_result *result);
crnn_status crnn_recognize_file(crnn_recognizer *rec, const char *path,
                                const crnn_params *params, crnn_result *result);
crnn_status crnn_recognize_memory(crnn_recognizer *rec, const void *data, size_t size,
                                  const char *name, const crnn_params *params,
                                  crnn_result *result);
/* Runs n images through the network as one batch (faster than n single calls on many
   cores). results[i] is filled for every i; returns the first failure, if any. */
crnn_status crnn_recognize_batch(crnn_recognizer *rec, const crnn_image *images, int n,
                                 const crnn_params *params, crnn_result *results);

/* The per-column log-probabilities of image `index` of the last recognition call on rec
   (0 for single-image calls): *frames × *classes floats, row-major by frame, valid until the
   next call on rec. NULL if there is no such image. For tools that draw or re-decode the
   network output. For a crop read turned (result.rotation), the turned image's frames.
   NULL for every image after a batch whose turned copies needed two passes (over
   4096 images, given and turned). */
const float *crnn_recognizer_log_probs(const crnn_recognizer *rec, int index, int *frames,
                                       int *classes);
/* The normalised network input of image `index` of the last call: *height × *width floats,
   row-major, valid until the next call on rec (for a colour model, its first plane, red).
   NULL if there is no such image. */
const float *crnn_recognizer_input(const crnn_recognizer *rec, int index, int *width,
                                   int *height);
/* The model's class `k` as a Unicode code point (0 for the blank), or -1 if out of range. */
long crnn_model_class_codepoint(const crnn_model *model, int k);

/* ---- constrained decoding ----------------------------------------------------------------
   Three kinds of constraint, alone or together, all decoded exactly (docs/decoding.md):

   - Characters: params.allow / params.deny, e.g. allow "0-9" (digits only), "A-Z0-9",
     deny "|". Written as characters and ranges (code points: "a-zà-ÿ"), with \d \w \s for
     digits, [A-Za-z0-9_] and space/tab, a '-' first or last or as \-, \\ for a backslash.
     The classes outside are masked (probability 0) before any search, so no decoder — best
     path, beam, lexicon, pattern, nor the free text a margin falls back to — can emit them; the
     probability of a text made of allowed characters is unchanged.
   - A lexicon (next section): the text is one of its words.
   - A pattern (crnn_pattern_compile): the text is the most probable one, under the CTC model,
     that the regular expression matches as a whole.

   With a lexicon or a pattern the search is over (frame, automaton state): a lexicon's trie,
   a pattern's DFA over the model's classes, or their product, walked depth first with the CTC
   forward variables of each prefix and a bound that drops a prefix once it cannot beat the
   best match found. It is exact when it runs to the end: always for lexicons of up to
   CRNN_LEXICON_EXACT_WORDS words; for patterns and larger lexicons the walk has a budget
   (CRNN_PATTERN_SEARCH_NODES, CRNN_LEXICON_SEARCH_NODES) that confident frames never reach,
   after which a beam search that follows the pattern, or the lexicon's BK-tree candidates,
   add their best. lexicon_margin then decides between the match and the free text: if
   log p(match) < log p(free text) − margin, the free text is returned with fallback = 1.

   Confidence: result.confidence = p(text | image), for free, lexicon and pattern decoding
   alike, so a lexicon word forced onto an image that spells something else gets a confidence
   near 0 however well it beat the other words. min_confidence turns readings below it into
   rejections.

   Very long texts: scoring a text of L characters on T frames exactly takes T × (2L + 1)
   steps. Past CRNN_DECODE_MAX_LATTICE (no real line comes near: 4,096 px at height 32 with 150
   characters is 0.3 M) the free text is best path's, whatever the decoder, and its
   log_prob that of best path's single alignment: a lower bound of p(text | image), found in
   one pass over the frames. With a lexicon or a pattern that free text is returned as is,
   with fallback = 1: no match can be weighed against it. */
#define CRNN_DECODE_MAX_LATTICE (1L << 25)

/* Patterns. Syntax: literal characters (\ before punctuation to take it literally), . (any
   character), [...] and [^...] classes (as allow above), \d \w \s \D \W \S, groups (...)
   and (?:...), alternation |, repetition * + ? {m} {m,} {m,n} (counts up to 255). A pattern
   always matches the whole text: ^ at the start and $ at the end are allowed and change
   nothing. Examples: "\$?\d{1,3}(,\d{3})*\.\d\d" (prices), "\d{2}/\d{2}/\d{4}" (dates),
   "[A-Z]{2}\d{2} ?[A-Z]{3}" (UK plates); in C source each backslash is doubled. */
#define CRNN_PATTERN_MAX_BYTES 4096     /* one regular expression */
#define CRNN_PATTERN_MAX_COUNT 64       /* regular expressions in one pattern */
#define CRNN_PATTERN_SEARCH_NODES 20000 /* budget of the exact walk of a pattern */

/* Compiles n regular expressions into one pattern that any of them may match (a minimal DFA).
   NULL with *err on failure; a syntax error names the expression, the character it stops at
   and the reason, and shows the expression with a caret under that character (on a second
   line of the message). Immutable: share one between threads. */
crnn_pattern *crnn_pattern_compile(const char *const *regexes, int n, crnn_error *err);
void crnn_pattern_free(crnn_pattern *pattern);
/* Whether the whole of text (UTF-8) matches. */
int crnn_pattern_match(const crnn_pattern *pattern, const char *text);
/* States of its minimal automaton. */
int crnn_pattern_num_states(const crnn_pattern *pattern);

/* ---- lexicons -----------------------------------------------------------------------------
   When the possible words are known (a dictionary, a product list, the 50 names on a street),
   set params.lexicon: the text becomes the lexicon word with the highest CTC probability
   p(word | image), summed over all alignments (Shi, Bai, Yao 2015, §2.3).

   - The search is exact (see above): the lexicon's trie is the automaton, so all words are
     scored at once, sharing the work of common prefixes. Up to CRNN_LEXICON_EXACT_WORDS words
     (or any size with lexicon_max_distance < 0) it always runs to the end.
   - Larger lexicons: the walk stops after CRNN_LEXICON_SEARCH_NODES trie nodes. On confident
     frames it has finished long before; otherwise the paper's candidate search takes over:
     the words within edit distance lexicon_max_distance of the unconstrained text (ignoring
     case) are found in a BK-tree and scored exactly, beside the best word found so far. (A
     BK-tree query at δ = 3 computes ~45k edit distances on the 100k English lexicon, a few
     ms: more than the exact walk costs on most real frames; lexicons/README.md measures.)
   - lexicon_case_insensitive: the network's probabilities of the case forms of a character
     are added up, and words are compared in simple case folding (Latin, Greek, Cyrillic). The
     word is returned in the case the image shows: each character the model has in more than
     one case form takes the form most probable on the frames of its best alignment; the
     others stay as the lexicon writes them. A lexicon in capitals then works with a model
     that only knows lower case (and is returned in capitals), and an English lexicon with
     signs in capitals.
   - lexicon_margin (out-of-vocabulary fallback, default CRNN_DEFAULT_LEXICON_MARGIN): if
     log p(best word) < log p(free text) − margin, the free text is returned instead. With a
     closed vocabulary (the benchmarks' 50-word lists) set it < 0: then, if every word is so
     improbable that the scaled scores underflow, lexicons of up to 1000 words are scored
     again in log space so that a word is still returned.
   - With a pattern as well, only words that match it (as written) are candidates.
   - A word with a character the model cannot output (or that allow/deny exclude) is never
     chosen; if no word can be (or, in a large lexicon, none was found to fit the frames at
     all), the free text is returned with fallback = 1.
   The result then has text = the word (or the free text), free_text = the unconstrained text
   (best path, or beam search with CRNN_DECODE_BEAM), log_prob = log p(text | image) (in
   case-folded probabilities when case-insensitive), confidence = exp(log_prob).

   Lexicon files: UTF-8, one entry per line; spaces inside an entry are part of it, spaces and
   tabs around it are not; lines starting with '#' and blank lines are skipped; duplicates are
   merged (the first spelling keeps its place). A crnn_lexicon is immutable: share one between
   any number of threads and recognizers. */

#define CRNN_LEXICON_MAX_FILE_BYTES (256u << 20) /* lexicon or per-image lexicon file */
#define CRNN_LEXICON_MAX_LINE_BYTES 1024         /* one entry */
#define CRNN_LEXICON_MAP_MAX_LINE_BYTES (1u << 20) /* one line of a per-image lexicon file */
#define CRNN_LEXICON_EXACT_WORDS 2000            /* always searched to the end */
#define CRNN_LEXICON_SEARCH_NODES 4000           /* budget of the walk in larger ones */

crnn_lexicon *crnn_lexicon_load(const char *path, crnn_error *err);
/* A lexicon file, or one that comes with ocr-crnn by name: "en" (100,000 English words). A
   name is a word of letters, digits, '_' and '-' that is not a file in the current folder;
   NAME is looked for as lexicons/NAME.txt in the running program's (or the shared library's)
   parent folder (a build tree), then as share/ocr-crnn/lexicons/NAME.txt there and in the
   prefix the library was built for. Anything else is loaded as a path. Where "en" is in
   none of those places, the copy built into the library is used: a program copied alone
   still has it. */
crnn_lexicon *crnn_lexicon_load_named(const char *name_or_path, crnn_error *err);
/* The same from n strings (NUL-terminated UTF-8, same rules as lines of a file). */
crnn_lexicon *crnn_lexicon_from_words(const char *const *words, int n, crnn_error *err);
void crnn_lexicon_free(crnn_lexicon *lexicon);
/* Distinct entries. */
int crnn_lexicon_size(const crnn_lexicon *lexicon);
/* Entry i (0 ≤ i < size, in order of first appearance) as written, or NULL. */
const char *crnn_lexicon_word(const crnn_lexicon *lexicon, int i);
/* The index of an entry spelled exactly so, or -1. */
int crnn_lexicon_find(const crnn_lexicon *lexicon, const char *word);

/* ---- character language model ----
   A character n-gram model of the words of a list (interpolated Witten-Bell, contexts of up
   to order − 1 letters; src/lm/charlm.h): how likely each letter a-z (either case) is after
   the letters before it in the same word, and that the word ends there. Digits, punctuation
   and spaces end a word and are left to the network. With params.lm, the free text is the
   best of a prefix beam search scored by log p(text | image) + lm_weight × log p_lm(text) +
   lm_bonus × characters (shallow fusion): a reading the network is unsure of leans towards
   letter sequences that occur in words ("ENGIYEERING" → "ENGINEERING"). With best path (the
   default decoder) the search runs only where best path's reading has p(text | image) below
   CRNN_LM_UNSURE_BELOW: what the network is sure of, names and codes included, stays. result.log_prob stays the network's log p(text | image).
   A word list is counted when loaded (about 80 ms for 100,000 words); the English one ("en")
   was counted when the library was built, and its tables come with the library. Immutable,
   shared by any number of threads and recognizers. Lexicons and patterns apply after it, to the frames. */
#define CRNN_LM_MAX_FILE_BYTES (32u << 20) /* a word list for the model: counting takes
                                             8 bytes a letter */
crnn_lm *crnn_lm_load(const char *path, int order, crnn_error *err);
/* A word list by name ("en", lexicons/en.txt; crnn_lexicon_load_named's rules) or path. */
crnn_lm *crnn_lm_load_named(const char *name_or_path, int order, crnn_error *err);
/* The same from n strings. */
crnn_lm *crnn_lm_from_words(const char *const *words, int n, int order, crnn_error *err);
void crnn_lm_free(crnn_lm *lm);

/* Per-image lexicons (the SVT-50 and IIIT5K-50 protocol): a TSV file of
   `IMAGE<TAB>word,word,...` lines ('#' comments and blank lines skipped). Images with the same
   word list share one lexicon. */
typedef struct crnn_lexicon_map crnn_lexicon_map;
crnn_lexicon_map *crnn_lexicon_map_load(const char *tsv_path, crnn_error *err);
/* The lexicon of an image: by its path exactly as the file writes it, else by file name (NULL
   if none, or if the file name belongs to several images with different lists). */
const crnn_lexicon *crnn_lexicon_map_find(const crnn_lexicon_map *map, const char *image_path);
/* Images listed. */
int crnn_lexicon_map_size(const crnn_lexicon_map *map);
void crnn_lexicon_map_free(crnn_lexicon_map *map);

/* ---- explain: a picture of one recognition ----------------------------------------------
   Writes a PNG of image `index` of the last recognition call on rec: the normalised network
   input; under it, per output frame (column), the most probable label and its probability as
   a bar, under the input columns that frame came from; then where each character of the free
   text and, with a lexicon in params, of the lexicon word aligns. params as for the call
   (NULL = defaults). For debugging by looking. */
crnn_status crnn_explain_png(crnn_recognizer *rec, int index, const crnn_params *params,
                             const char *out_png, crnn_error *err);


/* ---- training ------------------------------------------------------------------------------
   End to end from the CTC loss alone, on images labelled only with their text. See
   docs/training.md. Progress goes to the log callback; nothing is printed. */

typedef enum { CRNN_OPT_ADAM = 0, CRNN_OPT_ADADELTA = 1 } crnn_optimizer;
typedef enum { CRNN_SCHED_COSINE = 0, CRNN_SCHED_ONECYCLE = 1, CRNN_SCHED_CONSTANT = 2 } crnn_schedule;

#define CRNN_TRAIN_MAX_SOURCES 8

typedef struct {
    /* model: a new one from arch/charset/input_height, or fine-tuned from init_model */
    const char *arch;          /* layer string or preset ("fast", "small", "paper"); see docs */
    const char *charset;       /* "ascii" (default), "alnum", "ALNUM" or "file:PATH" */
    int input_height;          /* default 32 */
    int input_channels;        /* 1 = grey (default; 0 means 1), 3 = RGB */
    const char *init_model;    /* start from this model file's weights (and architecture) */
    /* data: up to 8 sources, each a dataset path (TSV, folder, LMDB) or "synth" */
    int n_sources;
    const char *sources[CRNN_TRAIN_MAX_SOURCES];
    float weights[CRNN_TRAIN_MAX_SOURCES];
    int augment[CRNN_TRAIN_MAX_SOURCES];      /* light jitter for real images */
    const char *synth_fonts;                  /* font manifest for the generator (NULL: scan) */
    const char *const *synth_backgrounds;     /* NULL-terminated folders, NULL = default */
    const char *synth_words;                  /* word list (NULL: default) */
    float synth_clean;                        /* fraction of generated words drawn clean:
                                                 printed, no camera defects (default 0) */
    long synth_clean_fade;                    /* all drawn clean at step 0, fading linearly
                                                 to synth_clean by this step (default 0: no
                                                 fade) */
    float synth_empty;                        /* fraction of generated crops with no text, a
                                                 background labelled "" (default 0) */
    const char *val_data;      /* labelled set for validation; NULL = none */
    int val_max;               /* use at most this many validation images (0 = all) */
    long val_every;            /* steps between validations (default 1000) */
    /* optimisation */
    int batch_size;            /* default 32 */
    long steps;                /* total steps of the schedule */
    crnn_optimizer optimizer;  /* default Adam */
    crnn_schedule schedule;    /* default cosine */
    float lr, final_lr;        /* default 1e-3 → 1e-5 */
    long warmup;               /* warm-up steps, default 500 */
    float weight_decay;        /* decoupled, default 1e-4 */
    float clip;                /* global gradient-norm clip, default 5 */
    float bn_momentum;         /* default 0.1 */
    uint64_t seed;
    int threads;               /* worker threads, each training on a share of the batch
                                  (default: all cores) */
    /* output */
    const char *run_dir;       /* checkpoint.bin, best.crnn, last.crnn, log.csv, plot.png
                                  (created) */
    int resume;                /* continue from run_dir/checkpoint.bin */
    int overwrite;             /* start over in a run_dir that holds a run (a checkpoint.bin or
                                  a best.crnn), removing its files first; without it (or resume)
                                  such a run_dir is refused: CRNN_ERR_ARG */
    const char *run_config;    /* text written to run_dir/run.conf (atomically) once the run
                                  folder is checked: the settings that reproduce the run, for a
                                  later resume; NULL = none written */
    double checkpoint_seconds; /* default 300 */
    const char *export_path;   /* also copy the best model here */
    int export_half;           /* store the exported model's weights as f16 */
    volatile int *stop;        /* set non-zero (e.g. from a signal) to checkpoint and stop */
    void (*log)(void *user, const char *line);
    void *log_user;
} crnn_train_options;

crnn_train_options crnn_train_default_options(void);
/* Runs (or resumes) training until options->steps or *stop. */
crnn_status crnn_train(const crnn_train_options *options, crnn_error *err);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif

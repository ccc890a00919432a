/* test_read_lines.c — the shipped model on what is not one word: a line of 300 words (24,000
   columns at the model's height, read in chunks: it once came back as 3 words, squeezed
   into 4,096 columns) must give at least 95 % of its words, and stacked lines (which read as
   garbage when squeezed into one) their own texts, joined by newlines; a word with a text
   height of blank around it is read from its ink, a tight one as given. The text is drawn
   with DejaVu Sans from words of lexicons/en.txt. Skipped (77) where models/en.crnn or the
   font is missing. */
#include <ctype.h>
#include <string.h>

#include "crnn.h"
#include "recognize/recognizer.h"
#include "render_text.h"
#include "test.h"

#define LINE_WORDS 300

/* Words of the committed lexicon: lower-case letters only, 3 to 9 of them. */
static int load_words(char words[][16], int max) {
    FILE *f = fopen("lexicons/en.txt", "r");
    if (!f) return 0;
    char line[256];
    int n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\r\n");
        line[len] = 0;
        int ok = len >= 3 && len <= 9;
        for (size_t i = 0; ok && i < len; i++) ok = islower((unsigned char)line[i]);
        if (ok) memcpy(words[n++], line, len + 1);
    }
    fclose(f);
    return n;
}

static int split_words(char *s, char **out, int max) {
    int n = 0;
    for (char *tok = strtok(s, " \n"); tok && n < max; tok = strtok(NULL, " \n")) out[n++] = tok;
    return n;
}

/* Words of want found in order in got: the longest common subsequence of the two lists. */
static int words_in_order(char **want, int a, char **got, int b) {
    int *row = calloc((size_t)(b + 1), sizeof(int)), *prev = calloc((size_t)(b + 1), sizeof(int));
    for (int i = 1; i <= a; i++) {
        for (int j = 1; j <= b; j++)
            row[j] = !strcmp(want[i - 1], got[j - 1]) ? prev[j - 1] + 1
                     : row[j - 1] > prev[j]           ? row[j - 1]
                                                      : prev[j];
        int *t = prev;
        prev = row;
        row = t;
    }
    int n = prev[b];
    free(row);
    free(prev);
    return n;
}

static void read_long_line(crnn_recognizer *rec, const render_font_t *font) {
    static char pool[20000][16];
    int n_pool = load_words(pool, 20000);
    CHECK(n_pool > 1000);
    if (n_pool <= 1000) return;
    char *text = malloc(LINE_WORDS * 16);
    text[0] = 0;
    for (int i = 0; i < LINE_WORDS; i++) {
        strcat(text, pool[test_randint(0, n_pool - 1)]);
        if (i < LINE_WORDS - 1) strcat(text, " ");
    }
    int w, h;
    const char *lines[] = {text};
    uint8_t *px = render_lines(font, lines, 1, 28, 0, 6, 0, &w, &h);
    crnn_image im = {w, h, w, px, 1};
    crnn_result res;
    crnn_params params = crnn_default_params();
    CHECK(crnn_recognize_image(rec, &im, &params, &res) == CRNN_OK);
    char *want[LINE_WORDS], *got[2 * LINE_WORDS];
    char *copy = strdup(text);
    int a = split_words(copy, want, LINE_WORDS);
    int b = res.text ? split_words(res.text, got, 2 * LINE_WORDS) : 0;
    int hits = words_in_order(want, a, got, b);
    fprintf(stderr, "a %d x %d line of %d words: %d read (%.1f %%), %d words out\n", w, h, a,
            hits, 100.0 * hits / a, b);
    CHECK_MSG(hits >= 0.95 * a, "only %d of %d words read", hits, a);
    CHECK(res.lines == 1 && !res.squeezed);
    crnn_result_free(&res);
    free(copy);
    free(px);
    free(text);
}

static void read_stacked(crnn_recognizer *rec, const render_font_t *font) {
    const char *two[] = {"Recent", "quality"}, *three[] = {"Typing jumpy", "quickly yes",
                                                           "third line"};
    int w, h;
    crnn_params params = crnn_default_params();
    crnn_result res;
    uint8_t *px = render_lines(font, two, 2, 30, 10, 6, 0, &w, &h);
    crnn_image im = {w, h, w, px, 1};
    CHECK(crnn_recognize_image(rec, &im, &params, &res) == CRNN_OK);
    CHECK_MSG(res.text && !strcmp(res.text, "Recent\nquality") && res.lines == 2 &&
                  res.num_chars == 14,
              "two stacked words read '%s' as %d lines", res.text, res.lines);
    crnn_result_free(&res);
    uint8_t *rgb = malloc((size_t)w * h * 3); /* the same in colour: found in its grey */
    for (size_t i = 0; i < (size_t)w * h; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = px[i];
    crnn_image colour = {w, h, 3 * w, rgb, 3};
    CHECK(crnn_recognize_image(rec, &colour, &params, &res) == CRNN_OK);
    CHECK_MSG(res.text && !strcmp(res.text, "Recent\nquality"), "in colour: '%s'", res.text);
    crnn_result_free(&res);
    free(rgb);
    params.split_lines = 0; /* as one line: what a single line reader makes of it */
    CHECK(crnn_recognize_image(rec, &im, &params, &res) == CRNN_OK);
    CHECK(res.lines == 1 && res.text && !strchr(res.text, '\n'));
    crnn_result_free(&res);
    free(px);

    params.split_lines = 1;
    px = render_lines(font, three, 3, 30, 12, 6, 1, &w, &h); /* light on dark */
    im = (crnn_image){w, h, w, px, 1};
    CHECK(crnn_recognize_image(rec, &im, &params, &res) == CRNN_OK);
    CHECK_MSG(res.text && !strcmp(res.text, "Typing jumpy\nquickly yes\nthird line") &&
                  res.lines == 3,
              "three lines read '%s' as %d lines", res.text, res.lines);
    crnn_result_free(&res);
    free(px);
}

/* The width of the network input the recogniser made of the last image it read. */
static int input_width(crnn_recognizer *rec) {
    int w = 0, h = 0;
    CHECK(crnn_recognizer_input(rec, 0, &w, &h) != NULL);
    return w;
}

static void read_loose(crnn_recognizer *rec, const render_font_t *font) {
    const char *word[] = {"quality"};
    crnn_params params = crnn_default_params();
    params.reread_below = 0; /* input widths compared: one reading each */
    crnn_result res;
    for (int loose = 0; loose <= 1; loose++) {
        int w, h;
        uint8_t *px = render_lines(font, word, 1, 24, 0, loose ? 24 : 2, 0, &w, &h);
        crnn_image im = {w, h, w, px, 1};
        params.split_lines = 0; /* as given */
        CHECK(crnn_recognize_image(rec, &im, &params, &res) == CRNN_OK);
        int given = input_width(rec);
        crnn_result_free(&res);
        params.split_lines = 1;
        CHECK(crnn_recognize_image(rec, &im, &params, &res) == CRNN_OK);
        int read = input_width(rec);
        CHECK_MSG(res.text && !strcmp(res.text, "quality"), "%s crop read '%s'",
                  loose ? "loose" : "tight", res.text);
        crnn_result_free(&res);
        /* Loose: the blank rows go, so the word spans more of the model's height and its
           input, scaled to that height, is wider than the whole crop's (here 1.8 times). */
        if (loose)
            CHECK_MSG(read > given * 5 / 4, "loose crop: input %d columns, %d as given", read,
                      given);
        else
            CHECK_MSG(read == given, "tight crop: input %d columns, %d as given", read, given);
        free(px);
    }
    /* A crop pasted on a flat canvas (one text height of grey either side): the recogniser
       reads the crop alone, its input as wide as the crop's. */
    int w, h;
    uint8_t *px = render_lines(font, word, 1, 24, 0, 2, 0, &w, &h);
    crnn_image im = {w, h, w, px, 1};
    params.split_lines = 0;
    CHECK(crnn_recognize_image(rec, &im, &params, &res) == CRNN_OK);
    int given = input_width(rec), rows = 0;
    const float *in = crnn_recognizer_input(rec, 0, NULL, &rows);
    float *crop_input = in ? malloc(sizeof(float) * (size_t)given * rows) : NULL;
    if (crop_input) memcpy(crop_input, in, sizeof(float) * (size_t)given * rows);
    crnn_result_free(&res);
    const int W = w + 2 * h, H = h + 2 * (h / 3);
    uint8_t *canvas = malloc((size_t)W * H);
    memset(canvas, 128, (size_t)W * H);
    for (int y = 0; y < h; y++) memcpy(canvas + (size_t)(y + h / 3) * W + h, px + (size_t)y * w, w);
    crnn_image loose = {W, H, W, canvas, 1};
    params.split_lines = 1;
    CHECK(crnn_recognize_image(rec, &loose, &params, &res) == CRNN_OK);
    CHECK_MSG(res.text && !strcmp(res.text, "quality"), "pasted crop read '%s'", res.text);
    CHECK_MSG(input_width(rec) == given, "pasted crop: input %d columns, the crop's %d",
              input_width(rec), given);
    in = crnn_recognizer_input(rec, 0, NULL, NULL);
    CHECK_MSG(in && crop_input && input_width(rec) == given &&
                  !memcmp(in, crop_input, sizeof(float) * (size_t)given * rows),
              "pasted crop: the network input is not the crop's");
    free(crop_input);
    crnn_result_free(&res);
    free(canvas);
    free(px);
}

/* A word squeezed to half its width (every other column) reads wrong at its own width; the
   second look reads it twice as wide and gets it right. */
static void read_squeezed(crnn_recognizer *rec, crnn_recognizer *wide,
                          const render_font_t *font) {
    const char *words[] = {"quality", "illicit"};
    for (int k = 0; k < 2; k++) {
        int w, h;
        uint8_t *px = render_lines(font, &words[k], 1, 24, 0, 2, 0, &w, &h);
        const int half = w / 2;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < half; x++) px[(size_t)y * half + x] = px[(size_t)y * w + 2 * x];
        crnn_image im = {half, h, half, px, 1};
        crnn_params once = crnn_default_params(), twice = crnn_default_params();
        once.reread_below = 0;
        crnn_result a, b;
        CHECK(crnn_recognize_image(rec, &im, &once, &a) == CRNN_OK);
        int w_once = input_width(rec);
        CHECK(crnn_recognize_image(rec, &im, &twice, &b) == CRNN_OK);
        CHECK_MSG(a.text && strcmp(a.text, words[k]) && a.confidence < twice.reread_below,
                  "'%s' squeezed read once '%s' (%.3f): not the case this tests", words[k],
                  a.text, (double)a.confidence);
        CHECK_MSG(b.text && !strcmp(b.text, words[k]) && b.stretch == CRNN_REREAD_STRETCH &&
                      b.log_prob > a.log_prob,
                  "'%s' squeezed, second look: '%s' (stretch %g)", words[k], b.text,
                  (double)b.stretch);
        CHECK_MSG(abs(input_width(rec) - 2 * w_once) <= 1, "read %d columns wide, once %d",
                  input_width(rec), w_once);
        /* the record is the wider reading's: the frames a recogniser reading twice as wide
           gives */
        int frames, frames_wide, C;
        const float *lp = crnn_recognizer_log_probs(rec, 0, &frames, &C);
        float *kept = lp ? malloc(sizeof(float) * (size_t)frames * C) : NULL;
        if (kept) memcpy(kept, lp, sizeof(float) * (size_t)frames * C);
        crnn_result c;
        recognizer_set_width_scale(wide, CRNN_REREAD_STRETCH);
        CHECK(crnn_recognize_image(wide, &im, &once, &c) == CRNN_OK);
        const float *lw = crnn_recognizer_log_probs(wide, 0, &frames_wide, &C);
        CHECK(kept && lw && frames == frames_wide &&
              !memcmp(kept, lw, sizeof(float) * (size_t)frames * C));
        free(kept);
        crnn_result_free(&c);
        /* above the threshold the first reading stands, though the wider one would win */
        crnn_params sure = twice;
        sure.reread_below = a.confidence;
        CHECK(crnn_recognize_image(rec, &im, &sure, &c) == CRNN_OK);
        CHECK(c.stretch == 1 && !strcmp(c.text, a.text) && c.log_prob == a.log_prob);
        crnn_result_free(&c);
        crnn_result_free(&a);
        crnn_result_free(&b);
        free(px);
    }
}

/* A short word squeezed to half its width is taller than wide, so it is also read turned.
   Read narrow, a turned reading wins (a letter or two, more probable than the squeezed
   word); each orientation must get its second look before they compete, and then the
   upright word, read twice as wide, wins. */
static void read_squeezed_tall(crnn_recognizer *rec, const render_font_t *font) {
    const char *words[] = {"brill", "bier"};
    for (int k = 0; k < 2; k++) {
        int w, h;
        uint8_t *px = render_lines(font, &words[k], 1, 24, 0, 2, 0, &w, &h);
        const int half = w / 2;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < half; x++) px[(size_t)y * half + x] = px[(size_t)y * w + 2 * x];
        crnn_image im = {half, h, half, px, 1};
        CHECK_MSG(h >= CRNN_ROTATE_TALL * half, "'%s' squeezed is %dx%d: not tall", words[k],
                  half, h);
        crnn_params once = crnn_default_params(), twice = crnn_default_params();
        once.reread_below = 0;
        crnn_result a, b;
        CHECK(crnn_recognize_image(rec, &im, &once, &a) == CRNN_OK);
        CHECK_MSG(a.rotation != 0, "'%s' squeezed read once upright ('%s'): not the case "
                  "this tests", words[k], a.text);
        CHECK(crnn_recognize_image(rec, &im, &twice, &b) == CRNN_OK);
        CHECK_MSG(b.text && !strcmp(b.text, words[k]) && b.rotation == 0 &&
                      b.stretch == CRNN_REREAD_STRETCH,
                  "'%s' squeezed and tall, second look: '%s' turned %d (stretch %g)", words[k],
                  b.text, b.rotation, (double)b.stretch);
        crnn_result_free(&a);
        crnn_result_free(&b);
        free(px);
    }
}

int main(void) {
    crnn_error err;
    crnn_model *model = crnn_model_load("models/en.crnn", &err);
    render_font_t *font = render_font();
    if (!model || !font) {
        fprintf(stderr, "%s: skipped\n", model ? "DejaVu Sans not installed" : err.message);
        crnn_model_free(model);
        render_font_free(font);
        return 77;
    }
    crnn_recognizer *rec = crnn_recognizer_new(model, &err);
    read_long_line(rec, font);
    read_stacked(rec, font);
    read_loose(rec, font);
    crnn_recognizer *wide = crnn_recognizer_new(model, &err);
    read_squeezed(rec, wide, font);
    read_squeezed_tall(rec, font);
    crnn_recognizer_free(wide);
    crnn_recognizer_free(rec);
    render_font_free(font);
    crnn_model_free(model);
    TEST_EXIT();
}

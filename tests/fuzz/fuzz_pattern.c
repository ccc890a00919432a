/* fuzz_pattern.c — regular expressions from the input: each line is a pattern, compiled alone
   and all together (crnn_pattern_compile), and as an --allow/--deny text (crnn_params_check).
   A pattern that compiles must match what it is asked about without crashing, and decode one
   image with a tiny model whose output, when it is not the flagged free text, it matches. A
   pattern that does not compile must say why, naming the pattern. */
#include "fuzz_common.h"

static crnn_model *model;
static crnn_recognizer *rec;
static uint8_t img[16 * 48];

static void use(const crnn_pattern *pat, const char *text) {
    (void)crnn_pattern_match(pat, text);
    (void)crnn_pattern_match(pat, "");
    if (crnn_pattern_num_states(pat) < 1) abort();
    crnn_params p = crnn_default_params();
    p.pattern = pat;
    p.lexicon_margin = text[0] & 1 ? -1.0f : 4.0f;
    crnn_image im = {48, 16, 48, img, 1};
    crnn_result res;
    if (crnn_recognize_image(rec, &im, &p, &res) == CRNN_OK) {
        if (!res.text || !res.free_text) abort();
        if (!res.fallback && !crnn_pattern_match(pat, res.text)) abort();
        crnn_result_free(&res);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!model) {
        crnn_error err;
        model = fuzz_tiny_model("ascii", 0);
        rec = crnn_recognizer_new(model, &err);
        if (!rec) abort();
        for (int i = 0; i < 16 * 48; i++) img[i] = (uint8_t)((i % 48) < 24 ? 30 + i % 7 : 220);
    }
    /* lines, NUL-terminated (a NUL byte ends a line early, as in C) */
    char *copy = malloc(size + 1);
    const char **lines = malloc(sizeof(char *) * (size + 1));
    if (!copy || !lines) abort();
    memcpy(copy, data, size);
    copy[size] = 0;
    int n = 0;
    for (char *p = copy; n < CRNN_PATTERN_MAX_COUNT;) {
        lines[n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = 0;
        p = nl + 1;
    }
    crnn_error err;
    for (int i = 0; i < n && i < 4; i++) {
        crnn_pattern *pat = crnn_pattern_compile(&lines[i], 1, &err);
        if (pat) {
            use(pat, lines[i]);
            crnn_pattern_free(pat);
        } else if (!strstr(err.message, "pattern")) {
            abort();
        }
        crnn_params p = crnn_default_params();
        p.allow = lines[i];
        p.deny = i + 1 < n ? lines[i + 1] : NULL;
        if (crnn_params_check(model, &p, &err) == CRNN_OK) {
            crnn_image im = {48, 16, 48, img, 1};
            crnn_result res;
            if (crnn_recognize_image(rec, &im, &p, &res) != CRNN_OK) abort();
            crnn_result_free(&res);
        }
    }
    crnn_pattern *all = crnn_pattern_compile(lines, n, &err);
    if (all) use(all, lines[0]);
    crnn_pattern_free(all);
    free(copy);
    free(lines);
    return 0;
}

/* fuzz_lexicon.c — lexicon files and per-image lexicon maps: the input is written to a file and
   loaded both ways (crnn_lexicon_load, crnn_lexicon_map_load), and its lines go through
   crnn_lexicon_from_words. A lexicon that loads is queried and used to decode one image with a
   tiny model, case-sensitive or not, exact search or BK-tree candidates. */
#include "fuzz_common.h"

static crnn_model *model;
static crnn_recognizer *rec;
static uint8_t img[16 * 48];

static void use(const crnn_lexicon *lex, const uint8_t *data, size_t size) {
    int n = crnn_lexicon_size(lex);
    if (n < 1) abort(); /* an empty lexicon is an error, not an object */
    for (int i = -1; i <= n && i < 64; i++) {
        const char *w = crnn_lexicon_word(lex, i);
        if ((i < 0 || i >= n) != (w == NULL)) abort();
        if (w && crnn_lexicon_find(lex, w) < 0) abort();
    }
    crnn_params p = crnn_default_params();
    p.lexicon = lex;
    unsigned char b = size ? data[size - 1] : 0; /* options from the input */
    p.lexicon_case_insensitive = b & 1;
    p.lexicon_max_distance = (b & 2) ? -1 : (b >> 2) % 5;
    p.lexicon_margin = (b & 0x40) ? 2.0f : -1.0f;
    if (b & 0x80) {
        p.decoder = CRNN_DECODE_BEAM;
        p.beam_width = 3;
    }
    crnn_image im = {48, 16, 48, img, 1};
    crnn_result res;
    if (crnn_recognize_image(rec, &im, &p, &res) == CRNN_OK) {
        if (!res.text) abort();
        crnn_result_free(&res);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[300];
    if (!model) {
        crnn_error err;
        model = fuzz_tiny_model("ascii", 0);
        rec = crnn_recognizer_new(model, &err);
        if (!rec) abort();
        for (int i = 0; i < 16 * 48; i++) img[i] = (uint8_t)((i % 48) < 24 ? 30 + i % 7 : 220);
        snprintf(path, sizeof path, "%s/lexicon.txt", fuzz_scratch_dir());
    }
    fuzz_write(path, data, size);
    crnn_error err;
    crnn_lexicon *lex = crnn_lexicon_load(path, &err);
    if (lex) {
        use(lex, data, size);
        crnn_lexicon_free(lex);
    } else if (!strstr(err.message, "lexicon.txt")) {
        abort();
    }
    crnn_lexicon_map *map = crnn_lexicon_map_load(path, &err);
    if (map) {
        (void)crnn_lexicon_map_size(map);
        (void)crnn_lexicon_map_find(map, "a.png");
        (void)crnn_lexicon_map_find(map, "dir/a.png");
        /* the first line's image name, whatever it is */
        char name[256];
        size_t k = 0;
        while (k < size && k < sizeof name - 1 && data[k] != '\t' && data[k] != '\n' && data[k])
            name[k] = (char)data[k], k++;
        name[k] = 0;
        const crnn_lexicon *l = crnn_lexicon_map_find(map, name);
        if (l) use(l, data, size);
        crnn_lexicon_map_free(map);
    } else if (!strstr(err.message, "lexicon.txt")) {
        abort();
    }
    /* The same lines as an array of strings (NUL bytes end a word early, as in C). */
    char *copy = malloc(size + 1);
    const char **words = malloc(sizeof(char *) * (size + 1));
    if (copy && words) {
        memcpy(copy, data, size);
        copy[size] = 0;
        int n = 0;
        char *p = copy;
        for (;;) {
            words[n++] = p;
            char *nl = memchr(p, '\n', (size_t)(copy + size - p));
            if (!nl) break;
            *nl = 0;
            p = nl + 1;
        }
        lex = crnn_lexicon_from_words(words, n, &err);
        if (lex) {
            use(lex, data, size);
            crnn_lexicon_free(lex);
        }
    }
    free(copy);
    free(words);
    return 0;
}

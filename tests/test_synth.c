/* test_synth.c — the synthetic generator, grey and colour: same seed same bytes, labels equal
   what was drawn (stacked vertical words too), no blank samples, text inside the crop,
   charsets and word lists honoured, files written correctly, errors named. Needs the fonts of scripts/install-fonts.sh; never /work/shared. */
#include <lmdb.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image.h>
#include <stb_image_write.h>
#include <stb_truetype.h>

#include "synth/synth.h"
#include "test.h"
#include "util/util.h"

static char tmpdir[256];
static char bgdir[300];
static const char *bg_dirs[2];

/* A temp folder with two noise "photos", so backgrounds are exercised without shared data. */
static void make_backgrounds(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_synth_XXXXXX");
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); exit(1); }
    snprintf(bgdir, sizeof bgdir, "%s/bg", tmpdir);
    mkdir(bgdir, 0700);
    uint8_t *px = malloc(200 * 150 * 3);
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 200 * 150 * 3; i++) px[i] = (uint8_t)(test_randint(0, 255) / (k + 1) + 40 * ((i / 600) % 3));
        char p[400];
        snprintf(p, sizeof p, "%s/bg%d.jpg", bgdir, k);
        stbi_write_jpg(p, 200, 150, 3, px, 80);
    }
    free(px);
    bg_dirs[0] = bgdir;
    bg_dirs[1] = NULL;
}

static synth_config base_config(uint64_t seed) {
    synth_config c = synth_default_config();
    c.seed = seed;
    c.background_dirs = bg_dirs;
    return c;
}

static synth *make(const synth_config *c) {
    crnn_error err;
    synth *s = synth_new(c, &err);
    if (!s) fprintf(stderr, "synth_new: %s\n", err.message);
    return s;
}

static void test_defaults(void) {
    synth_config c = synth_default_config();
    CHECK(c.height == 32);
    CHECK(c.max_label_len > 0);
    CHECK(c.font_manifest == NULL && c.charset == NULL && c.wordlist == NULL);
}

static void same_seed_same_bytes(int channels) {
    synth_config c = base_config(1234);
    c.channels = channels;
    synth *a = make(&c), *b = make(&c);
    c.seed = 1235;
    synth *d = make(&c);
    CHECK(a && b && d);
    if (!a || !b || !d) return;
    int differ = 0;
    for (int i = 0; i < 60; i++) {
        synth_sample x, y, z;
        CHECK(synth_next(a, &x) == CRNN_OK);
        CHECK(synth_next(b, &y) == CRNN_OK);
        CHECK(synth_next(d, &z) == CRNN_OK);
        CHECK(x.width == y.width && x.height == y.height && x.stride == y.stride);
        CHECK(x.channels == channels && x.stride == x.width * channels);
        CHECK(strcmp(x.label, y.label) == 0);
        if (x.width == y.width && x.height == y.height)
            CHECK(memcmp(x.pixels, y.pixels, (size_t)x.stride * (size_t)x.height) == 0);
        if (strcmp(x.label, z.label) || x.width != z.width) differ++;
    }
    CHECK(differ > 30); /* another seed, another sequence */
    synth_free(a);
    synth_free(b);
    synth_free(d);
}

static void test_same_seed_same_bytes(void) { same_seed_same_bytes(1); }
static void test_same_seed_same_bytes_colour(void) { same_seed_same_bytes(3); }

/* The trainer mixes clean and realistic words by switching one generator: switched, it
   draws exactly what a generator configured that way draws, and the two kinds differ. */
static void test_switch_clean(void) {
    synth_config c = base_config(77);
    synth *mixed = make(&c), *real = make(&c);
    c.clean = 1;
    synth *clean = make(&c);
    CHECK(mixed && real && clean);
    if (!mixed || !real || !clean) return;
    int differ = 0;
    for (int pass = 0; pass < 2; pass++) {
        synth *want = pass == 0 ? clean : real;
        synth_set_clean(mixed, pass == 0);
        synth_reseed(mixed, 99);
        synth_reseed(want, 99);
        for (int i = 0; i < 40; i++) {
            synth_sample x, y;
            CHECK(synth_next(mixed, &x) == CRNN_OK && synth_next(want, &y) == CRNN_OK);
            CHECK(strcmp(x.label, y.label) == 0 && x.width == y.width && x.height == y.height);
            if (x.width == y.width && x.height == y.height)
                CHECK(memcmp(x.pixels, y.pixels, (size_t)x.stride * (size_t)x.height) == 0);
        }
    }
    synth_reseed(clean, 5);
    synth_reseed(real, 5);
    for (int i = 0; i < 40; i++) {
        synth_sample x, y;
        CHECK(synth_next(clean, &x) == CRNN_OK && synth_next(real, &y) == CRNN_OK);
        if (x.width != y.width || memcmp(x.pixels, y.pixels, (size_t)x.stride * (size_t)x.height))
            differ++;
    }
    CHECK(differ > 20);
    synth_free(mixed);
    synth_free(real);
    synth_free(clean);
}

/* Crops with no text: as often as asked, labelled "", as wide as words are, and the rest
   still words. A fraction outside 0..1 is refused. */
static void test_empty(void) {
    synth_config c = base_config(31);
    c.empty = 0.25f;
    synth *s = make(&c);
    CHECK(s != NULL);
    if (!s) return;
    int empty = 0;
    for (int i = 0; i < 200; i++) {
        synth_sample x;
        CHECK(synth_next(s, &x) == CRNN_OK);
        synth_info info;
        synth_last_info(s, &info);
        if (x.label[0]) {
            CHECK(info.font_path != NULL && info.num_drawn > 0);
            continue;
        }
        empty++;
        CHECK(info.font_path == NULL && info.num_drawn == 0);
        CHECK(x.height == 32 && x.width >= 16 && x.width <= 320);
    }
    CHECK_MSG(empty >= 30 && empty <= 70, "%d of 200 crops empty, asked for 25 %%", empty);
    synth_free(s);
    c.empty = 1;
    s = make(&c);
    for (int i = 0; s && i < 20; i++) {
        synth_sample x;
        CHECK(synth_next(s, &x) == CRNN_OK && x.label[0] == 0);
    }
    synth_free(s);
    crnn_error err;
    c.empty = 1.5f;
    CHECK(synth_new(&c, &err) == NULL && strstr(err.message, "empty") != NULL);
}

/* Checks one sample's label against what was drawn, with the font opened independently. */
static void check_label(const synth *s, const synth_sample *smp, int max_len, const char *allowed) {
    synth_info info;
    synth_last_info(s, &info);
    uint32_t cps[300];
    int n = utf8_to_codepoints(smp->label, cps, 300);
    CHECK_MSG(n >= 1 && n <= max_len, "label '%s' has %d code points", smp->label, n);
    CHECK_MSG(n == info.num_drawn, "label '%s': %d drawn", smp->label, info.num_drawn);
    for (int i = 0; i < n && i < info.num_drawn; i++) CHECK(cps[i] == info.drawn[i]);
    if (n >= 1) CHECK_MSG(cps[0] != ' ' && cps[n - 1] != ' ', "label '%s' has outer spaces", smp->label);
    unsigned char *data;
    size_t size;
    crnn_error err;
    CHECK(info.font_path != NULL);
    if (!info.font_path || read_file(info.font_path, 64u << 20, &data, &size, &err) != CRNN_OK) return;
    stbtt_fontinfo fi;
    CHECK(stbtt_InitFont(&fi, data, stbtt_GetFontOffsetForIndex(data, 0)));
    for (int i = 0; i < n; i++) {
        if (allowed) CHECK_MSG(cps[i] < 128 && strchr(allowed, (int)cps[i]), "'%s' outside charset", smp->label);
        CHECK_MSG(cps[i] >= 0x20 && cps[i] < 0x7f, "label '%s' leaves printable ASCII", smp->label);
        if (cps[i] == ' ') continue;
        int g = stbtt_FindGlyphIndex(&fi, (int)cps[i]);
        CHECK_MSG(g != 0 && !stbtt_IsGlyphEmpty(&fi, g), "font %s lacks '%c' of '%s'", info.font_path,
                  (char)cps[i], smp->label);
    }
    free(data);
}

/* Range and spread of the brightness, or for a colour sample of the channel that varies most:
   colour text may differ from its background in hue alone, as the colour contrast floor
   allows. */
static void pixel_stats(const synth_sample *smp, double *range, double *sd) {
    const int c = smp->channels == 3 ? 3 : 1;
    *range = *sd = 0;
    for (int plane = 0; plane < c; plane++) {
        int lo = 255, hi = 0;
        double sum = 0, sq = 0, n = (double)smp->width * smp->height;
        for (int y = 0; y < smp->height; y++)
            for (int x = 0; x < smp->width; x++) {
                const uint8_t *p = smp->pixels + (size_t)y * (size_t)smp->stride + (size_t)x * (size_t)c;
                int v = p[plane];
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
                sum += v;
                sq += (double)v * v;
            }
        double m = sum / n;
        if (hi - lo > *range) *range = hi - lo;
        if (sqrt(sq / n - m * m) > *sd) *sd = sqrt(sq / n - m * m);
    }
}

static void labels_boxes_contrast(int channels) {
    synth_config c = base_config(7);
    c.channels = channels;
    c.min_margin = 0.1f;
    c.max_label_len = 16;
    synth *s = make(&c);
    CHECK(s != NULL);
    if (!s) return;
    int faint = 0;
    for (int i = 0; i < 400; i++) {
        synth_sample smp;
        CHECK(synth_next(s, &smp) == CRNN_OK);
        CHECK(smp.height == 32 && smp.width >= 4 && smp.width <= 2048 &&
              smp.stride == smp.width * channels);
        check_label(s, &smp, 16, NULL);
        synth_info info;
        synth_last_info(s, &info);
        float m = 0.1f * info.text_height, eps = 0.02f * info.text_height + 0.01f;
        CHECK(info.text_height > 2);
        CHECK_MSG(info.box[0] >= m - eps && info.box[1] >= m - eps && info.box[2] <= smp.width - m + eps &&
                      info.box[3] <= smp.height - m + eps,
                  "box %.1f %.1f %.1f %.1f in %dx%d (margin %.2f)", info.box[0], info.box[1], info.box[2],
                  info.box[3], smp.width, smp.height, m);
        double range, sd;
        pixel_stats(&smp, &range, &sd);
        CHECK_MSG(range >= 20 && sd >= 3, "sample %d '%s' blank: range %.0f sd %.1f", i, smp.label, range, sd);
        if (range < 60) faint++;
    }
    CHECK(faint < 40); /* most samples are clearly readable */
    synth_free(s);
}

static void test_labels_boxes_contrast(void) { labels_boxes_contrast(1); }
static void test_labels_boxes_contrast_colour(void) { labels_boxes_contrast(3); }

/* Colour samples are in colour (not grey written three times), and the colour of text and
   background is not always told apart by brightness alone, as in real signs. */
static void test_colour_is_colour(void) {
    synth_config c = base_config(21);
    c.channels = 3;
    synth *s = make(&c);
    CHECK(s != NULL);
    if (!s) return;
    int tinted = 0;
    for (int i = 0; i < 200; i++) {
        synth_sample smp;
        CHECK(synth_next(s, &smp) == CRNN_OK);
        double chroma = 0;
        for (int y = 0; y < smp.height; y++)
            for (int x = 0; x < smp.width; x++) {
                const uint8_t *p = smp.pixels + (size_t)y * (size_t)smp.stride + 3 * (size_t)x;
                int mx = p[0] > p[1] ? p[0] : p[1], mn = p[0] < p[1] ? p[0] : p[1];
                mx = p[2] > mx ? p[2] : mx, mn = p[2] < mn ? p[2] : mn;
                chroma += mx - mn;
            }
        if (chroma / (smp.width * smp.height) > 25) tinted++;
    }
    CHECK_MSG(tinted > 20 && tinted < 190, "%d of 200 samples clearly coloured", tinted);
    synth_free(s);
}

/* Stacked vertical words: drawn letter by letter, labelled in reading order. */
static void test_vertical(void) {
    synth_config c = base_config(33);
    synth *s = make(&c);
    CHECK(s != NULL);
    if (!s) return;
    int vertical = 0;
    for (int i = 0; i < 3000 && vertical < 10; i++) {
        synth_sample smp;
        CHECK(synth_next(s, &smp) == CRNN_OK);
        synth_info info;
        synth_last_info(s, &info);
        if (!info.vertical) continue;
        vertical++;
        check_label(s, &smp, 24, NULL);
        CHECK_MSG(strchr(smp.label, ' ') == NULL, "vertical label '%s' has a space", smp.label);
    }
    CHECK_MSG(vertical >= 10, "%d vertical samples in 3000", vertical);
    synth_free(s);
}

static void test_charset_and_wordlist(void) {
    static const uint32_t digits[] = {'0', '1', '2', '3', '4', '5', '6', '7', '8', '9'};
    synth_config c = base_config(3);
    c.charset = digits;
    c.charset_size = 10;
    c.max_label_len = 8;
    synth *s = make(&c);
    CHECK(s != NULL);
    for (int i = 0; s && i < 100; i++) {
        synth_sample smp;
        CHECK(synth_next(s, &smp) == CRNN_OK);
        check_label(s, &smp, 8, "0123456789");
    }
    synth_free(s);

    char wl[400];
    snprintf(wl, sizeof wl, "%s/words.txt", tmpdir);
    const char *words = "harbour\nlantern\nbakery\nqueue\nzebra\n";
    CHECK(write_file_atomic(wl, words, strlen(words), NULL) == CRNN_OK);
    uint32_t lower[27];
    for (int i = 0; i < 26; i++) lower[i] = 'a' + (uint32_t)i;
    lower[26] = ' ';
    c = base_config(5);
    c.wordlist = wl;
    c.charset = lower;
    c.charset_size = 27;
    s = make(&c);
    CHECK(s != NULL);
    int hits = 0;
    for (int i = 0; s && i < 200; i++) {
        synth_sample smp;
        CHECK(synth_next(s, &smp) == CRNN_OK);
        check_label(s, &smp, 24, "abcdefghijklmnopqrstuvwxyz ");
        char pat[64];
        snprintf(pat, sizeof pat, "%.60s\n", smp.label);
        if (strstr(words, pat)) hits++;
    }
    CHECK_MSG(hits > 80, "only %d of 200 labels are words of the list", hits);
    synth_free(s);
}

static void test_errors(void) {
    crnn_error err;
    synth_config c = base_config(1);
    c.font_manifest = "/nonexistent/fonts.manifest";
    CHECK(synth_new(&c, &err) == NULL);
    CHECK(strstr(err.message, "/nonexistent/fonts.manifest") != NULL);

    char man[400];
    snprintf(man, sizeof man, "%s/bad.manifest", tmpdir);
    char line[500];
    snprintf(line, sizeof line, "%s/bg/bg0.jpg\n/nonexistent.ttf\n", tmpdir);
    CHECK(write_file_atomic(man, line, strlen(line), NULL) == CRNN_OK);
    c.font_manifest = man;
    CHECK(synth_new(&c, &err) == NULL);
    CHECK(strstr(err.message, "no usable fonts") != NULL);

    c = base_config(1);
    c.height = 2;
    CHECK(synth_new(&c, &err) == NULL && err.code == CRNN_ERR_ARG);
    static const char *const missing[] = {"/nonexistent/backgrounds", NULL};
    c = base_config(1);
    c.background_dirs = missing;
    CHECK(synth_new(&c, &err) == NULL && strstr(err.message, "/nonexistent/backgrounds"));
    CHECK(synth_next(NULL, NULL) == CRNN_ERR_ARG);
    synth_free(NULL);
}

/* A manifest's categories set how often each family is drawn: one handwriting family and two
   sans-serif ones share the classified families' draws 0.06 : 0.50 (the shares of kinds
   present), an unclassified family keeps an even family's share. Weights (sum 4, one per
   family): handwriting 0.06/0.56 × 3 = 0.32, each sans 0.50/0.56 × 3 / 2 = 1.34, other 1. */
static void test_font_kinds(void) {
    static const char *const family[4] = {"DejaVu Sans", "Liberation Sans", "Liberation Serif",
                                          "DejaVu Serif"};
    const double expect[4] = {0.3214 / 4, 1.3393 / 4, 1.3393 / 4, 1.0 / 4};
    char man[400];
    snprintf(man, sizeof man, "%s/kinds.manifest", tmpdir);
    const char *text = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf\thandwriting\n"
                       "# a comment line\n"
                       "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf\tsans-serif\n"
                       "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf\tsans-serif\n"
                       "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf\n";
    CHECK(write_file_atomic(man, text, strlen(text), NULL) == CRNN_OK);
    synth_config c = base_config(5);
    c.font_manifest = man;
    synth *s = make(&c);
    CHECK(s != NULL && synth_num_fonts(s) == 4);
    int count[4] = {0}, other = 0;
    const int n = 1500;
    for (int i = 0; s && i < n; i++) {
        synth_sample smp;
        CHECK(synth_next(s, &smp) == CRNN_OK);
        synth_info info;
        synth_last_info(s, &info);
        int k = 0;
        while (k < 4 && strcmp(info.font_family, family[k])) k++;
        if (k < 4) count[k]++;
        else other++;
    }
    CHECK(other == 0);
    for (int k = 0; k < 4; k++) /* ±0.035 is over 4 standard deviations at n = 1500 */
        CHECK_MSG(fabs((double)count[k] / n - expect[k]) < 0.035, "%s drawn %d of %d times, expected %.3f",
                  family[k], count[k], n, expect[k]);
    synth_free(s);

    crnn_error err;
    text = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf\tsans-serif\n"
           "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf\tcursive\n";
    CHECK(write_file_atomic(man, text, strlen(text), NULL) == CRNN_OK);
    CHECK(synth_new(&c, &err) == NULL);
    CHECK_MSG(strstr(err.message, "kinds.manifest:2") && strstr(err.message, "'cursive'"), "%s", err.message);
}

static void test_no_backgrounds_and_heights(void) {
    static const char *const none[] = {NULL};
    synth_config c = base_config(9);
    c.background_dirs = none;
    c.height = 48;
    synth *s = make(&c);
    CHECK(s != NULL);
    for (int i = 0; s && i < 50; i++) {
        synth_sample smp;
        CHECK(synth_next(s, &smp) == CRNN_OK);
        CHECK(smp.height == 48);
        double range, sd;
        pixel_stats(&smp, &range, &sd);
        CHECK(range >= 20);
    }
    synth_free(s);
}

static void test_write_dir_and_lmdb(void) {
    synth_config c = base_config(11);
    synth *s = make(&c), *ref = make(&c);
    CHECK(s && ref);
    if (!s || !ref) return;
    char dir[400];
    snprintf(dir, sizeof dir, "%s/out", tmpdir);
    crnn_error err;
    CHECK(synth_write_dir(s, dir, 5, &err) == CRNN_OK);
    char path[500];
    snprintf(path, sizeof path, "%s/labels.tsv", dir);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    char line[600];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        synth_sample smp;
        CHECK(synth_next(ref, &smp) == CRNN_OK);
        char expect[600];
        snprintf(expect, sizeof expect, "%09d.png\t%s\n", n, smp.label);
        CHECK_MSG(strcmp(line, expect) == 0, "line '%s' expected '%s'", line, expect);
        snprintf(path, sizeof path, "%s/%09d.png", dir, n);
        int w, h, ch;
        uint8_t *px = stbi_load(path, &w, &h, &ch, 1);
        CHECK(px && w == smp.width && h == smp.height);
        if (px && w == smp.width && h == smp.height)
            CHECK(memcmp(px, smp.pixels, (size_t)w * (size_t)h) == 0);
        stbi_image_free(px);
        n++;
    }
    if (f) fclose(f);
    CHECK(n == 5);

    snprintf(dir, sizeof dir, "%s/lmdb", tmpdir);
    CHECK(synth_write_lmdb(s, dir, 3, &err) == CRNN_OK);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    CHECK(mdb_env_create(&env) == 0);
    CHECK(mdb_env_open(env, dir, MDB_RDONLY, 0664) == 0);
    CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0);
    CHECK(mdb_dbi_open(txn, NULL, 0, &dbi) == 0);
    MDB_val k = {11, "num-samples"}, v;
    CHECK(mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size == 1 && ((char *)v.mv_data)[0] == '3');
    k = (MDB_val){15, "label-000000003"};
    CHECK(mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size >= 1);
    k = (MDB_val){15, "image-000000001"};
    CHECK(mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size > 8 && !memcmp(v.mv_data, "\x89PNG", 4));
    mdb_txn_abort(txn);
    mdb_env_close(env);

    snprintf(path, sizeof path, "%s/sheet.png", tmpdir);
    CHECK(synth_write_sheet(s, path, 2, 3, 32, &err) == CRNN_OK);
    int w, h, ch;
    CHECK(stbi_info(path, &w, &h, &ch) && w > 3 * 32 && h > 2 * 32);
    synth_free(s);
    synth_free(ref);
}

/* Colour samples written as PNG come back as the same RGB bytes. */
static void test_write_dir_colour(void) {
    synth_config c = base_config(12);
    c.channels = 3;
    synth *s = make(&c), *ref = make(&c);
    CHECK(s && ref);
    if (!s || !ref) return;
    char dir[400], path[500];
    snprintf(dir, sizeof dir, "%s/out-colour", tmpdir);
    crnn_error err;
    CHECK(synth_write_dir(s, dir, 3, &err) == CRNN_OK);
    for (int i = 0; i < 3; i++) {
        synth_sample smp;
        CHECK(synth_next(ref, &smp) == CRNN_OK);
        snprintf(path, sizeof path, "%s/%09d.png", dir, i);
        int w, h, ch;
        uint8_t *px = stbi_load(path, &w, &h, &ch, 3);
        CHECK(px && ch == 3 && w == smp.width && h == smp.height);
        if (px && w == smp.width && h == smp.height)
            CHECK(memcmp(px, smp.pixels, (size_t)w * (size_t)h * 3) == 0);
        stbi_image_free(px);
    }
    synth_free(s);
    synth_free(ref);
}

int main(void) {
    make_backgrounds();
    RUN(test_defaults);
    RUN(test_same_seed_same_bytes);
    RUN(test_same_seed_same_bytes_colour);
    RUN(test_switch_clean);
    RUN(test_empty);
    RUN(test_labels_boxes_contrast);
    RUN(test_labels_boxes_contrast_colour);
    RUN(test_colour_is_colour);
    RUN(test_vertical);
    RUN(test_charset_and_wordlist);
    RUN(test_errors);
    RUN(test_font_kinds);
    RUN(test_no_backgrounds_and_heights);
    RUN(test_write_dir_and_lmdb);
    RUN(test_write_dir_colour);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    TEST_EXIT();
}

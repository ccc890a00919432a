/* test_lines.c — reading what is not one short line: the line splitter (src/image/lines.c)
   on drawn text, and the chunks of a long line (src/recognize/chunks.c), whose joined frames
   must be the frames of the whole line where the network looks no further than the margins. */
#include <string.h>

#include "image/image.h"
#include "layers/recurrent.h"
#include "model/model.h"
#include "nn/network.h"
#include "recognize/chunks.h"
#include "render_text.h"
#include "test.h"
#include "train/train.h"

static int find(const uint8_t *px, int w, int h, image_line *lines) {
    crnn_image im = {w, h, w, px, 1};
    return image_find_lines(&im, lines, CRNN_MAX_LINES);
}

static void test_splitter(void) {
    image_line l[CRNN_MAX_LINES];
    uint8_t flat[64 * 40];
    memset(flat, 200, sizeof flat);
    CHECK(find(flat, 64, 40, l) == 1 && l[0].top == 0 && l[0].bottom == 40);
    for (size_t i = 0; i < sizeof flat; i++) flat[i] = (uint8_t)test_randint(0, 255); /* noise */
    CHECK(find(flat, 64, 40, l) == 1);

    render_font_t *font = render_font();
    if (!font) {
        fprintf(stderr, "DejaVu Sans not installed: drawn-text cases skipped\n");
        return;
    }
    int w, h;
    const char *two[] = {"Recent", "quality"};
    for (int light = 0; light <= 1; light++) { /* dark on light, light on dark */
        uint8_t *px = render_lines(font, two, 2, 30, 10, 6, light, &w, &h);
        int n = find(px, w, h, l);
        CHECK_MSG(n == 2, "two stacked words (light on dark %d): %d lines", light, n);
        if (n == 2) {
            CHECK(l[0].top == 0 && l[0].bottom == l[1].top && l[1].bottom == h);
            CHECK(l[0].ink_bottom <= l[0].bottom && l[1].ink_top >= l[1].top);
            CHECK(l[0].ink_left >= 0 && l[0].ink_right <= w && l[0].ink_left < l[0].ink_right);
        }
        free(px);
    }
    const char *three[] = {"Typing jumpy", "quickly yes", "third line"};
    uint8_t *px = render_lines(font, three, 3, 30, 12, 6, 0, &w, &h);
    CHECK(find(px, w, h, l) == 3);
    free(px);

    /* One line, with descenders, ascenders and accents' room: never cut. */
    const char *one[] = {"gypsy jumping Quietly"};
    px = render_lines(font, one, 1, 30, 0, 10, 0, &w, &h);
    CHECK(find(px, w, h, l) == 1);
    /* ... nor when underlined (a thin band below, apart from the text) */
    uint8_t *under = malloc((size_t)w * (h + 8));
    memcpy(under, px, (size_t)w * h);
    memset(under + (size_t)w * h, 235, (size_t)w * 8);
    memset(under + (size_t)w * (h + 3), 20, (size_t)w * 2);
    CHECK(find(under, w, h + 8, l) == 1);
    /* ... nor beside a solid dark bar as tall as the text (a sign's edge, a shadow) */
    uint8_t *bar = malloc((size_t)w * (2 * h + 10));
    memset(bar, 235, (size_t)w * (2 * h + 10));
    memcpy(bar, px, (size_t)w * h);
    memset(bar + (size_t)w * (h + 10), 20, (size_t)w * h);
    CHECK(find(bar, w, 2 * h + 10, l) == 1);
    free(under);
    free(bar);
    free(px);
    /* Two lines of faint text (less contrast than the splitter trusts): one line. */
    px = render_lines(font, two, 2, 30, 10, 6, 0, &w, &h);
    for (size_t i = 0; i < (size_t)w * h; i++) px[i] = (uint8_t)(120 + px[i] / 16);
    CHECK(find(px, w, h, l) == 1);
    free(px);
    render_font_free(font);
}

/* A w × h picture at (x, y) on a flat canvas of W × H. */
static uint8_t *paste(const uint8_t *pic, int w, int h, int W, int H, int x, int y, int canvas) {
    uint8_t *out = malloc((size_t)W * H);
    memset(out, canvas, (size_t)W * H);
    for (int r = 0; r < h; r++) memcpy(out + (size_t)(y + r) * W + x, pic + (size_t)r * w, w);
    return out;
}

static int pasted(const uint8_t *px, int w, int h, image_box *box) {
    crnn_image im = {w, h, w, px, 1};
    return image_find_pasted(&im, box);
}

/* image_find_pasted: a photograph pasted on a flat canvas is found to the pixel, whichever
   sides the canvas is on; text drawn on a flat background, a flat image and a photograph
   alone are not pasted. */
static void test_pasted(void) {
    enum { w = 40, h = 16 };
    uint8_t photo[w * h];
    for (int i = 0; i < w * h; i++) photo[i] = (uint8_t)test_randint(0, 255);
    image_box b;
    CHECK(!pasted(photo, w, h, &b));
    const int at[][4] = {{16, 5, 72, 26}, {0, 5, 56, 26}, {16, 0, 72, 21}, {7, 3, 47, 19}};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        const int x = at[i][0], y = at[i][1], W = at[i][2], H = at[i][3];
        uint8_t *px = paste(photo, w, h, W, H, x, y, 128);
        CHECK_MSG(pasted(px, W, H, &b) && b.left == x && b.top == y && b.right == x + w &&
                      b.bottom == y + h,
                  "photo at %d,%d on %dx%d: found %d,%d-%d,%d", x, y, W, H, b.left, b.top,
                  b.right, b.bottom);
        free(px);
    }
    uint8_t flat[64 * 40];
    memset(flat, 90, sizeof flat);
    CHECK(!pasted(flat, 64, 40, &b));

    render_font_t *font = render_font();
    if (!font) return;
    const char *words[] = {"quality", "EFFECT", "HELLO", "Minimum", "IIII", "42"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        for (int light = 0; light <= 1; light++)
            for (int margin = 0; margin <= 24; margin += 12) {
                int W, H;
                uint8_t *px = render_lines(font, &words[i], 1, 24, 0, margin, light, &W, &H);
                CHECK_MSG(!pasted(px, W, H, &b), "'%s' drawn with margin %d (light %d) "
                          "taken for a pasted crop", words[i], margin, light);
                free(px);
            }
    render_font_free(font);
}

/* The windows of a line tile its frames exactly, each one network pass wide at most. */
static void test_chunk_plan(void) {
    const char *archs[] = {"fast", "small", "paper"};
    for (int a = 0; a < 3; a++) {
        crnn_error err;
        crnn_model *m = model_from_arch(archs[a], "ascii", 32, 1, 1, &err);
        CHECK(m != NULL);
        if (!m) continue;
        int bad = 0;
        for (int width = m->min_width; width <= CRNN_MAX_LINE_WIDTH; width += 1 + width / 7) {
            int n = chunk_line(m, width, NULL);
            chunk *c = malloc(sizeof(chunk) * (size_t)n);
            CHECK(chunk_line(m, width, c) == n);
            int next = 0;
            for (int k = 0; k < n; k++) {
                bad += c[k].first_frame != next || c[k].keep_from < 0 ||
                       c[k].keep_to > model_output_width(m, c[k].width) ||
                       c[k].keep_to <= c[k].keep_from || c[k].width > CRNN_MAX_INPUT_WIDTH ||
                       c[k].width < m->min_width || c[k].start < 0 ||
                       c[k].start + c[k].width > width ||
                       (n > 1 && c[k].start % chunk_stride(m) != 0);
                next = c[k].first_frame + c[k].keep_to - c[k].keep_from;
            }
            bad += next != model_output_width(m, width);
            bad += (width <= CHUNK_WHOLE_COLUMNS) != (n == 1);
            free(c);
        }
        CHECK_MSG(bad == 0, "%s: %d windows or widths wrong", archs[a], bad);
        crnn_model_free(m);
    }
}

/* A model without recurrent layers sees only its receptive field, narrower than the margins:
   the frames of a long line read in chunks are exactly (to rounding) those of the whole line
   in one pass, for a grey model and for a colour one (three input planes). */
static void check_joined_frames(int channels) {
    crnn_error err;
    model_spec spec;
    memset(&spec, 0, sizeof spec);
    uint32_t charset[128];
    spec.n_classes = charset_build("ascii", charset, 127, &err);
    spec.charset = charset;
    spec.input_height = 32;
    spec.input_channels = channels;
    spec.norm_mean = spec.norm_std = 0.5f;
    CHECK(arch_parse("fast", &spec, &err) == CRNN_OK);
    int k = 0; /* the linear head straight after the CNN */
    for (int i = 0; i < spec.n_layers; i++)
        if (spec.layers[i].kind != LAYER_LSTM && spec.layers[i].kind != LAYER_GRU)
            spec.layers[k++] = spec.layers[i];
    spec.n_layers = k;
    crnn_model *m = model_build(&spec, "cnn-only", &err);
    CHECK(m != NULL);
    if (!m) return;
    model_init_params(m, 7);
    model_fold_batchnorm(m);

    const int W = 4500, H = 48; /* 3000 columns at height 32: three windows */
    uint8_t *px = malloc((size_t)W * H * channels);
    for (int i = 0; i < W * H * channels; i++) px[i] = (uint8_t)test_randint(0, 255);
    crnn_image im = {W, H, W * channels, px, channels};
    crnn_recognizer *rec = crnn_recognizer_new(m, &err);
    crnn_params params = crnn_default_params();
    params.split_lines = 0;
    crnn_result res;
    CHECK(crnn_recognize_image(rec, &im, &params, &res) == CRNN_OK);
    crnn_result_free(&res);
    int T, C;
    const float *joined = crnn_recognizer_log_probs(rec, 0, &T, &C);

    int width = image_input_width(W, H, 32, m->min_width);
    CHECK(width == 3000 && chunk_line(m, width, NULL) == 3);
    size_t plane = (size_t)32 * width;
    float *input = malloc(sizeof(float) * plane * channels);
    float *scratch = malloc(sizeof(float) * (size_t)H * width);
    image_to_input(input, plane, scratch, &im, 32, width, m->norm_mean, m->norm_std);
    network *net = network_new();
    CHECK(network_forward(net, m, input, &width, 1, 0, &err) == CRNN_OK);
    int T1, C1;
    const int *len;
    const float *whole = network_log_probs(net, NULL, &T1, &C1, &len);
    CHECK(joined && T == len[0] && C == C1);
    double worst = 0;
    for (size_t i = 0; joined && T == len[0] && i < (size_t)T * C; i++) {
        double d = fabs(joined[i] - whole[i]);
        if (d > worst) worst = d;
    }
    CHECK_MSG(worst <= 1e-4, "%d channels: joined frames differ from the whole line's by %g",
              channels, worst);
    network_free(net);
    free(input);
    free(scratch);
    free(px);
    crnn_recognizer_free(rec);
    crnn_model_free(m);
}

static void test_joined_frames(void) {
    check_joined_frames(1);
    check_joined_frames(3);
}

int main(void) {
    RUN(test_splitter);
    RUN(test_pasted);
    RUN(test_chunk_plan);
    RUN(test_joined_frames);
    TEST_EXIT();
}

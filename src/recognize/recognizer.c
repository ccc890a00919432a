/* recognizer.c — the public recognition API: per-thread state over a shared model, images to
   input tensors, one network pass per batch, decoding to UTF-8 with confidences.

   An image is read as the lines the simple splitter finds (image/lines.c; usually one), each
   at the model's height keeping its aspect; a line wider than CHUNK_WHOLE_COLUMNS is read in
   overlapping chunks whose frames are joined (chunks.h). The usual batch, every image one
   line read whole, is one network pass straight over the images' inputs; anything else
   runs windows of the lines through the network and joins their frames per line.

   Tall crops are also read turned (recognize_turning), and unsure single-line readings again
   at twice the width (reread_unsure), by a second recogniser of this one's so that each
   image's record (input, frames) stays that of the reading kept. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "image/image.h"
#include "nn/network.h"
#include "recognize/chunks.h"
#include "recognize/recognizer.h"
#include "util/util.h"

/* Where one line of an image lies: its rows and columns, its columns in the image's network input
   (lines side by side, H rows high), and its frames in the joined output (frames_off, in
   frames of C floats, into rec->frames; unused when the call needed no joining). */
typedef struct {
    int image;
    int y0, y1, x0, x1;
    int width, column;
    int frames;
    size_t frames_off;
} line_span;

/* One image of the last call: its network input (H × input_width floats at input_off, lines
   side by side), its lines, and its output frames. */
typedef struct {
    size_t input_off;
    const float *input; /* its network input, once written */
    int input_width;
    int first_line, n_lines;
    int squeezed; /* a line was wider than CRNN_MAX_LINE_WIDTH at the model's height */
    const float *log_probs;
    int frames;
} image_span;

struct crnn_recognizer {
    const crnn_model *model;
    network *net;
    crnn_error err;
    float *input, *scratch, *pass_input, *frames;
    size_t input_cap, scratch_cap, pass_input_cap, frames_cap;
    int *widths;
    int widths_cap;
    image_span *images;
    int images_cap;
    line_span *lines;
    int lines_cap;
    chunk *windows;   /* the windows of the lines read joined, in order (chunks.h) */
    int *window_line; /* the line each belongs to */
    int windows_cap, window_line_cap;
    int n_last; /* images of the last recognition call, 0 if it failed */
    decode_workspace *dw;
    float width_scale;         /* lines are read this many times their natural width */
    crnn_recognizer *rereader; /* reads unsure images again, wider, with this one's network
                                  (its activations are most of the memory); created on first
                                  use */
    int owns_net;              /* 0 for a rereader */
    float *kept;               /* the first readings' frames, saved from the network's
                                  output before the rereader's pass overwrites it */
    size_t kept_cap;
};

crnn_params crnn_default_params(void) {
    crnn_params p;
    memset(&p, 0, sizeof p);
    p.decoder = CRNN_DECODE_GREEDY;
    p.beam_width = 10;
    p.lexicon = NULL;
    p.lexicon_case_insensitive = 0;
    p.lexicon_margin = (float)CRNN_DEFAULT_LEXICON_MARGIN;
    p.lexicon_max_distance = 3;
    p.allow = p.deny = NULL;
    p.pattern = NULL;
    p.min_confidence = 0.0f;
    p.split_lines = 1;
    p.rotate = CRNN_ROTATE_AUTO;
    p.reread_below = CRNN_DEFAULT_REREAD_BELOW;
    p.lm = NULL;
    p.lm_weight = CRNN_DEFAULT_LM_WEIGHT;
    p.lm_bonus = CRNN_DEFAULT_LM_BONUS;
    return p;
}

crnn_status crnn_params_check(const crnn_model *model, const crnn_params *params,
                              crnn_error *err) {
    if (!params) return set_error(err, CRNN_ERR_ARG, "crnn_params_check: no params");
    return decode_check_params(model, params, err);
}

crnn_recognizer *crnn_recognizer_new(const crnn_model *model, crnn_error *err) {
    if (!model) {
        set_error(err, CRNN_ERR_ARG, "crnn_recognizer_new: no model");
        return NULL;
    }
    crnn_recognizer *r = calloc(1, sizeof *r);
    if (r) r->net = network_new();
    if (r) r->dw = decode_workspace_new();
    if (!r || !r->net || !r->dw) {
        if (r) {
            network_free(r->net);
            decode_workspace_free(r->dw);
        }
        free(r);
        set_error(err, CRNN_ERR_NOMEM, "out of memory creating a recognizer");
        return NULL;
    }
    r->model = model;
    r->width_scale = 1.0f;
    r->owns_net = 1;
    return r;
}

void crnn_recognizer_set_threads(crnn_recognizer *rec, int threads) {
    if (rec) network_set_threads(rec->net, threads); /* its rereader's too */
}

void crnn_recognizer_free(crnn_recognizer *r) {
    if (!r) return;
    crnn_recognizer_free(r->rereader);
    if (r->owns_net) network_free(r->net);
    free(r->kept);
    decode_workspace_free(r->dw);
    free(r->input);
    free(r->scratch);
    free(r->pass_input);
    free(r->frames);
    free(r->widths);
    free(r->images);
    free(r->lines);
    free(r->windows);
    free(r->window_line);
    free(r);
}

const char *crnn_recognizer_error(const crnn_recognizer *r) { return r->err.message; }

void crnn_result_free(crnn_result *res) {
    if (!res) return;
    free(res->text);
    free(res->char_confidence);
    free(res->free_text);
    memset(res, 0, sizeof *res);
}

static int all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

static int grow_floats(float **p, size_t *cap, size_t n) {
    if (n <= *cap) return 1;
    float *q = realloc(*p, n * sizeof(float));
    if (!q) return 0;
    *p = q;
    *cap = n;
    return 1;
}

/* Grows an array of elements of `size` bytes to hold n. */
static int grow_array(void *p, int *cap, int n, size_t size) {
    if (n <= *cap) return 1;
    int c = *cap ? *cap : 16;
    while (c < n) c *= 2;
    void *q = realloc(*(void **)p, size * (size_t)c);
    if (!q) return 0;
    *(void **)p = q;
    *cap = c;
    return 1;
}

/* A line cut from a crop of several, or a long line (a screenshot of a sentence, say), is
   read from its ink and a margin: a quarter of the ink's height above and below, as training
   crops are cut, and half of it left and right. Small text in wide margins reads poorly at
   the model's height (a 300-word line 40 px high with 14 px text: 7 % of the words read,
   96 % trimmed), and the model, trained on words, reads letters into long empty stretches
   ("Recent" on a line three times its length: "Recent s"). A single word crop is trimmed
   only when it is loose (is_loose). */
/* The width ln gets at the model's height H: its aspect, times the recogniser's width_scale. */
static int scaled_line_width(const crnn_recognizer *r, const line_span *ln, int H) {
    int w = (int)lroundf((float)(ln->x1 - ln->x0) * r->width_scale);
    return image_line_width(w > 1 ? w : 1, ln->y1 - ln->y0, H, r->model->min_width);
}

static void trim_margins(const crnn_recognizer *r, line_span *ln, const image_line *found,
                         const image_box *content, int H) {
    int ink = found->ink_bottom - found->ink_top;
    if (ink < 1) return;
    int a = found->ink_top - ink / 4, b = found->ink_bottom + ink / 4;
    int l = found->ink_left - ink / 2, x1 = found->ink_right + ink / 2;
    ln->y0 = a > ln->y0 ? a : ln->y0;
    ln->y1 = b < ln->y1 ? b : ln->y1;
    ln->x0 = l > content->left ? l : content->left;
    ln->x1 = x1 < content->right ? x1 : content->right;
    ln->width = scaled_line_width(r, ln, H);
}

/* A word crop with much more blank around its ink than training crops have: the loose box
   of a detector or a hand crop. Its text would reach the model smaller than the model learned
   it (one text height of blank left and right and a third above and below shrink the letters
   to 60 % of their height), so it is trimmed like a line. Only rows count: blank columns cost
   the reading little. Measured with the shipped model on the held-out sets made loose
   (bench/loose_rotated.sh): loose IIIT5K 72 % of tight untrimmed, 92 % at 0.5, 91 % at 0.8,
   84 % at 1.2; tight crops read the same or better at 0.5 (91.2 → 91.4 %). */
#define LOOSE_BLANK_ROWS_PER_INK_ROW 0.5

static int is_loose(const image_line *found) {
    int ink = found->ink_bottom - found->ink_top;
    int blank = (found->ink_top - found->top) + (found->bottom - found->ink_bottom);
    return ink > 0 && blank > LOOSE_BLANK_ROWS_PER_INK_ROW * ink;
}

/* Finds each image's lines and their widths at the model's height, and lays the images'
   network inputs out one after another. */
static crnn_status plan_lines(crnn_recognizer *r, const crnn_image *images, int n,
                              const crnn_params *params, size_t *input_total,
                              size_t *scratch_need) {
    const crnn_model *m = r->model;
    const int H = m->input_height;
    int n_lines = 0;
    *input_total = *scratch_need = 0;
    for (int i = 0; i < n; i++) {
        const crnn_image *im = &images[i];
        image_line found[CRNN_MAX_LINES] = {{0, im->height, 0, im->height, 0, im->width}};
        int k = 1;
        /* A crop pasted on a flat canvas is read without the canvas (image/pasted.c). */
        image_box content = {0, 0, im->width, im->height};
        if (params->split_lines) { /* lines are found in grey */
            crnn_image grey = *im;
            uint8_t *converted = NULL;
            if (image_channels(im) != 1) {
                if (!(converted = image_convert(im, 1)))
                    return set_error(&r->err, CRNN_ERR_NOMEM, "out of memory");
                grey = (crnn_image){im->width, im->height, im->width, converted, 1};
            }
            crnn_image view = grey;
            if (image_find_pasted(&grey, &content)) {
                view.width = content.right - content.left;
                view.height = content.bottom - content.top;
                view.pixels = grey.pixels + (size_t)content.top * grey.stride + content.left;
            }
            k = image_find_lines(&view, found, CRNN_MAX_LINES);
            free(converted);
            if (k < 1) return set_error(&r->err, CRNN_ERR_NOMEM, "out of memory finding lines");
            for (int j = 0; j < k; j++) {
                found[j].top += content.top, found[j].bottom += content.top;
                found[j].ink_top += content.top, found[j].ink_bottom += content.top;
                found[j].ink_left += content.left, found[j].ink_right += content.left;
            }
        }
        if (!grow_array(&r->lines, &r->lines_cap, n_lines + k, sizeof(line_span)))
            return set_error(&r->err, CRNN_ERR_NOMEM, "out of memory");
        image_span *is = &r->images[i];
        memset(is, 0, sizeof *is);
        is->first_line = n_lines;
        is->n_lines = k;
        is->input_off = *input_total;
        for (int j = 0; j < k; j++) {
            line_span *ln = &r->lines[n_lines + j];
            ln->image = i;
            ln->y0 = found[j].top;
            ln->y1 = found[j].bottom;
            ln->x0 = content.left;
            ln->x1 = content.right;
            ln->width = scaled_line_width(r, ln, H);
            if (k > 1 || ln->width > CHUNK_WHOLE_COLUMNS || is_loose(&found[j]))
                trim_margins(r, ln, &found[j], &content, H);
            double natural = (double)(ln->x1 - ln->x0) * r->width_scale * H / (ln->y1 - ln->y0);
            if (natural > CRNN_MAX_LINE_WIDTH + 0.5) is->squeezed = 1;
            ln->column = is->input_width;
            is->input_width += ln->width;
            size_t s = (size_t)(ln->y1 - ln->y0) * ln->width;
            if (s > *scratch_need) *scratch_need = s;
        }
        n_lines += k;
        *input_total += (size_t)H * is->input_width;
    }
    return CRNN_OK;
}

/* Runs the network over the pending windows [w0, w1) and copies their kept frames into the
   lines' places in r->frames. input_total: floats per plane of r->input. */
static crnn_status run_windows(crnn_recognizer *r, int w0, int w1, size_t input_total) {
    const crnn_model *m = r->model;
    const int H = m->input_height, nw = w1 - w0, planes = m->input_channels;
    size_t total = 0;
    for (int k = w0; k < w1; k++) total += (size_t)H * r->windows[k].width;
    if (!grow_floats(&r->pass_input, &r->pass_input_cap, total * (size_t)planes) ||
        !grow_array(&r->widths, &r->widths_cap, nw, sizeof(int)))
        return set_error(&r->err, CRNN_ERR_NOMEM, "out of memory for %zu input pixels", total);
    size_t off = 0;
    for (int k = w0; k < w1; k++) { /* each window's columns, rows contiguous, per plane */
        const chunk *wd = &r->windows[k];
        const line_span *ln = &r->lines[r->window_line[k]];
        const image_span *is = &r->images[ln->image];
        for (int c = 0; c < planes; c++) {
            const float *src = r->input + (size_t)c * input_total + is->input_off + ln->column +
                               wd->start;
            float *dst = r->pass_input + (size_t)c * total + off;
            for (int y = 0; y < H; y++)
                memcpy(dst + (size_t)y * wd->width, src + (size_t)y * is->input_width,
                       sizeof(float) * (size_t)wd->width);
        }
        off += (size_t)H * wd->width;
        r->widths[k - w0] = wd->width;
    }
    crnn_status s = network_forward(r->net, m, r->pass_input, r->widths, nw, 0, &r->err);
    if (s != CRNN_OK) return s;
    int T, C;
    const float *lp = network_log_probs(r->net, NULL, &T, &C, NULL);
    for (int k = w0; k < w1; k++) {
        const chunk *wd = &r->windows[k];
        const line_span *ln = &r->lines[r->window_line[k]];
        memcpy(r->frames + (ln->frames_off + (size_t)wd->first_frame) * C,
               lp + ((size_t)(k - w0) * T + wd->keep_from) * C,
               sizeof(float) * (size_t)(wd->keep_to - wd->keep_from) * C);
    }
    return CRNN_OK;
}

/* Several lines, or lines read in chunks: every window through the network in passes of at
   most CRNN_MAX_INPUT_WIDTH columns, the frames joined per line in r->frames. */
static crnn_status run_joined(crnn_recognizer *r, int n, size_t input_total) {
    const crnn_model *m = r->model;
    const int C = m->n_classes;
    int n_windows = 0;
    size_t frames_total = 0;
    const image_span *last = &r->images[n - 1];
    const int n_lines = last->first_line + last->n_lines;
    for (int l = 0; l < n_lines; l++) {
        line_span *ln = &r->lines[l];
        int k = chunk_line(m, ln->width, NULL);
        if (!grow_array(&r->windows, &r->windows_cap, n_windows + k, sizeof(chunk)) ||
            !grow_array(&r->window_line, &r->window_line_cap, n_windows + k, sizeof(int)))
            return set_error(&r->err, CRNN_ERR_NOMEM, "out of memory");
        chunk_line(m, ln->width, r->windows + n_windows);
        for (int j = 0; j < k; j++) r->window_line[n_windows + j] = l;
        const chunk *lc = &r->windows[n_windows + k - 1];
        ln->frames = lc->first_frame + lc->keep_to - lc->keep_from;
        ln->frames_off = frames_total;
        frames_total += (size_t)ln->frames;
        n_windows += k;
    }
    if (!grow_floats(&r->frames, &r->frames_cap, frames_total * C))
        return set_error(&r->err, CRNN_ERR_NOMEM, "out of memory for %zu frames", frames_total);
    for (int w0 = 0; w0 < n_windows;) {
        int w1 = w0 + 1, cols = r->windows[w0].width;
        while (w1 < n_windows && cols + r->windows[w1].width <= CRNN_MAX_INPUT_WIDTH)
            cols += r->windows[w1++].width;
        crnn_status s = run_windows(r, w0, w1, input_total);
        if (s != CRNN_OK) return s;
        w0 = w1;
    }
    for (int i = 0; i < n; i++) {
        image_span *is = &r->images[i];
        const line_span *first = &r->lines[is->first_line];
        is->log_probs = r->frames + first->frames_off * C;
        is->frames = 0;
        for (int j = 0; j < is->n_lines; j++) is->frames += first[j].frames;
    }
    return CRNN_OK;
}

/* The lines of one image, read one by one, as one result: texts joined with newlines (each
   newline's confidence 1), log-probabilities added (the lines' readings are independent, so
   the confidence is their product), a fallback in any line the text's; a too unsure reading
   is rejected as a whole, as one line would be. */
static crnn_status decode_line(crnn_recognizer *r, int image, const float *frames, int n_frames,
                               const crnn_params *params, crnn_result *res) {
    const crnn_model *m = r->model;
    if (!all_finite(frames, (size_t)n_frames * m->n_classes))
        /* finite weights whose products overflow: no reading to decode */
        return set_error(&r->err, CRNN_ERR_FORMAT, "image %d: the model's output is not finite "
                         "(its weights overflow)", image);
    return decode_frames(r->dw, m, frames, n_frames, m->n_classes, params, res, &r->err);
}

static crnn_status decode_lines(crnn_recognizer *r, int image, const crnn_params *params,
                                crnn_result *res) {
    const crnn_model *m = r->model;
    const int C = m->n_classes;
    const image_span *is = &r->images[image];
    if (is->n_lines == 1) return decode_line(r, image, is->log_probs, is->frames, params, res);
    crnn_params per_line = *params;
    per_line.min_confidence = 0; /* judged on the whole below */
    crnn_result *parts = calloc((size_t)is->n_lines, sizeof *parts);
    if (!parts) return set_error(&r->err, CRNN_ERR_NOMEM, "out of memory");
    crnn_status s = CRNN_OK;
    size_t bytes = 0, free_bytes = 0;
    int chars = 0, any_free = 0;
    for (int j = 0; j < is->n_lines && s == CRNN_OK; j++) {
        const line_span *ln = &r->lines[is->first_line + j];
        s = decode_line(r, image, r->frames + ln->frames_off * C, ln->frames, &per_line,
                        &parts[j]);
        if (s != CRNN_OK) break;
        bytes += strlen(parts[j].text) + 1;
        free_bytes += strlen(parts[j].free_text ? parts[j].free_text : parts[j].text) + 1;
        chars += parts[j].num_chars + 1;
        any_free |= parts[j].free_text != NULL;
    }
    if (s == CRNN_OK) {
        res->text = malloc(bytes);
        res->free_text = any_free ? malloc(free_bytes) : NULL;
        res->char_confidence = malloc(sizeof(float) * (size_t)chars);
        if (!res->text || (any_free && !res->free_text) || !res->char_confidence)
            s = set_error(&r->err, CRNN_ERR_NOMEM, "out of memory for the result");
    }
    if (s == CRNN_OK) {
        char *t = res->text, *f = res->free_text;
        for (int j = 0; j < is->n_lines; j++) {
            const crnn_result *p = &parts[j];
            const char *pf = p->free_text ? p->free_text : p->text;
            t += sprintf(t, "%s%s", j ? "\n" : "", p->text);
            if (f) f += sprintf(f, "%s%s", j ? "\n" : "", pf);
            if (j) res->char_confidence[res->num_chars++] = 1.0f;
            memcpy(res->char_confidence + res->num_chars, p->char_confidence,
                   sizeof(float) * (size_t)p->num_chars);
            res->num_chars += p->num_chars;
            res->log_prob += p->log_prob;
            res->free_log_prob += p->free_text ? p->free_log_prob : p->log_prob;
            res->fallback |= p->fallback;
        }
        res->confidence = res->log_prob > -INFINITY ? (float)exp(res->log_prob) : 0.0f;
        if (params->min_confidence > 0 && res->confidence < params->min_confidence) {
            res->text[0] = 0; /* rejected: no text, the confidence kept to say why */
            res->num_chars = 0;
            res->rejected = 1;
        }
    }
    for (int j = 0; j < is->n_lines; j++) crnn_result_free(&parts[j]);
    free(parts);
    return s;
}

/* The images as given, one network pass (or one pass of windows) for the batch. */
static crnn_status recognize_as_given(crnn_recognizer *r, const crnn_image *images, int n,
                                      const crnn_params *params, crnn_result *results) {
    double t0 = now_seconds();
    const crnn_model *m = r->model;
    r->n_last = 0; /* until this call's images are through the network */
    if (n < 1 || n > NET_MAX_BATCH)
        return set_error(&r->err, CRNN_ERR_ARG, "batch of %d images outside 1..%d", n,
                         NET_MAX_BATCH);
    for (int i = 0; i < n; i++) {
        memset(&results[i], 0, sizeof results[i]);
        results[i].stretch = r->width_scale;
    }
    for (int i = 0; i < n; i++) {
        const crnn_image *im = &images[i];
        if (im->channels != 0 && im->channels != 1 && im->channels != 3)
            return set_error(&r->err, CRNN_ERR_ARG, "image %d: %d channels (1 = grey or 3 = RGB)",
                             i, im->channels);
        if (!im->pixels || im->width < 1 || im->height < 1 ||
            im->stride < im->width * image_channels(im) || im->width > CRNN_MAX_IMAGE_SIDE ||
            im->height > CRNN_MAX_IMAGE_SIDE)
            return set_error(&r->err, CRNN_ERR_ARG, "image %d: invalid size %d x %d (stride %d)",
                             i, im->width, im->height, im->stride);
    }
    if (!grow_array(&r->images, &r->images_cap, n, sizeof(image_span)) ||
        !grow_array(&r->widths, &r->widths_cap, n, sizeof(int)))
        return set_error(&r->err, CRNN_ERR_NOMEM, "out of memory");
    size_t total, scratch;
    crnn_status s = plan_lines(r, images, n, params, &total, &scratch);
    if (s != CRNN_OK) return s;
    const int planes = m->input_channels;
    if (!grow_floats(&r->input, &r->input_cap, total * (size_t)planes) ||
        !grow_floats(&r->scratch, &r->scratch_cap, scratch))
        return set_error(&r->err, CRNN_ERR_NOMEM, "out of memory for %zu input pixels", total);
    int joined = 0;
    for (int i = 0; i < n; i++) {
        /* The network's input planes hold the whole batch: plane c of image i at
           c·total + its offset, its lines side by side. An image of the other channel count
           is converted first. */
        crnn_image im = images[i];
        uint8_t *converted = NULL;
        if (image_channels(&im) != planes) {
            if (!(converted = image_convert(&im, planes)))
                return set_error(&r->err, CRNN_ERR_NOMEM, "out of memory converting image %d", i);
            im = (crnn_image){im.width, im.height, im.width * planes, converted, planes};
        }
        image_span *is = &r->images[i];
        is->input = r->input + is->input_off;
        for (int j = 0; j < is->n_lines; j++) {
            const line_span *ln = &r->lines[is->first_line + j];
            crnn_image band = {ln->x1 - ln->x0, ln->y1 - ln->y0, im.stride,
                               im.pixels + (size_t)ln->y0 * im.stride + (size_t)ln->x0 * planes,
                               im.channels};
            image_to_input_strided(r->input + is->input_off + ln->column, total,
                                   is->input_width, r->scratch, &band, m->input_height,
                                   ln->width, r->width_scale, m->norm_mean, m->norm_std);
        }
        free(converted);
        joined |= is->n_lines > 1 || is->input_width > CHUNK_WHOLE_COLUMNS;
    }
    if (joined) {
        s = run_joined(r, n, total);
    } else { /* the usual case: one pass, each image a line read whole */
        for (int i = 0; i < n; i++) r->widths[i] = r->images[i].input_width;
        s = network_forward(r->net, m, r->input, r->widths, n, 0, &r->err);
        if (s == CRNN_OK) {
            int T, C;
            const int *len;
            const float *lp = network_log_probs(r->net, NULL, &T, &C, &len);
            for (int i = 0; i < n; i++) {
                r->images[i].log_probs = lp + (size_t)i * T * C;
                r->images[i].frames = len[i];
            }
        }
    }
    if (s != CRNN_OK) return s;
    crnn_status first = CRNN_OK;
    for (int i = 0; i < n; i++) {
        s = decode_lines(r, i, params, &results[i]);
        results[i].lines = r->images[i].n_lines;
        results[i].squeezed = r->images[i].squeezed;
        if (s != CRNN_OK && first == CRNN_OK) first = s;
    }
    double ms = (now_seconds() - t0) * 1000.0 / n;
    for (int i = 0; i < n; i++) {
        results[i].milliseconds = ms;
        results[i].stretch = r->width_scale;
    }
    if (first == CRNN_OK) r->n_last = n;
    return first;
}

double recognizer_orientation_score(const crnn_result *res, int upright) {
    double score = res->num_chars > 0 || res->rejected ? res->log_prob : -1e300;
    return upright ? score + CRNN_ROTATE_UPRIGHT_BIAS : score;
}

/* A valid image (invalid ones are refused by recognize_as_given) much taller than wide. */
static int is_tall(const crnn_image *im) {
    return im->pixels && (im->channels == 0 || im->channels == 1 || im->channels == 3) &&
           im->width >= 1 && im->height <= CRNN_MAX_IMAGE_SIDE &&
           im->stride >= im->width * image_channels(im) &&
           (double)im->height >= CRNN_ROTATE_TALL * im->width;
}

static void reread_unsure(crnn_recognizer *r, const crnn_image *images, int n,
                          const crnn_params *params, crnn_result *results);

/* Tall crops read three ways in one pass: the images as given, then each tall one turned
   clockwise and counter-clockwise. Each orientation gets its second look (params.reread_below)
   before they compete, so that the orientation is chosen on the readings that could be kept:
   a word squeezed narrow can read better turned than upright, and upright again once read
   wider. Each image keeps its best reading, and the recogniser's record of it (log_probs,
   input) is the reading kept. Upright crops cost only the test. */
static crnn_status recognize_turning(crnn_recognizer *r, const crnn_image *images, int n,
                                     int tall, const crnn_params *params, crnn_result *results) {
    const double t0 = now_seconds();
    const int total = n + 2 * tall;
    crnn_image *all = calloc((size_t)total, sizeof *all);
    crnn_result *read = calloc((size_t)total, sizeof *read);
    int *turned_of = calloc((size_t)n, sizeof *turned_of); /* index of image i's clockwise copy */
    crnn_status s = all && read && turned_of ? CRNN_OK : CRNN_ERR_NOMEM;
    int made = n;
    if (s == CRNN_OK) {
        memcpy(all, images, sizeof *all * (size_t)n);
        for (int i = 0; i < n && s == CRNN_OK; i++) {
            turned_of[i] = -1;
            if (!is_tall(&images[i])) continue;
            turned_of[i] = made;
            for (int k = 0; k < 2 && s == CRNN_OK; k++, made++)
                if (!image_turn(&images[i], k == 0, &all[made])) s = CRNN_ERR_NOMEM;
        }
    }
    if (s != CRNN_OK) {
        set_error(&r->err, CRNN_ERR_NOMEM, "out of memory turning tall images");
        for (int i = 0; i < n; i++) memset(&results[i], 0, sizeof results[i]);
    } else {
        s = recognize_as_given(r, all, total, params, read);
        if (s == CRNN_OK && params->reread_below > 0)
            reread_unsure(r, all, total, params, read);
        int n_last = r->n_last;
        for (int i = 0; i < n; i++) {
            int best = i;
            if (turned_of[i] >= 0)
                for (int k = 0; k < 2; k++) {
                    int j = turned_of[i] + k;
                    if (recognizer_orientation_score(&read[j], 0) >
                        recognizer_orientation_score(&read[best], best == i))
                        best = j;
                }
            results[i] = read[best];
            memset(&read[best], 0, sizeof read[best]);
            if (best != i) {
                results[i].rotation = best == turned_of[i] ? 90 : 270;
                r->images[i] = r->images[best]; /* what log_probs and input show */
            }
        }
        for (int j = 0; j < total; j++) crnn_result_free(&read[j]);
        r->n_last = n_last ? n : 0;
        const double ms = (now_seconds() - t0) * 1000.0 / n; /* turning and all readings */
        for (int i = 0; i < n; i++) results[i].milliseconds = ms;
    }
    for (int j = n; j < made; j++) free((void *)all[j].pixels);
    free(all);
    free(read);
    free(turned_of);
    return s;
}

/* The images as given, and the tall ones turned too (params->rotate), each with its second
   look (params->reread_below). */
static crnn_status read_batch(crnn_recognizer *r, const crnn_image *images, int n,
                              const crnn_params *params, crnn_result *results) {
    int tall = 0;
    if (params->rotate == CRNN_ROTATE_AUTO && n >= 1 && n <= NET_MAX_BATCH)
        for (int i = 0; i < n; i++) tall += is_tall(&images[i]);
    if (!tall) {
        crnn_status s = recognize_as_given(r, images, n, params, results);
        if (s == CRNN_OK && params->reread_below > 0) reread_unsure(r, images, n, params, results);
        return s;
    }
    if (n + 2 * tall > NET_MAX_BATCH) { /* the turned copies need two passes */
        int half = n / 2;
        crnn_status a = read_batch(r, images, half, params, results);
        crnn_status b = read_batch(r, images + half, n - half, params, results + half);
        r->n_last = 0; /* the record is of half the images: none is kept */
        return a != CRNN_OK ? a : b;
    }
    r->n_last = 0;
    return recognize_turning(r, images, n, tall, params, results);
}

/* Worth a second look: one line, read less confidently than params->reread_below, that is
   still read whole when CRNN_REREAD_STRETCH times wider (as it was read: turned, the image's
   height is the line's width), so that both readings see the same crop: a wider line would
   be trimmed to its ink and read in chunks. */
static int is_unsure(const crnn_recognizer *r, const crnn_image *im, const crnn_result *res,
                     const crnn_params *params) {
    const int turned = res->rotation != 0;
    const double w = turned ? im->height : im->width, h = turned ? im->width : im->height;
    const double wider = w * r->model->input_height / h * CRNN_REREAD_STRETCH;
    return res->confidence < params->reread_below && res->lines == 1 && !res->squeezed &&
           wider <= CHUNK_WHOLE_COLUMNS;
}

/* Reads the unsure images again, CRNN_REREAD_STRETCH times wider (the second recogniser's
   width_scale), and keeps each image's more probable reading, with its record when the
   batch's record is whole. The first readings are complete on their own: if the second
   pass fails (out of memory), they stand. */
static void reread_unsure(crnn_recognizer *r, const crnn_image *images, int n,
                          const crnn_params *params, crnn_result *results) {
    int m = 0;
    for (int i = 0; i < n; i++) m += is_unsure(r, &images[i], &results[i], params);
    if (!m) return;
    const double t0 = now_seconds();
    if (!r->rereader) {
        crnn_error err;
        if (!(r->rereader = crnn_recognizer_new(r->model, &err))) return;
        network_free(r->rereader->net);
        r->rereader->net = r->net;
        r->rereader->owns_net = 0;
        recognizer_set_width_scale(r->rereader, CRNN_REREAD_STRETCH);
    }
    /* The record's frames may be the network's output, which the second pass overwrites. */
    const int record = r->n_last == n;
    if (record) {
        size_t total = 0;
        for (int i = 0; i < n; i++) total += (size_t)r->images[i].frames * r->model->n_classes;
        if (!grow_floats(&r->kept, &r->kept_cap, total)) return;
        for (size_t i = 0, off = 0; i < (size_t)n; i++) {
            size_t k = (size_t)r->images[i].frames * r->model->n_classes;
            memcpy(r->kept + off, r->images[i].log_probs, sizeof(float) * k);
            r->images[i].log_probs = r->kept + off;
            off += k;
        }
    }
    crnn_image *unsure = calloc((size_t)m, sizeof *unsure);
    uint8_t **turned = calloc((size_t)m, sizeof *turned); /* copies read turned, to free */
    int *of = malloc(sizeof *of * (size_t)m);
    crnn_result *again = calloc((size_t)m, sizeof *again);
    int ready = unsure && turned && of && again;
    for (int i = 0, j = 0; ready && i < n; i++) {
        if (!is_unsure(r, &images[i], &results[i], params)) continue;
        unsure[j] = images[i];
        if (results[i].rotation) /* read again as the kept reading was read: turned */
            ready = (turned[j] = image_turn(&images[i], results[i].rotation == 90,
                                            &unsure[j])) != NULL;
        of[j++] = i;
    }
    if (ready) {
        crnn_params wider = *params;
        wider.rotate = CRNN_ROTATE_NONE;
        wider.reread_below = 0;
        if (recognize_as_given(r->rereader, unsure, m, &wider, again) == CRNN_OK) {
            for (int j = 0; j < m; j++) {
                crnn_result *first = &results[of[j]];
                /* By log p(text | image) alone: unlike a turned reading, an empty one may
                   win (a blank crop whose narrow reading found a letter in noise). */
                if (!(again[j].log_prob > first->log_prob)) continue;
                const int rotation = first->rotation;
                const double ms = first->milliseconds; /* the batch's, as every image's */
                crnn_result_free(first);
                *first = again[j];
                first->rotation = rotation;
                first->milliseconds = ms;
                memset(&again[j], 0, sizeof again[j]);
                if (record) r->images[of[j]] = r->rereader->images[j];
            }
        }
    }
    for (int j = 0; again && j < m; j++) crnn_result_free(&again[j]);
    for (int j = 0; turned && j < m; j++) free(turned[j]);
    free(turned);
    free(unsure);
    free(of);
    free(again);
    const double ms = (now_seconds() - t0) * 1000.0 / n;
    for (int i = 0; i < n; i++) results[i].milliseconds += ms;
}

crnn_status crnn_recognize_batch(crnn_recognizer *r, const crnn_image *images, int n,
                                 const crnn_params *params, crnn_result *results) {
    crnn_params defaults = crnn_default_params();
    if (!params) params = &defaults;
    return read_batch(r, images, n, params, results);
}

crnn_status crnn_recognize_image(crnn_recognizer *r, const crnn_image *image,
                                 const crnn_params *params, crnn_result *result) {
    return crnn_recognize_batch(r, image, 1, params, result);
}

crnn_status crnn_recognize_memory(crnn_recognizer *r, const void *data, size_t size,
                                  const char *name, const crnn_params *params,
                                  crnn_result *result) {
    double t0 = now_seconds();
    memset(result, 0, sizeof *result);
    r->n_last = 0;
    uint8_t *px;
    int w, h;
    const int C = r->model->input_channels;
    crnn_status s = crnn_image_decode_memory_channels(data, size, name, C, &px, &w, &h, &r->err);
    if (s != CRNN_OK) return s;
    crnn_image im = {w, h, w * C, px, C};
    s = crnn_recognize_batch(r, &im, 1, params, result);
    free(px);
    if (s == CRNN_OK) result->milliseconds = (now_seconds() - t0) * 1000.0;
    return s;
}

crnn_status crnn_recognize_file(crnn_recognizer *r, const char *path, const crnn_params *params,
                                crnn_result *result) {
    double t0 = now_seconds();
    memset(result, 0, sizeof *result);
    r->n_last = 0;
    uint8_t *px;
    int w, h;
    const int C = r->model->input_channels;
    crnn_status s = crnn_image_decode_file_channels(path, C, &px, &w, &h, &r->err);
    if (s != CRNN_OK) return s;
    crnn_image im = {w, h, w * C, px, C};
    s = crnn_recognize_batch(r, &im, 1, params, result);
    free(px);
    if (s != CRNN_OK) {
        char msg[sizeof r->err.message];
        snprintf(msg, sizeof msg, "%s", r->err.message);
        set_error(&r->err, s, "%s: %s", path, msg);
        return s;
    }
    result->milliseconds = (now_seconds() - t0) * 1000.0;
    return s;
}

const float *crnn_recognizer_log_probs(const crnn_recognizer *r, int index, int *frames,
                                       int *classes) {
    if (index < 0 || index >= r->n_last) return NULL;
    if (frames) *frames = r->images[index].frames;
    if (classes) *classes = r->model->n_classes;
    return r->images[index].log_probs;
}

const float *crnn_recognizer_input(const crnn_recognizer *r, int index, int *width, int *height) {
    if (index < 0 || index >= r->n_last) return NULL;
    if (width) *width = r->images[index].input_width;
    if (height) *height = r->model->input_height;
    return r->images[index].input;
}

long crnn_model_class_codepoint(const crnn_model *m, int k) {
    if (k < 0 || k >= m->n_classes) return -1;
    return (long)m->charset[k];
}

const crnn_model *recognizer_model(const crnn_recognizer *r) { return r->model; }

void recognizer_set_width_scale(crnn_recognizer *r, float scale) { r->width_scale = scale; }

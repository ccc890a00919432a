/* recognizer.c — the public recognition API: per-thread state over a shared model, images to
   input tensors, one network pass per batch, decoding to UTF-8 with confidences. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "image/image.h"
#include "nn/network.h"
#include "recognize/recognizer.h"
#include "util/util.h"

struct crnn_recognizer {
    const crnn_model *model;
    network *net;
    crnn_error err;
    float *input, *scratch;
    size_t input_cap, scratch_cap;
    int *widths;
    int widths_cap;
    int n_last; /* images of the last recognition call, 0 if it failed */
    decode_workspace *dw;
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
    return r;
}

void crnn_recognizer_set_threads(crnn_recognizer *rec, int threads) {
    if (rec) network_set_threads(rec->net, threads);
}

void crnn_recognizer_free(crnn_recognizer *r) {
    if (!r) return;
    network_free(r->net);
    decode_workspace_free(r->dw);
    free(r->input);
    free(r->scratch);
    free(r->widths);
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

crnn_status crnn_recognize_batch(crnn_recognizer *r, const crnn_image *images, int n,
                                 const crnn_params *params, crnn_result *results) {
    double t0 = now_seconds();
    const crnn_model *m = r->model;
    crnn_params defaults = crnn_default_params();
    if (!params) params = &defaults;
    r->n_last = 0; /* until this call's images are through the network */
    if (n < 1 || n > NET_MAX_BATCH)
        return set_error(&r->err, CRNN_ERR_ARG, "batch of %d images outside 1..%d", n,
                         NET_MAX_BATCH);
    for (int i = 0; i < n; i++) memset(&results[i], 0, sizeof results[i]);
    if (n > r->widths_cap) {
        int *w = realloc(r->widths, sizeof(int) * (size_t)n);
        if (!w) return set_error(&r->err, CRNN_ERR_NOMEM, "out of memory");
        r->widths = w;
        r->widths_cap = n;
    }
    size_t total = 0, scratch = 0;
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
        r->widths[i] = image_input_width(im->width, im->height, m->input_height, m->min_width);
        total += (size_t)m->input_height * r->widths[i];
        size_t s = (size_t)im->height * r->widths[i];
        if (s > scratch) scratch = s;
    }
    const int planes = m->input_channels;
    if (!grow_floats(&r->input, &r->input_cap, total * (size_t)planes) ||
        !grow_floats(&r->scratch, &r->scratch_cap, scratch))
        return set_error(&r->err, CRNN_ERR_NOMEM, "out of memory for %zu input pixels", total);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        /* The network's input planes hold the whole batch: plane c of image i at
           c·total + off. An image of the other channel count is converted first. */
        crnn_image im = images[i];
        uint8_t *converted = NULL;
        if (image_channels(&im) != planes) {
            if (!(converted = image_convert(&im, planes)))
                return set_error(&r->err, CRNN_ERR_NOMEM, "out of memory converting image %d", i);
            im.pixels = converted;
            im.stride = im.width * planes;
            im.channels = planes;
        }
        image_to_input(r->input + off, total, r->scratch, &im, m->input_height, r->widths[i],
                       m->norm_mean, m->norm_std);
        free(converted);
        off += (size_t)m->input_height * r->widths[i];
    }
    crnn_status s = network_forward(r->net, m, r->input, r->widths, n, 0, &r->err);
    if (s != CRNN_OK) return s;
    int T, C;
    const int *len;
    const float *lp = network_log_probs(r->net, NULL, &T, &C, &len);
    crnn_status first = CRNN_OK;
    for (int i = 0; i < n; i++) {
        const float *frames = lp + (size_t)i * T * C;
        if (!all_finite(frames, (size_t)len[i] * C)) {
            /* finite weights whose products overflow: no reading to decode */
            s = set_error(&r->err, CRNN_ERR_FORMAT, "image %d: the model's output is not finite "
                          "(its weights overflow)", i);
        } else {
            s = decode_frames(r->dw, m, frames, len[i], C, params, &results[i], &r->err);
        }
        if (s != CRNN_OK && first == CRNN_OK) first = s;
    }
    double ms = (now_seconds() - t0) * 1000.0 / n;
    for (int i = 0; i < n; i++) results[i].milliseconds = ms;
    if (first == CRNN_OK) r->n_last = n;
    return first;
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
    int B, T, C;
    const int *len;
    const float *lp = network_log_probs(r->net, &B, &T, &C, &len);
    if (!lp || index < 0 || index >= r->n_last) return NULL;
    if (frames) *frames = len[index];
    if (classes) *classes = C;
    return lp + (size_t)index * T * C;
}

const float *crnn_recognizer_input(const crnn_recognizer *r, int index, int *width, int *height) {
    if (index < 0 || index >= r->n_last) return NULL;
    size_t off = 0;
    for (int i = 0; i < index; i++) off += (size_t)r->model->input_height * r->widths[i];
    if (width) *width = r->widths[index];
    if (height) *height = r->model->input_height;
    return r->input + off;
}

long crnn_model_class_codepoint(const crnn_model *m, int k) {
    if (k < 0 || k >= m->n_classes) return -1;
    return (long)m->charset[k];
}

const crnn_model *recognizer_model(const crnn_recognizer *r) { return r->model; }

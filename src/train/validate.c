/* validate.c — batched evaluation for training and for `ocr-crnn eval`. */
#include <stdlib.h>
#include <string.h>

#include "ctc/ctc.h"
#include "image/image.h"
#include "decode/decode.h"
#include "train/train.h"
#include "train/loader.h"
#include "train/validate.h"

crnn_status validation_load(validation_set *v, dataset *d, int max, int channels, crnn_error *err) {
    memset(v, 0, sizeof *v);
    long n = dataset_size(d);
    if (max > 0 && n > max) n = max;
    v->texts = calloc((size_t)n, sizeof(char *));
    v->names = calloc((size_t)n, sizeof(char *));
    v->images = calloc((size_t)n, sizeof(crnn_image));
    if (!v->texts || !v->names || !v->images) return set_error(err, CRNN_ERR_NOMEM, "out of memory");
    for (long i = 0; i < n; i++) {
        crnn_error e;
        uint8_t *px;
        int w, h;
        const char *label = dataset_label(d, i, &e);
        if (!label || dataset_image(d, i, channels, &px, &w, &h, &e) != CRNN_OK) {
            /* a bad item is skipped and counted; running out of memory is not the item's fault */
            if (e.code == CRNN_ERR_NOMEM) return set_error(err, CRNN_ERR_NOMEM, "%s", e.message);
            /* A first line whose "image" does not exist is most often a header row. */
            if (!v->unreadable++)
                snprintf(v->first_unreadable, sizeof v->first_unreadable, "%s%s", e.message,
                         i == 0 && e.code == CRNN_ERR_IO ? " (the first line: a header?)" : "");
            continue;
        }
        char name[1024];
        dataset_item_name(d, i, name, sizeof name);
        v->texts[v->n] = strdup(label);
        v->names[v->n] = strdup(name);
        crnn_image im = {w, h, w * channels, px, channels};
        v->images[v->n] = im;
        v->n++; /* validation_free releases what this item has even if a copy failed */
        if (!v->texts[v->n - 1] || !v->names[v->n - 1])
            return set_error(err, CRNN_ERR_NOMEM, "out of memory loading the validation set");
    }
    return CRNN_OK;
}

void validation_free(validation_set *v) {
    for (int i = 0; i < v->n; i++) {
        free(v->texts[i]);
        free(v->names[i]);
        free((void *)v->images[i].pixels);
    }
    free(v->texts);
    free(v->names);
    free(v->images);
    memset(v, 0, sizeof *v);
}

typedef struct {
    int index, width;
} order_item;

static int cmp_order(const void *a, const void *b) {
    return ((const order_item *)a)->width - ((const order_item *)b)->width;
}

crnn_status validation_run(const validation_set *v, const crnn_model *m,
                           const crnn_params *const *params, validation_score *score,
                           char **predictions, int threads, crnn_error *err) {
    double t0 = now_seconds();
    memset(score, 0, sizeof *score);
    order_item *order = malloc(sizeof(order_item) * (size_t)(v->n ? v->n : 1));
    /* Read as `ocr-crnn` reads (lines, chunks, turned tall crops), so the score is the
       recogniser's. */
    crnn_recognizer *rec = crnn_recognizer_new(m, err);
    if (rec) crnn_recognizer_set_threads(rec, threads);
    crnn_params greedy = crnn_default_params();
    crnn_result res[32];
    crnn_status s = CRNN_OK;
    if (!order || !rec) {
        s = set_error(err, CRNN_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < v->n; i++) {
        order[i].index = i;
        order[i].width = image_input_width(v->images[i].width, v->images[i].height,
                                           m->input_height, m->min_width);
    }
    qsort(order, (size_t)v->n, sizeof(order_item), cmp_order); /* little padding per batch */
    const int BS = 32;
    crnn_image batch_images[32];
    double hits = 0, hits_alnum = 0, sim = 0;
    for (int start = 0; start < v->n; start += BS) {
        int n = v->n - start < BS ? v->n - start : BS;
        memset(res, 0, sizeof res);
        int same = 1; /* one batch call when the images share their decoding */
        const crnn_params *first = params && params[order[start].index] ? params[order[start].index] : &greedy;
        for (int k = 0; k < n; k++) {
            int idx = order[start + k].index;
            batch_images[k] = v->images[idx];
            same &= (params && params[idx] ? params[idx] : &greedy) == first;
        }
        if (same) {
            s = crnn_recognize_batch(rec, batch_images, n, first, res);
        } else {
            for (int k = 0; k < n && s == CRNN_OK; k++) {
                int idx = order[start + k].index;
                s = crnn_recognize_batch(rec, &batch_images[k], 1,
                                         params && params[idx] ? params[idx] : &greedy, &res[k]);
            }
        }
        if (s != CRNN_OK) {
            set_error(err, s, "%s", crnn_recognizer_error(rec));
            for (int k = 0; k < n; k++) crnn_result_free(&res[k]);
            goto done;
        }
        for (int k = 0; k < n; k++) {
            int idx = order[start + k].index;
            char *pred = res[k].text;
            int rejected = res[k].rejected;
            res[k].text = NULL;
            crnn_result_free(&res[k]);
            char a[1024], g[1024];
            text_normalize_alnum(pred, a, sizeof a);
            text_normalize_alnum(v->texts[idx], g, sizeof g);
            /* a rejected reading is a misread one here, whatever the label */
            hits += !rejected && strcmp(pred, v->texts[idx]) == 0;
            hits_alnum += !rejected && strcmp(a, g) == 0;
            score->rejected += rejected;
            sim += text_similarity(a, g);
            if (predictions) predictions[idx] = pred;
            else free(pred);
        }
    }
    score->n = v->n;
    if (v->n) {
        score->exact = hits / v->n;
        score->alnum = hits_alnum / v->n;
        score->one_minus_ned = sim / v->n;
    }
    if (v->n > score->rejected) {
        score->exact_accepted = hits / (v->n - score->rejected);
        score->alnum_accepted = hits_alnum / (v->n - score->rejected);
    }
done:
    score->seconds = now_seconds() - t0;
    free(order);
    crnn_recognizer_free(rec);
    return s;
}

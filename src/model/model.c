/* model.c — building a model from its description: validating hyper-parameters, deriving every
   layer's shapes and laying out all parameters in one allocation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layer.h"
#include "layers/linear.h"
#include "model/model.h"
#include "util/util.h"

/* What a kind's tensors() callback writes into: the model being built and the layer's name. */
struct tensor_list {
    crnn_model *m;
    int layer;
};

void tensor_declare(tensor_list *tl, const char *suffix, int ndim, int d0, int d1, int d2,
                    int d3) {
    crnn_model *m = tl->m;
    model_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "layer%d.%s", tl->layer, suffix);
    t->ndim = ndim;
    int d[4] = {d0, d1, d2, d3};
    t->count = 1;
    for (int i = 0; i < 4; i++) {
        t->dims[i] = i < ndim ? d[i] : 1;
        if (i < ndim) t->count *= (size_t)d[i];
    }
    t->offset = m->n_params;
    m->n_params += t->count;
}

int model_output_width(const crnn_model *m, int width) {
    int w = width;
    for (int i = 0; i < m->first_seq_layer; i++) {
        const model_layer *l = &m->layers[i];
        w = layer_kind_of(l->kind)->out_width(l, w);
        if (w <= 0) return 0;
    }
    return w;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

crnn_model *model_build(const model_spec *spec, const char *name, crnn_error *err) {
    return model_build_max(spec, name, MODEL_MAX_PARAMS, err);
}

crnn_model *model_build_max(const model_spec *spec, const char *name, size_t max_params,
                            crnn_error *err) {
    if (spec->input_height < 8 || spec->input_height > 256) {
        set_error(err, CRNN_ERR_FORMAT, "%s: input height %d outside 8..256", name,
                  spec->input_height);
        return NULL;
    }
    if (spec->input_channels != 1 && spec->input_channels != 3) {
        set_error(err, CRNN_ERR_FORMAT, "%s: input_channels %d unsupported (1 = grey, 3 = RGB)",
                  name, spec->input_channels);
        return NULL;
    }
    if (!(spec->norm_std > 0) || !isfinite(spec->norm_std) || !isfinite(spec->norm_mean)) {
        set_error(err, CRNN_ERR_FORMAT, "%s: bad normalisation mean %g std %g", name,
                  spec->norm_mean, spec->norm_std);
        return NULL;
    }
    if (spec->n_classes < 2 || spec->n_classes > MODEL_MAX_CLASSES) {
        set_error(err, CRNN_ERR_FORMAT, "%s: %d classes outside 2..%d", name, spec->n_classes,
                  MODEL_MAX_CLASSES);
        return NULL;
    }
    if (spec->n_layers < 1 || spec->n_layers > MODEL_MAX_LAYERS) {
        set_error(err, CRNN_ERR_FORMAT, "%s: %d layers outside 1..%d", name, spec->n_layers,
                  MODEL_MAX_LAYERS);
        return NULL;
    }
    if (spec->charset[0] != 0) {
        set_error(err, CRNN_ERR_FORMAT, "%s: charset entry 0 must be the blank (0), is U+%04X",
                  name, (unsigned)spec->charset[0]);
        return NULL;
    }
    for (int i = 1; i < spec->n_classes; i++) {
        uint32_t c = spec->charset[i];
        if (c < 0x20 || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
            set_error(err, CRNN_ERR_FORMAT, "%s: charset entry %d is not a printable code point "
                      "(U+%04X)", name, i, (unsigned)c);
            return NULL;
        }
    }
    /* Duplicates: sort a copy. qsort, not insertion sort: a file listing 65536 classes in
       descending order made that 2^31 steps (seconds of a hang per load). */
    uint32_t *sorted = malloc(sizeof(uint32_t) * (size_t)spec->n_classes);
    if (!sorted) {
        set_error(err, CRNN_ERR_NOMEM, "%s: out of memory", name);
        return NULL;
    }
    memcpy(sorted, spec->charset, sizeof(uint32_t) * (size_t)spec->n_classes);
    qsort(sorted, (size_t)spec->n_classes, sizeof(uint32_t), cmp_u32);
    for (int i = 1; i < spec->n_classes; i++) {
        if (sorted[i] == sorted[i - 1]) {
            set_error(err, CRNN_ERR_FORMAT, "%s: charset has U+%04X twice", name,
                      (unsigned)sorted[i]);
            free(sorted);
            return NULL;
        }
    }
    free(sorted);

    crnn_model *m = calloc(1, sizeof *m);
    if (!m) {
        set_error(err, CRNN_ERR_NOMEM, "%s: out of memory", name);
        return NULL;
    }
    m->input_height = spec->input_height;
    m->input_channels = spec->input_channels;
    m->norm_mean = spec->norm_mean;
    m->norm_std = spec->norm_std;
    m->n_classes = spec->n_classes;
    m->n_layers = spec->n_layers;
    m->first_seq_layer = -1;
    m->charset = malloc(sizeof(uint32_t) * (size_t)spec->n_classes);
    m->meta = strdup(spec->meta ? spec->meta : "");
    if (!m->charset || !m->meta) goto nomem;
    memcpy(m->charset, spec->charset, sizeof(uint32_t) * (size_t)spec->n_classes);

    /* Every layer through its kind's entry: hyper-parameters, shape, tensors. */
    int c = spec->input_channels, h = spec->input_height;
    for (int i = 0; i < spec->n_layers; i++) {
        model_layer *l = &m->layers[i];
        l->kind = spec->layers[i].kind;
        memcpy(l->p, spec->layers[i].p, sizeof l->p);
        const layer_kind *k = layer_kind_of(l->kind);
        if (!k) {
            set_error(err, CRNN_ERR_FORMAT, "%s: layer %d has unknown kind %d", name, i, l->kind);
            goto fail;
        }
        if (k->on_sequence && m->first_seq_layer < 0) {
            m->first_seq_layer = i;
            c *= h; /* map-to-sequence: a column's channels × rows become its features */
            h = 0;
        }
        if (!k->on_sequence && m->first_seq_layer >= 0) {
            set_error(err, CRNN_ERR_FORMAT, "%s: layer %d is convolutional but follows a sequence "
                      "layer", name, i);
            goto fail;
        }
        l->in_c = c;
        l->in_h = h;
        char why[200];
        if (k->shape(l, why, sizeof why)) {
            set_error(err, CRNN_ERR_FORMAT, "%s: layer %d (%s): %s", name, i, k->name, why);
            goto fail;
        }
        if (!k->on_sequence) {
            if (l->out_h < 1) {
                set_error(err, CRNN_ERR_FORMAT, "%s: layer %d leaves no rows (input height %d "
                          "too small for this stack)", name, i, h);
                goto fail;
            }
            if ((long)l->out_c * l->out_h > MODEL_MAX_COLUMN_FLOATS) {
                set_error(err, CRNN_ERR_LIMIT, "%s: layer %d makes a map of %d channels x %d rows, "
                          "over the %d values per input column the engine allows", name, i,
                          l->out_c, l->out_h, MODEL_MAX_COLUMN_FLOATS);
                goto fail;
            }
            h = l->out_h;
        }
        c = l->out_c;
        tensor_list tl = {m, i};
        l->first_tensor = m->n_tensors;
        k->tensors(l, &tl);
        l->n_tensors = m->n_tensors - l->first_tensor;
        if (l->n_tensors > MODEL_LAYER_TENSORS) { /* a kind's entry breaking the contract */
            set_error(err, CRNN_ERR_ARG, "%s: layer %d (%s) declares %d tensors, more than %d",
                      name, i, k->name, l->n_tensors, MODEL_LAYER_TENSORS);
            goto fail;
        }
        if ((size_t)c * 4 > MODEL_MAX_PARAMS || m->n_params > MODEL_MAX_PARAMS) {
            set_error(err, CRNN_ERR_LIMIT, "%s: model exceeds %u parameters", name,
                      MODEL_MAX_PARAMS);
            goto fail;
        }
    }
    const model_layer *last = &m->layers[m->n_layers - 1];
    if (m->first_seq_layer < 0 || last->kind != LAYER_LINEAR) { /* the classifier */
        set_error(err, CRNN_ERR_FORMAT, "%s: the last layer must be linear", name);
        goto fail;
    }
    if (last->out_c != m->n_classes) {
        set_error(err, CRNN_ERR_FORMAT, "%s: the last layer has %d outputs but the charset has %d "
                  "classes", name, last->out_c, m->n_classes);
        goto fail;
    }
    m->min_width = 0;
    for (int w = 1; w <= CRNN_MAX_INPUT_WIDTH; w++)
        if (model_output_width(m, w) >= 1) { m->min_width = w; break; }
    if (!m->min_width) {
        set_error(err, CRNN_ERR_FORMAT, "%s: no input width up to %d gives an output column",
                  name, CRNN_MAX_INPUT_WIDTH);
        goto fail;
    }
    if (m->n_params > max_params) {
        set_error(err, CRNN_ERR_FORMAT, "%s: truncated: the layers need %zu parameters (%zu "
                  "bytes or more), more than the rest of the file holds", name, m->n_params,
                  2 * m->n_params);
        goto fail;
    }
    m->params = calloc(m->n_params ? m->n_params : 1, sizeof(float));
    if (!m->params) goto nomem;
    return m;
nomem:
    set_error(err, CRNN_ERR_NOMEM, "%s: out of memory", name);
fail:
    crnn_model_free(m);
    return NULL;
}

void crnn_model_free(crnn_model *m) {
    if (!m) return;
    free(m->charset);
    free(m->meta);
    free(m->params);
    free(m);
}

crnn_model *model_clone(const crnn_model *m, crnn_error *err) {
    crnn_model *c = malloc(sizeof *c);
    if (!c) goto nomem;
    *c = *m;
    c->charset = malloc(sizeof(uint32_t) * (size_t)m->n_classes);
    c->meta = strdup(m->meta);
    c->params = malloc(sizeof(float) * (m->n_params ? m->n_params : 1));
    if (!c->charset || !c->meta || !c->params) {
        crnn_model_free(c);
        goto nomem;
    }
    memcpy(c->charset, m->charset, sizeof(uint32_t) * (size_t)m->n_classes);
    memcpy(c->params, m->params, sizeof(float) * m->n_params);
    return c;
nomem:
    set_error(err, CRNN_ERR_NOMEM, "out of memory cloning model");
    return NULL;
}

const model_tensor *model_find_tensor(const crnn_model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
    return NULL;
}

/* A layer's tensors as pointers into params, in its kind's order. */
static void layer_tensors(const crnn_model *m, const model_layer *l, float *params,
                          float **t) {
    for (int k = 0; k < l->n_tensors; k++) t[k] = params + m->tensors[l->first_tensor + k].offset;
}

float *model_layer_tensor(const crnn_model *m, float *params, int i, const char *suffix) {
    char name[MODEL_TENSOR_NAME_MAX];
    snprintf(name, sizeof name, "layer%d.%s", i, suffix);
    const model_tensor *t = model_find_tensor(m, name);
    return t ? params + t->offset : NULL;
}

void model_fold_batchnorm(crnn_model *m) {
    if (m->bn_folded) return;
    for (int i = 0; i < m->n_layers; i++) {
        const model_layer *l = &m->layers[i];
        const layer_kind *k = layer_kind_of(l->kind);
        if (!k->fold) continue;
        float *t[MODEL_LAYER_TENSORS];
        layer_tensors(m, l, m->params, t);
        k->fold(l, t);
    }
    m->bn_folded = 1;
}

const char *model_check_values(const crnn_model *m, char *why, size_t n) {
    for (int i = 0; i < m->n_layers; i++) {
        const model_layer *l = &m->layers[i];
        const layer_kind *k = layer_kind_of(l->kind);
        if (!k->check) continue;
        float *t[MODEL_LAYER_TENSORS];
        layer_tensors(m, l, m->params, t);
        char kwhy[300];
        int bad = k->check(l, (const float *const *)t, kwhy, sizeof kwhy);
        if (bad >= 0) {
            snprintf(why, n, "tensor '%s': %s", m->tensors[l->first_tensor + bad].name, kwhy);
            return why;
        }
    }
    return NULL;
}

void model_init_layer_params(crnn_model *m, rng_t *r) {
    for (int i = 0; i < m->n_layers; i++) {
        const model_layer *l = &m->layers[i];
        const layer_kind *k = layer_kind_of(l->kind);
        if (!k->init) continue;
        float *t[MODEL_LAYER_TENSORS];
        layer_tensors(m, l, m->params, t);
        k->init(l, t, r);
    }
}

int crnn_model_input_height(const crnn_model *m) { return m->input_height; }
int crnn_model_num_classes(const crnn_model *m) { return m->n_classes; }
int crnn_model_input_channels(const crnn_model *m) { return m->input_channels; }
size_t crnn_model_num_params(const crnn_model *m) {
    size_t n = 0; /* running statistics are buffers, not parameters */
    for (int i = 0; i < m->n_tensors; i++) {
        const char *s = strrchr(m->tensors[i].name, '.');
        if (s && (!strcmp(s, ".bn_mean") || !strcmp(s, ".bn_var"))) continue;
        n += m->tensors[i].count;
    }
    return n;
}
const char *crnn_model_metadata(const crnn_model *m) { return m->meta; }

/* "input 32 px, 7 conv, 4 pool, bilstm(256), bilstm(256), 37 classes, 8.71 M params": map
   layers counted under their kind's noun, sequence layers each described. */
void crnn_model_describe(const crnn_model *m, char *out, size_t n) {
    int n_kinds;
    const layer_kind *const *kinds = layer_kinds(&n_kinds);
    size_t used = (size_t)snprintf(out, n, "input %d px", m->input_height);
    for (int k = 0; k < n_kinds && used < n; k++) {
        if (kinds[k]->on_sequence) continue;
        int count = 0;
        for (int i = 0; i < m->n_layers; i++) count += m->layers[i].kind == kinds[k]->id;
        char noun[64];
        kinds[k]->describe(NULL, noun, sizeof noun);
        if (count) used += (size_t)snprintf(out + used, n - used, ", %d %s", count, noun);
    }
    for (int i = m->first_seq_layer; i < m->n_layers && used < n; i++) {
        const model_layer *l = &m->layers[i];
        const layer_kind *k = layer_kind_of(l->kind);
        if (!k->describe) continue;
        char d[64];
        k->describe(l, d, sizeof d);
        used += (size_t)snprintf(out + used, n - used, ", %s", d);
    }
    if (used < n)
        snprintf(out + used, n - used, ", %d classes, %.2f M params", m->n_classes,
                 (double)crnn_model_num_params(m) / 1e6);
}

/* model.c — building a model from its description: validating hyper-parameters, deriving every
   layer's shapes and laying out all parameters in one allocation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "util/util.h"

static size_t add_tensor(crnn_model *m, const char *name, int ndim, int d0, int d1, int d2,
                         int d3) {
    model_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    int d[4] = {d0, d1, d2, d3};
    t->count = 1;
    for (int i = 0; i < 4; i++) {
        t->dims[i] = i < ndim ? d[i] : 1;
        if (i < ndim) t->count *= (size_t)d[i];
    }
    t->offset = m->n_params;
    m->n_params += t->count;
    return t->offset;
}

static int conv_out_size(int in, int k, int s, int pad) {
    if (in + 2 * pad < k) return 0;
    return (in + 2 * pad - k) / s + 1;
}

int model_output_width(const crnn_model *m, int width) {
    int w = width;
    for (int i = 0; i < m->first_seq_layer; i++) {
        const model_layer *l = &m->layers[i];
        if (l->kind == LAYER_CONV) w = conv_out_size(w, CONV_KW(l), CONV_SW(l), CONV_PW(l));
        else w = conv_out_size(w, POOL_KW(l), POOL_SW(l), POOL_PW(l));
        if (w <= 0) return 0;
    }
    return w;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int check_p_zero(const int *p, int from) {
    for (int i = from; i < 8; i++)
        if (p[i] != 0) return 0;
    return 1;
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

    int c = spec->input_channels, h = spec->input_height, features = 0;
    m->width_stride_num = 1;
    m->width_stride_den = 1;
    for (int i = 0; i < spec->n_layers; i++) {
        model_layer *l = &m->layers[i];
        l->kind = spec->layers[i].kind;
        memcpy(l->p, spec->layers[i].p, sizeof l->p);
        l->weight = l->bias = l->bn_weight = l->bn_bias = l->bn_mean = l->bn_var = SIZE_MAX;
        for (int d = 0; d < 2; d++)
            for (int k = 0; k < 4; k++) l->rnn[d][k] = SIZE_MAX;
        char tn[MODEL_TENSOR_NAME_MAX];
        int seq = l->kind == LAYER_LSTM || l->kind == LAYER_GRU || l->kind == LAYER_LINEAR;
        if (seq && m->first_seq_layer < 0) {
            m->first_seq_layer = i;
            features = c * h;
        }
        if (!seq && m->first_seq_layer >= 0) {
            set_error(err, CRNN_ERR_FORMAT, "%s: layer %d is convolutional but follows a sequence "
                      "layer", name, i);
            goto fail;
        }
        switch (l->kind) {
        case LAYER_CONV: {
            if (CONV_OUT(l) < 1 || CONV_OUT(l) > MODEL_MAX_CHANNELS || CONV_KH(l) < 1 ||
                CONV_KH(l) > MODEL_MAX_KERNEL || CONV_KW(l) < 1 || CONV_KW(l) > MODEL_MAX_KERNEL ||
                CONV_SH(l) < 1 || CONV_SH(l) > 8 || CONV_SW(l) < 1 || CONV_SW(l) > 8 ||
                CONV_PH(l) < 0 || CONV_PH(l) >= CONV_KH(l) || CONV_PW(l) < 0 ||
                CONV_PW(l) >= CONV_KW(l) || (CONV_FLAGS(l) & ~3)) {
                set_error(err, CRNN_ERR_FORMAT, "%s: layer %d (conv2d): bad hyper-parameters "
                          "out=%d k=%dx%d stride=%dx%d pad=%dx%d flags=%d", name, i, CONV_OUT(l),
                          CONV_KH(l), CONV_KW(l), CONV_SH(l), CONV_SW(l), CONV_PH(l), CONV_PW(l),
                          CONV_FLAGS(l));
                goto fail;
            }
            l->in_c = c;
            l->in_h = h;
            l->out_c = CONV_OUT(l);
            l->out_h = conv_out_size(h, CONV_KH(l), CONV_SH(l), CONV_PH(l));
            snprintf(tn, sizeof tn, "layer%d.weight", i);
            l->weight = add_tensor(m, tn, 4, l->out_c, c, CONV_KH(l), CONV_KW(l));
            snprintf(tn, sizeof tn, "layer%d.bias", i);
            l->bias = add_tensor(m, tn, 1, l->out_c, 0, 0, 0);
            if (CONV_FLAGS(l) & CONV_FLAG_BN) {
                snprintf(tn, sizeof tn, "layer%d.bn_weight", i);
                l->bn_weight = add_tensor(m, tn, 1, l->out_c, 0, 0, 0);
                snprintf(tn, sizeof tn, "layer%d.bn_bias", i);
                l->bn_bias = add_tensor(m, tn, 1, l->out_c, 0, 0, 0);
                snprintf(tn, sizeof tn, "layer%d.bn_mean", i);
                l->bn_mean = add_tensor(m, tn, 1, l->out_c, 0, 0, 0);
                snprintf(tn, sizeof tn, "layer%d.bn_var", i);
                l->bn_var = add_tensor(m, tn, 1, l->out_c, 0, 0, 0);
            }
            m->width_stride_den *= CONV_SW(l);
            break;
        }
        case LAYER_MAXPOOL:
            if (POOL_KH(l) < 1 || POOL_KH(l) > MODEL_MAX_KERNEL || POOL_KW(l) < 1 ||
                POOL_KW(l) > MODEL_MAX_KERNEL || POOL_SH(l) < 1 || POOL_SH(l) > 8 ||
                POOL_SW(l) < 1 || POOL_SW(l) > 8 || POOL_PH(l) < 0 || POOL_PH(l) >= POOL_KH(l) ||
                POOL_PW(l) < 0 || POOL_PW(l) >= POOL_KW(l) || !check_p_zero(l->p, 6)) {
                set_error(err, CRNN_ERR_FORMAT, "%s: layer %d (maxpool): bad hyper-parameters "
                          "k=%dx%d stride=%dx%d pad=%dx%d", name, i, POOL_KH(l), POOL_KW(l),
                          POOL_SH(l), POOL_SW(l), POOL_PH(l), POOL_PW(l));
                goto fail;
            }
            l->in_c = l->out_c = c;
            l->in_h = h;
            l->out_h = conv_out_size(h, POOL_KH(l), POOL_SH(l), POOL_PH(l));
            m->width_stride_den *= POOL_SW(l);
            break;
        case LAYER_LSTM:
        case LAYER_GRU: {
            int H = RNN_HIDDEN(l);
            if (H < 1 || H > MODEL_MAX_HIDDEN || (RNN_BIDIR(l) != 0 && RNN_BIDIR(l) != 1) ||
                !check_p_zero(l->p, 2)) {
                set_error(err, CRNN_ERR_FORMAT, "%s: layer %d (%s): bad hyper-parameters hidden=%d "
                          "bidirectional=%d", name, i, l->kind == LAYER_LSTM ? "lstm" : "gru", H,
                          RNN_BIDIR(l));
                goto fail;
            }
            int gates = l->kind == LAYER_LSTM ? 4 : 3;
            l->in_c = features;
            l->out_c = H * (RNN_BIDIR(l) ? 2 : 1);
            for (int d = 0; d < 1 + RNN_BIDIR(l); d++) {
                const char *dn = d ? "bwd" : "fwd";
                snprintf(tn, sizeof tn, "layer%d.%s.w_ih", i, dn);
                l->rnn[d][0] = add_tensor(m, tn, 2, gates * H, features, 0, 0);
                snprintf(tn, sizeof tn, "layer%d.%s.w_hh", i, dn);
                l->rnn[d][1] = add_tensor(m, tn, 2, gates * H, H, 0, 0);
                snprintf(tn, sizeof tn, "layer%d.%s.b_ih", i, dn);
                l->rnn[d][2] = add_tensor(m, tn, 1, gates * H, 0, 0, 0);
                snprintf(tn, sizeof tn, "layer%d.%s.b_hh", i, dn);
                l->rnn[d][3] = add_tensor(m, tn, 1, gates * H, 0, 0, 0);
            }
            features = l->out_c;
            break;
        }
        case LAYER_LINEAR:
            if (LINEAR_OUT(l) < 1 || LINEAR_OUT(l) > MODEL_MAX_CLASSES || !check_p_zero(l->p, 1)) {
                set_error(err, CRNN_ERR_FORMAT, "%s: layer %d (linear): bad output size %d", name,
                          i, LINEAR_OUT(l));
                goto fail;
            }
            l->in_c = features;
            l->out_c = LINEAR_OUT(l);
            snprintf(tn, sizeof tn, "layer%d.weight", i);
            l->weight = add_tensor(m, tn, 2, l->out_c, features, 0, 0);
            snprintf(tn, sizeof tn, "layer%d.bias", i);
            l->bias = add_tensor(m, tn, 1, l->out_c, 0, 0, 0);
            features = l->out_c;
            break;
        default:
            set_error(err, CRNN_ERR_FORMAT, "%s: layer %d has unknown kind %d", name, i, l->kind);
            goto fail;
        }
        if (!seq) {
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
            c = l->out_c;
            h = l->out_h;
        }
        if ((size_t)features * 4 > MODEL_MAX_PARAMS || m->n_params > MODEL_MAX_PARAMS) {
            set_error(err, CRNN_ERR_LIMIT, "%s: model exceeds %u parameters", name,
                      MODEL_MAX_PARAMS);
            goto fail;
        }
    }
    const model_layer *last = &m->layers[m->n_layers - 1];
    if (m->first_seq_layer < 0 || last->kind != LAYER_LINEAR) {
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

void model_fold_batchnorm(crnn_model *m) {
    if (m->bn_folded) return;
    for (int i = 0; i < m->n_layers; i++) {
        model_layer *l = &m->layers[i];
        if (l->kind != LAYER_CONV || !(CONV_FLAGS(l) & CONV_FLAG_BN)) continue;
        float *w = m->params + l->weight, *b = m->params + l->bias;
        const float *g = m->params + l->bn_weight, *be = m->params + l->bn_bias;
        const float *mu = m->params + l->bn_mean, *var = m->params + l->bn_var;
        size_t per_out = (size_t)l->in_c * CONV_KH(l) * CONV_KW(l);
        for (int o = 0; o < l->out_c; o++) {
            float scale = g[o] / sqrtf(var[o] + BN_EPS);
            for (size_t k = 0; k < per_out; k++) w[o * per_out + k] *= scale;
            b[o] = (b[o] - mu[o]) * scale + be[o];
        }
    }
    m->bn_folded = 1;
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

void crnn_model_describe(const crnn_model *m, char *out, size_t n) {
    int convs = 0, pools = 0;
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < m->n_layers; i++) {
        if (m->layers[i].kind == LAYER_CONV) convs++;
        if (m->layers[i].kind == LAYER_MAXPOOL) pools++;
    }
    used += (size_t)snprintf(out + used, n - used, "input %d px, %d conv, %d pool", m->input_height,
                             convs, pools);
    for (int i = m->first_seq_layer; i < m->n_layers && used < n; i++) {
        const model_layer *l = &m->layers[i];
        if (l->kind == LAYER_LSTM || l->kind == LAYER_GRU)
            used += (size_t)snprintf(out + used, n - used, ", %s%s(%d)",
                                     RNN_BIDIR(l) ? "bi" : "", l->kind == LAYER_LSTM ? "lstm" : "gru",
                                     RNN_HIDDEN(l));
    }
    if (used < n)
        snprintf(out + used, n - used, ", %d classes, %.2f M params", m->n_classes,
                 (double)crnn_model_num_params(m) / 1e6);
}

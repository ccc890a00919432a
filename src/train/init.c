/* init.c — a new model from an architecture string, with its first weights. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/conv.h"
#include "train/train.h"

/* Each layer's kind draws its first weights (src/layers/), in layer order from one stream. */
void model_init_params(crnn_model *m, uint64_t seed) {
    rng_t r;
    rng_seed(&r, seed, 99);
    model_init_layer_params(m, &r);
}

crnn_model *model_from_arch(const char *arch, const char *charset_name, int input_height,
                            int input_channels, uint64_t seed, crnn_error *err) {
    static const int max_classes = MODEL_MAX_CLASSES;
    uint32_t *charset = malloc(sizeof(uint32_t) * max_classes);
    if (!charset) {
        set_error(err, CRNN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    crnn_model *m = NULL;
    int nc = charset_build(charset_name, charset, max_classes - 1, err);
    if (nc >= 0) {
        model_spec spec;
        memset(&spec, 0, sizeof spec);
        spec.input_height = input_height;
        spec.input_channels = input_channels;
        spec.norm_mean = 0.5f;
        spec.norm_std = 0.5f;
        spec.n_classes = nc;
        spec.charset = charset;
        char meta[512];
        snprintf(meta, sizeof meta, "arch=%s charset=%s%s", arch_expand(arch), charset_name,
                 input_channels == 3 ? " colour" : "");
        spec.meta = meta;
        if (arch_parse(arch, &spec, err) == CRNN_OK) m = model_build(&spec, "architecture", err);
        if (m) model_init_params(m, seed);
    }
    free(charset);
    return m;
}

crnn_model *model_to_colour(const crnn_model *g, crnn_error *err) {
    if (g->input_channels != 1 || g->bn_folded || g->n_layers < 1 ||
        g->layers[0].kind != LAYER_CONV || (g->layers[0].p[7] & CONV_FLAG_DEPTHWISE)) {
        set_error(err, CRNN_ERR_ARG, "only a grey model that starts with an unfolded, "
                  "full convolution can be turned into a colour one");
        return NULL;
    }
    model_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.input_height = g->input_height;
    spec.input_channels = 3;
    spec.norm_mean = g->norm_mean;
    spec.norm_std = g->norm_std;
    spec.n_classes = g->n_classes;
    spec.charset = g->charset;
    spec.n_layers = g->n_layers;
    for (int i = 0; i < g->n_layers; i++) {
        spec.layers[i].kind = g->layers[i].kind;
        memcpy(spec.layers[i].p, g->layers[i].p, sizeof spec.layers[i].p);
    }
    spec.meta = g->meta;
    crnn_model *c = model_build(&spec, "colour model", err);
    if (!c) return NULL;
    /* stb_image's grey is (77 R + 150 G + 29 B) / 256, and normalisation is affine with the
       same mean and std in every plane, so splitting each weight in these proportions keeps
       the convolution's output on grey-equivalent input. */
    static const float share[3] = {77.0f / 256.0f, 150.0f / 256.0f, 29.0f / 256.0f};
    for (int t = 0; t < g->n_tensors; t++) {
        const model_tensor *a = &g->tensors[t];
        const model_tensor *b = model_find_tensor(c, a->name);
        if (!b) continue;
        if (b->count == a->count) {
            memcpy(c->params + b->offset, g->params + a->offset, a->count * sizeof(float));
            continue;
        }
        /* layer0.weight: [out][1][kh][kw] → [out][3][kh][kw] */
        size_t out = (size_t)a->dims[0], k = a->count / out;
        for (size_t o = 0; o < out; o++)
            for (int ch = 0; ch < 3; ch++)
                for (size_t j = 0; j < k; j++)
                    c->params[b->offset + (o * 3 + (size_t)ch) * k + j] =
                        share[ch] * g->params[a->offset + o * k + j];
    }
    return c;
}

/* model.h — the in-memory model: charset, input geometry, layer list, and every parameter in
   one float allocation (a table of named tensors points into it). The same structure serves
   inference (batch-norm folded into the convolutions) and training (batch-norm kept, plus
   parallel gradient and optimiser buffers with the same offsets). */
#ifndef CRNN_MODEL_H
#define CRNN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "crnn.h"
#include "util/util.h"

/* Layer kinds, their hyper-parameters p[8] and their tensors are the layer table's business
   (src/layers/): each kind's header names its file number and parameters. */
#define BN_EPS 1e-5f

#define MODEL_MAX_LAYERS 64
#define MODEL_MAX_TENSORS 1024
#define MODEL_MAX_CLASSES 65536
#define MODEL_MAX_META 65536
#define MODEL_MAX_HIDDEN 4096
#define MODEL_MAX_CHANNELS 4096
#define MODEL_MAX_KERNEL 15
#define MODEL_MAX_PARAMS (200u << 20) /* 200 M floats */
/* Floats a convolution or pooling layer's output holds per input column (channels × rows):
   a few 1×1 weights may describe a 4096-channel map 256 rows tall, 16 GB at 4096 columns.
   The paper's model needs 2048; this leaves 16× room. */
#define MODEL_MAX_COLUMN_FLOATS 32768
#define MODEL_TENSOR_NAME_MAX 64
#define MODEL_LAYER_TENSORS 8 /* tensors of one layer at most (a bidirectional RNN's) */

typedef struct {
    char name[MODEL_TENSOR_NAME_MAX];
    int ndim;
    int dims[4];
    size_t offset; /* into model->params, in floats */
    size_t count;
} model_tensor;

typedef struct {
    int kind;  /* the kind's number in the file (src/layers/) */
    int p[8];  /* hyper-parameters exactly as in the file */
    /* derived geometry */
    int in_c, out_c; /* channels (maps) or features (sequences) */
    int in_h, out_h; /* map height (map layers only) */
    /* the layer's tensors: m->tensors[first_tensor ..], in its kind's declaration order */
    int first_tensor, n_tensors;
} model_layer;

struct crnn_model {
    int input_height, input_channels;
    float norm_mean, norm_std;
    int n_classes;
    uint32_t *charset; /* n_classes code points; [0] = 0 = blank */
    char *meta;        /* NUL-terminated, never NULL after build */
    int n_layers;
    model_layer layers[MODEL_MAX_LAYERS];
    int first_seq_layer; /* index of the first sequence layer (recurrent, linear) */
    int n_tensors;
    model_tensor tensors[MODEL_MAX_TENSORS];
    size_t n_params;
    float *params;
    int bn_folded; /* 1 once batch-norm has been folded for inference */
    int min_width; /* narrowest input that yields one output column */
};

/* A description of the architecture, as the trainer's --arch option or a model file gives it. */
typedef struct {
    int input_height, input_channels;
    float norm_mean, norm_std;
    int n_classes;
    const uint32_t *charset;
    int n_layers;
    struct {
        int kind;
        int p[8];
    } layers[MODEL_MAX_LAYERS];
    const char *meta;
} model_spec;

/* Validates spec, derives shapes, builds the tensor table and allocates zeroed parameters. */
crnn_model *model_build(const model_spec *spec, const char *name, crnn_error *err);
/* The same, refusing (CRNN_ERR_FORMAT, "truncated", before allocating them) more than
   max_params parameters: a file's remaining length bounds what it can hold. */
crnn_model *model_build_max(const model_spec *spec, const char *name, size_t max_params,
                            crnn_error *err);
/* Serialises model (f32, or f16 tensors when half is set) to a malloc'ed buffer. */
crnn_status model_serialize(const crnn_model *m, int half, unsigned char **out, size_t *size,
                            crnn_error *err);
/* Writes the model file atomically. */
crnn_status model_save(const crnn_model *m, const char *path, int half, crnn_error *err);
/* Parses a v1 file; batch-norm stays unfolded (for training). */
crnn_model *model_parse(const unsigned char *data, size_t size, const char *name,
                        crnn_error *err);
/* Folds batch-norm into the convolutions (inference); idempotent. */
void model_fold_batchnorm(crnn_model *m);
/* Values a layer cannot compute with (a negative batch-norm variance, a fold that overflows):
   NULL if there are none, else why ("tensor 'layer3.bn_var': ..."), written into why. */
const char *model_check_values(const crnn_model *m, char *why, size_t n);
/* First weights for every layer, each kind drawing from r in layer order. */
void model_init_layer_params(crnn_model *m, rng_t *r);
/* Output width of the CNN for an input of `width` columns (0 if too narrow). */
int model_output_width(const crnn_model *m, int width);
/* Deep copy. */
crnn_model *model_clone(const crnn_model *m, crnn_error *err);
const model_tensor *model_find_tensor(const crnn_model *m, const char *name);
/* Layer i's tensor "layer<i>.<suffix>" in params (laid out like m->params), or NULL. */
float *model_layer_tensor(const crnn_model *m, float *params, int i, const char *suffix);

#endif

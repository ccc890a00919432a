/* model.h — the in-memory model: charset, input geometry, layer list, and every parameter in
   one float allocation (a table of named tensors points into it). The same structure serves
   inference (batch-norm folded into the convolutions) and training (batch-norm kept, plus
   parallel gradient and optimiser buffers with the same offsets). */
#ifndef CRNN_MODEL_H
#define CRNN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "crnn.h"

enum layer_kind {
    LAYER_CONV = 1,
    LAYER_MAXPOOL = 2,
    LAYER_LSTM = 3,
    LAYER_GRU = 4,
    LAYER_LINEAR = 5,
};

#define CONV_FLAG_BN 1
#define CONV_FLAG_RELU 2
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

typedef struct {
    char name[MODEL_TENSOR_NAME_MAX];
    int ndim;
    int dims[4];
    size_t offset; /* into model->params, in floats */
    size_t count;
} model_tensor;

/* Offsets (in floats, into params) of a layer's tensors; SIZE_MAX when absent. */
typedef struct {
    int kind;
    int p[8]; /* hyper-parameters exactly as in the file */
    /* derived geometry */
    int in_c, out_c; /* channels (CNN) or features (sequence layers) */
    int in_h, out_h; /* map height (CNN layers only) */
    /* tensors */
    size_t weight, bias;                       /* conv, linear */
    size_t bn_weight, bn_bias, bn_mean, bn_var; /* conv with batch-norm */
    size_t rnn[2][4];                          /* [direction][w_ih, w_hh, b_ih, b_hh] */
} model_layer;

/* Accessors for hyper-parameters, named after their meaning. */
#define CONV_OUT(l) ((l)->p[0])
#define CONV_KH(l) ((l)->p[1])
#define CONV_KW(l) ((l)->p[2])
#define CONV_SH(l) ((l)->p[3])
#define CONV_SW(l) ((l)->p[4])
#define CONV_PH(l) ((l)->p[5])
#define CONV_PW(l) ((l)->p[6])
#define CONV_FLAGS(l) ((l)->p[7])
#define POOL_KH(l) ((l)->p[0])
#define POOL_KW(l) ((l)->p[1])
#define POOL_SH(l) ((l)->p[2])
#define POOL_SW(l) ((l)->p[3])
#define POOL_PH(l) ((l)->p[4])
#define POOL_PW(l) ((l)->p[5])
#define RNN_HIDDEN(l) ((l)->p[0])
#define RNN_BIDIR(l) ((l)->p[1])
#define LINEAR_OUT(l) ((l)->p[0])

struct crnn_model {
    int input_height, input_channels;
    float norm_mean, norm_std;
    int n_classes;
    uint32_t *charset; /* n_classes code points; [0] = 0 = blank */
    char *meta;        /* NUL-terminated, never NULL after build */
    int n_layers;
    model_layer layers[MODEL_MAX_LAYERS];
    int first_seq_layer; /* index of the first recurrent/linear layer */
    int n_tensors;
    model_tensor tensors[MODEL_MAX_TENSORS];
    size_t n_params;
    float *params;
    int bn_folded; /* 1 once batch-norm has been folded for inference */
    int min_width; /* narrowest input that yields one output column */
    int width_stride_num, width_stride_den; /* output columns ≈ width * num / den */
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
/* Output width of the CNN for an input of `width` columns (0 if too narrow). */
int model_output_width(const crnn_model *m, int width);
/* Deep copy. */
crnn_model *model_clone(const crnn_model *m, crnn_error *err);
const model_tensor *model_find_tensor(const crnn_model *m, const char *name);

#endif

/* fuzz_model.c — model files. Each input is loaded twice:
   1. as it is, through crnn_model_load_memory (magic, version, CRC, ...);
   2. with the magic, version and CRC-32 rewritten to be right, through model_parse, so that
      mutations reach the structural checks behind the checksum (counts, charset, layer
      hyper-parameters, tensor table) instead of all dying at "bad checksum".
   A model that loads must then describe itself and run one short image. */
#include "fuzz_common.h"

static void exercise(crnn_model *m) {
    char desc[256];
    crnn_model_describe(m, desc, sizeof desc);
    (void)crnn_model_metadata(m);
    for (int k = -1; k <= m->n_classes; k++) (void)crnn_model_class_codepoint(m, k);
    /* One forward pass on a 40-pixel-wide strip, small enough whatever the layer sizes the
       format's limits allow (the activations scale with the width). */
    crnn_error err;
    crnn_recognizer *rec = crnn_recognizer_new(m, &err);
    if (!rec) return;
    static uint8_t px[24 * 40];
    for (int i = 0; i < 24 * 40; i++) px[i] = (uint8_t)(i * 37 + (i / 40) * 11);
    crnn_image im = {40, 24, 40, px, 1};
    crnn_result res;
    if (crnn_recognize_image(rec, &im, NULL, &res) == CRNN_OK) crnn_result_free(&res);
    crnn_recognizer_free(rec);
}

/* The forward pass allocates activations of (channels × rows) per input column for every
   layer; the loader bounds that per layer (MODEL_MAX_COLUMN_FLOATS), but 64 layers at the
   bound still make each execution slow, and so do layers of many multiply-adds per column
   (a ConvRNN's windows cost far more than its output). Run the forward pass on the cheaper
   models only, so the fuzzer spends its time on parsing. */
static int moderate(const crnn_model *m) {
    long per_column = 0;
    double macs = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const model_layer *l = &m->layers[i];
        per_column += (long)l->out_c * (l->out_h > 0 ? l->out_h : 1);
        macs += layer_kind_of(l->kind)->macs(l);
    }
    return per_column <= 200000 && macs <= 2e7 && m->n_params <= 4000000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    crnn_error err;
    crnn_model *m = crnn_model_load_memory(data, size, "fuzz.crnn", &err);
    if (m) {
        if (moderate(m)) exercise(m);
        crnn_model_free(m);
    } else if (!strstr(err.message, "fuzz.crnn")) {
        abort(); /* every load error names the file */
    }
    if (size < 44) return 0;
    unsigned char *fixed = malloc(size);
    if (!fixed) return 0;
    memcpy(fixed, data, size);
    memcpy(fixed, "CRNN\x01\x00\x00\x00", 8);
    uint32_t crc = crc32_update(0, fixed, size - 4);
    for (int k = 0; k < 4; k++) fixed[size - 4 + k] = (unsigned char)(crc >> (8 * k));
    m = model_parse(fixed, size, "fixed.crnn", &err);
    if (m) {
        /* A model that parses must serialise back to exactly the bytes it came from (f32
           tensors) or at least reparse (f16 tensors round). */
        unsigned char *out;
        size_t n;
        if (model_serialize(m, 0, &out, &n, &err) == CRNN_OK) {
            crnn_model *again = model_parse(out, n, "again.crnn", &err);
            if (!again) abort();
            crnn_model_free(again);
            free(out);
        }
        model_fold_batchnorm(m);
        if (moderate(m)) exercise(m);
        crnn_model_free(m);
    } else if (!strstr(err.message, "fixed.crnn")) {
        abort();
    }
    free(fixed);
    return 0;
}

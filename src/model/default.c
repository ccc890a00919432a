/* default.c — the default model: the one built into the library, and the search that lets a
   model file given by the environment or installed beside the program take its place. */
#include <limits.h>
#include <stdlib.h>

#include "model/model.h"

/* scripts/embed-file.py writes these from models/en.crnn at build time (size 0 without it). */
extern const unsigned char model_builtin_data[];
extern const size_t model_builtin_size;

crnn_model *crnn_model_load_builtin(crnn_error *err) {
    if (model_builtin_size == 0) {
        set_error(err, CRNN_ERR_IO, "no built-in model: this library was built without "
                  "models/en.crnn; pass a model file or set OCR_CRNN_MODEL");
        return NULL;
    }
    return crnn_model_load_memory(model_builtin_data, model_builtin_size, "built-in model",
                                  err);
}

crnn_model *crnn_model_load_default(crnn_error *err) {
    const char *env = getenv("OCR_CRNN_MODEL");
    if (env && *env) {
        crnn_error e;
        crnn_model *m = crnn_model_load(env, &e);
        /* The message names the variable: the user may have forgotten it is set. */
        if (!m) set_error(err, e.code, "OCR_CRNN_MODEL: %s", e.message);
        return m;
    }
    char path[PATH_MAX + 64];
    if (data_file_find("models/en.crnn", "default.crnn", path, sizeof path))
        return crnn_model_load(path, err);
    return crnn_model_load_builtin(err);
}

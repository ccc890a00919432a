/* error.c — filling crnn_error, status names. */
#include <stdarg.h>
#include <stdio.h>

#include "util/util.h"

crnn_status set_error(crnn_error *err, crnn_status code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *crnn_status_name(crnn_status status) {
    switch (status) {
    case CRNN_OK: return "ok";
    case CRNN_ERR_IO: return "i/o error";
    case CRNN_ERR_FORMAT: return "malformed file";
    case CRNN_ERR_IMAGE: return "cannot decode image";
    case CRNN_ERR_LIMIT: return "limit exceeded";
    case CRNN_ERR_NOMEM: return "out of memory";
    case CRNN_ERR_ARG: return "invalid argument";
    case CRNN_ERR_DIVERGED: return "training diverged";
    }
    return "unknown error";
}

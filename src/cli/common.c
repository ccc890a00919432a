/* common.c — model loading, the generator's default backgrounds, JSON strings, number parsing,
   usage hints. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

const char *cli_default_backgrounds(char *buf, size_t size) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return NULL;
    *slash = 0;
    /* build/ocr-crnn in a checkout: the project is the executable's parent folder */
    snprintf(buf, size, "%s/../../shared/data/backgrounds/svt-train-scenes", exe);
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) return NULL;
    char *real = realpath(buf, NULL); /* printed in logs and run.conf: no "build/../.." */
    if (real) {
        snprintf(buf, size, "%s", real);
        free(real);
    }
    return buf;
}

crnn_model *cli_load_model(const char *path) {
    crnn_error err;
    crnn_model *m = path ? crnn_model_load(path, &err) : crnn_model_load_default(&err);
    if (!m) fprintf(stderr, "ocr-crnn: %s\n", err.message);
    return m;
}

void json_write_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

long cli_parse_long(const char *s, long lo, long hi) {
    if (!s || !*s) return -1;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    return v;
}

void cli_usage_hint(const char *command) {
    fprintf(stderr, "Try 'ocr-crnn%s%s --help' for the options.\n", command ? " " : "",
            command ? command : "");
}

int cli_num_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

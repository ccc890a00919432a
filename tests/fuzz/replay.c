/* replay.c — runs files through a fuzz target's LLVMFuzzerTestOneInput without libFuzzer, so the
   seed corpus and every regression input run in the normal test suite (and under ASan/UBSan in
   scripts/run-tests): `replay_TARGET PATH...`, where each PATH is a file or a folder of files.
   Exits 0 when every input ran to completion; a crash is the failure. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crnn.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
    unsigned char *data;
    size_t size;
    crnn_error err;
    if (read_file(path, 64u << 20, &data, &size, &err) != CRNN_OK) {
        fprintf(stderr, "replay: %s\n", err.message);
        return 0;
    }
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 1;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    long ran = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: no such file or folder\n", argv[i]);
            failed++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i])) ran++;
            else failed++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "replay: %s: cannot open folder\n", argv[i]);
            failed++;
            continue;
        }
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || !strcmp(e->d_name, "README")) continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                char **nn = realloc(names, cap * sizeof *names);
                if (!nn) abort();
                names = nn;
            }
            names[n] = strdup(e->d_name);
            if (!names[n]) abort();
            n++;
        }
        closedir(d);
        if (n) qsort(names, n, sizeof *names, cmp); /* same order every run */
        for (size_t k = 0; k < n; k++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], names[k]);
            if (run_file(path)) ran++;
            else failed++;
            free(names[k]);
        }
        free(names);
    }
    fprintf(stderr, "replay: %ld inputs ran, %ld could not be read\n", ran, failed);
    return failed ? 1 : 0;
}

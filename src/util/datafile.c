/* datafile.c — where the files that come with ocr-crnn (the default model, lexicons) are
   found: beside the running program or the shared library first, so that a build tree uses
   its own files and an installed prefix still works after being moved, then where the library
   was installed. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

#ifndef CRNN_DATA_DIR
#define CRNN_DATA_DIR "/usr/local/share/ocr-crnn"
#endif

static int readable(const char *p) { return access(p, R_OK) == 0; }

/* Cuts path at its last '/': the folder. 0 if it has none. */
static int folder_of(char *path) {
    char *slash = strrchr(path, '/');
    if (!slash) return 0;
    *slash = 0;
    return 1;
}

/* Tries each "FOLDER/format" in turn; 1 with buf filled when one is readable. */
static int try_beside(const char *folder, const char *const *fmt, const char *const *name,
                      int n, char *buf, size_t size) {
    for (int i = 0; i < n; i++)
        if ((size_t)snprintf(buf, size, fmt[i], folder, name[i]) < size && readable(buf))
            return 1;
    return 0;
}

const char *data_file_find(const char *tree_path, const char *installed_name, char *buf,
                           size_t size) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        /* build/ocr-crnn in a checkout, PREFIX/bin/ocr-crnn, ocr-crnn in a checkout */
        const char *fmt[] = {"%s/../%s", "%s/../share/ocr-crnn/%s", "%s/%s"};
        const char *name[] = {tree_path, installed_name, tree_path};
        if (folder_of(exe) && try_beside(exe, fmt, name, 3, buf, size)) return buf;
    }
    /* The shared library, when the program is another one (Python): build/libcrnn.so,
       PREFIX/lib/libcrnn.so, PREFIX/lib/x86_64-linux-gnu/libcrnn.so. In a static link the
       library's code is the program's, found above. */
    Dl_info info;
    char lib[PATH_MAX];
    if (dladdr((void *)data_file_find, &info) && info.dli_fname && info.dli_fname[0] == '/' &&
        (size_t)snprintf(lib, sizeof lib, "%s", info.dli_fname) < sizeof lib &&
        folder_of(lib) && (n <= 0 || strcmp(lib, exe) != 0)) {
        const char *fmt[] = {"%s/../%s", "%s/../share/ocr-crnn/%s",
                             "%s/../../share/ocr-crnn/%s"};
        const char *name[] = {tree_path, installed_name, installed_name};
        if (try_beside(lib, fmt, name, 3, buf, size)) return buf;
    }
    if ((size_t)snprintf(buf, size, "%s/%s", CRNN_DATA_DIR, installed_name) < size &&
        readable(buf))
        return buf;
    return NULL;
}

const char *data_dir(void) { return CRNN_DATA_DIR; }

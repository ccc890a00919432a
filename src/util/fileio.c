/* fileio.c — whole-file reads with a size cap, and atomic writes (tmp + fsync + rename). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/util.h"

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

crnn_status read_file(const char *path, size_t max_bytes, unsigned char **data, size_t *size,
                      crnn_error *err) {
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return set_error(err, CRNN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        int is_dir = S_ISDIR(st.st_mode);
        fclose(f);
        return set_error(err, CRNN_ERR_IO, "%s: %s", path,
                         is_dir ? "is a directory" : "not a regular file");
    }
    if ((unsigned long long)st.st_size > max_bytes) {
        fclose(f);
        return set_error(err, CRNN_ERR_LIMIT, "%s: file is %lld bytes, limit is %zu", path,
                         (long long)st.st_size, max_bytes);
    }
    size_t cap = (size_t)st.st_size;
    unsigned char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return set_error(err, CRNN_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, cap);
    }
    size_t got = fread(buf, 1, cap, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return set_error(err, CRNN_ERR_IO, "%s: read error", path);
    }
    buf[got] = 0;
    *data = buf;
    *size = got;
    return CRNN_OK;
}

crnn_status write_file_atomic(const char *path, const void *data, size_t size, crnn_error *err) {
    size_t n = strlen(path);
    char *tmp = malloc(n + 32);
    if (!tmp) return set_error(err, CRNN_ERR_NOMEM, "%s: out of memory", path);
    snprintf(tmp, n + 32, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        crnn_status s = set_error(err, CRNN_ERR_IO, "%s: cannot create %s: %s", path, tmp,
                                  strerror(errno));
        free(tmp);
        return s;
    }
    const unsigned char *p = data;
    size_t left = size;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            free(tmp);
            return set_error(err, CRNN_ERR_IO, "%s: write failed: %s (previous file kept)", path,
                             strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return set_error(err, CRNN_ERR_IO, "%s: flush failed: %s (previous file kept)", path,
                         strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return set_error(err, CRNN_ERR_IO, "%s: rename failed: %s (previous file kept)", path,
                         strerror(e));
    }
    /* fsync the folder so the rename itself survives a power cut (its name is worked out in
       tmp, which is long enough, so nothing can fail to allocate after the rename). */
    memcpy(tmp, path, n + 1);
    int dfd = open(dirname(tmp), O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(tmp);
    return CRNN_OK;
}

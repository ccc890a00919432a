/* test_disk_full.c — training whose output cannot be written: a file-size limit (EFBIG), a full
   file system (ENOSPC, a 1 MB tmpfs) and a read-only one (EROFS) must each stop crnn_train
   with CRNN_ERR_IO and a message naming the file and the reason, leave the last good
   checkpoint and best model byte for byte as they were, leave no temporary files, and let a
   later run resume from that checkpoint once there is room again.

   The tmpfs part needs a private mount namespace (root or CAP_SYS_ADMIN, as in CI); elsewhere
   it is skipped with a message and the file-size-limit part still runs. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crnn.h"
#include "synth/synth.h"
#include "test.h"
#include "util/util.h"

static char tmp_root[256];
static char data_tsv[600];

static void make_data(const char *dir) {
    synth_config c = synth_default_config();
    const char *no_backgrounds[] = {NULL};
    c.seed = 5;
    c.background_dirs = no_backgrounds;
    c.max_label_len = 6;
    crnn_error err;
    synth *s = synth_new(&c, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (!s) return;
    CHECK_MSG(synth_write_dir(s, dir, 12, &err) == CRNN_OK, "%s", err.message);
    synth_free(s);
}

static void quiet(void *user, const char *line) { (void)user, (void)line; }

/* A tiny model, a checkpoint after every step. */
static crnn_train_options options(const char *run, long steps, int resume) {
    crnn_train_options o = crnn_train_default_options();
    o.arch = "c4 m2 c4 m2x2s2x1p0x1 c4k2p0 bilstm8";
    o.charset = "ascii";
    o.input_height = 16;
    o.n_sources = 1;
    o.sources[0] = data_tsv;
    o.weights[0] = 1;
    o.batch_size = 4;
    o.steps = steps;
    o.warmup = 1;
    o.threads = 1;
    o.run_dir = run;
    o.resume = resume;
    o.checkpoint_seconds = 0;
    o.log = quiet;
    return o;
}

typedef struct {
    unsigned char *data;
    size_t size;
} snapshot;

static snapshot take(const char *run, const char *name) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s", run, name);
    snapshot s = {NULL, 0};
    crnn_error err;
    CHECK_MSG(read_file(path, 1u << 30, &s.data, &s.size, &err) == CRNN_OK, "%s", err.message);
    return s;
}

static int same(const snapshot *a, const char *run, const char *name) {
    snapshot b = take(run, name);
    int eq = a->data && b.data && a->size == b.size && !memcmp(a->data, b.data, a->size);
    free(b.data);
    return eq;
}

static int temporaries(const char *run) {
    DIR *d = opendir(run);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    if (d) closedir(d);
    return n;
}

/* Resumes run for two more steps expecting an I/O failure whose message holds `reason`; then
   the checkpoint and best model must be untouched and no temporary left. */
static void expect_io_failure(const char *run, const char *reason) {
    snapshot ckpt = take(run, "checkpoint.bin"), best = take(run, "best.crnn");
    crnn_train_options o = options(run, 1000, 1);
    crnn_error err;
    crnn_status s = crnn_train(&o, &err);
    CHECK_MSG(s == CRNN_ERR_IO, "%s: got %s: %s", reason, crnn_status_name(s),
              s ? err.message : "no error");
    if (s != CRNN_OK) {
        fprintf(stderr, "  %s: %s\n", reason, err.message);
        CHECK_MSG(strstr(err.message, run) != NULL, "message names no file: %s", err.message);
        CHECK_MSG(strstr(err.message, reason) != NULL, "no '%s' in: %s", reason, err.message);
    }
    CHECK_MSG(same(&ckpt, run, "checkpoint.bin"), "%s: checkpoint.bin changed", reason);
    CHECK_MSG(same(&best, run, "best.crnn"), "%s: best.crnn changed", reason);
    CHECK_MSG(temporaries(run) == 0, "%s: temporary files left in %s", reason, run);
    free(ckpt.data);
    free(best.data);
}

static void expect_resume_ok(const char *run) {
    crnn_train_options o = options(run, 8, 1);
    crnn_error err;
    crnn_status s = crnn_train(&o, &err);
    CHECK_MSG(s == CRNN_OK, "resume after the failure: %s", s ? err.message : "");
}

/* RLIMIT_FSIZE below the checkpoint's size: write() fails with EFBIG (SIGXFSZ ignored). */
static void test_file_size_limit(void) {
    char run[512];
    snprintf(run, sizeof run, "%s/fsize-run", tmp_root);
    crnn_train_options o = options(run, 3, 0);
    crnn_error err;
    CHECK_MSG(crnn_train(&o, &err) == CRNN_OK, "%s", err.message);
    snapshot ckpt = take(run, "checkpoint.bin");
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = ckpt.size / 2; /* log lines still fit, a checkpoint does not */
    free(ckpt.data);
    signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    expect_io_failure(run, "checkpoint.bin: write failed: File too large");
    /* not one more byte anywhere: the log, written first, reports it */
    char log[600];
    struct stat st;
    snprintf(log, sizeof log, "%s/log.csv", run);
    CHECK(stat(log, &st) == 0);
    lim.rlim_cur = (rlim_t)st.st_size;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    expect_io_failure(run, "log.csv: cannot write: File too large");
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, SIG_DFL);
    expect_resume_ok(run);
}

/* Fills the file system holding dir until nothing more fits. */
static void fill(const char *dir) {
    char path[700];
    snprintf(path, sizeof path, "%s/filler", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    static char block[4096];
    while (fd >= 0 && write(fd, block, sizeof block) > 0) {
    }
    while (fd >= 0 && write(fd, block, 1) > 0) { /* the last partial block */
    }
    if (fd >= 0) close(fd);
}

/* In a child: a private mount namespace with a 1 MB tmpfs. Exit 77 = cannot, skipped. */
static int tmpfs_child(void) {
    if (unshare(CLONE_NEWNS) != 0) return 77;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return 77;
    char mnt[512], run[600];
    snprintf(mnt, sizeof mnt, "%s/small-fs", tmp_root);
    mkdir(mnt, 0755);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0) return 77;
    snprintf(run, sizeof run, "%s/run", mnt);
    crnn_train_options o = options(run, 3, 0);
    crnn_error err;
    CHECK_MSG(crnn_train(&o, &err) == CRNN_OK, "%s", err.message);

    fill(mnt);
    expect_io_failure(run, "No space left on device");
    char filler[700];
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    unlink(filler);
    expect_resume_ok(run);

    /* an output folder that cannot be written at all */
    CHECK(mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0);
    expect_io_failure(run, "Read-only file system");
    CHECK(mount(NULL, mnt, NULL, MS_REMOUNT, "size=1m") == 0);
    expect_resume_ok(run);
    umount2(mnt, MNT_DETACH);
    return test_failures ? 1 : 0;
}

static void test_full_and_readonly_fs(void) {
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) _exit(tmpfs_child());
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
        fprintf(stderr, "test_full_and_readonly_fs: skipped: cannot mount a tmpfs in a private "
                        "mount namespace (needs root or CAP_SYS_ADMIN)\n");
        return;
    }
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
}

/* Not root: permissions apply, so a run folder made read-only must fail the same way. */
static void test_readonly_folder(void) {
    if (geteuid() == 0) {
        fprintf(stderr, "test_readonly_folder: skipped as root (permissions do not apply; the "
                        "read-only tmpfs above covers it)\n");
        return;
    }
    char run[512];
    snprintf(run, sizeof run, "%s/ro-run", tmp_root);
    crnn_train_options o = options(run, 3, 0);
    crnn_error err;
    CHECK_MSG(crnn_train(&o, &err) == CRNN_OK, "%s", err.message);
    chmod(run, 0555);
    expect_io_failure(run, "Permission denied");
    chmod(run, 0755);
    expect_resume_ok(run);
}

int main(void) {
    snprintf(tmp_root, sizeof tmp_root, "/tmp/crnn-diskfull.XXXXXX");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    char data[512];
    snprintf(data, sizeof data, "%s/data", tmp_root);
    make_data(data);
    snprintf(data_tsv, sizeof data_tsv, "%s/labels.tsv", data);
    RUN(test_full_and_readonly_fs);
    RUN(test_file_size_limit);
    RUN(test_readonly_folder);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_root);
    TEST_EXIT();
}

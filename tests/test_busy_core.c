/* test_busy_core.c — one image shared between two threads must not get much slower than one
   thread alone when one of the two cores it runs on is busy with another program.

   Waiting threads that spin keep a core from the thread that has work (issue #17 measured one
   image at 160–330 ms on two threads against 10–17 ms on one). The process is pinned to two
   CPUs, a busy loop is pinned to one of them, and the shipped model reads a sample alternately
   on one and on two threads: both measured in the same conditions, medians compared with a
   generous factor, so a loaded machine makes both slower but not the ratio fail. Skipped (77)
   where fewer than two CPUs are available or models/en.crnn is absent. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crnn.h"
#include "test.h"

#define ROUNDS 25
/* Two threads on a core and a half may be somewhat slower than one thread on a whole core;
   spinning waiters made them ten times slower. */
#define ALLOWED_FACTOR 2.0

static atomic_int stop_busy;

static void *busy_loop(void *arg) {
    (void)arg;
    volatile unsigned long x = 0;
    while (!atomic_load_explicit(&stop_busy, memory_order_relaxed)) x++;
    return NULL;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double read_once(crnn_recognizer *rec, const crnn_image *im) {
    crnn_params params = crnn_default_params();
    crnn_result res;
    double t0 = now_ms();
    crnn_status s = crnn_recognize_image(rec, im, &params, &res);
    double ms = now_ms() - t0;
    CHECK(s == CRNN_OK);
    crnn_result_free(&res);
    return ms;
}

/* Medians of ROUNDS single-image latencies on 1 and on 2 threads, taken alternately. */
static void measure(crnn_recognizer *one, crnn_recognizer *both, const crnn_image *im,
                    double *m1, double *m2) {
    double t1[ROUNDS], t2[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        t1[r] = read_once(one, im);
        t2[r] = read_once(both, im);
    }
    qsort(t1, ROUNDS, sizeof(double), cmp_double);
    qsort(t2, ROUNDS, sizeof(double), cmp_double);
    *m1 = t1[ROUNDS / 2];
    *m2 = t2[ROUNDS / 2];
}

int main(void) {
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) < 2) {
        fprintf(stderr, "fewer than two CPUs available: skipped\n");
        return 77;
    }
    int cpus[2], n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
        if (CPU_ISSET(c, &allowed)) cpus[n++] = c;
    crnn_error err;
    crnn_model *model = crnn_model_load("models/en.crnn", &err);
    if (!model) {
        fprintf(stderr, "%s: skipped\n", err.message);
        return 77;
    }
    uint8_t *px;
    int w, h;
    if (crnn_image_decode_file("samples/assertions.png", &px, &w, &h, &err) != CRNN_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    crnn_image im = {w, h, w, px, 1};

    /* The whole process on two CPUs (threads created later inherit it), the busy loop on the
       first of them: the two-core machine with one core taken, wherever the test runs. */
    cpu_set_t two;
    CPU_ZERO(&two);
    CPU_SET(cpus[0], &two);
    CPU_SET(cpus[1], &two);
    CHECK(sched_setaffinity(0, sizeof two, &two) == 0);
    crnn_recognizer *one = crnn_recognizer_new(model, &err);
    crnn_recognizer *both = crnn_recognizer_new(model, &err);
    crnn_recognizer_set_threads(both, 2);
    pthread_t busy;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    cpu_set_t first;
    CPU_ZERO(&first);
    CPU_SET(cpus[0], &first);
    pthread_attr_setaffinity_np(&attr, sizeof first, &first);
    CHECK(pthread_create(&busy, &attr, busy_loop, NULL) == 0);
    pthread_attr_destroy(&attr);

    read_once(one, &im); /* warm-up: buffers grown, threads started */
    read_once(both, &im);
    /* A timing can be unlucky on a loaded machine: one more try before failing. */
    double m1 = 0, m2 = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        measure(one, both, &im, &m1, &m2);
        fprintf(stderr, "one core busy: median %.2f ms on 1 thread, %.2f ms on 2 threads "
                "(%.2fx)\n", m1, m2, m2 / m1);
        if (m2 <= ALLOWED_FACTOR * m1) break;
    }
    atomic_store(&stop_busy, 1);
    pthread_join(busy, NULL);
    CHECK_MSG(m2 <= ALLOWED_FACTOR * m1, "2 threads took %.2f ms, 1 thread %.2f ms", m2, m1);

    crnn_recognizer_free(one);
    crnn_recognizer_free(both);
    crnn_model_free(model);
    free(px);
    TEST_EXIT();
}

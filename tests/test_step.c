/* test_step.c — one training step's gradients over worker threads (src/train/step.c).

   Without batch-norm the batch's loss and gradients do not depend on how it is shared: 1, 2
   and 3 workers must agree (up to the order in which floats are summed), for grey models and
   for colour ones, whose batch input holds one plane per channel over all the images — each
   worker has to gather its images' columns of every plane. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "test.h"
#include "train/loader.h"
#include "train/train.h"

#define N 5

static void check_sharing(int channels) {
    crnn_error err;
    /* no batch-norm ('n'): each share would otherwise normalise with its own statistics */
    crnn_model *m = model_from_arch("c6n m2 c8n m2x2s2x1p0x1 c8k2p0n bigru6", "alnum", 16,
                                    channels, 11, &err);
    CHECK_MSG(m != NULL, "%s", err.message);
    if (!m) return;
    static const int widths[N] = {40, 23, 61, 17, 35};
    static const char *const texts[N] = {"ab", "c1", "xyz", "q", "h2o"};
    uint8_t *px[N];
    crnn_image im[N];
    for (int i = 0; i < N; i++) {
        size_t n = (size_t)16 * widths[i] * channels;
        px[i] = malloc(n);
        for (size_t k = 0; k < n; k++) px[i][k] = (uint8_t)(k * 29 + (size_t)i * 71 + k / 7);
        crnn_image one = {widths[i], 16, widths[i] * channels, px[i], channels};
        im[i] = one;
    }
    train_batch *b = batch_from_images(m, im, texts, N, &err);
    CHECK_MSG(b != NULL, "%s", err.message);
    float *ref = malloc(m->n_params * sizeof(float));
    double ref_loss = 0;
    for (int workers = 1; workers <= 3 && b; workers++) {
        train_workers *tw = train_workers_new(m, workers, &err);
        step_stats st;
        float *grads;
        CHECK(tw && train_workers_run(tw, m, b, -1.0f, &st, &grads, &err) == CRNN_OK);
        CHECK(st.counted == N && isfinite(st.loss));
        if (workers == 1) {
            memcpy(ref, grads, m->n_params * sizeof(float));
            ref_loss = st.loss;
        } else {
            double worst = 0;
            for (size_t k = 0; k < m->n_params; k++)
                worst = fmax(worst, fabs(grads[k] - ref[k]) / (1e-4 + fabs(ref[k])));
            CHECK_MSG(fabs(st.loss - ref_loss) <= 1e-4 * ref_loss && worst <= 1e-3,
                      "%d channels, %d workers: loss %.6f (one worker: %.6f), gradients differ "
                      "by %.3g relative", channels, workers, st.loss, ref_loss, worst);
        }
        train_workers_free(tw);
    }
    free(ref);
    train_batch_free(b);
    for (int i = 0; i < N; i++) free(px[i]);
    crnn_model_free(m);
}

static void test_sharing_grey(void) { check_sharing(1); }
static void test_sharing_colour(void) { check_sharing(3); }

int main(void) {
    RUN(test_sharing_grey);
    RUN(test_sharing_colour);
    TEST_EXIT();
}

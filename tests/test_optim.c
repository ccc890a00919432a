/* test_optim.c — optimisers, clipping and schedules against their textbook formulas, and the
   architecture-string parser. */
#include <math.h>
#include <string.h>

#include "layers/conv.h"
#include "layers/linear.h"
#include "layers/maxpool.h"
#include "layers/recurrent.h"
#include "model/model.h"
#include "test.h"
#include "train/train.h"

static void test_adam(void) {
    optimizer o;
    crnn_error err;
    CHECK(optimizer_init(&o, OPT_ADAM, 3, &err) == CRNN_OK);
    float p[3] = {1.0f, -2.0f, 0.5f};
    uint8_t mask[3] = {1, 0, 1};
    double m[3] = {0}, v[3] = {0}, ref[3] = {1.0, -2.0, 0.5};
    const double lr = 0.01, wd = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    for (int t = 1; t <= 5; t++) {
        float g[3] = {0.3f * t, -0.7f, 0.01f * t * t};
        optimizer_step(&o, p, g, mask, (float)lr, (float)wd);
        for (int i = 0; i < 3; i++) {
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            double mh = m[i] / (1 - pow(b1, t)), vh = v[i] / (1 - pow(b2, t));
            ref[i] -= lr * (mh / (sqrt(vh) + eps) + (mask[i] ? wd * ref[i] : 0));
        }
    }
    for (int i = 0; i < 3; i++) CHECK_NEAR(p[i], ref[i], 1e-5);
    optimizer_free(&o);
}

static void test_adadelta(void) {
    optimizer o;
    crnn_error err;
    CHECK(optimizer_init(&o, OPT_ADADELTA, 2, &err) == CRNN_OK);
    float p[2] = {0.5f, -1.0f};
    double eg[2] = {0}, ex[2] = {0}, ref[2] = {0.5, -1.0};
    const double rho = 0.9, eps = 1e-6;
    for (int t = 1; t <= 6; t++) {
        float g[2] = {0.2f * t, -0.05f};
        optimizer_step(&o, p, g, NULL, 1.0f, 0.0f);
        for (int i = 0; i < 2; i++) {
            eg[i] = rho * eg[i] + (1 - rho) * g[i] * g[i];
            double dx = -sqrt(ex[i] + eps) / sqrt(eg[i] + eps) * g[i];
            ex[i] = rho * ex[i] + (1 - rho) * dx * dx;
            ref[i] += dx;
        }
    }
    for (int i = 0; i < 2; i++) CHECK_NEAR(p[i], ref[i], 1e-6);
    optimizer_free(&o);
}

static void test_clip(void) {
    float g[4] = {3, 4, 0, 0};
    double n = clip_grad_norm(g, 4, 1.0);
    CHECK_NEAR(n, 5.0, 1e-9);
    CHECK_NEAR(g[0], 0.6, 1e-6);
    CHECK_NEAR(g[1], 0.8, 1e-6);
    float h[2] = {0.3f, 0.4f};
    clip_grad_norm(h, 2, 1.0);
    CHECK_NEAR(h[0], 0.3, 1e-7); /* under the limit: untouched */
}

static void test_schedule(void) {
    CHECK_NEAR(lr_at(SCHED_COSINE, 1e-3f, 1e-5f, 0, 100, 1000), 1e-5, 1e-9);
    CHECK_NEAR(lr_at(SCHED_COSINE, 1e-3f, 1e-5f, 99, 100, 1000), 1e-3, 1e-9);
    CHECK_NEAR(lr_at(SCHED_COSINE, 1e-3f, 1e-5f, 100, 100, 1000), 1e-3, 1e-9);
    CHECK_NEAR(lr_at(SCHED_COSINE, 1e-3f, 1e-5f, 550, 100, 1000), (1e-3 + 1e-5) / 2, 1e-8);
    CHECK_NEAR(lr_at(SCHED_COSINE, 1e-3f, 1e-5f, 1000, 100, 1000), 1e-5, 1e-9);
    CHECK_NEAR(lr_at(SCHED_COSINE, 1e-3f, 1e-5f, 5000, 100, 1000), 1e-5, 1e-9);
    CHECK_NEAR(lr_at(SCHED_ONECYCLE, 1e-3f, 0, 0, 100, 1000), 1e-3 / 25, 1e-9);
    CHECK_NEAR(lr_at(SCHED_ONECYCLE, 1e-3f, 0, 100, 100, 1000), 1e-3, 1e-9);
    CHECK_NEAR(lr_at(SCHED_ONECYCLE, 1e-3f, 0, 1000, 100, 1000), 1e-7, 1e-10);
    CHECK_NEAR(lr_at(SCHED_CONSTANT, 1e-3f, 0, 50000, 100, 1000), 1e-3, 1e-9);
    float prev = 1;
    int monotone = 1;
    for (long s = 100; s <= 1000; s += 10) {
        float lr = lr_at(SCHED_COSINE, 1e-3f, 1e-5f, s, 100, 1000);
        monotone &= lr <= prev;
        prev = lr;
    }
    CHECK(monotone);
}

static void test_arch(void) {
    model_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.n_classes = 37;
    crnn_error err;
    CHECK(arch_parse("c64 m2 c128k3x1s1x2p1x0n m2x2s2x1p0x1 bilstm256 gru64", &spec, &err) == CRNN_OK);
    CHECK(spec.n_layers == 7); /* six written + the linear head */
    CHECK(spec.layers[0].kind == LAYER_CONV && spec.layers[0].p[0] == 64 && spec.layers[0].p[1] == 3 &&
          spec.layers[0].p[5] == 1 && spec.layers[0].p[7] == (CONV_FLAG_BN | CONV_FLAG_RELU));
    CHECK(spec.layers[2].p[1] == 3 && spec.layers[2].p[2] == 1 && spec.layers[2].p[3] == 1 &&
          spec.layers[2].p[4] == 2 && spec.layers[2].p[5] == 1 && spec.layers[2].p[6] == 0 &&
          spec.layers[2].p[7] == CONV_FLAG_RELU);
    CHECK(spec.layers[3].kind == LAYER_MAXPOOL && spec.layers[3].p[2] == 2 && spec.layers[3].p[3] == 1 &&
          spec.layers[3].p[5] == 1);
    CHECK(spec.layers[4].kind == LAYER_LSTM && spec.layers[4].p[0] == 256 && spec.layers[4].p[1] == 1);
    CHECK(spec.layers[5].kind == LAYER_LSTM + 1 && spec.layers[5].p[1] == 0);
    CHECK(spec.layers[6].kind == LAYER_LINEAR && spec.layers[6].p[0] == 37);
    CHECK(arch_parse("c64 x9", &spec, &err) == CRNN_ERR_ARG && strstr(err.message, "x9"));
    CHECK(arch_parse("", &spec, &err) == CRNN_ERR_ARG);
    CHECK(arch_parse("paper", &spec, &err) == CRNN_OK && spec.n_layers == 14);

    /* Depthwise: "dw" takes its channels from the layer before, 3×3 "same" with BN + ReLU
       unless told otherwise; its weights are [C, 1, kh, kw]; a file that asks for other
       than C channels out is refused. */
    uint32_t cs[100];
    CHECK(charset_build("alnum", cs, 99, &err) == 37);
    spec.charset = cs;
    spec.input_height = 16;
    spec.input_channels = 1;
    spec.norm_std = 0.5f;
    CHECK(arch_parse("c8 dw c12k1 m2 dwk3x5s2x1n bilstm8", &spec, &err) == CRNN_OK);
    CHECK(spec.layers[1].kind == LAYER_CONV && spec.layers[1].p[0] == 0 &&
          spec.layers[1].p[1] == 3 && spec.layers[1].p[5] == 1 &&
          spec.layers[1].p[7] == (CONV_FLAG_BN | CONV_FLAG_RELU | CONV_FLAG_DEPTHWISE));
    CHECK(spec.layers[4].p[2] == 5 && spec.layers[4].p[3] == 2 && spec.layers[4].p[4] == 1 &&
          spec.layers[4].p[6] == 2 && spec.layers[4].p[7] == (CONV_FLAG_RELU | CONV_FLAG_DEPTHWISE));
    crnn_model *m = model_build(&spec, "arch", &err);
    CHECK_MSG(m != NULL, "%s", err.message);
    if (m) {
        CHECK(m->layers[1].out_c == 8 && m->layers[1].p[0] == 8 && m->layers[4].out_c == 12);
        CHECK(m->layers[4].out_h == 4); /* 16 → pool 8 → stride 2: 4 */
        const model_tensor *w1 = NULL;
        for (int t = 0; t < m->n_tensors; t++)
            if (!strcmp(m->tensors[t].name, "layer1.weight")) w1 = &m->tensors[t];
        CHECK(w1 && w1->ndim == 4 && w1->dims[0] == 8 && w1->dims[1] == 1 && w1->dims[2] == 3 &&
              w1->dims[3] == 3);
        crnn_model_free(m);
    }
    spec.layers[1].p[0] = 6;
    CHECK(model_build(&spec, "arch", &err) == NULL && strstr(err.message, "depthwise") &&
          strstr(err.message, "6 channels out of 8"));
    CHECK(arch_parse("c8 dw5", &spec, &err) == CRNN_ERR_ARG && strstr(err.message, "dw5") &&
          strstr(err.message, "dw[k..]"));
    memset(&spec, 0, sizeof spec);
    spec.n_classes = 37;
    CHECK(charset_build("alnum", cs, 99, &err) == 37 && cs[0] == 0 && cs[1] == '0');
    CHECK(charset_build("ascii", cs, 99, &err) == 96);
    CHECK(charset_build("greek", cs, 99, &err) < 0);
}

int main(void) {
    RUN(test_adam);
    RUN(test_adadelta);
    RUN(test_clip);
    RUN(test_schedule);
    RUN(test_arch);
    TEST_EXIT();
}

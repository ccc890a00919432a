/* test_layers.c — every layer of src/nn against plain-loop references written here.

   Forward: each layer's float output against a double-precision reference that follows the
   textbook definition (PyTorch's conventions), on random shapes with odd and mixed widths and
   batches > 1; plus the batching invariants the engine relies on — an image's (or sequence's)
   result must not depend on what else is in its batch.

   Backward: the same double references are differentiated by central differences (eps 1e-6 in
   double, so the numeric gradient is accurate to ~1e-9) for the loss L = Σ out · R with a
   random R; the layer's float backward must match for every input and parameter element.
   Every gradient buffer starts from a random "prior" value, and backward is called twice: the
   result must be prior + g, then prior + 2g, which proves the documented += accumulation.

   Scratch and output buffers are allocated exactly at their documented sizes and followed by a
   guard zone that must survive, so a layer writing past what its header promises is caught. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layer_check.h"
#include "model/model.h"
#include "nn/fastmath.h"
#include "nn/nn.h"
#include "test.h"

/* ---------------------------------------------------------------------------------------- */
/* conv2d                                                                                   */

static void ref_conv(double *out, const double *inp, const double *wt, const double *bias,
                     int cin, int cout, window2d k, const geo *gi, const geo *go) {
    for (int b = 0; b < gi->n; b++)
        for (int o = 0; o < cout; o++)
            for (int oy = 0; oy < go->h; oy++)
                for (int ox = 0; ox < go->w[b]; ox++) {
                    double s = bias[o];
                    for (int c = 0; c < cin; c++)
                        for (int ki = 0; ki < k.kh; ki++)
                            for (int kj = 0; kj < k.kw; kj++) {
                                int iy = oy * k.sh - k.ph + ki, ix = ox * k.sw - k.pw + kj;
                                if (iy < 0 || iy >= gi->h || ix < 0 || ix >= gi->w[b]) continue;
                                s += wt[((size_t)(o * cin + c) * k.kh + ki) * k.kw + kj] *
                                     inp[(size_t)c * gi->total + gi->off[b] +
                                         (size_t)iy * gi->w[b] + ix];
                            }
                    out[(size_t)o * go->total + go->off[b] + (size_t)oy * go->w[b] + ox] = s;
                }
}

typedef struct {
    int cin, cout;
    window2d k;
} conv_cfg;

static const conv_cfg conv_cfgs[] = {
    {2, 3, {3, 3, 1, 1, 1, 1}}, /* the CRNN 3×3 */
    {3, 4, {3, 3, 2, 2, 1, 1}}, /* stride 2 */
    {2, 3, {3, 3, 1, 1, 0, 0}}, /* no padding */
    {2, 2, {2, 3, 2, 1, 0, 1}}, /* non-square, stride (2, 1) */
    {3, 2, {3, 1, 1, 1, 1, 0}}, /* tall */
    {1, 4, {1, 3, 1, 2, 0, 1}}, /* wide, stride (1, 2) */
    {4, 3, {1, 1, 1, 1, 0, 0}}, /* pointwise: the sgemm-only path */
    {3, 2, {1, 1, 2, 2, 0, 0}}, /* 1×1 but strided: the im2col path */
    {2, 3, {5, 3, 2, 1, 2, 1}}, /* big kernel */
    {2, 2, {2, 2, 1, 1, 1, 1}}, /* even kernel with padding */
};
#define N_CONV_CFGS (int)(sizeof conv_cfgs / sizeof conv_cfgs[0])

static void test_conv_forward(void) {
    team *teams[3] = {NULL, team_new(2), team_new(3)}; /* the caller alone, 2 and 3 threads */
    CHECK(teams[1] && teams[2]);
    for (int ci = 0; ci < N_CONV_CFGS; ci++) {
        const conv_cfg *cf = &conv_cfgs[ci];
        window2d k = cf->k;
        for (int mode = 0; mode < 3; mode++) { /* cols_cap: everything, minimal, pairs */
            int B = test_randint(2, 5), w[MAXB];
            int hmin = k.kh - 2 * k.ph > 1 ? k.kh - 2 * k.ph : 1;
            int wmin = k.kw - 2 * k.pw > 1 ? k.kw - 2 * k.pw : 1;
            rand_widths(w, B, wmin, 13);
            w[test_randint(0, B - 1)] = wmin; /* always one image as narrow as it gets */
            geo gi, go;
            geo_init(&gi, B, test_randint(hmin, 9), w);
            geo_out(&go, &gi, k);
            size_t K = (size_t)cf->cin * k.kh * k.kw, widest = 0, narrowest = SIZE_MAX;
            for (int b = 0; b < B; b++) {
                size_t n = (size_t)go.h * go.w[b];
                if (n > widest) widest = n;
                if (n < narrowest) narrowest = n;
            }
            size_t cap = mode == 0 ? K * go.total : mode == 1 ? K * widest
                                                              : K * (widest + narrowest);
            float *inp = frand((size_t)cf->cin * gi.total, -1, 1);
            float *wt = frand(K * cf->cout, -1, 1), *bias = frand(cf->cout, -1, 1);
            float *cols = galloc(cap), *out = galloc((size_t)cf->cout * go.total);
            map_geom mgi = mg(&gi), mgo = mg(&go);
            /* One, two or three threads sharing the work: the same result as plain loops. */
            conv2d_forward(out, cols, cap, inp, wt, bias, cf->cin, cf->cout, k, &mgi, &mgo,
                           teams[mode % 3]);
            double *di = to_d(inp, (size_t)cf->cin * gi.total), *dw = to_d(wt, K * cf->cout);
            double *db = to_d(bias, cf->cout), *ref = dalloc((size_t)cf->cout * go.total);
            ref_conv(ref, di, dw, db, cf->cin, cf->cout, k, &gi, &go);
            double d = max_diff_fd(out, ref, (size_t)cf->cout * go.total);
            CHECK_MSG(d <= FWD_TOL, "conv cfg %d mode %d (B=%d h=%d): max |diff| %g", ci, mode, B,
                      gi.h, d);
            CHECK_MSG(guard_ok(cols, cap), "conv cfg %d mode %d: wrote past cols_cap", ci, mode);
            CHECK_MSG(guard_ok(out, (size_t)cf->cout * go.total), "conv cfg %d: wrote past out",
                      ci);
            /* Each image alone (same scratch size) must give exactly its columns of the batch. */
            for (int b = 0; b < B; b++) {
                geo ai, ao;
                geo_init(&ai, 1, gi.h, &w[b]);
                geo_out(&ao, &ai, k);
                map_geom mai = mg(&ai), mao = mg(&ao);
                float *in1 = extract(inp, cf->cin, &gi, b);
                float *o1 = galloc((size_t)cf->cout * ao.total);
                conv2d_forward(o1, cols, cap, in1, wt, bias, cf->cin, cf->cout, k, &mai, &mao,
                               teams[1]);
                float *ob = extract(out, cf->cout, &go, b);
                double dd = max_diff_ff(o1, ob, (size_t)cf->cout * ao.total);
                CHECK_MSG(dd <= 1e-5, "conv cfg %d: image %d (w=%d) alone differs from in batch "
                          "by %g", ci, b, w[b], dd);
                free(in1);
                free(o1);
                free(ob);
            }
            free(inp), free(wt), free(bias), free(cols), free(out);
            free(di), free(dw), free(db), free(ref);
        }
    }
    team_free(teams[1]);
    team_free(teams[2]);
}

typedef struct {
    const conv_cfg *cf;
    const geo *gi, *go;
    double *inp, *wt, *bias, *R, *out;
} conv_ctx;

static double conv_loss(void *p) {
    conv_ctx *c = p;
    ref_conv(c->out, c->inp, c->wt, c->bias, c->cf->cin, c->cf->cout, c->cf->k, c->gi, c->go);
    return dot(c->out, c->R, (size_t)c->cf->cout * c->go->total);
}

static void test_conv_backward(void) {
    for (int ci = 0; ci < N_CONV_CFGS; ci++) {
        const conv_cfg *cf = &conv_cfgs[ci];
        window2d k = cf->k;
        int wmin = k.kw - 2 * k.pw > 1 ? k.kw - 2 * k.pw : 1;
        int hmin = k.kh - 2 * k.ph > 1 ? k.kh - 2 * k.ph : 1;
        int w[2] = {wmin + 4, wmin + 1}; /* mixed widths */
        geo gi, go;
        geo_init(&gi, 2, hmin + 2, w);
        geo_out(&go, &gi, k);
        size_t K = (size_t)cf->cin * k.kh * k.kw, widest = (size_t)go.h * go.w[0];
        size_t nin = (size_t)cf->cin * gi.total, nw = K * cf->cout;
        size_t nout = (size_t)cf->cout * go.total;
        size_t cap = K * widest; /* minimal: one image per group */
        float *inp = frand(nin, -1, 1), *wt = frand(nw, -1, 1), *bias = frand(cf->cout, -1, 1);
        float *R = frand(nout, -1, 1), *cols = galloc(cap);
        float *dinp = galloc(nin), *dw = galloc(nw), *db = galloc(cf->cout);
        conv_ctx c = {cf, &gi, &go, to_d(inp, nin), to_d(wt, nw), to_d(bias, cf->cout),
                      to_d(R, nout), dalloc(nout)};
        gparam ps[3];
        gp_set(&ps[0], "inp", c.inp, nin, dinp);
        gp_set(&ps[1], "weight", c.wt, nw, dw);
        gp_set(&ps[2], "bias", c.bias, cf->cout, db);
        gp_numeric(ps, 3, conv_loss, &c);
        map_geom mgi = mg(&gi), mgo = mg(&go);
        char what[64];
        snprintf(what, sizeof what, "conv cfg %d", ci);
        for (int call = 1; call <= 2; call++) {
            conv2d_backward(dinp, dw, db, cols, cap, R, inp, wt, cf->cin, cf->cout, k, &mgi,
                            &mgo);
            gp_check(ps, 3, call, what);
        }
        CHECK_MSG(guard_ok(cols, cap) && guard_ok(dinp, nin) && guard_ok(dw, nw) &&
                  guard_ok(db, cf->cout), "%s: backward wrote past a buffer", what);
        /* dinp NULL (the first layer): parameter gradients only, the same values. */
        float *dw2 = galloc(nw), *db2 = galloc(cf->cout);
        memset(dw2, 0, nw * sizeof(float));
        memset(db2, 0, cf->cout * sizeof(float));
        conv2d_backward(NULL, dw2, db2, cols, cap, R, inp, wt, cf->cin, cf->cout, k, &mgi, &mgo);
        double e = 0;
        for (size_t i = 0; i < nw; i++) e = fmax(e, fabs(dw2[i] - ps[1].num[i]));
        for (int i = 0; i < cf->cout; i++) e = fmax(e, fabs(db2[i] - ps[2].num[i]));
        CHECK_MSG(e <= GRAD_ATOL * 10, "%s: backward with dinp NULL: max err %g", what, e);
        gp_free(ps, 3);
        free(inp), free(wt), free(bias), free(R), free(cols), free(dinp), free(dw), free(db);
        free(dw2), free(db2);
        free(c.inp), free(c.wt), free(c.bias), free(c.R), free(c.out);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* depthwise conv2d: the reference is ref_conv with every output channel seeing only its own
   input channel (weights zero elsewhere), so the two share one definition of a window.      */

static void ref_depthwise(double *out, const double *inp, const double *wt, const double *bias,
                          int C, window2d k, const geo *gi, const geo *go) {
    size_t kk = (size_t)k.kh * k.kw;
    double *full = calloc((size_t)C * C * kk, sizeof(double));
    for (int c = 0; c < C; c++)
        memcpy(full + ((size_t)c * C + c) * kk, wt + (size_t)c * kk, kk * sizeof(double));
    ref_conv(out, inp, full, bias, C, C, k, gi, go);
    free(full);
}

static const conv_cfg dw_cfgs[] = { /* cin = cout = channels */
    {3, 3, {3, 3, 1, 1, 1, 1}}, /* MobileNet's 3×3 */
    {2, 2, {3, 3, 2, 2, 1, 1}}, /* stride 2: the strided-row path */
    {4, 4, {3, 3, 2, 1, 1, 1}}, /* stride (2, 1), as the CRNN pools */
    {2, 2, {3, 5, 1, 1, 0, 2}}, /* no vertical padding, wide kernel */
    {3, 3, {2, 3, 1, 2, 1, 0}}, /* even kernel with padding, stride (1, 2), no horizontal pad */
    {1, 1, {1, 1, 1, 1, 0, 0}}, /* 1×1: a per-channel scale */
};
#define N_DW_CFGS (int)(sizeof dw_cfgs / sizeof dw_cfgs[0])

static void test_depthwise_forward(void) {
    for (int ci = 0; ci < N_DW_CFGS; ci++) {
        const conv_cfg *cf = &dw_cfgs[ci];
        window2d k = cf->k;
        int C = cf->cin, B = test_randint(2, 5), w[MAXB];
        int hmin = k.kh - 2 * k.ph > 1 ? k.kh - 2 * k.ph : 1;
        int wmin = k.kw - 2 * k.pw > 1 ? k.kw - 2 * k.pw : 1;
        rand_widths(w, B, wmin, 13);
        w[test_randint(0, B - 1)] = wmin;
        geo gi, go;
        geo_init(&gi, B, test_randint(hmin, 9), w);
        geo_out(&go, &gi, k);
        size_t kk = (size_t)k.kh * k.kw, nout = (size_t)C * go.total;
        float *inp = frand((size_t)C * gi.total, -1, 1), *wt = frand(kk * C, -1, 1);
        float *bias = frand(C, -1, 1), *out = galloc(nout);
        map_geom mgi = mg(&gi), mgo = mg(&go);
        depthwise2d_forward(out, inp, wt, bias, C, k, &mgi, &mgo);
        double *di = to_d(inp, (size_t)C * gi.total), *dw = to_d(wt, kk * C);
        double *db = to_d(bias, C), *ref = dalloc(nout);
        ref_depthwise(ref, di, dw, db, C, k, &gi, &go);
        double d = max_diff_fd(out, ref, nout);
        CHECK_MSG(d <= FWD_TOL, "depthwise cfg %d (B=%d h=%d): max |diff| %g", ci, B, gi.h, d);
        CHECK_MSG(guard_ok(out, nout), "depthwise cfg %d: wrote past out", ci);
        for (int b = 0; b < B; b++) { /* an image alone gives its columns of the batch */
            geo ai, ao;
            geo_init(&ai, 1, gi.h, &w[b]);
            geo_out(&ao, &ai, k);
            map_geom mai = mg(&ai), mao = mg(&ao);
            float *in1 = extract(inp, C, &gi, b), *o1 = galloc((size_t)C * ao.total);
            depthwise2d_forward(o1, in1, wt, bias, C, k, &mai, &mao);
            float *ob = extract(out, C, &go, b);
            double dd = max_diff_ff(o1, ob, (size_t)C * ao.total);
            CHECK_MSG(dd == 0, "depthwise cfg %d: image %d alone differs by %g", ci, b, dd);
            free(in1), free(o1), free(ob);
        }
        free(inp), free(wt), free(bias), free(out), free(di), free(dw), free(db), free(ref);
    }
}

typedef struct {
    const conv_cfg *cf;
    const geo *gi, *go;
    double *inp, *wt, *bias, *R, *out;
} dw_ctx;

static double dw_loss(void *p) {
    dw_ctx *c = p;
    ref_depthwise(c->out, c->inp, c->wt, c->bias, c->cf->cin, c->cf->k, c->gi, c->go);
    return dot(c->out, c->R, (size_t)c->cf->cin * c->go->total);
}

static void test_depthwise_backward(void) {
    for (int ci = 0; ci < N_DW_CFGS; ci++) {
        const conv_cfg *cf = &dw_cfgs[ci];
        window2d k = cf->k;
        int C = cf->cin;
        int wmin = k.kw - 2 * k.pw > 1 ? k.kw - 2 * k.pw : 1;
        int hmin = k.kh - 2 * k.ph > 1 ? k.kh - 2 * k.ph : 1;
        int w[2] = {wmin + 4, wmin + 1};
        geo gi, go;
        geo_init(&gi, 2, hmin + 2, w);
        geo_out(&go, &gi, k);
        size_t kk = (size_t)k.kh * k.kw, nin = (size_t)C * gi.total, nw = kk * C;
        size_t nout = (size_t)C * go.total;
        float *inp = frand(nin, -1, 1), *wt = frand(nw, -1, 1), *bias = frand(C, -1, 1);
        float *R = frand(nout, -1, 1), *dinp = galloc(nin), *dw = galloc(nw), *db = galloc(C);
        dw_ctx c = {cf, &gi, &go, to_d(inp, nin), to_d(wt, nw), to_d(bias, C), to_d(R, nout),
                    dalloc(nout)};
        gparam ps[3];
        gp_set(&ps[0], "inp", c.inp, nin, dinp);
        gp_set(&ps[1], "weight", c.wt, nw, dw);
        gp_set(&ps[2], "bias", c.bias, C, db);
        gp_numeric(ps, 3, dw_loss, &c);
        map_geom mgi = mg(&gi), mgo = mg(&go);
        char what[64];
        snprintf(what, sizeof what, "depthwise cfg %d", ci);
        for (int call = 1; call <= 2; call++) {
            depthwise2d_backward(dinp, dw, db, R, inp, wt, C, k, &mgi, &mgo);
            gp_check(ps, 3, call, what);
        }
        CHECK_MSG(guard_ok(dinp, nin) && guard_ok(dw, nw) && guard_ok(db, C),
                  "%s: backward wrote past a buffer", what);
        float *dw2 = galloc(nw), *db2 = galloc(C); /* dinp NULL: the same parameter gradients */
        memset(dw2, 0, nw * sizeof(float));
        memset(db2, 0, C * sizeof(float));
        depthwise2d_backward(NULL, dw2, db2, R, inp, wt, C, k, &mgi, &mgo);
        double e = 0;
        for (size_t i = 0; i < nw; i++) e = fmax(e, fabs(dw2[i] - ps[1].num[i]));
        for (int i = 0; i < C; i++) e = fmax(e, fabs(db2[i] - ps[2].num[i]));
        CHECK_MSG(e <= GRAD_ATOL * 10, "%s: backward with dinp NULL: max err %g", what, e);
        gp_free(ps, 3);
        free(inp), free(wt), free(bias), free(R), free(dinp), free(dw), free(db), free(dw2);
        free(db2), free(c.inp), free(c.wt), free(c.bias), free(c.R), free(c.out);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* batchnorm                                                                                */

static void ref_bn(double *out, double *mean, double *var, const double *inp, const double *gamma,
                   const double *beta, int C, size_t P) {
    for (int c = 0; c < C; c++) {
        const double *x = inp + (size_t)c * P;
        double m = 0, v = 0;
        for (size_t p = 0; p < P; p++) m += x[p];
        m /= (double)P;
        for (size_t p = 0; p < P; p++) v += (x[p] - m) * (x[p] - m);
        v /= (double)P;
        if (mean) mean[c] = m;
        if (var) var[c] = v;
        for (size_t p = 0; p < P; p++)
            out[(size_t)c * P + p] = gamma[c] * (x[p] - m) / sqrt(v + (double)BN_EPS) + beta[c];
    }
}

static void test_bn_forward(void) {
    for (int rep = 0; rep < 6; rep++) {
        int C = test_randint(1, 5);
        size_t P = (size_t)test_randint(rep == 0 ? 1 : 2, 60);
        float shift = test_randf(-3, 3), scale = test_randf(0.1f, 4);
        float *inp = galloc(C * P);
        for (size_t i = 0; i < C * P; i++) inp[i] = shift + scale * test_randf(-1, 1);
        float *gamma = frand(C, 0.2f, 2), *beta = frand(C, -1, 1);
        float *rm = frand(C, -1, 1), *rv = frand(C, 0.5f, 2);
        float *rm0 = malloc(C * sizeof(float)), *rv0 = malloc(C * sizeof(float));
        memcpy(rm0, rm, C * sizeof(float));
        memcpy(rv0, rv, C * sizeof(float));
        float *out = galloc(C * P), *mean = galloc(C), *rstd = galloc(C), *unb_var = galloc(C);
        float momentum = 0.1f;
        batchnorm_forward(out, mean, rstd, unb_var, inp, gamma, beta, C, P);
        batchnorm_update_running(rm, rv, mean, unb_var, momentum, C);
        double *ref = dalloc(C * P), *rmean = dalloc(C), *rvar = dalloc(C);
        double *di = to_d(inp, C * P), *dg = to_d(gamma, C), *dbt = to_d(beta, C);
        ref_bn(ref, rmean, rvar, di, dg, dbt, C, P);
        double d = max_diff_fd(out, ref, C * P);
        CHECK_MSG(d <= FWD_TOL, "batchnorm C=%d P=%zu: max |diff| %g", C, P, d);
        for (int c = 0; c < C; c++) {
            CHECK_NEAR(mean[c], rmean[c], 1e-5 * (1 + fabs(rmean[c])));
            CHECK_NEAR(rstd[c], 1 / sqrt(rvar[c] + (double)BN_EPS),
                       1e-4 / sqrt(rvar[c] + (double)BN_EPS));
            /* PyTorch: running = (1 − m)·running + m·batch, with the unbiased variance. */
            double unb = P > 1 ? rvar[c] * (double)P / (double)(P - 1) : rvar[c];
            CHECK_NEAR(rm[c], (1 - momentum) * rm0[c] + momentum * rmean[c], 1e-5);
            CHECK_NEAR(rv[c], (1 - momentum) * rv0[c] + momentum * unb, 1e-4 * (1 + unb));
        }
        CHECK(guard_ok(out, C * P) && guard_ok(mean, C) && guard_ok(rstd, C) &&
              guard_ok(unb_var, C));
        /* No running statistics (NULL) is allowed and gives the same output. */
        float *out2 = galloc(C * P);
        batchnorm_forward(out2, mean, rstd, NULL, inp, gamma, beta, C, P);
        CHECK(max_diff_ff(out, out2, C * P) == 0);
        free(inp), free(gamma), free(beta), free(rm), free(rv), free(rm0), free(rv0);
        free(out), free(out2), free(mean), free(rstd), free(unb_var);
        free(ref), free(rmean), free(rvar), free(di), free(dg), free(dbt);
    }
}

typedef struct {
    int C;
    size_t P;
    double *inp, *gamma, *beta, *R, *out;
} bn_ctx;

static double bn_loss(void *p) {
    bn_ctx *c = p;
    ref_bn(c->out, NULL, NULL, c->inp, c->gamma, c->beta, c->C, c->P);
    return dot(c->out, c->R, (size_t)c->C * c->P);
}

static void test_bn_backward(void) {
    for (int rep = 0; rep < 3; rep++) {
        int C = test_randint(1, 3);
        size_t P = (size_t)test_randint(3, 25);
        size_t n = (size_t)C * P;
        float *inp = frand(n, -2, 2), *gamma = frand(C, 0.3f, 2), *beta = frand(C, -1, 1);
        float *R = frand(n, -1, 1), *out = galloc(n), *mean = galloc(C), *rstd = galloc(C);
        batchnorm_forward(out, mean, rstd, NULL, inp, gamma, beta, C, P);
        float *dinp = galloc(n), *dg = galloc(C), *db = galloc(C);
        bn_ctx c = {C, P, to_d(inp, n), to_d(gamma, C), to_d(beta, C), to_d(R, n), dalloc(n)};
        gparam ps[3];
        gp_set(&ps[0], "inp", c.inp, n, dinp);
        gp_set(&ps[1], "gamma", c.gamma, C, dg);
        gp_set(&ps[2], "beta", c.beta, C, db);
        gp_numeric(ps, 3, bn_loss, &c);
        for (int call = 1; call <= 2; call++) {
            batchnorm_backward(dinp, dg, db, R, inp, gamma, mean, rstd, C, P);
            gp_check(ps, 3, call, "batchnorm");
        }
        CHECK(guard_ok(dinp, n) && guard_ok(dg, C) && guard_ok(db, C));
        gp_free(ps, 3);
        free(inp), free(gamma), free(beta), free(R), free(out), free(mean), free(rstd);
        free(dinp), free(dg), free(db);
        free(c.inp), free(c.gamma), free(c.beta), free(c.R), free(c.out);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* relu                                                                                     */

typedef struct {
    size_t n;
    double *inp, *R;
} relu_ctx;

static double relu_loss(void *p) {
    relu_ctx *c = p;
    double s = 0;
    for (size_t i = 0; i < c->n; i++) s += (c->inp[i] > 0 ? c->inp[i] : 0) * c->R[i];
    return s;
}

static void test_relu(void) {
    size_t n = 77;
    float *inp = galloc(n);
    /* Keep away from the kink at 0, where the numeric derivative is meaningless. */
    for (size_t i = 0; i < n; i++) {
        float v = test_randf(0.05f, 2);
        inp[i] = test_uniform() < 0.5 ? -v : v;
    }
    float *out = galloc(n);
    relu_forward(out, inp, n);
    int ok = 1;
    for (size_t i = 0; i < n; i++) ok &= out[i] == (inp[i] > 0 ? inp[i] : 0.0f);
    CHECK_MSG(ok, "relu forward");
    CHECK(guard_ok(out, n));
    float *inplace = malloc(n * sizeof(float));
    memcpy(inplace, inp, n * sizeof(float));
    relu_forward(inplace, inplace, n); /* documented: out may equal inp */
    CHECK(max_diff_ff(inplace, out, n) == 0);

    float *R = frand(n, -1, 1), *dinp = galloc(n);
    relu_ctx c = {n, to_d(inp, n), to_d(R, n)};
    gparam ps[1];
    gp_set(&ps[0], "inp", c.inp, n, dinp);
    gp_numeric(ps, 1, relu_loss, &c);
    for (int call = 1; call <= 2; call++) {
        relu_backward(dinp, R, out, n);
        gp_check(ps, 1, call, "relu");
    }
    CHECK(guard_ok(dinp, n));
    gp_free(ps, 1);
    free(inp), free(out), free(inplace), free(R), free(dinp), free(c.inp), free(c.R);
}

/* ---------------------------------------------------------------------------------------- */
/* maxpool                                                                                  */

/* Max over the window's positions inside the image; padding never wins (PyTorch: −∞). */
static void ref_pool(double *out, int *arg, const double *inp, int C, window2d k, const geo *gi,
                     const geo *go) {
    for (int c = 0; c < C; c++)
        for (int b = 0; b < gi->n; b++)
            for (int oy = 0; oy < go->h; oy++)
                for (int ox = 0; ox < go->w[b]; ox++) {
                    double best = -INFINITY;
                    int bi = -1;
                    for (int ki = 0; ki < k.kh; ki++)
                        for (int kj = 0; kj < k.kw; kj++) {
                            int iy = oy * k.sh - k.ph + ki, ix = ox * k.sw - k.pw + kj;
                            if (iy < 0 || iy >= gi->h || ix < 0 || ix >= gi->w[b]) continue;
                            size_t col = gi->off[b] + (size_t)iy * gi->w[b] + ix;
                            double v = inp[(size_t)c * gi->total + col];
                            if (v > best) {
                                best = v;
                                bi = (int)col;
                            }
                        }
                    size_t o = (size_t)c * go->total + go->off[b] + (size_t)oy * go->w[b] + ox;
                    out[o] = best;
                    if (arg) arg[o] = bi;
                }
}

static const window2d pool_cfgs[] = {
    {2, 2, 2, 2, 0, 0}, /* the usual 2×2 */
    {2, 2, 2, 1, 0, 1}, /* CRNN: halve the height only, pad the width by 1 */
    {2, 1, 2, 1, 0, 0}, /* 2×1, stride (2, 1) */
    {3, 3, 1, 1, 1, 1}, /* overlapping with padding */
    {3, 2, 2, 1, 1, 1}, /* odd height, even width kernel, both padded */
    {1, 3, 1, 2, 0, 1}, /* width-only */
};
#define N_POOL_CFGS (int)(sizeof pool_cfgs / sizeof pool_cfgs[0])

/* Distinct values (spaced by ≥ 1/n) in random order, so no window has a near-tie that a
   finite-difference step could flip. */
static float *distinct(size_t n) {
    float *p = galloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)(-2.0 + 4.0 * ((double)i + 0.3 * test_uniform()) / (double)n);
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)test_randint(0, (int)i - 1);
        float t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
    return p;
}

typedef struct {
    int C;
    window2d k;
    const geo *gi, *go;
    double *inp, *R, *out;
} pool_ctx;

static double pool_loss(void *p) {
    pool_ctx *c = p;
    ref_pool(c->out, NULL, c->inp, c->C, c->k, c->gi, c->go);
    return dot(c->out, c->R, (size_t)c->C * c->go->total);
}

static void test_maxpool(void) {
    for (int pi = 0; pi < N_POOL_CFGS; pi++) {
        window2d k = pool_cfgs[pi];
        for (int rep = 0; rep < 3; rep++) {
            int C = test_randint(1, 4), B = test_randint(2, 4), w[MAXB];
            rand_widths(w, B, 1, 11);
            w[0] = 1; /* narrowest possible image: the windows lean on padding */
            geo gi, go;
            geo_init(&gi, B, test_randint(k.kh, 8), w);
            geo_out(&go, &gi, k);
            size_t nin = (size_t)C * gi.total, nout = (size_t)C * go.total;
            float *inp = distinct(nin), *out = galloc(nout);
            int *arg = malloc(nout * sizeof(int)), *rarg = malloc(nout * sizeof(int));
            map_geom mgi = mg(&gi), mgo = mg(&go);
            maxpool_forward(out, arg, inp, C, k, &mgi, &mgo);
            double *di = to_d(inp, nin), *ref = dalloc(nout);
            ref_pool(ref, rarg, di, C, k, &gi, &go);
            double d = max_diff_fd(out, ref, nout);
            CHECK_MSG(d <= FWD_TOL, "maxpool cfg %d: max |diff| %g", pi, d);
            int args_ok = 1;
            for (size_t i = 0; i < nout; i++) args_ok &= arg[i] == rarg[i];
            CHECK_MSG(args_ok, "maxpool cfg %d: argmax is not the winner's column", pi);
            CHECK(guard_ok(out, nout));
            /* Inference form: argmax NULL, same output. */
            float *out2 = galloc(nout);
            maxpool_forward(out2, NULL, inp, C, k, &mgi, &mgo);
            CHECK(max_diff_ff(out, out2, nout) == 0);
            /* Per image. */
            for (int b = 0; b < B; b++) {
                geo ai, ao;
                geo_init(&ai, 1, gi.h, &w[b]);
                geo_out(&ao, &ai, k);
                map_geom mai = mg(&ai), mao = mg(&ao);
                float *in1 = extract(inp, C, &gi, b), *o1 = galloc((size_t)C * ao.total);
                maxpool_forward(o1, NULL, in1, C, k, &mai, &mao);
                float *ob = extract(out, C, &go, b);
                CHECK_MSG(max_diff_ff(o1, ob, (size_t)C * ao.total) == 0,
                          "maxpool cfg %d: image %d alone differs from in batch", pi, b);
                free(in1), free(o1), free(ob);
            }
            /* Backward. */
            float *R = frand(nout, -1, 1), *dinp = galloc(nin);
            pool_ctx c = {C, k, &gi, &go, di, to_d(R, nout), ref};
            gparam ps[1];
            gp_set(&ps[0], "inp", c.inp, nin, dinp);
            gp_numeric(ps, 1, pool_loss, &c);
            char what[64];
            snprintf(what, sizeof what, "maxpool cfg %d", pi);
            for (int call = 1; call <= 2; call++) {
                maxpool_backward(dinp, R, arg, C, gi.total, go.total);
                gp_check(ps, 1, call, what);
            }
            CHECK(guard_ok(dinp, nin));
            gp_free(ps, 1);
            free(inp), free(out), free(out2), free(arg), free(rarg), free(di), free(ref);
            free(R), free(dinp), free(c.R);
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* map_to_sequence                                                                          */

static void ref_m2s(double *seq, const double *map, int C, const geo *g, int T) {
    int F = C * g->h;
    memset(seq, 0, sizeof(double) * (size_t)g->n * T * F);
    for (int b = 0; b < g->n; b++)
        for (int t = 0; t < g->w[b]; t++)
            for (int c = 0; c < C; c++)
                for (int y = 0; y < g->h; y++)
                    seq[((size_t)b * T + t) * F + c * g->h + y] =
                        map[(size_t)c * g->total + g->off[b] + (size_t)y * g->w[b] + t];
}

typedef struct {
    int C, T;
    const geo *g;
    double *map, *R, *seq;
} m2s_ctx;

static double m2s_loss(void *p) {
    m2s_ctx *c = p;
    ref_m2s(c->seq, c->map, c->C, c->g, c->T);
    return dot(c->seq, c->R, (size_t)c->g->n * c->T * c->C * c->g->h);
}

static void test_map_to_sequence(void) {
    for (int rep = 0; rep < 4; rep++) {
        int C = test_randint(1, 4), B = test_randint(1, 4), w[MAXB], T = 0;
        rand_widths(w, B, 1, 9);
        for (int b = 0; b < B; b++) T = w[b] > T ? w[b] : T;
        geo g;
        geo_init(&g, B, test_randint(1, 3), w);
        size_t nmap = (size_t)C * g.total, nseq = (size_t)B * T * C * g.h;
        float *map = frand(nmap, -1, 1), *seq = galloc(nseq); /* garbage: padding must be 0 */
        map_geom mgg = mg(&g);
        map_to_sequence_forward(seq, map, C, &mgg, T);
        double *dm = to_d(map, nmap), *ref = dalloc(nseq);
        ref_m2s(ref, dm, C, &g, T);
        CHECK_MSG(max_diff_fd(seq, ref, nseq) == 0, "map_to_sequence forward (C=%d h=%d B=%d)", C,
                  g.h, B);
        CHECK(guard_ok(seq, nseq));
        /* R is non-zero on padding steps too: they must not reach dmap. */
        float *R = frand(nseq, -1, 1), *dmap = galloc(nmap);
        m2s_ctx c = {C, T, &g, dm, to_d(R, nseq), ref};
        gparam ps[1];
        gp_set(&ps[0], "map", c.map, nmap, dmap);
        gp_numeric(ps, 1, m2s_loss, &c);
        for (int call = 1; call <= 2; call++) {
            map_to_sequence_backward(dmap, R, C, &mgg, T);
            gp_check(ps, 1, call, "map_to_sequence");
        }
        CHECK(guard_ok(dmap, nmap));
        gp_free(ps, 1);
        free(map), free(seq), free(dm), free(ref), free(R), free(dmap), free(c.R);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* LSTM and GRU                                                                             */

#define MAXH 8

static double sigm(double x) { return 1.0 / (1.0 + exp(-x)); }

/* One direction, textbook / PyTorch equations, each sample from its own first (or, reversed,
   last) step. Writes columns [col, col + H) of the len[b] valid steps only. */
static void ref_rnn(double *out, int stride, int col, const double *x, const double *wih,
                    const double *whh, const double *bih, const double *bhh, const int *len,
                    int B, int T, int In, int H, int reverse, int gru) {
    int G = gru ? 3 * H : 4 * H;
    for (int b = 0; b < B; b++) {
        double h[MAXH] = {0}, c[MAXH] = {0}, a[4 * MAXH], r[4 * MAXH];
        for (int s = 0; s < len[b]; s++) {
            int t = reverse ? len[b] - 1 - s : s;
            const double *xt = x + ((size_t)b * T + t) * In;
            for (int k = 0; k < G; k++) {
                a[k] = bih[k];
                for (int i = 0; i < In; i++) a[k] += wih[(size_t)k * In + i] * xt[i];
                r[k] = bhh[k];
                for (int j = 0; j < H; j++) r[k] += whh[(size_t)k * H + j] * h[j];
            }
            double hn[MAXH];
            for (int j = 0; j < H; j++) {
                if (!gru) {
                    double ig = sigm(a[j] + r[j]), fg = sigm(a[H + j] + r[H + j]);
                    double gg = tanh(a[2 * H + j] + r[2 * H + j]);
                    double og = sigm(a[3 * H + j] + r[3 * H + j]);
                    c[j] = fg * c[j] + ig * gg;
                    hn[j] = og * tanh(c[j]);
                } else {
                    double rg = sigm(a[j] + r[j]), zg = sigm(a[H + j] + r[H + j]);
                    double ng = tanh(a[2 * H + j] + rg * r[2 * H + j]);
                    hn[j] = (1 - zg) * ng + zg * h[j];
                }
            }
            for (int j = 0; j < H; j++) {
                h[j] = hn[j];
                out[((size_t)b * T + t) * stride + col + j] = h[j];
            }
        }
    }
}

/* Library buffers for one direction, at exactly the sizes nn.h documents. */
typedef struct {
    float *gates, *cells, *state, *step;           /* forward */
    float *s1, *s2, *s3, *bstep;                   /* backward scratch */
    size_t n_gates, n_cells, n_state, n_step, n1, n2, n3, n_bstep;
} rnn_bufs;

static void rnn_bufs_alloc(rnn_bufs *r, int gru, int B, int T, int H) {
    size_t BT = (size_t)B * T;
    r->n_gates = BT * 4 * H;
    r->n_cells = gru ? 0 : BT * H;
    r->n_state = (size_t)B * (gru ? 1 : 2) * H;
    r->n_step = (size_t)B * (gru ? 3 : 4) * H;
    if (gru) { /* dx (B,T,3H), dh (B,T,3H), hprev (B,T,H), step (B,4H) per nn.h */
        r->n1 = BT * 3 * H;
        r->n2 = BT * 3 * H;
        r->n3 = BT * H;
        r->n_bstep = (size_t)B * 4 * H;
    } else { /* dgates (B,T,4H), hprev (B,T,H), step (B,6H) */
        r->n1 = BT * 4 * H;
        r->n2 = BT * H;
        r->n3 = 0;
        r->n_bstep = (size_t)B * 6 * H;
    }
    r->gates = galloc(r->n_gates);
    r->cells = galloc(r->n_cells);
    r->state = galloc(r->n_state);
    r->step = galloc(r->n_step);
    r->s1 = galloc(r->n1);
    r->s2 = galloc(r->n2);
    r->s3 = galloc(r->n3);
    r->bstep = galloc(r->n_bstep);
}

static int rnn_bufs_ok(const rnn_bufs *r) {
    return guard_ok(r->gates, r->n_gates) && guard_ok(r->cells, r->n_cells) &&
           guard_ok(r->state, r->n_state) && guard_ok(r->step, r->n_step) &&
           guard_ok(r->s1, r->n1) && guard_ok(r->s2, r->n2) && guard_ok(r->s3, r->n3) &&
           guard_ok(r->bstep, r->n_bstep);
}

static void rnn_bufs_free(rnn_bufs *r) {
    free(r->gates), free(r->cells), free(r->state), free(r->step);
    free(r->s1), free(r->s2), free(r->s3), free(r->bstep);
}

/* A layer of one or two directions writing into a shared (B, T, stride) output. */
typedef struct {
    int gru, B, T, In, H, ndir, stride, col[2];
    const int *len;
    float *w[2][4]; /* w_ih, w_hh, b_ih, b_hh */
} rnn_layer;

static size_t rnn_wsize(const rnn_layer *L, int i) {
    int G = (L->gru ? 3 : 4) * L->H;
    return i == 0 ? (size_t)G * L->In : i == 1 ? (size_t)G * L->H : (size_t)G;
}

static void rnn_fwd(const rnn_layer *L, float *out, const float *x, rnn_bufs *bufs, int d) {
    float *const *w = L->w[d];
    if (L->gru)
        gru_forward(out, L->stride, L->col[d], bufs->gates, bufs->state, bufs->step, x, w[0],
                    w[1], w[2], w[3], L->len, L->B, L->T, L->In, L->H, d);
    else
        lstm_forward(out, L->stride, L->col[d], bufs->gates, bufs->cells, bufs->state, bufs->step,
                     x, w[0], w[1], w[2], w[3], L->len, L->B, L->T, L->In, L->H, d);
}

static void rnn_bwd(const rnn_layer *L, float *dinp, float *const *dw, rnn_bufs *bufs,
                    const float *dout, const float *out, const float *x, int d) {
    float *const *w = L->w[d];
    if (L->gru)
        gru_backward(dinp, dw[0], dw[1], dw[2], dw[3], bufs->s1, bufs->s2, bufs->s3, bufs->bstep,
                     dout, L->stride, L->col[d], out, bufs->gates, x, w[0], w[1], L->len, L->B,
                     L->T, L->In, L->H, d);
    else
        lstm_backward(dinp, dw[0], dw[1], dw[2], dw[3], bufs->s1, bufs->s2, bufs->bstep, dout,
                      L->stride, L->col[d], out, bufs->gates, bufs->cells, x, w[0], w[1], L->len,
                      L->B, L->T, L->In, L->H, d);
}

static void rnn_ref_all(const rnn_layer *L, double *out, const double *x, double *dw[2][4]) {
    memset(out, 0, sizeof(double) * (size_t)L->B * L->T * L->stride);
    for (int d = 0; d < L->ndir; d++)
        ref_rnn(out, L->stride, L->col[d], x, dw[d][0], dw[d][1], dw[d][2], dw[d][3], L->len,
                L->B, L->T, L->In, L->H, d, L->gru);
}

static void rnn_init(rnn_layer *L, int gru, int B, int T, int In, int H, int ndir,
                     const int *len) {
    L->gru = gru;
    L->B = B;
    L->T = T;
    L->In = In;
    L->H = H;
    L->ndir = ndir;
    L->len = len;
    if (ndir == 2) {
        L->stride = 2 * H; /* [forward; backward], as the network lays them out */
        L->col[0] = 0;
        L->col[1] = H;
    } else { /* a column window inside a wider row: the other columns must stay untouched */
        L->stride = H + 3;
        L->col[0] = 2;
        L->col[1] = 0;
    }
    for (int d = 0; d < ndir; d++)
        for (int i = 0; i < 4; i++) L->w[d][i] = frand(rnn_wsize(L, i), -0.8f, 0.8f);
}

static void rnn_free(rnn_layer *L) {
    for (int d = 0; d < L->ndir; d++)
        for (int i = 0; i < 4; i++) free(L->w[d][i]);
}

static float *seq_input(int B, int T, int In, const int *len) {
    float *x = frand((size_t)B * T * In, -1, 1);
    /* Padding steps hold large garbage; the layer must ignore them. */
    for (int b = 0; b < B; b++)
        for (int t = len[b]; t < T; t++)
            for (int i = 0; i < In; i++) x[((size_t)b * T + t) * In + i] = test_randf(-50, 50);
    return x;
}

static void test_rnn_forward(int gru) {
    const char *name = gru ? "gru" : "lstm";
    for (int rep = 0; rep < 4; rep++) {
        int B = test_randint(2, 5), In = test_randint(1, 6), H = test_randint(1, MAXH);
        int ndir = rep % 2 ? 1 : 2, len[MAXB], T = 0;
        for (int b = 0; b < B; b++) {
            len[b] = test_randint(1, 9);
            T = len[b] > T ? len[b] : T;
        }
        rnn_layer L;
        rnn_init(&L, gru, B, T, In, H, ndir, len);
        size_t nout = (size_t)B * T * L.stride, nx = (size_t)B * T * In;
        float *x = seq_input(B, T, In, len), *out = galloc(nout);
        for (size_t i = 0; i < nout; i++) out[i] = 7.0f; /* columns no direction owns keep this */
        rnn_bufs bufs[2];
        for (int d = 0; d < ndir; d++) {
            rnn_bufs_alloc(&bufs[d], gru, B, T, H);
            rnn_fwd(&L, out, x, &bufs[d], d);
        }
        double *dx = to_d(x, nx), *ref = dalloc(nout), *dw[2][4] = {{0}};
        for (int d = 0; d < ndir; d++)
            for (int i = 0; i < 4; i++) dw[d][i] = to_d(L.w[d][i], rnn_wsize(&L, i));
        rnn_ref_all(&L, ref, dx, dw);
        /* The reference is 0 on padding steps and on columns outside the directions; the
           layer must write 0 on padding and leave foreign columns alone. */
        for (size_t i = 0; i < nout; i++) {
            int c = (int)(i % L.stride);
            int owned = 0;
            for (int d = 0; d < ndir; d++) owned |= c >= L.col[d] && c < L.col[d] + H;
            if (!owned) ref[i] = 7.0;
        }
        double d = max_diff_fd(out, ref, nout);
        CHECK_MSG(d <= FWD_TOL, "%s forward B=%d T=%d In=%d H=%d dirs=%d: max |diff| %g", name,
                  B, T, In, H, ndir, d);
        CHECK(guard_ok(out, nout));
        for (int d2 = 0; d2 < ndir; d2++) CHECK(rnn_bufs_ok(&bufs[d2]));
        for (int d2 = 0; d2 < ndir; d2++) {
            rnn_bufs_free(&bufs[d2]);
            for (int i = 0; i < 4; i++) free(dw[d2][i]);
        }
        free(x), free(out), free(dx), free(ref);
        rnn_free(&L);
    }
}

/* A sample of length 3 in a batch with T = 7 must give what it gives alone (B = 1, T = 3),
   in both directions: the reverse direction starts at the sample's own last step. */
static void test_rnn_alone(int gru) {
    const char *name = gru ? "gru" : "lstm";
    int len[3] = {7, 3, 5}, B = 3, T = 7, In = 4, H = 5;
    rnn_layer L;
    rnn_init(&L, gru, B, T, In, H, 2, len);
    float *x = seq_input(B, T, In, len), *out = galloc((size_t)B * T * L.stride);
    rnn_bufs bufs[2];
    for (int d = 0; d < 2; d++) {
        rnn_bufs_alloc(&bufs[d], gru, B, T, H);
        rnn_fwd(&L, out, x, &bufs[d], d);
    }
    rnn_layer A = L; /* the same weights, sample 1 alone */
    int len1 = 3;
    A.B = 1;
    A.T = 3;
    A.len = &len1;
    float *x1 = galloc((size_t)3 * In), *out1 = galloc((size_t)3 * L.stride);
    memcpy(x1, x + (size_t)1 * T * In, sizeof(float) * 3 * In);
    rnn_bufs b1[2];
    for (int d = 0; d < 2; d++) {
        rnn_bufs_alloc(&b1[d], gru, 1, 3, H);
        rnn_fwd(&A, out1, x1, &b1[d], d);
    }
    for (int d = 0; d < 2; d++) {
        double m = 0;
        for (int t = 0; t < 3; t++)
            for (int j = 0; j < H; j++)
                m = fmax(m, fabs(out1[(size_t)t * L.stride + L.col[d] + j] -
                                 out[((size_t)1 * T + t) * L.stride + L.col[d] + j]));
        CHECK_MSG(m <= 1e-5, "%s %s: length-3 sample in a T=7 batch differs from alone by %g",
                  name, d ? "reverse" : "forward", m);
        /* and its padding steps 3..6 are zero */
        int zero = 1;
        for (int t = 3; t < T; t++)
            for (int j = 0; j < H; j++)
                zero &= out[((size_t)1 * T + t) * L.stride + L.col[d] + j] == 0.0f;
        CHECK_MSG(zero, "%s %s: padding steps of a short sample not zero", name,
                  d ? "reverse" : "forward");
    }
    for (int d = 0; d < 2; d++) {
        rnn_bufs_free(&bufs[d]);
        rnn_bufs_free(&b1[d]);
    }
    free(x), free(out), free(x1), free(out1);
    rnn_free(&L);
}

typedef struct {
    const rnn_layer *L;
    double *x, *R, *out;
    double *w[2][4];
} rnn_ctx;

static double rnn_loss(void *p) {
    rnn_ctx *c = p;
    rnn_ref_all(c->L, c->out, c->x, c->w);
    return dot(c->out, c->R, (size_t)c->L->B * c->L->T * c->L->stride);
}

static void test_rnn_backward(int gru) {
    static const char *fn[2][4] = {{"fwd.w_ih", "fwd.w_hh", "fwd.b_ih", "fwd.b_hh"},
                                   {"bwd.w_ih", "bwd.w_hh", "bwd.b_ih", "bwd.b_hh"}};
    for (int rep = 0; rep < 3; rep++) {
        /* mixed lengths, the longest not first; rep 2 is unidirectional in a wider row */
        int len[3] = {4, 6, 2}, B = 3, T = 6, In = 3, H = rep == 1 ? 3 : 2;
        int ndir = rep == 2 ? 1 : 2;
        rnn_layer L;
        rnn_init(&L, gru, B, T, In, H, ndir, len);
        size_t nx = (size_t)B * T * In, nout = (size_t)B * T * L.stride;
        float *x = seq_input(B, T, In, len), *out = galloc(nout);
        rnn_bufs bufs[2];
        for (int d = 0; d < ndir; d++) {
            rnn_bufs_alloc(&bufs[d], gru, B, T, H);
            rnn_fwd(&L, out, x, &bufs[d], d);
        }
        /* R everywhere, padding and foreign columns included: none of it may leak. */
        float *R = frand(nout, -1, 1), *dinp = galloc(nx), *dw[2][4] = {{0}};
        rnn_ctx c = {&L, to_d(x, nx), to_d(R, nout), dalloc(nout), {{0}}};
        gparam ps[9];
        gp_set(&ps[0], "inp", c.x, nx, dinp);
        int np = 1;
        for (int d = 0; d < ndir; d++)
            for (int i = 0; i < 4; i++) {
                size_t n = rnn_wsize(&L, i);
                c.w[d][i] = to_d(L.w[d][i], n);
                dw[d][i] = galloc(n);
                gp_set(&ps[np++], fn[d][i], c.w[d][i], n, dw[d][i]);
            }
        gp_numeric(ps, np, rnn_loss, &c);
        char what[96];
        snprintf(what, sizeof what, "%s backward (%s, H=%d, lengths 4,6,2)", gru ? "gru" : "lstm",
                 ndir == 2 ? "bidirectional" : "one direction", H);
        for (int call = 1; call <= 2; call++) {
            for (int d = 0; d < ndir; d++) rnn_bwd(&L, dinp, dw[d], &bufs[d], R, out, x, d);
            gp_check(ps, np, call, what);
        }
        int ok = guard_ok(dinp, nx);
        for (int d = 0; d < ndir; d++) {
            ok &= rnn_bufs_ok(&bufs[d]);
            for (int i = 0; i < 4; i++) ok &= guard_ok(dw[d][i], rnn_wsize(&L, i));
        }
        CHECK_MSG(ok, "%s: a buffer was written past its documented size", what);
        gp_free(ps, np);
        for (int d = 0; d < ndir; d++) {
            rnn_bufs_free(&bufs[d]);
            for (int i = 0; i < 4; i++) free(dw[d][i]), free(c.w[d][i]);
        }
        free(x), free(out), free(R), free(dinp), free(c.x), free(c.R), free(c.out);
        rnn_free(&L);
    }
}

static void test_lstm_forward(void) { test_rnn_forward(0); }
static void test_gru_forward(void) { test_rnn_forward(1); }
static void test_lstm_alone(void) { test_rnn_alone(0); }
static void test_gru_alone(void) { test_rnn_alone(1); }
static void test_lstm_backward(void) { test_rnn_backward(0); }
static void test_gru_backward(void) { test_rnn_backward(1); }

/* ---------------------------------------------------------------------------------------- */
/* linear                                                                                   */

static void ref_linear(double *out, const double *inp, const double *w, const double *b, int N,
                       int In, int O) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            double s = b[o];
            for (int i = 0; i < In; i++) s += w[(size_t)o * In + i] * inp[(size_t)n * In + i];
            out[(size_t)n * O + o] = s;
        }
}

typedef struct {
    int N, In, O;
    double *inp, *w, *b, *R, *out;
} lin_ctx;

static double lin_loss(void *p) {
    lin_ctx *c = p;
    ref_linear(c->out, c->inp, c->w, c->b, c->N, c->In, c->O);
    return dot(c->out, c->R, (size_t)c->N * c->O);
}

static void test_linear(void) {
    for (int rep = 0; rep < 4; rep++) {
        int N = test_randint(1, 9), In = test_randint(1, 7), O = test_randint(1, 6);
        size_t ni = (size_t)N * In, nw = (size_t)O * In, no = (size_t)N * O;
        float *inp = frand(ni, -1, 1), *w = frand(nw, -1, 1), *b = frand(O, -1, 1);
        float *out = galloc(no);
        linear_forward(out, inp, w, b, N, In, O);
        lin_ctx c = {N, In, O, to_d(inp, ni), to_d(w, nw), to_d(b, O), NULL, dalloc(no)};
        ref_linear(c.out, c.inp, c.w, c.b, N, In, O);
        double d = max_diff_fd(out, c.out, no);
        CHECK_MSG(d <= FWD_TOL, "linear N=%d In=%d O=%d: max |diff| %g", N, In, O, d);
        CHECK(guard_ok(out, no));
        float *R = frand(no, -1, 1), *dinp = galloc(ni), *dw = galloc(nw), *db = galloc(O);
        c.R = to_d(R, no);
        gparam ps[3];
        gp_set(&ps[0], "inp", c.inp, ni, dinp);
        gp_set(&ps[1], "weight", c.w, nw, dw);
        gp_set(&ps[2], "bias", c.b, O, db);
        gp_numeric(ps, 3, lin_loss, &c);
        for (int call = 1; call <= 2; call++) {
            linear_backward(dinp, dw, db, R, inp, w, N, In, O);
            gp_check(ps, 3, call, "linear");
        }
        CHECK(guard_ok(dinp, ni) && guard_ok(dw, nw) && guard_ok(db, O));
        /* dinp may be NULL */
        memset(dw, 0, nw * sizeof(float));
        memset(db, 0, O * sizeof(float));
        linear_backward(NULL, dw, db, R, inp, w, N, In, O);
        double e = 0;
        for (size_t i = 0; i < nw; i++) e = fmax(e, fabs(dw[i] - ps[1].num[i]));
        for (int i = 0; i < O; i++) e = fmax(e, fabs(db[i] - ps[2].num[i]));
        CHECK_MSG(e <= GRAD_ATOL * 10, "linear backward with dinp NULL: max err %g", e);
        gp_free(ps, 3);
        free(inp), free(w), free(b), free(out), free(R), free(dinp), free(dw), free(db);
        free(c.inp), free(c.w), free(c.b), free(c.R), free(c.out);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* log_softmax                                                                              */

static void ref_lsm(double *out, const double *inp, int N, int C) {
    for (int n = 0; n < N; n++) {
        const double *x = inp + (size_t)n * C;
        double mx = x[0], s = 0;
        for (int c = 1; c < C; c++) mx = fmax(mx, x[c]);
        for (int c = 0; c < C; c++) s += exp(x[c] - mx);
        for (int c = 0; c < C; c++) out[(size_t)n * C + c] = x[c] - mx - log(s);
    }
}

typedef struct {
    int N, C;
    double *inp, *R, *out;
} lsm_ctx;

static double lsm_loss(void *p) {
    lsm_ctx *c = p;
    ref_lsm(c->out, c->inp, c->N, c->C);
    return dot(c->out, c->R, (size_t)c->N * c->C);
}

static void test_log_softmax(void) {
    for (int rep = 0; rep < 4; rep++) {
        int N = test_randint(1, 6), C = test_randint(1, 9);
        size_t n = (size_t)N * C;
        float *inp = frand(n, -4, 4);
        /* Rep 3: logits far from 0, where a naive exp overflows (float) or loses everything. */
        if (rep == 3)
            for (int r = 0; r < N; r++)
                for (int c = 0; c < C; c++) inp[(size_t)r * C + c] += r % 2 ? 300.0f : -300.0f;
        float *out = galloc(n);
        log_softmax_forward(out, inp, N, C);
        lsm_ctx c = {N, C, to_d(inp, n), NULL, dalloc(n)};
        ref_lsm(c.out, c.inp, N, C);
        double d = max_diff_fd(out, c.out, n);
        CHECK_MSG(d <= FWD_TOL, "log_softmax N=%d C=%d rep %d: max |diff| %g", N, C, rep, d);
        CHECK(guard_ok(out, n));
        float *R = frand(n, -1, 1), *dinp = galloc(n);
        c.R = to_d(R, n);
        gparam ps[1];
        gp_set(&ps[0], "inp", c.inp, n, dinp);
        gp_numeric(ps, 1, lsm_loss, &c);
        for (int call = 1; call <= 2; call++) {
            log_softmax_backward(dinp, R, out, N, C);
            gp_check(ps, 1, call, "log_softmax");
        }
        CHECK(guard_ok(dinp, n));
        gp_free(ps, 1);
        free(inp), free(out), free(R), free(dinp), free(c.inp), free(c.R), free(c.out);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* fastmath.h                                                                               */

/* exp, sigmoid and tanh against libm over their range, and NaN in gives NaN out: a model
   whose finite weights overflow feeds NaN to the gates, and NaN must never reach the float
   to int conversion inside fast_expf (undefined behaviour; UBSan stops the ASan build). */
static void test_fastmath(void) {
    double worst_exp = 0, worst = 0;
    for (int i = -2000; i <= 2000; i++) {
        float x = (float)i * 0.04f; /* ±80: inside the clamp at −87 and 88 */
        /* relative: x·log2 e keeps fewer fraction bits as |x| grows (3.7e-6 at 80) */
        worst_exp = fmax(worst_exp, fabs(fast_expf(x) - exp(x)) / exp(x));
        worst = fmax(worst, fabs(fast_sigmoidf(x) - 1 / (1 + exp(-x))));
        worst = fmax(worst, fabs(fast_tanhf(x) - tanh(x)));
    }
    CHECK_MSG(worst_exp < 1e-5 && worst < 1e-6, "fast exp differs from libm by %g (relative), "
              "sigmoid or tanh by %g", worst_exp, worst);
    CHECK(fast_expf(-1000.0f) > 0 && isfinite(fast_expf(1000.0f)));
    volatile float nan = NAN; /* volatile: evaluated at run time, as in the network */
    CHECK(isnan(fast_expf(nan)) && isnan(fast_sigmoidf(nan)) && isnan(fast_tanhf(nan)));
    CHECK(fast_tanhf(INFINITY) == 1.0f && fast_tanhf(-INFINITY) == -1.0f);
}

int main(void) {
    RUN(test_conv_forward);
    RUN(test_conv_backward);
    RUN(test_depthwise_forward);
    RUN(test_depthwise_backward);
    RUN(test_bn_forward);
    RUN(test_bn_backward);
    RUN(test_relu);
    RUN(test_maxpool);
    RUN(test_map_to_sequence);
    RUN(test_lstm_forward);
    RUN(test_lstm_alone);
    RUN(test_lstm_backward);
    RUN(test_gru_forward);
    RUN(test_gru_alone);
    RUN(test_gru_backward);
    RUN(test_linear);
    RUN(test_log_softmax);
    RUN(test_fastmath);
    TEST_EXIT();
}

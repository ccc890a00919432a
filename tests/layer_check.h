/* layer_check.h — what the layer tests share (test_layers.c, test_convrnn.c): buffers with
   guard zones at exactly their documented sizes, float/double conversions, mixed-width batch
   geometries, and numeric gradients by central differences in double.

   Backward is checked for the loss L = Σ out · R with a random R: every gradient buffer starts
   from a random "prior" value and backward is called twice, so the result must be prior + g,
   then prior + 2g (the documented += accumulation). */
#ifndef CRNN_TEST_LAYER_CHECK_H
#define CRNN_TEST_LAYER_CHECK_H

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "test.h"

#define MAXB 8
#define FWD_TOL 1e-4
/* Float backward vs double numeric gradient: the float error in these small layers stays below
   ~2e-6 (TEST_VERBOSE=1 prints how much of the tolerance each check used); a wrong term or
   index gives errors of the order of the gradient itself (~0.1 … 1). */
#define GRAD_ATOL 2e-5
#define GRAD_RTOL 2e-4
#define EPS_D 1e-6

/* ---------------------------------------------------------------------------------------- */
/* helpers                                                                                  */

#define GUARD 32
#define SENTINEL 12345.678f

/* n usable floats filled with garbage, followed by a guard zone of sentinels. */
static inline float *galloc(size_t n) {
    float *p = malloc((n + GUARD) * sizeof(float));
    if (!p) abort();
    for (size_t i = 0; i < n; i++) p[i] = test_randf(-1e3f, 1e3f);
    for (size_t i = 0; i < GUARD; i++) p[n + i] = SENTINEL;
    return p;
}

static inline int guard_ok(const float *p, size_t n) {
    for (size_t i = 0; i < GUARD; i++)
        if (p[n + i] != SENTINEL) return 0;
    return 1;
}

static inline double *dalloc(size_t n) {
    double *p = calloc(n ? n : 1, sizeof(double));
    if (!p) abort();
    return p;
}

static inline float *frand(size_t n, float lo, float hi) {
    float *p = galloc(n);
    for (size_t i = 0; i < n; i++) p[i] = test_randf(lo, hi);
    return p;
}

static inline double *to_d(const float *x, size_t n) {
    double *d = dalloc(n);
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

static inline double max_diff_fd(const float *a, const double *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= m)) m = d; /* NaN propagates as "worse" */
    }
    return m;
}

static inline double max_diff_ff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) m = d;
    }
    return m;
}

static inline int out_size(int in, int k, int s, int p) { return (in + 2 * p - k) / s + 1; }

/* A batch geometry that owns its arrays (map_geom only points at them). */
typedef struct {
    int n, h;
    int w[MAXB];
    size_t off[MAXB];
    size_t total;
} geo;

static inline void geo_init(geo *G, int n, int h, const int *w) {
    G->n = n;
    G->h = h;
    G->total = 0;
    for (int b = 0; b < n; b++) {
        G->w[b] = w[b];
        G->off[b] = G->total;
        G->total += (size_t)h * w[b];
    }
}

static inline map_geom mg(const geo *G) {
    map_geom g = {G->n, G->h, G->w, G->off, G->total};
    return g;
}

/* The output geometry of a window k over G. */
static inline void geo_out(geo *O, const geo *G, window2d k) {
    int w[MAXB];
    for (int b = 0; b < G->n; b++) w[b] = out_size(G->w[b], k.kw, k.sw, k.pw);
    geo_init(O, G->n, out_size(G->h, k.kh, k.sh, k.ph), w);
}

/* Image b of a C × P map on its own, as a C × (h·w[b]) map. */
static inline float *extract(const float *map, int C, const geo *G, int b) {
    size_t n = (size_t)G->h * G->w[b];
    float *o = galloc((size_t)C * n);
    for (int c = 0; c < C; c++)
        memcpy(o + (size_t)c * n, map + (size_t)c * G->total + G->off[b], n * sizeof(float));
    return o;
}

/* Random widths in [lo, hi], all different when the range allows, so batches are mixed. */
static inline void rand_widths(int *w, int n, int lo, int hi) {
    for (int b = 0; b < n; b++) {
        int tries = 0, ok;
        do {
            w[b] = test_randint(lo, hi);
            ok = 1;
            for (int j = 0; j < b; j++)
                if (w[j] == w[b]) ok = 0;
        } while (!ok && ++tries < 20);
    }
}

/* ---- numeric gradients ---- */

typedef double (*loss_fn)(void *ctx);

typedef struct {
    const char *name;
    double *x;    /* the reference's copy of the tensor, perturbed in place */
    size_t n;
    float *g;     /* the gradient buffer the layer accumulates into */
    float *prior; /* its value before backward */
    double *num;  /* central differences */
} gparam;

static inline void gp_set(gparam *p, const char *name, double *x, size_t n, float *g) {
    p->name = name;
    p->x = x;
    p->n = n;
    p->g = g;
    p->prior = malloc(n * sizeof(float));
    p->num = dalloc(n);
    for (size_t i = 0; i < n; i++) p->prior[i] = g[i] = test_randf(-1, 1);
}

static inline void gp_numeric(gparam *ps, int np, loss_fn fn, void *ctx) {
    for (int k = 0; k < np; k++) {
        for (size_t i = 0; i < ps[k].n; i++) {
            double s = ps[k].x[i];
            ps[k].x[i] = s + EPS_D;
            double lp = fn(ctx);
            ps[k].x[i] = s - EPS_D;
            double lm = fn(ctx);
            ps[k].x[i] = s;
            ps[k].num[i] = (lp - lm) / (2 * EPS_D);
        }
    }
}

/* After `calls` backward calls each buffer must hold prior + calls · numeric. */
static inline void gp_check(gparam *ps, int np, int calls, const char *what) {
    for (int k = 0; k < np; k++) {
        double worst = 0, wa = 0, wn = 0;
        size_t wi = 0;
        for (size_t i = 0; i < ps[k].n; i++) {
            double ana = ((double)ps[k].g[i] - ps[k].prior[i]) / calls, num = ps[k].num[i];
            double e = fabs(ana - num) / (GRAD_ATOL + GRAD_RTOL * fabs(num));
            if (!(e <= worst)) {
                worst = e;
                wi = i;
                wa = ana;
                wn = num;
            }
        }
        if (getenv("TEST_VERBOSE")) /* how much of the tolerance was used */
            fprintf(stderr, "  %s d%s (%d): worst %.3g of tolerance\n", what, ps[k].name, calls,
                    worst);
        CHECK_MSG(worst <= 1, "%s: d%s[%zu] after %d backward call(s): backward %.8g, numeric "
                  "%.8g", what, ps[k].name, wi, calls, wa, wn);
    }
}

static inline void gp_free(gparam *ps, int np) {
    for (int k = 0; k < np; k++) {
        free(ps[k].prior);
        free(ps[k].num);
    }
}

static inline double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}


#endif

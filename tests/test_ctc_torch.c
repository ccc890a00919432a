/* test_ctc_torch.c — ctc_loss against torch.nn.functional.ctc_loss.

   Usage: test_ctc_torch FILE, where FILE is the ctc_cases.bin that tests/ctc_torch.py writes
   (see its docstring for the layout; the meson test runs the script with --check).

   For every case: ctc_min_frames must agree; the loss must match PyTorch's (reduction 'sum',
   blank 0) within LOSS_RTOL relative; the gradient w.r.t. the logits must match within GRAD_TOL
   (its entries lie in [-1, 1]); calling without a gradient must give the same loss; and where
   PyTorch's loss is +inf, ctc_loss must return INFINITY and leave the gradient untouched. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctc/ctc.h"
#include "test.h"

#define LOSS_RTOL 1e-4 /* relative to max(|loss|, 1), so tiny losses get 1e-4 absolute */
#define GRAD_TOL 1e-4
#define SENTINEL 12345.0f

typedef struct {
    const unsigned char *p, *end;
    int bad;
} cursor;

static const unsigned char *take(cursor *c, size_t n) {
    if (c->bad || (size_t)(c->end - c->p) < n) {
        c->bad = 1;
        return NULL;
    }
    const unsigned char *at = c->p;
    c->p += n;
    return at;
}

/* The file is little-endian whatever the host is. */
static uint64_t le(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static uint32_t get_u32(cursor *c) {
    const unsigned char *p = take(c, 4);
    return p ? (uint32_t)le(p, 4) : 0;
}

static float get_f32(cursor *c) {
    uint32_t bits = get_u32(c);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static double get_f64(cursor *c) {
    const unsigned char *p = take(c, 8);
    uint64_t bits = p ? le(p, 8) : 0;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static unsigned char *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 1 << 16;
            unsigned char *grown = realloc(data, cap);
            if (!grown) break;
            data = grown;
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int failed = ferror(f) || (n == cap && !feof(f));
    fclose(f);
    if (failed) {
        free(data);
        return NULL;
    }
    *size = n;
    return data;
}

static double worst_loss_rel, worst_grad;

/* Returns 0 if the file is malformed (the caller stops), 1 otherwise. */
static int check_case(cursor *cur, int index) {
    uint32_t T = get_u32(cur), C = get_u32(cur), L = get_u32(cur), min_frames = get_u32(cur);
    if (cur->bad || T < 1 || T > 100000 || C < 2 || C > 65536 || L > 100000) return 0;
    size_t n = (size_t)T * C;
    int *labels = malloc(sizeof(int) * (L ? L : 1));
    float *lp = malloc(sizeof(float) * n), *grad = malloc(sizeof(float) * n);
    double *ref_grad = malloc(sizeof(double) * n);
    int ok = labels && lp && grad && ref_grad;
    if (!ok) goto done;
    for (uint32_t i = 0; i < L; i++) labels[i] = (int)get_u32(cur);
    for (size_t i = 0; i < n; i++) lp[i] = get_f32(cur);
    double ref_loss = get_f64(cur);
    for (size_t i = 0; i < n; i++) ref_grad[i] = get_f64(cur);
    if (cur->bad) {
        ok = 0;
        goto done;
    }

    CHECK_MSG(ctc_min_frames(labels, (int)L) == (int)min_frames,
              "case %d: ctc_min_frames %d, expected %u", index, ctc_min_frames(labels, (int)L),
              min_frames);
    for (size_t i = 0; i < n; i++) grad[i] = SENTINEL;
    double loss = ctc_loss(lp, (int)T, (int)C, labels, (int)L, grad);
    double loss_nograd = ctc_loss(lp, (int)T, (int)C, labels, (int)L, NULL);

    if (isinf(ref_loss)) {
        CHECK_MSG(isinf(loss) && loss > 0, "case %d (T=%u, L=%u, cannot align): loss %.9g, "
                  "expected INFINITY", index, T, L, loss);
        int untouched = 1;
        for (size_t i = 0; i < n; i++) untouched &= grad[i] == SENTINEL;
        CHECK_MSG(untouched, "case %d: gradient written although the loss is infinite", index);
    } else {
        double rel = fabs(loss - ref_loss) / fmax(fabs(ref_loss), 1.0);
        if (!(rel <= worst_loss_rel)) worst_loss_rel = rel != rel ? INFINITY : rel;
        CHECK_MSG(rel <= LOSS_RTOL, "case %d (T=%u, C=%u, L=%u): loss %.9g, PyTorch %.9g, "
                  "relative difference %.3g", index, T, C, L, loss, ref_loss, rel);
        CHECK_MSG(loss_nograd == loss, "case %d: loss %.17g without gradient, %.17g with",
                  index, loss_nograd, loss);
        double worst = 0;
        size_t at = 0;
        for (size_t i = 0; i < n; i++) {
            double d = fabs((double)grad[i] - ref_grad[i]);
            if (!(d <= worst)) {
                worst = d != d ? INFINITY : d;
                at = i;
            }
        }
        if (worst > worst_grad) worst_grad = worst;
        CHECK_MSG(worst <= GRAD_TOL, "case %d (T=%u, C=%u, L=%u): gradient differs by %.3g at "
                  "frame %zu class %zu (ctc_loss %.7g, PyTorch %.7g)", index, T, C, L, worst,
                  at / C, at % C, grad[at], ref_grad[at]);
    }
done:
    free(labels);
    free(lp);
    free(grad);
    free(ref_grad);
    return ok;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s ctc_cases.bin  (from tests/ctc_torch.py)\n", argv[0]);
        return 2;
    }
    size_t size = 0;
    unsigned char *data = slurp(argv[1], &size);
    if (!data) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    cursor cur = {data, data + size, 0};
    const unsigned char *magic = take(&cur, 4);
    uint32_t n_cases = get_u32(&cur);
    if (!magic || memcmp(magic, "CTCT", 4) != 0 || cur.bad) {
        fprintf(stderr, "%s: not a ctc_torch.py case file\n", argv[1]);
        free(data);
        return 1;
    }
    uint32_t done = 0;
    while (done < n_cases && check_case(&cur, (int)done)) done++;
    CHECK_MSG(done == n_cases && cur.p == cur.end, "%s: malformed after case %u of %u", argv[1],
              done, n_cases);
    fprintf(stderr, "%u cases; worst loss relative difference %.3g, worst gradient difference "
            "%.3g\n", done, worst_loss_rel, worst_grad);
    free(data);
    TEST_EXIT();
}

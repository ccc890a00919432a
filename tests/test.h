/* test.h — a tiny assertion harness. Each test program runs its cases and exits non-zero if any
   check failed; meson counts programs, and scripts/run-tests sums them into "N passed, N failed". */
#ifndef CRNN_TEST_H
#define CRNN_TEST_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int test_failures;
static int test_checks;

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        test_checks++;                                                                       \
        if (!(cond)) {                                                                       \
            test_failures++;                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);         \
        }                                                                                    \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                 \
    do {                                                                                     \
        test_checks++;                                                                       \
        if (!(cond)) {                                                                       \
            test_failures++;                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fputc('\n', stderr);                                                             \
        }                                                                                    \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                \
    do {                                                                                     \
        double a_ = (a), b_ = (b);                                                           \
        test_checks++;                                                                       \
        if (!(fabs(a_ - b_) <= (tol)) || a_ != a_ || b_ != b_) {                             \
            test_failures++;                                                                 \
            fprintf(stderr, "%s:%d: %s = %.9g, %s = %.9g, differ by more than %g\n",         \
                    __FILE__, __LINE__, #a, a_, #b, b_, (double)(tol));                       \
        }                                                                                    \
    } while (0)

#define RUN(fn)                                                                              \
    do {                                                                                     \
        int before_ = test_failures;                                                         \
        fn();                                                                                \
        fprintf(stderr, "%-40s %s\n", #fn, test_failures == before_ ? "ok" : "FAILED");      \
    } while (0)

#define TEST_EXIT()                                                                          \
    do {                                                                                     \
        fprintf(stderr, "%d checks, %d failed\n", test_checks, test_failures);               \
        return test_failures ? 1 : 0;                                                        \
    } while (0)

/* Deterministic test randomness (xorshift), independent of the library's RNG. */
static unsigned long long test_rng_state = 88172645463325252ull;
static inline double test_uniform(void) {
    test_rng_state ^= test_rng_state << 13;
    test_rng_state ^= test_rng_state >> 7;
    test_rng_state ^= test_rng_state << 17;
    return (double)(test_rng_state >> 11) / 9007199254740992.0;
}
static inline float test_randf(float lo, float hi) { return lo + (hi - lo) * (float)test_uniform(); }
static inline int test_randint(int lo, int hi) { return lo + (int)(test_uniform() * (hi - lo + 1)); }

#endif

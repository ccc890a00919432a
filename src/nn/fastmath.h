/* fastmath.h — exp, sigmoid and tanh written so the compiler can vectorise the loops that call
   them (libm's scalar expf/tanhf cannot be). exp(x) = 2^i · 2^f with i = floor(x·log2 e) put
   straight into the exponent bits and 2^f from a degree-6 polynomial fitted on [0, 1) at
   Chebyshev nodes: relative error about 1e-7, the rounding of a float. The loops vectorise
   with -fno-math-errno -fno-trapping-math, which meson.build sets for the whole project.
   NaN in gives NaN out. */
#ifndef CRNN_FASTMATH_H
#define CRNN_FASTMATH_H

#include <math.h>
#include <stdint.h>

static inline float fast_expf(float x) {
    x = x < -87.0f ? -87.0f : x; /* stay inside normal floats; NaN passes through */
    x = x > 88.0f ? 88.0f : x;
    float t = x * 1.44269504088896341f;
    float i = floorf(t);
    float f = t - i;
    float p = 2.1690609e-4f;
    p = p * f + 1.2443082e-3f;
    p = p * f + 9.6784728e-3f;
    p = p * f + 5.5483524e-2f;
    p = p * f + 0.24022980f;
    p = p * f + 0.69314700f;
    p = p * f + 1.0f;
    /* NaN (from a model whose finite weights overflow) must not reach the conversion to int
       below, which is undefined for it; p already carries the NaN into the result. */
    i = i == i ? i : 0.0f;
    union {
        int32_t i;
        float f;
    } scale = {.i = ((int32_t)i + 127) << 23}; /* 2^i, built in the exponent bits */
    return p * scale.f;
}

static inline float fast_sigmoidf(float x) { return 1.0f / (1.0f + fast_expf(-x)); }

/* tanh(x) = 1 − 2 / (e^{2x} + 1): exact limits ±1, absolute error ~1e-7 near 0. */
static inline float fast_tanhf(float x) { return 1.0f - 2.0f / (fast_expf(2.0f * x) + 1.0f); }

#endif

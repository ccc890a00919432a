/* rng.c — PCG32 (O'Neill): tiny state, good statistics, reproducible across platforms. */
#include <math.h>

#include "util/util.h"

void rng_seed(rng_t *r, uint64_t seed, uint64_t stream) {
    r->state = 0;
    r->inc = (stream << 1u) | 1u;
    rng_u32(r);
    r->state += seed;
    rng_u32(r);
}

uint32_t rng_u32(rng_t *r) {
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

float rng_uniform(rng_t *r) { return (float)(rng_u32(r) >> 8) * (1.0f / 16777216.0f); }

float rng_range(rng_t *r, float lo, float hi) { return lo + (hi - lo) * rng_uniform(r); }

int rng_int(rng_t *r, int lo, int hi) {
    if (hi <= lo) return lo;
    uint32_t span = (uint32_t)(hi - lo) + 1u;
    return lo + (int)(rng_u32(r) % span);
}

float rng_normal(rng_t *r) {
    /* Box–Muller; the second value is dropped to keep the state a pure function of calls. */
    float u1 = rng_uniform(r), u2 = rng_uniform(r);
    if (u1 < 1e-7f) u1 = 1e-7f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530718f * u2);
}

int rng_chance(rng_t *r, float p) { return rng_uniform(r) < p; }

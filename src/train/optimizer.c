/* optimizer.c — Adam with decoupled weight decay (Loshchilov & Hutter), AdaDelta (Zeiler; the
   CRNN paper's choice), global gradient-norm clipping and learning-rate schedules. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/train.h"

crnn_status optimizer_init(optimizer *o, optimizer_kind kind, size_t n, crnn_error *err) {
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->n = n;
    o->m = calloc(n ? n : 1, sizeof(float));
    o->v = calloc(n ? n : 1, sizeof(float));
    if (!o->m || !o->v) {
        optimizer_free(o);
        return set_error(err, CRNN_ERR_NOMEM, "out of memory for optimiser state");
    }
    return CRNN_OK;
}

void optimizer_free(optimizer *o) {
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}

void optimizer_step(optimizer *o, float *params, const float *grads, const uint8_t *decay_mask,
                    float lr, float weight_decay) {
    o->t++;
    if (o->kind == OPT_ADAM) {
        const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
        float c1 = 1.0f - powf(b1, (float)o->t), c2 = 1.0f - powf(b2, (float)o->t);
        for (size_t i = 0; i < o->n; i++) {
            float g = grads[i];
            o->m[i] = b1 * o->m[i] + (1 - b1) * g;
            o->v[i] = b2 * o->v[i] + (1 - b2) * g * g;
            float mhat = o->m[i] / c1, vhat = o->v[i] / c2;
            float wd = decay_mask && decay_mask[i] ? weight_decay * params[i] : 0.0f;
            params[i] -= lr * (mhat / (sqrtf(vhat) + eps) + wd);
        }
    } else {
        const float rho = 0.9f, eps = 1e-6f;
        for (size_t i = 0; i < o->n; i++) {
            float g = grads[i];
            o->m[i] = rho * o->m[i] + (1 - rho) * g * g;
            float dx = -sqrtf(o->v[i] + eps) / sqrtf(o->m[i] + eps) * g;
            o->v[i] = rho * o->v[i] + (1 - rho) * dx * dx;
            float wd = decay_mask && decay_mask[i] ? weight_decay * params[i] : 0.0f;
            params[i] += lr * dx - lr * wd;
        }
    }
}

double clip_grad_norm(float *grads, size_t n, double max_norm) {
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (double)grads[i] * grads[i];
    double norm = sqrt(ss);
    if (max_norm > 0 && norm > max_norm && isfinite(norm)) {
        float k = (float)(max_norm / norm);
        for (size_t i = 0; i < n; i++) grads[i] *= k;
    }
    return norm;
}

float lr_at(schedule_kind kind, float base, float final_lr, long step, long warmup, long total) {
    const double pi = 3.14159265358979323846;
    if (kind == SCHED_CONSTANT) {
        if (warmup > 0 && step < warmup) return base * (float)(step + 1) / (float)warmup;
        return base;
    }
    if (kind == SCHED_ONECYCLE) {
        float start = base / 25.0f;
        if (step < warmup) /* cosine ramp up from base/25 */
            return start + (base - start) * 0.5f * (1.0f - cosf((float)(pi * step / warmup)));
        final_lr = base / 1e4f;
    } else if (warmup > 0 && step < warmup) {
        return base * (float)(step + 1) / (float)warmup;
    }
    if (total <= warmup) return base;
    double f = (double)(step - warmup) / (double)(total - warmup);
    if (f > 1) f = 1;
    return final_lr + (base - final_lr) * 0.5f * (float)(1.0 + cos(pi * f));
}

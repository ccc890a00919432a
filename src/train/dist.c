/* dist.c — see dist.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/dist.h"

/* The first sample of replica g when B samples are split among G replicas: B / G each, the
   first B % G one more (step.c shares a batch among its workers the same way). */
static int replica_first(int B, int G, int g) {
    int q = B / G, e = B % G;
    return g * q + (g < e ? g : e);
}

void dist_share(int B, const int *threads, int size, int rank, int *first, int *end) {
    int G = 0, g0 = 0;
    for (int r = 0; r < size; r++) {
        if (r == rank) g0 = G;
        G += threads[r];
    }
    /* A rank's replicas are consecutive, so its share is one run of samples; step.c then
       splits that run among its own workers exactly as the global split did. */
    *first = replica_first(B, G, g0);
    *end = replica_first(B, G, g0 + threads[rank]);
}

crnn_status dist_plan(train_comm *c, int mine, int B, int *threads, char *line, size_t size,
                      crnn_error *err) {
    float *v = calloc((size_t)c->size, sizeof(float));
    if (!v) return set_error(err, CRNN_ERR_NOMEM, "out of memory");
    v[c->rank] = (float)mine;
    crnn_status s = c->allreduce_sum(c, v, (size_t)c->size, err);
    for (int r = 0; r < c->size && s == CRNN_OK; r++) threads[r] = (int)v[r];
    free(v);
    if (s != CRNN_OK) return s;
    int replicas = 0, lo = B, hi = 0, tlo = threads[0], thi = threads[0];
    for (int r = 0; r < c->size; r++) {
        int first, end;
        dist_share(B, threads, c->size, r, &first, &end);
        lo = end - first < lo ? end - first : lo;
        hi = end - first > hi ? end - first : hi;
        tlo = threads[r] < tlo ? threads[r] : tlo;
        thi = threads[r] > thi ? threads[r] : thi;
        replicas += threads[r];
    }
    char threads_txt[32], share_txt[48];
    if (tlo == thi) snprintf(threads_txt, sizeof threads_txt, "%d", tlo);
    else snprintf(threads_txt, sizeof threads_txt, "%d to %d", tlo, thi);
    if (lo == hi) snprintf(share_txt, sizeof share_txt, "%d samples a rank", lo);
    else snprintf(share_txt, sizeof share_txt, "%d to %d samples a rank", lo, hi);
    snprintf(line, size, "distributed: %d ranks (%d on rank 0's machine), %s threads each, %d "
             "replicas; global batch %d, %s", c->size, c->local_size, threads_txt, replicas, B,
             share_txt);
    return CRNN_OK;
}

crnn_status dist_agree(train_comm *c, crnn_status mine, crnn_error *err) {
    float *failed = calloc((size_t)c->size, sizeof(float));
    if (!failed) return set_error(err, CRNN_ERR_NOMEM, "out of memory");
    failed[c->rank] = mine != CRNN_OK;
    crnn_status s = c->allreduce_sum(c, failed, (size_t)c->size, err);
    int first = -1;
    for (int r = 0; r < c->size && first < 0 && s == CRNN_OK; r++)
        if (failed[r] > 0) first = r;
    free(failed);
    if (s != CRNN_OK || first < 0) return s;
    /* The failing rank's own error, sent as it is: the code and the message. */
    crnn_error shared;
    memset(&shared, 0, sizeof shared);
    if (c->rank == first) shared = *err;
    s = c->broadcast(c, &shared, sizeof shared, first, err);
    if (s != CRNN_OK) return s;
    shared.message[sizeof shared.message - 1] = 0;
    if (first == 0) *err = shared; /* rank 0's errors read as one process's */
    else set_error(err, shared.code, "rank %d: %s", first, shared.message);
    return shared.code != CRNN_OK ? shared.code : CRNN_ERR_ARG;
}

crnn_status dist_sync_state(train_comm *c, crnn_model *m, optimizer *o, checkpoint_state *st,
                            crnn_error *err) {
    /* A model of another size on some rank (another run folder, another build) would make
       every later reduction meaningless: refuse it before any is made. */
    uint64_t n0 = m->n_params;
    crnn_status s = c->broadcast(c, &n0, sizeof n0, 0, err);
    if (s != CRNN_OK) return s;
    crnn_status mine = CRNN_OK;
    if (n0 != m->n_params || o->n != m->n_params)
        mine = set_error(err, CRNN_ERR_ARG, "its model has %zu parameters, rank 0's %llu: do "
                         "all ranks read the same run folder and options?", m->n_params,
                         (unsigned long long)n0);
    s = dist_agree(c, mine, err);
    if (s != CRNN_OK) return s;
    int64_t t = o->t;
    if ((s = c->broadcast(c, m->params, m->n_params * sizeof(float), 0, err)) != CRNN_OK ||
        (s = c->broadcast(c, o->m, o->n * sizeof(float), 0, err)) != CRNN_OK ||
        (s = c->broadcast(c, o->v, o->n * sizeof(float), 0, err)) != CRNN_OK ||
        (s = c->broadcast(c, &t, sizeof t, 0, err)) != CRNN_OK ||
        (s = c->broadcast(c, st, sizeof *st, 0, err)) != CRNN_OK)
        return s;
    o->t = (long)t;
    return CRNN_OK;
}

crnn_status dist_sync_params(train_comm *c, crnn_model *m, crnn_error *err) {
    return c->broadcast(c, m->params, m->n_params * sizeof(float), 0, err);
}

crnn_status dist_reduce_step(train_comm *c, float *buf, const float *grads, size_t n,
                             step_stats *ss, int *stop, double *cpu_s, crnn_error *err) {
    memcpy(buf, grads, n * sizeof(float));
    float *x = buf + n;
    x[0] = (float)ss->loss;
    x[1] = (float)ss->counted;
    x[2] = (float)ss->unalignable;
    x[3] = (float)(*stop != 0);
    x[4] = (float)*cpu_s;
    crnn_status s = c->allreduce_sum(c, buf, n + DIST_STEP_EXTRA, err);
    if (s != CRNN_OK) return s;
    ss->loss = x[0];
    ss->counted = (int)lrintf(x[1]);
    ss->unalignable = lrintf(x[2]);
    *stop = x[3] > 0;
    *cpu_s = x[4];
    return CRNN_OK;
}

crnn_status dist_validate(train_comm *c, const validation_set *v, const crnn_model *m,
                          int threads, validation_score *score, crnn_error *err) {
    double t0 = now_seconds();
    /* Rank r scores images [n r / size, n (r + 1) / size) of the set every rank loaded. */
    long first = (long)v->n * c->rank / c->size, end = (long)v->n * (c->rank + 1) / c->size;
    validation_set share = *v;
    share.n = (int)(end - first);
    share.texts = v->texts + first;
    share.names = v->names + first;
    share.images = v->images + first;
    validation_score mine;
    crnn_status s = validation_run(&share, m, NULL, &mine, NULL, threads, err);
    /* A rank that failed still takes part, so that the others do not wait for it forever;
       its failure is counted and reported by every rank. */
    float sums[6] = {(float)mine.n, (float)(mine.exact * mine.n), (float)(mine.alnum * mine.n),
                     (float)(mine.one_minus_ned * mine.n), (float)mine.rejected,
                     (float)(s != CRNN_OK)};
    if (s != CRNN_OK) memset(sums, 0, 5 * sizeof(float));
    crnn_error local = *err;
    crnn_status r = c->allreduce_sum(c, sums, 6, err);
    if (r != CRNN_OK) return r;
    if (s != CRNN_OK) {
        *err = local;
        return s;
    }
    if (sums[5] > 0)
        return set_error(err, CRNN_ERR_ARG, "validation failed on %.0f other rank(s)",
                         (double)sums[5]);
    memset(score, 0, sizeof *score);
    score->n = (int)lrintf(sums[0]);
    double hits = lrintf(sums[1]), hits_alnum = lrintf(sums[2]);
    score->rejected = (int)lrintf(sums[4]);
    if (score->n) {
        score->exact = hits / score->n;
        score->alnum = hits_alnum / score->n;
        score->one_minus_ned = sums[3] / score->n;
    }
    if (score->n > score->rejected) {
        score->exact_accepted = hits / (score->n - score->rejected);
        score->alnum_accepted = hits_alnum / (score->n - score->rejected);
    }
    score->seconds = now_seconds() - t0;
    return CRNN_OK;
}

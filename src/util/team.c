/* team.c — see team.h.

   One 64-bit ticket describes the current job: generation (32 bits) | parts (16) | next part
   to claim (16). A thread claims a part by a compare-and-swap that increments the next part
   of the generation it saw, so a thread that saw an older job can never claim a part of a
   newer one; and the job's function and argument, written before its ticket is published,
   stay in place while any of its parts is unfinished, because the caller waits for all of
   them before it writes the next job.

   What a busy machine does to a team of two on two cores, one of them taken by another
   program: the helper shares its core and is preempted for a whole scheduler tick (4 ms at
   250 Hz) now and then, sometimes just after claiming a part the caller then waits for. One
   such wait costs more than the helper saves in many jobs, so after a job whose helpers
   finished well after the caller, the caller works alone for a while: 32 jobs (about one
   image) at first, twice as many after each late job, half as many again after 256 jobs in
   a row were on time, at most 4096. Meanwhile the helpers sleep at once instead of polling,
   which also leaves their core free for the caller to move to. Results do not depend on
   which thread ran a part. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "util/team.h"

/* How long an idle thread polls (yielding the core between polls) before it sleeps: longer
   than the gaps between the parallel layers of one image, so that they need no wake-up,
   and short enough that polling costs nothing worth counting. */
#define POLL_NANOSECONDS 200000LL
/* A job's helpers count as late when the caller waited for them more than half as long as it
   worked on the job itself, plus this much; unless they had to be woken for it. */
#define LATE_NANOSECONDS 50000LL
#define MIN_SOLO_JOBS 32
#define MAX_SOLO_JOBS 4096
#define ON_TIME_JOBS_TO_RELAX 256

struct team {
    int helpers;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake;      /* helpers sleep here, waiting for a job */
    pthread_cond_t finished;  /* the caller sleeps here, waiting for the last part */
    _Atomic uint64_t ticket;
    atomic_int done;          /* parts of the current job finished */
    atomic_int sleepers;      /* helpers asleep (or about to be) on wake */
    atomic_int caller_asleep; /* the caller is asleep (or about to be) on finished */
    atomic_int quit;
    atomic_int solo_jobs;     /* jobs the caller still runs alone after late helpers */
    int next_solo_jobs;       /* the length of the next such stretch */
    int on_time_jobs;         /* shared jobs in a row whose helpers were not late */
    team_fn fn;
    void *arg;
};

static uint32_t ticket_generation(uint64_t t) { return (uint32_t)(t >> 32); }
static int ticket_parts(uint64_t t) { return (int)((t >> 16) & 0xffff); }
static int ticket_next(uint64_t t) { return (int)(t & 0xffff); }

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Claims and runs parts of generation gen until none is left. */
static void work(team *t, uint32_t gen) {
    uint64_t tk = atomic_load(&t->ticket);
    while (ticket_generation(tk) == gen && ticket_next(tk) < ticket_parts(tk)) {
        if (!atomic_compare_exchange_weak(&t->ticket, &tk, tk + 1)) continue; /* tk reloaded */
        int parts = ticket_parts(tk);
        t->fn(t->arg, ticket_next(tk), parts);
        if (atomic_fetch_add(&t->done, 1) + 1 == parts && atomic_load(&t->caller_asleep)) {
            pthread_mutex_lock(&t->mu);
            pthread_cond_signal(&t->finished);
            pthread_mutex_unlock(&t->mu);
        }
        tk = atomic_load(&t->ticket);
    }
}

static int job_after(const team *t, uint32_t seen) {
    return atomic_load(&t->quit) || ticket_generation(atomic_load(&t->ticket)) != seen;
}

static void *helper(void *arg) {
    team *t = arg;
    uint32_t seen = ticket_generation(atomic_load(&t->ticket));
    for (;;) {
        long long until = now_ns() + (atomic_load(&t->solo_jobs) > 0 ? 0 : POLL_NANOSECONDS);
        while (!job_after(t, seen) && now_ns() < until) sched_yield();
        if (!job_after(t, seen)) {
            pthread_mutex_lock(&t->mu);
            atomic_fetch_add(&t->sleepers, 1);
            while (!job_after(t, seen)) pthread_cond_wait(&t->wake, &t->mu);
            atomic_fetch_sub(&t->sleepers, 1);
            pthread_mutex_unlock(&t->mu);
        }
        if (atomic_load(&t->quit)) return NULL;
        seen = ticket_generation(atomic_load(&t->ticket));
        work(t, seen);
    }
}

team *team_new(int threads) {
    if (threads < 2 || threads > TEAM_MAX_THREADS) return NULL;
    team *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->threads = calloc((size_t)threads - 1, sizeof(pthread_t));
    if (!t->threads) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->wake, NULL);
    pthread_cond_init(&t->finished, NULL);
    atomic_init(&t->ticket, 0);
    atomic_init(&t->done, 0);
    atomic_init(&t->sleepers, 0);
    atomic_init(&t->caller_asleep, 0);
    atomic_init(&t->quit, 0);
    atomic_init(&t->solo_jobs, 0);
    t->next_solo_jobs = MIN_SOLO_JOBS;
    for (int i = 0; i < threads - 1; i++) {
        if (pthread_create(&t->threads[i], NULL, helper, t) != 0) break;
        t->helpers++;
    }
    if (t->helpers < threads - 1) {
        team_free(t);
        return NULL;
    }
    return t;
}

void team_free(team *t) {
    if (!t) return;
    pthread_mutex_lock(&t->mu);
    atomic_store(&t->quit, 1);
    pthread_cond_broadcast(&t->wake);
    pthread_mutex_unlock(&t->mu);
    for (int i = 0; i < t->helpers; i++) pthread_join(t->threads[i], NULL);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->wake);
    pthread_cond_destroy(&t->finished);
    free(t->threads);
    free(t);
}

int team_threads(const team *t) { return t ? t->helpers + 1 : 1; }

void team_run(team *t, int parts, team_fn fn, void *arg) {
    if (parts > TEAM_MAX_PARTS) parts = TEAM_MAX_PARTS;
    if (t && parts > 1 && atomic_load(&t->solo_jobs) > 0) {
        atomic_fetch_sub(&t->solo_jobs, 1);
        t = NULL;
    }
    if (!t || parts <= 1) {
        for (int p = 0; p < parts; p++) fn(arg, p, parts);
        return;
    }
    t->fn = fn;
    t->arg = arg;
    atomic_store(&t->done, 0);
    uint32_t gen = ticket_generation(atomic_load(&t->ticket)) + 1;
    atomic_store(&t->ticket, (uint64_t)gen << 32 | (uint64_t)parts << 16);
    /* Sleeping helpers are woken; polling ones see the ticket by themselves. A helper that
       counts itself a sleeper re-reads the ticket under the mutex before it waits. */
    int woken = atomic_load(&t->sleepers) > 0;
    if (woken) {
        pthread_mutex_lock(&t->mu);
        pthread_cond_broadcast(&t->wake);
        pthread_mutex_unlock(&t->mu);
    }
    long long start = now_ns();
    work(t, gen);
    /* Every part is claimed; wait for those still running on helpers. */
    long long worked = now_ns();
    long long until = worked + POLL_NANOSECONDS;
    while (atomic_load(&t->done) < parts && now_ns() < until) sched_yield();
    if (atomic_load(&t->done) < parts) {
        pthread_mutex_lock(&t->mu);
        atomic_store(&t->caller_asleep, 1);
        while (atomic_load(&t->done) < parts) pthread_cond_wait(&t->finished, &t->mu);
        atomic_store(&t->caller_asleep, 0);
        pthread_mutex_unlock(&t->mu);
    }
    long long waited = now_ns() - worked;
    if (woken) return; /* a helper's waking up is not a busy core (the first job of an image) */
    if (2 * waited > worked - start + 2 * LATE_NANOSECONDS) {
        atomic_store(&t->solo_jobs, t->next_solo_jobs);
        if (t->next_solo_jobs < MAX_SOLO_JOBS) t->next_solo_jobs *= 2;
        t->on_time_jobs = 0;
    } else if (++t->on_time_jobs == ON_TIME_JOBS_TO_RELAX) {
        if (t->next_solo_jobs > MIN_SOLO_JOBS) t->next_solo_jobs /= 2;
        t->on_time_jobs = 0;
    }
}

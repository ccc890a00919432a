/* team.h — a few threads that share the parts of one small job: the layers of one image.

   The calling thread works too, and parts are claimed, not assigned: when a helper is slow to
   wake or waits for a core that another program holds, the caller takes its part instead of
   waiting for it, so a busy machine costs at most the helper's share of the speed-up, never
   more than running alone. Idle helpers poll briefly, giving the core away between polls
   (sched_yield), then sleep on a condition variable: they never hold a core someone else
   needs. (OpenMP's spinning waiters made one image 10-30x slower with one core busy.) */
#ifndef CRNN_TEAM_H
#define CRNN_TEAM_H

#define TEAM_MAX_THREADS 64
#define TEAM_MAX_PARTS 65535

typedef struct team team;

/* A part of a job: part in [0, parts). Parts of one job may run at the same time on
   different threads, in any order. */
typedef void (*team_fn)(void *arg, int part, int parts);

/* threads - 1 helper threads (threads in 2..TEAM_MAX_THREADS). NULL if they cannot start. */
team *team_new(int threads);
void team_free(team *t);
/* Threads that share a job, the caller included; 1 for a NULL team. */
int team_threads(const team *t);
/* Runs fn(arg, p, parts) for every p in [0, parts) and returns when all have finished. A
   NULL team, or one part, runs everything in the calling thread. Not reentrant: one job at a
   time per team, from one thread. */
void team_run(team *t, int parts, team_fn fn, void *arg);

#endif

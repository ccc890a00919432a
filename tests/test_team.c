/* test_team.c — the thread team behind intra-image threading (src/util/team.c): every part of
   every job runs exactly once and is finished when team_run returns, whatever the number of
   parts, threads and timing (late helpers switch the team to running alone for a while,
   which must not change what runs). */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "test.h"
#include "util/team.h"

#define MAX_PARTS 40

typedef struct {
    atomic_int runs[MAX_PARTS];
    int slow_part; /* this part sleeps a while: a late helper, or a slow caller */
} job;

static void count_part(void *arg, int part, int parts) {
    job *j = arg;
    (void)parts;
    if (part == j->slow_part) {
        struct timespec ts = {0, 300000}; /* 0.3 ms */
        nanosleep(&ts, NULL);
    }
    atomic_fetch_add(&j->runs[part], 1);
}

static void check_team(team *t, int threads) {
    CHECK(team_threads(t) == threads);
    int wrong = 0;
    for (int k = 0; k < 3000; k++) {
        job j;
        for (int p = 0; p < MAX_PARTS; p++) atomic_init(&j.runs[p], 0);
        int parts = k % MAX_PARTS; /* 0 parts too: nothing runs */
        j.slow_part = k % 7 == 0 && parts ? (k / 7) % parts : -1;
        team_run(t, parts, count_part, &j);
        for (int p = 0; p < MAX_PARTS; p++) wrong += atomic_load(&j.runs[p]) != (p < parts);
    }
    CHECK_MSG(wrong == 0, "%d threads: %d parts ran other than once", threads, wrong);
}

static void test_teams(void) {
    check_team(NULL, 1); /* no team: the caller runs every part */
    for (int threads = 2; threads <= 4; threads++) {
        team *t = team_new(threads);
        CHECK(t != NULL);
        if (t) check_team(t, threads);
        team_free(t);
    }
    CHECK(team_new(1) == NULL && team_new(TEAM_MAX_THREADS + 1) == NULL);
}

int main(void) {
    RUN(test_teams);
    TEST_EXIT();
}

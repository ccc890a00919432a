/* bench_synth.c — samples per second of the synthetic generator on one core (one synth
   instance, one thread), median of several timed runs after a warm-up that fills the glyph
   cache as a long training run would.

   usage: bench_synth [--height H] [--count N] [--runs R] [--warmup N] [--backgrounds DIR]...
                      [--no-backgrounds] [--fonts MANIFEST] [--colour] [--seed S] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth/synth.h"
#include "util/util.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    synth_config cfg = synth_default_config();
    int count = 5000, runs = 5, warmup = 3000;
    static const char *const none[] = {NULL};
    const char *bg[17] = {NULL};
    int nbg = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--height") && v) cfg.height = atoi(v), i++;
        else if (!strcmp(a, "--count") && v) count = atoi(v), i++;
        else if (!strcmp(a, "--runs") && v) runs = atoi(v), i++;
        else if (!strcmp(a, "--warmup") && v) warmup = atoi(v), i++;
        else if (!strcmp(a, "--seed") && v) cfg.seed = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--backgrounds") && v && nbg < 16) bg[nbg++] = v, cfg.background_dirs = bg, i++;
        else if (!strcmp(a, "--fonts") && v) cfg.font_manifest = v, i++;
        else if (!strcmp(a, "--colour")) cfg.channels = 3;
        else if (!strcmp(a, "--no-backgrounds")) cfg.background_dirs = none;
        else {
            fprintf(stderr, "usage: %s [--height H] [--count N] [--runs R] [--warmup N] "
                            "[--backgrounds DIR]... [--no-backgrounds] [--fonts MANIFEST] "
                            "[--colour] [--seed S]\n", argv[0]);
            return 2;
        }
    }
    if (count < 1 || runs < 1 || runs > 100 || warmup < 0) {
        fprintf(stderr, "bench_synth: bad counts\n");
        return 2;
    }
    crnn_error err;
    double t0 = now_seconds();
    synth *s = synth_new(&cfg, &err);
    if (!s) {
        fprintf(stderr, "bench_synth: %s\n", err.message);
        return 1;
    }
    printf("setup: %d fonts, %.2f s\n", synth_num_fonts(s), now_seconds() - t0);
    synth_sample smp;
    double pixels = 0;
    t0 = now_seconds();
    for (int i = 0; i < warmup; i++)
        if (synth_next(s, &smp) != CRNN_OK) return 1;
    if (warmup) printf("warm-up: %d samples, %.0f samples/s (cold glyph cache)\n", warmup, warmup / (now_seconds() - t0));
    double rates[100];
    for (int r = 0; r < runs; r++) {
        t0 = now_seconds();
        for (int i = 0; i < count; i++) {
            if (synth_next(s, &smp) != CRNN_OK) return 1;
            pixels += (double)smp.width * smp.height;
        }
        rates[r] = count / (now_seconds() - t0);
        printf("run %d: %.0f samples/s\n", r + 1, rates[r]);
    }
    qsort(rates, (size_t)runs, sizeof *rates, cmp_double);
    printf("median: %.0f samples/s at height %d, %s (mean width %.0f px)\n", rates[runs / 2],
           cfg.height, cfg.channels == 3 ? "colour" : "grey",
           pixels / ((double)runs * count) / cfg.height);
    synth_free(s);
    return 0;
}

/* bench_recognize.c — recognition speed and memory of one model size on a folder of word
   crops: single-image latency, batch throughput, peak RSS, and the share of the machine's
   sgemm peak that the convolutions reach. Every figure is a median of several runs, and the
   sgemm peak is measured in the same process as the anchor, so a busy machine shows as a
   lower anchor rather than a wrong ratio.

   usage: bench_recognize --data SET [--arch fast|small|paper|STRING | --model FILE] [--runs 5]
                          [--max 500] [--threads 2] [--reread X|off] [--lm NAME|FILE]
                          [--profile]

   --reread is params.reread_below: by default the library's for a trained model (its unsure
   readings cost a second, wider pass, as users get it) and off for random weights (which read
   everything unsure: an architecture's speed is its network's).

   --lm weighs a character language model into the decoding (crnn_lm_load_named; the
   program's default is 'en'); without it, the library's default, none.

   --profile runs only the one-thread batch loop, --runs times, for `perf record`. */
#include <cblas.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "crnn.h"
#include "layers/layer.h"
#include "model/model.h"
#include "train/dataset.h"
#include "train/train.h"
#include "util/util.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static crnn_model *random_model(const char *arch, int cnn_only, crnn_error *err) {
    uint32_t charset[200];
    int nc = charset_build("ascii", charset, 199, err);
    model_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.input_height = 32;
    spec.input_channels = 1;
    spec.norm_mean = 0.5f;
    spec.norm_std = 0.5f;
    spec.n_classes = nc;
    spec.charset = charset;
    if (arch_parse(arch, &spec, err) != CRNN_OK) return NULL;
    if (cnn_only) { /* drop the recurrent layers: the linear head alone follows the CNN */
        int k = 0;
        for (int i = 0; i < spec.n_layers; i++)
            if (!layer_kind_of(spec.layers[i].kind)->on_sequence || i == spec.n_layers - 1)
                spec.layers[k++] = spec.layers[i];
        spec.n_layers = k;
    }
    crnn_model *m = model_build(&spec, arch, err);
    if (!m) return NULL;
    rng_t r;
    rng_seed(&r, 1, 2);
    for (size_t i = 0; i < m->n_params; i++) m->params[i] = rng_range(&r, -0.05f, 0.05f);
    for (int i = 0; i < m->n_layers; i++) {
        float *var = model_layer_tensor(m, m->params, i, "bn_var");
        if (var)
            for (int c = 0; c < m->layers[i].out_c; c++) var[c] = 1.0f;
    }
    model_fold_batchnorm(m);
    return m;
}

/* Multiply-adds of the map layers (the CNN) for an input of width w. */
static double conv_macs(const crnn_model *m, int w) {
    double macs = 0;
    for (int i = 0; i < m->first_seq_layer; i++) {
        const model_layer *l = &m->layers[i];
        const layer_kind *k = layer_kind_of(l->kind);
        w = k->out_width(l, w);
        macs += k->macs(l) * w;
    }
    return macs;
}

static double sgemm_gflops(int threads) {
    openblas_set_num_threads(threads);
    const int n = 1024;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
          *c = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++) { a[i] = 0.001f * (i % 97); b[i] = 0.002f * (i % 89); }
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        double g = 2.0 * n * n * n / (now_seconds() - t0) / 1e9;
        if (g > best) best = g; /* the peak: the least disturbed repetition */
    }
    free(a); free(b); free(c);
    return best;
}

typedef struct {
    const crnn_model *m;
    const crnn_params *params;
    crnn_image *images;
    int from, to, batch, intra;
} job;

static void *run_job(void *arg) {
    job *j = arg;
    crnn_error err;
    crnn_recognizer *rec = crnn_recognizer_new(j->m, &err);
    crnn_recognizer_set_threads(rec, j->intra);
    crnn_result res[64];
    for (int i = j->from; i < j->to; i += j->batch) {
        int n = j->to - i < j->batch ? j->to - i : j->batch;
        crnn_recognize_batch(rec, j->images + i, n, j->params, res);
        for (int k = 0; k < n; k++) crnn_result_free(&res[k]);
    }
    crnn_recognizer_free(rec);
    return NULL;
}

/* Seconds to recognise all images with `workers` threads, batches of `batch`, each
   recogniser sharing its work among `intra` threads. */
static double run_all(const crnn_model *m, const crnn_params *params, crnn_image *im, int n,
                      int workers, int batch, int blas_threads, int intra) {
    openblas_set_num_threads(blas_threads);
    pthread_t t[16];
    job jobs[16];
    double t0 = now_seconds();
    for (int w = 0; w < workers; w++) {
        jobs[w] = (job){m, params, im, n * w / workers, n * (w + 1) / workers, batch, intra};
        pthread_create(&t[w], NULL, run_job, &jobs[w]);
    }
    for (int w = 0; w < workers; w++) pthread_join(t[w], NULL);
    return now_seconds() - t0;
}

int main(int argc, char **argv) {
    const char *data = NULL, *arch = "fast", *model_path = NULL;
    int runs = 5, max = 500, workers = 2, profile = 0;
    static const struct option opts[] = {{"data", 1, 0, 'd'}, {"arch", 1, 0, 'a'},
        {"model", 1, 0, 'm'}, {"runs", 1, 0, 'r'}, {"max", 1, 0, 'n'}, {"threads", 1, 0, 't'},
        {"profile", 0, 0, 'p'}, {"reread", 1, 0, 'R'}, {"lm", 1, 0, 'L'}, {0, 0, 0, 0}};
    const char *reread = NULL, *lm_name = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd') data = optarg;
        else if (c == 'a') arch = optarg;
        else if (c == 'm') model_path = optarg;
        else if (c == 'r') runs = atoi(optarg);
        else if (c == 'n') max = atoi(optarg);
        else if (c == 't') workers = atoi(optarg);
        else if (c == 'p') profile = 1;
        else if (c == 'R') reread = optarg;
        else if (c == 'L') lm_name = optarg;
        else return 2;
    }
    if (!data || runs < 1 || runs > 99 || workers < 1 || workers > 16) {
        fprintf(stderr, "usage: bench_recognize --data SET [--arch A | --model FILE] [--runs N] "
                        "[--max N] [--threads N] [--reread X|off] [--lm NAME|FILE]\n");
        return 2;
    }
    crnn_params params = crnn_default_params();
    if (!model_path) params.reread_below = 0;
    if (reread) params.reread_below = strcmp(reread, "off") ? (float)atof(reread) : 0;
    crnn_params network_only = params; /* the random CNN's: its convolutions alone */
    network_only.reread_below = 0;
    crnn_error err;
    crnn_lm *lm = NULL;
    if (lm_name && !(lm = crnn_lm_load_named(lm_name, CRNN_LM_ORDER, &err))) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    params.lm = lm;
    crnn_model *m = model_path ? crnn_model_load(model_path, &err) : random_model(arch, 0, &err);
    /* The CNN-only twin for the GFLOP/s figure: a trained model names its layers in its
       metadata ("arch=... charset=..."), written by the trainer. */
    char model_arch[512] = "small";
    if (m && model_path) {
        const char *a = strstr(crnn_model_metadata(m), "arch=");
        const char *end = a ? strstr(a, " charset=") : NULL;
        if (a && end && end - a - 5 < (long)sizeof model_arch) {
            memcpy(model_arch, a + 5, (size_t)(end - a - 5));
            model_arch[end - a - 5] = 0;
        }
    }
    crnn_model *cnn = random_model(model_path ? model_arch : arch, 1, &err);
    if (!m || !cnn) { fprintf(stderr, "%s\n", err.message); return 1; }
    dataset *d = dataset_open(data, &err);
    if (!d) { fprintf(stderr, "%s\n", err.message); return 1; }
    long n = dataset_size(d) < max ? dataset_size(d) : max;
    crnn_image *im = calloc((size_t)n, sizeof(crnn_image));
    double macs = 0, cols = 0;
    int ok = 0;
    for (long i = 0; i < n; i++) {
        uint8_t *px;
        int w, h;
        if (dataset_image(d, i, 1, &px, &w, &h, &err) != CRNN_OK) continue;
        im[ok++] = (crnn_image){w, h, w, px, 1};
        int iw = (int)lround((double)w * 32 / h);
        if (iw < m->min_width) iw = m->min_width;
        macs += conv_macs(cnn, iw);
        cols += iw;
    }
    dataset_close(d);
    char desc[256];
    crnn_model_describe(m, desc, sizeof desc);
    printf("model: %s%s%s%s\n", model_path ? model_path : arch,
           params.reread_below > 0 ? "" : " (no second look: --reread off)",
           lm ? ", character model " : "", lm ? lm_name : "");
    printf("       %s\n", desc);
    printf("images: %d from %s, mean input width %.0f px at height 32\n", ok, data, cols / ok);
    if (profile) {
        for (int r = 0; r < runs; r++)
            printf("run %d: %.0f crops/s\n", r, ok / run_all(m, &params, im, ok, 1, 16, 1, 1));
        return 0;
    }
    double peak1 = sgemm_gflops(1), peak2 = sgemm_gflops(2);
    double lat[99], lat1[99], tput[99], tput1[99], convs[99];
    for (int r = 0; r < runs; r++) {
        /* single-image latency: one recogniser, one image at a time, sharing each image's
           layers among 2 threads (BLAS single-threaded), then on 1 thread */
        lat[r] = run_all(m, &params, im, ok, 1, 1, 1, 2) * 1000.0 / ok;
        lat1[r] = run_all(m, &params, im, ok, 1, 1, 1, 1) * 1000.0 / ok;
        tput1[r] = ok / run_all(m, &params, im, ok, 1, 16, 1, 1);
        tput[r] = ok / run_all(m, &params, im, ok, workers, 16, 1, 1);
        convs[r] = run_all(cnn, &network_only, im, ok, 1, 16, 1, 1);
    }
    double conv_s = median(convs, runs);
    double conv_gflops = 2.0 * macs / conv_s / 1e9;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("sgemm peak (1024^3, best of 5): %.1f GFLOP/s on 1 thread, %.1f on 2\n", peak1, peak2);
    printf("single-image latency   %.2f ms per crop on 2 threads, %.2f ms on 1 (median of "
           "%d runs)\n", median(lat, runs), median(lat1, runs), runs);
    printf("batch throughput       %.0f crops/s with batches of 16 on one thread (%.2f ms/crop)\n",
           median(tput1, runs), 1000.0 / median(tput1, runs));
    printf("                       %.0f crops/s with %d workers (%.2f ms/crop)\n", median(tput, runs),
           workers, 1000.0 / median(tput, runs));
    printf("convolutions           %.1f GFLOP/s on one thread = %.0f%% of the 1-thread sgemm peak "
           "(CNN-only forward, batches of 16)\n", conv_gflops, 100 * conv_gflops / peak1);
    printf("peak RSS               %.1f MB\n", ru.ru_maxrss / 1024.0);
    for (int i = 0; i < ok; i++) free((void *)im[i].pixels);
    free(im);
    crnn_model_free(m);
    crnn_model_free(cnn);
    return 0;
}

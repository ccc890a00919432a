/* cmd_eval.c — `ocr-crnn eval --data SET`: word accuracy by the benchmark convention, edit
   distance, accuracy by word length, the most frequent confusions, and throughput. */
#include <cblas.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/decode_options.h"
#include "train/dataset.h"
#include "train/train.h"
#include "train/validate.h"

#define MAX_LEN_BUCKET 13 /* lengths 1..12 and "13+" */

typedef struct {
    char gt, pred; /* '\0' = nothing (insertion or deletion) */
    int count;
} confusion;

static void usage(FILE *f) {
    fprintf(f,
        "usage: ocr-crnn eval --data SET [OPTIONS]\n"
        "\n"
        "Scores a model on a labelled set: a TSV (path<TAB>label), a folder with labels.tsv,\n"
        "an LMDB folder, or a folder of MJSynth-named images.\n"
        "\n"
        "  -d, --data SET       the labelled set\n"
        "  -m, --model FILE     model file (default: $OCR_CRNN_MODEL, else an installed\n"
        "                       default.crnn, else the English model built into ocr-crnn)\n"
        "      --max N          use the first N images only\n"
        "      --json           print the figures as one JSON object\n"
        "      --errors         list every misread image: path, truth, reading\n"
        "  -t, --threads N      threads sharing each batch (default: all cores)\n"
        DECODE_OPTIONS_HELP
        "  -h, --help           this help\n"
        "\n"
        "Word accuracy is reported exactly as read (case and punctuation count) and by the\n"
        "scene-text benchmark convention: lower-cased, everything but 0-9a-z removed. With\n"
        "--min-confidence, rejected readings count as misread, and the accuracy of the\n"
        "readings kept is reported beside.\n");
}

/* Character confusions on the normalised strings, from a Levenshtein alignment. */
static void add_confusions(const char *gt, const char *pred, confusion *tab, int *n, int cap) {
    int a = (int)strlen(gt), b = (int)strlen(pred);
    if (a > 255 || b > 255) return;
    static const int stride = 256;
    int *d = malloc(sizeof(int) * (size_t)(a + 1) * stride);
    if (!d) return;
    for (int i = 0; i <= a; i++) d[i * stride] = i;
    for (int j = 0; j <= b; j++) d[j] = j;
    for (int i = 1; i <= a; i++)
        for (int j = 1; j <= b; j++) {
            int best = d[(i - 1) * stride + j - 1] + (gt[i - 1] != pred[j - 1]);
            if (d[(i - 1) * stride + j] + 1 < best) best = d[(i - 1) * stride + j] + 1;
            if (d[i * stride + j - 1] + 1 < best) best = d[i * stride + j - 1] + 1;
            d[i * stride + j] = best;
        }
    int i = a, j = b;
    while (i > 0 || j > 0) {
        char g = 0, p = 0;
        if (i > 0 && j > 0 && d[i * stride + j] == d[(i - 1) * stride + j - 1] + (gt[i - 1] != pred[j - 1])) {
            g = gt[i - 1];
            p = pred[j - 1];
            i--;
            j--;
            if (g == p) continue;
        } else if (i > 0 && d[i * stride + j] == d[(i - 1) * stride + j] + 1) {
            g = gt[--i];
        } else {
            p = pred[--j];
        }
        int k = 0;
        while (k < *n && !(tab[k].gt == g && tab[k].pred == p)) k++;
        if (k == *n) {
            if (*n == cap) continue;
            tab[k].gt = g;
            tab[k].pred = p;
            tab[k].count = 0;
            (*n)++;
        }
        tab[k].count++;
    }
    free(d);
}

static int cmp_confusion(const void *x, const void *y) {
    const confusion *a = x, *b = y;
    if (a->count != b->count) return b->count - a->count;
    return (a->gt * 256 + a->pred) - (b->gt * 256 + b->pred);
}

static void show_char(char *out, char c) {
    if (c) snprintf(out, 8, "%c", c);
    else snprintf(out, 8, "%s", "∅");
}

int cmd_eval(int argc, char **argv) {
    static const struct option opts[] = {
        {"data", 1, 0, 'd'}, {"model", 1, 0, 'm'}, {"max", 1, 0, 'M'}, {"json", 0, 0, 'J'},
        {"errors", 0, 0, 'E'}, {"threads", 1, 0, 't'}, {"help", 0, 0, 'h'}, DECODE_LONG_OPTIONS,
        {0, 0, 0, 0}};
    const char *data = NULL, *model_path = NULL;
    int json = 0, list_errors = 0, max = 0, threads = 0, c;
    decode_options dopt;
    decode_options_init(&dopt);
    optind = 1;
    static char prog[] = "ocr-crnn eval"; /* getopt's own messages start with argv[0] */
    argv[0] = prog;
    while ((c = getopt_long(argc, argv, "d:m:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'm': model_path = optarg; break;
        case 'M':
            max = (int)cli_parse_long(optarg, 1, 100000000);
            if (max < 1) { fprintf(stderr, "ocr-crnn eval: --max needs a positive number\n"); return 2; }
            break;
        case 'J': json = 1; break;
        case 'E': list_errors = 1; break;
        case 't':
            threads = (int)cli_parse_long(optarg, 1, 256);
            if (threads < 1) { fprintf(stderr, "ocr-crnn eval: --threads needs 1..256\n"); return 2; }
            break;
        case 'h': usage(stdout); return 0;
        default:
            if (DECODE_IS_OPTION(c) && c != DECODE_OPT_EXPLAIN) {
                if (decode_options_parse(&dopt, c, optarg, "ocr-crnn eval") != 0) return 2;
                break;
            }
            cli_usage_hint("eval");
            return 2;
        }
    }
    if (!data || optind < argc) {
        if (data) fprintf(stderr, "ocr-crnn eval: unexpected argument '%s'\n", argv[optind]);
        else fprintf(stderr, "ocr-crnn eval: --data SET is required\n");
        cli_usage_hint("eval");
        return 2;
    }
    crnn_model *model = cli_load_model(model_path);
    int loaded = model ? decode_options_load(&dopt, model, "ocr-crnn eval") : 1;
    if (loaded != 0) {
        crnn_model_free(model);
        decode_options_free(&dopt);
        return loaded;
    }
    /* One recogniser whose layers are shared among the threads; BLAS's own would compete. */
    openblas_set_num_threads(1);
    crnn_error err;
    dataset *ds = dataset_open(data, &err);
    if (!ds) {
        fprintf(stderr, "ocr-crnn eval: %s\n", err.message);
        crnn_model_free(model);
        decode_options_free(&dopt);
        return 1;
    }
    validation_set v;
    if (validation_load(&v, ds, max, crnn_model_input_channels(model), &err) != CRNN_OK) {
        fprintf(stderr, "ocr-crnn eval: %s\n", err.message);
        dataset_close(ds);
        crnn_model_free(model);
        decode_options_free(&dopt);
        return 1;
    }
    dataset_close(ds);
    char **pred = calloc((size_t)(v.n ? v.n : 1), sizeof(char *));
    /* each image's decoding: the options', with its own lexicon under --lexicon-per-image */
    const crnn_params **params = calloc((size_t)(v.n ? v.n : 1), sizeof *params);
    int params_ok = params != NULL;
    for (int i = 0; params_ok && i < v.n; i++) {
        char *msg;
        params[i] = decode_options_for(&dopt, v.names[i], &msg);
        if (!params[i]) {
            fprintf(stderr, "ocr-crnn eval: %s: %s\n", v.names[i], msg ? msg : "out of memory");
            free(msg);
            params_ok = 0;
        }
    }
    validation_score sc;
    if (!pred || !params_ok ||
        validation_run(&v, model, params, &sc, pred, threads ? threads : cli_num_cores(),
                       &err) != CRNN_OK) {
        if (pred && params_ok) fprintf(stderr, "ocr-crnn eval: %s\n", err.message);
        else if (!pred || !params) fprintf(stderr, "ocr-crnn eval: out of memory\n");
        validation_free(&v);
        crnn_model_free(model);
        free(pred);
        free(params);
        decode_options_free(&dopt);
        return 1;
    }
    free(params);
    const double min_confidence = dopt.params.min_confidence;
    int len_total[MAX_LEN_BUCKET + 1] = {0}, len_hit[MAX_LEN_BUCKET + 1] = {0};
    confusion conf[512];
    int n_conf = 0;
    for (int i = 0; i < v.n; i++) {
        char g[1024], p[1024];
        text_normalize_alnum(v.texts[i], g, sizeof g);
        text_normalize_alnum(pred[i], p, sizeof p);
        int L = (int)strlen(g);
        int bucket = L < 1 ? 0 : L > MAX_LEN_BUCKET ? MAX_LEN_BUCKET : L;
        len_total[bucket]++;
        int hit = strcmp(g, p) == 0;
        len_hit[bucket] += hit;
        if (!hit) add_confusions(g, p, conf, &n_conf, 512);
        if (list_errors && !hit) printf("%s\t%s\t%s\n", v.names[i], v.texts[i], pred[i]);
    }
    qsort(conf, (size_t)n_conf, sizeof(confusion), cmp_confusion);
    double ips = sc.seconds > 0 ? v.n / sc.seconds : 0;
    if (json) {
        printf("{\"data\":");
        json_write_string(stdout, data);
        printf(",\"images\":%d,\"unreadable\":%d,\"word_accuracy\":%.6f,\"word_accuracy_exact\":%.6f,"
               "\"one_minus_ned\":%.6f,\"images_per_second\":%.1f,",
               v.n, v.unreadable, sc.alnum, sc.exact, sc.one_minus_ned, ips);
        if (v.unreadable) {
            printf("\"first_unreadable\":");
            json_write_string(stdout, v.first_unreadable);
            printf(",");
        }
        if (min_confidence > 0)
            printf("\"rejected\":%d,\"word_accuracy_accepted\":%.6f,"
                   "\"word_accuracy_exact_accepted\":%.6f,",
                   sc.rejected, sc.alnum_accepted, sc.exact_accepted);
        printf("\"by_length\":[");
        int first = 1;
        for (int b = 0; b <= MAX_LEN_BUCKET; b++) {
            if (!len_total[b]) continue;
            printf("%s{\"length\":\"%d%s\",\"images\":%d,\"accuracy\":%.6f}", first ? "" : ",", b,
                   b == MAX_LEN_BUCKET ? "+" : "", len_total[b], (double)len_hit[b] / len_total[b]);
            first = 0;
        }
        printf("],\"confusions\":[");
        for (int k = 0; k < n_conf && k < 15; k++) {
            char g[8], p[8];
            snprintf(g, sizeof g, "%c", conf[k].gt);
            snprintf(p, sizeof p, "%c", conf[k].pred);
            printf("%s{\"truth\":", k ? "," : "");
            json_write_string(stdout, conf[k].gt ? g : "");
            printf(",\"read\":");
            json_write_string(stdout, conf[k].pred ? p : "");
            printf(",\"count\":%d}", conf[k].count);
        }
        printf("]}\n");
    } else if (!list_errors) {
        printf("data                 %s\n", data);
        printf("images               %d", v.n);
        if (v.unreadable) printf(" (%d unreadable, skipped; the first: %s)", v.unreadable,
                                 v.first_unreadable);
        printf("\n");
        printf("word accuracy        %.2f %%   (case-insensitive, 0-9a-z: the benchmark convention)\n", 100 * sc.alnum);
        printf("exact word accuracy  %.2f %%   (case and punctuation count)\n", 100 * sc.exact);
        printf("1 - NED              %.4f\n", sc.one_minus_ned);
        if (min_confidence > 0)
            printf("rejected             %d (%.1f %%) below confidence %g; word accuracy of the "
                   "rest %.2f %% (exact %.2f %%)\n",
                   sc.rejected, v.n ? 100.0 * sc.rejected / v.n : 0.0, min_confidence,
                   100 * sc.alnum_accepted, 100 * sc.exact_accepted);
        printf("throughput           %.1f images/s (%.2f ms/image, batched, decoded images in memory)\n",
               ips, ips > 0 ? 1000 / ips : 0);
        printf("by length            ");
        for (int b = 0; b <= MAX_LEN_BUCKET; b++)
            if (len_total[b])
                printf("%d%s: %.1f%% (%d)  ", b, b == MAX_LEN_BUCKET ? "+" : "",
                       100.0 * len_hit[b] / len_total[b], len_total[b]);
        printf("\nconfusions           ");
        for (int k = 0; k < n_conf && k < 12; k++) {
            char g[8], p[8];
            show_char(g, conf[k].gt);
            show_char(p, conf[k].pred);
            printf("%s→%s ×%d  ", g, p, conf[k].count);
        }
        printf("\n");
    }
    for (int i = 0; i < v.n; i++) free(pred[i]);
    free(pred);
    validation_free(&v);
    crnn_model_free(model);
    decode_options_free(&dopt);
    return 0;
}

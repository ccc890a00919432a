/* cmd_recognize.c — `ocr-crnn [OPTIONS] IMAGE|FOLDER...`: options, the per-image decoding
   parameters, and the setup around the batch engine (pipeline.c), which recognises the
   inputs (inputs.c) with a pool of workers and prints results in input order (output.c). */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/decode_options.h"
#include "cli/inputs.h"
#include "cli/output.h"
#include "cli/pipeline.h"

/* Set from SIGINT/SIGTERM: the walker stops at once, the main loop at its next wake-up. */
static atomic_int interrupted;

static void on_signal(int sig) { atomic_store(&interrupted, sig); }

static void print_usage(FILE *f) {
    fprintf(f,
            "usage: ocr-crnn [OPTIONS] IMAGE|FOLDER...\n"
            "       ocr-crnn train|eval|synth [OPTIONS]   (see ocr-crnn help COMMAND)\n"
            "\n"
            "Recognises the text in cropped word or text-line images (long lines are read in\n"
            "overlapping chunks, stacked lines one by one). One image prints its text; several,\n"
            "or folders, print PATH<TAB>TEXT per line (line breaks in TEXT as \\n), in input\n"
            "order. '-' reads an image from stdin. In folders, files named *.png, *.jpg, *.jpeg,\n"
            "*.bmp, *.gif, *.tga, *.pnm, *.pgm, *.ppm, *.psd, *.hdr are read (sorted by name;\n"
            "hidden names skipped).\n"
            "\n"
            "  -m, --model FILE     model file (default: $OCR_CRNN_MODEL, else an installed\n"
            "                       default.crnn, else the English model built into ocr-crnn)\n"
            "  -r, --recursive      also read the folders inside folders\n"
            "      --list FILE      read more inputs, one path per line, from FILE ('-': stdin)\n"
            "  -j, --threads N      worker threads (default: number of cores; also -t, --jobs);\n"
            "                       with fewer images than N, spare threads share each image\n"
            "      --batch N        images per network pass in a worker (default %d)\n"
            "      --tsv            PATH<TAB>TEXT<TAB>CONFIDENCE (tab, newline, backslash escaped)\n"
            "      --csv            path,text,confidence,error with a header (RFC 4180 quoting)\n"
            "      --jsonl, --json  one JSON object per image: path, text, confidence,\n"
            "                       per-character confidences, milliseconds (with a lexicon\n"
            "                       also free_text, log_prob; lines when read as several,\n"
            "                       squeezed when too wide); or path, error\n"
            "  -o, --output FILE    write the results to FILE, replaced only when complete\n"
            "      --shard I/N      only the inputs whose path hash mod N is I (0 <= I < N)\n"
            "      --fail-fast      stop at the first input that cannot be read\n"
            "      --single-line    read every image as one line, as given (by default an\n"
            "                       image whose rows of ink form stacked lines with empty\n"
            "                       rows between them is cut into those lines, each read on\n"
            "                       its own, a loosely cropped word is trimmed to its ink,\n"
            "                       and a crop pasted on a flat canvas is read without it)\n"
            DECODE_OPTIONS_HELP DECODE_EXPLAIN_HELP
            "  -q, --quiet          no progress bar, no notes (errors are still reported)\n"
            "  -h, --help           this help\n"
            "  -V, --version        print the version\n"
            "\n"
            "Unreadable inputs are reported on stderr as 'ocr-crnn: PATH: reason' and skipped.\n"
            "Exit status: 0 all inputs read, 1 some failed (the others are still printed) or\n"
            "no image was found at all (except in a --shard), 2 usage error, 128 + signal when\n"
            "interrupted (130: Ctrl-C). An interrupted or --fail-fast run leaves any previous\n"
            "--output file as it was.\n",
            PIPELINE_DEFAULT_BATCH);
}

/* ---- per-image parameters --------------------------------------------------------------- */

typedef struct {
    decode_options *decode; /* from the options: decoder, lexicon or per-image lexicons */
} params_choice;

/* The options' parameters, with the image's own lexicon under --lexicon-per-image (images
   sharing a list get the same pointer, so they share batches): see params_choose_fn in
   pipeline.h for the contract. Called from the worker threads. */
static int choose_params(void *user, const char *path, const crnn_params **params, void **owned,
                         char **message) {
    const params_choice *pc = user;
    *owned = NULL;
    *params = decode_options_for(pc->decode, path, message);
    return *params ? 0 : 1;
}

static void release_params(void *user, void *owned) {
    (void)user;
    free(owned);
}

/* ---- counting, for the progress bar ----------------------------------------------------- */

typedef struct {
    input_options options;
    atomic_int cancel;
    atomic_long total; /* -1 until counted */
} count_job;

/* Walks the same inputs without reading any image, so the bar can show a total and an ETA.
   It runs beside the recognition instead of before it: a huge tree starts at once, and the
   total appears when known. */
static void *count_inputs(void *arg) {
    count_job *job = arg;
    char err[600];
    input_walker *w = input_walker_new(&job->options, err, sizeof err);
    if (!w) return NULL;
    long n = 0;
    input_item it;
    while (input_walker_next(w, &it)) {
        n += it.kind != INPUT_NOTE;
        input_item_free(&it);
    }
    if (!atomic_load(&job->cancel)) atomic_store(&job->total, n);
    input_walker_free(w);
    return NULL;
}

/* ---- options ---------------------------------------------------------------------------- */

typedef struct {
    const char *model_path;
    const char *output;
    out_format format;
    int format_set;
    int threads, batch, quiet, fail_fast;
    input_options in;
    decode_options decode; /* decoder, beam search, lexicons, --explain */
} recognize_options;

/* "I/N" with 0 <= I < N. */
static int parse_shard(const char *s, int *index, int *count) {
    const char *slash = strchr(s, '/');
    if (!slash || slash == s) return -1;
    char head[32];
    size_t n = (size_t)(slash - s);
    if (n >= sizeof head) return -1;
    memcpy(head, s, n);
    head[n] = 0;
    long c = cli_parse_long(slash + 1, 1, 1000000);
    long i = cli_parse_long(head, 0, 999999);
    if (c < 1 || i < 0 || i >= c) return -1;
    *index = (int)i;
    *count = (int)c;
    return 0;
}

static int is_folder(const char *path) {
    struct stat st;
    return strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

enum { OPT_JSON = 256, OPT_TSV, OPT_CSV, OPT_LIST, OPT_SHARD, OPT_FAIL_FAST, OPT_BATCH,
       OPT_SINGLE_LINE };

int cmd_recognize(int argc, char **argv) {
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},   {"json", no_argument, 0, OPT_JSON},
        {"jsonl", no_argument, 0, OPT_JSON},    {"tsv", no_argument, 0, OPT_TSV},
        {"csv", no_argument, 0, OPT_CSV},       {"threads", required_argument, 0, 'j'},
        {"jobs", required_argument, 0, 'j'},    {"recursive", no_argument, 0, 'r'},
        {"list", required_argument, 0, OPT_LIST}, {"output", required_argument, 0, 'o'},
        {"shard", required_argument, 0, OPT_SHARD}, {"fail-fast", no_argument, 0, OPT_FAIL_FAST},
        {"batch", required_argument, 0, OPT_BATCH}, {"quiet", no_argument, 0, 'q'},
        {"single-line", no_argument, 0, OPT_SINGLE_LINE},
        {"help", no_argument, 0, 'h'},          {"version", no_argument, 0, 'V'},
        DECODE_LONG_OPTIONS,                    {0, 0, 0, 0}};
    recognize_options o;
    memset(&o, 0, sizeof o);
    o.threads = cli_num_cores();
    o.batch = PIPELINE_DEFAULT_BATCH;
    o.format = OUT_PATH_TEXT;
    decode_options_init(&o.decode);
    int c;
    optind = 1;
    static char prog[] = "ocr-crnn"; /* getopt's own messages start with argv[0] */
    argv[0] = prog;
    while ((c = getopt_long(argc, argv, "m:j:t:ro:qhV", opts, NULL)) != -1) {
        switch (c) {
        case 'm': o.model_path = optarg; break;
        case OPT_JSON: o.format = OUT_JSONL; o.format_set = 1; break;
        case OPT_TSV: o.format = OUT_TSV; o.format_set = 1; break;
        case OPT_CSV: o.format = OUT_CSV; o.format_set = 1; break;
        case 'j':
        case 't':
            o.threads = (int)cli_parse_long(optarg, 1, 256);
            if (o.threads < 1) {
                fprintf(stderr, "ocr-crnn: -j/--threads needs a number from 1 to 256, got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case OPT_BATCH:
            o.batch = (int)cli_parse_long(optarg, 1, PIPELINE_MAX_BATCH);
            if (o.batch < 1) {
                fprintf(stderr, "ocr-crnn: --batch needs a number from 1 to %d, got '%s'\n",
                        PIPELINE_MAX_BATCH, optarg);
                return 2;
            }
            break;
        case 'r': o.in.recursive = 1; break;
        case OPT_LIST: o.in.list_path = optarg; break;
        case 'o': o.output = optarg; break;
        case OPT_SHARD:
            if (parse_shard(optarg, &o.in.shard_index, &o.in.shard_count) != 0) {
                fprintf(stderr, "ocr-crnn: --shard needs I/N with 0 <= I < N, got '%s'\n", optarg);
                return 2;
            }
            break;
        case OPT_FAIL_FAST: o.fail_fast = 1; break;
        case OPT_SINGLE_LINE: o.decode.params.split_lines = 0; break;
        case 'q': o.quiet = 1; break;
        case 'h': print_usage(stdout); return 0;
        case 'V': printf("ocr-crnn %s\n", CRNN_VERSION_STRING); return 0;
        default:
            if (DECODE_IS_OPTION(c)) {
                if (decode_options_parse(&o.decode, c, optarg, "ocr-crnn") != 0) return 2;
                break;
            }
            cli_usage_hint(NULL);
            return 2;
        }
    }
    o.in.args = argv + optind;
    o.in.n_args = argc - optind;
    if (o.in.n_args < 1 && !o.in.list_path) {
        fprintf(stderr, "ocr-crnn: no image given\n");
        cli_usage_hint(NULL);
        return 2;
    }
    int stdin_uses = o.in.list_path && !strcmp(o.in.list_path, "-"), folders = 0;
    for (int i = 0; i < o.in.n_args; i++) {
        stdin_uses += strcmp(o.in.args[i], "-") == 0;
        folders += is_folder(o.in.args[i]);
    }
    if (stdin_uses > 1) {
        fprintf(stderr, "ocr-crnn: standard input ('-' or --list -) may be used only once\n");
        return 2;
    }
    if (o.decode.explain_path &&
        (o.in.n_args != 1 || o.in.list_path || folders || !strcmp(o.in.args[0], "-"))) {
        fprintf(stderr, "ocr-crnn: --explain draws one image: name exactly one image file\n");
        return 2;
    }
    /* One image named alone prints just its text, as `ocr-crnn word.png` always has. */
    if (!o.format_set && o.in.n_args == 1 && !o.in.list_path && !folders) o.format = OUT_TEXT;
    /* A few named files need no more workers than files; the threads asked for beyond that
       share each image's layers inside the workers' recognisers instead. */
    int intra = 1;
    if (!o.in.list_path && !folders && o.threads > o.in.n_args) {
        intra = o.threads / o.in.n_args;
        o.threads = o.in.n_args;
    }

    o.in.cancel = &interrupted;
    char err[600];
    input_walker *walker = input_walker_new(&o.in, err, sizeof err);
    if (!walker) {
        fprintf(stderr, "ocr-crnn: %s\n", err);
        return 1;
    }
    crnn_model *model = cli_load_model(o.model_path);
    out_sink out;
    int loaded = model ? decode_options_load(&o.decode, model, "ocr-crnn") : 1;
    if (loaded != 0 || out_open(&out, o.output, o.format, o.decode.params.min_confidence > 0) != 0) {
        crnn_model_free(model);
        input_walker_free(walker);
        decode_options_free(&o.decode);
        return loaded ? loaded : 1;
    }
    /* Stop cleanly on SIGINT/SIGTERM (no half-written --output), unless the signal was
       ignored when we started, as a shell does for background jobs. */
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C ends the program at once */
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++)
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            sigaction(sigs[i], &sa, NULL);

    progress_bar bar;
    progress_init(&bar, !o.quiet && isatty(STDERR_FILENO));
    count_job count;
    memset(&count, 0, sizeof count);
    count.options = o.in;
    count.options.cancel = &count.cancel;
    atomic_init(&count.cancel, 0);
    atomic_init(&count.total, -1);
    pthread_t counter;
    /* The count walks the inputs a second time, so a --list must be a file that can be read
       twice: not stdin, nor a pipe such as --list <(find ...). */
    struct stat lst;
    int list_rereadable = !o.in.list_path || (strcmp(o.in.list_path, "-") != 0 &&
                                              stat(o.in.list_path, &lst) == 0 &&
                                              S_ISREG(lst.st_mode));
    int counting = bar.enabled && list_rereadable &&
                   pthread_create(&counter, NULL, count_inputs, &count) == 0;

    params_choice choice;
    choice.decode = &o.decode;
    pipeline_options po;
    memset(&po, 0, sizeof po);
    po.threads = o.threads;
    po.intra_threads = intra;
    po.batch = o.batch;
    po.quiet = o.quiet;
    po.fail_fast = o.fail_fast;
    po.nothing_is_fine = o.in.shard_count > 1; /* a shard may get none of a few inputs */
    po.choose_params = choose_params;
    po.release_params = release_params;
    po.params_user = &choice;
    po.total = &count.total;
    po.interrupted = &interrupted;
    int status = pipeline_run(&po, model, walker, &out, &bar);
    if (o.decode.explain_path && status == 0 &&
        decode_options_explain(&o.decode, model, o.in.args[0], "ocr-crnn") != 0)
        status = 1;

    if (counting) {
        atomic_store(&count.cancel, 1);
        pthread_join(counter, NULL);
    }
    /* An interrupted or --fail-fast run is incomplete: it does not replace an --output file. */
    int complete = status < 128 && !(o.fail_fast && status != 0);
    if (out_close(&out, complete) != 0 && status == 0) status = 1;
    input_walker_free(walker);
    crnn_model_free(model);
    decode_options_free(&o.decode);
    return status;
}

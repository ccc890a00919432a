/* cmd_synth.c — `ocr-crnn synth`: writes synthetic word crops (PNG folder + labels.tsv, or
   LMDB), draws contact sheets to judge them (also of real crops, to compare), and lists the
   usable fonts. A thin layer over src/synth/synth.h. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stb_image.h>

#include "cli/cli.h"
#include "cli/cmd_synth.h"
#include "synth/synth.h"

#define MAX_BG_DIRS 32

static void usage(FILE *f) {
    fprintf(f,
            "usage: ocr-crnn synth --count N --out DIR [--lmdb] [options]\n"
            "       ocr-crnn synth --sheet OUT.png [--rows R] [--cols C] [options]\n"
            "       ocr-crnn synth --sheet OUT.png --real DIR   (sheet of real crops in DIR/labels.tsv)\n"
            "       ocr-crnn synth --list-fonts                  (usable font files, one a line)\n"
            "\n"
            "  --count N          number of samples to write\n"
            "  --out DIR          folder for %%09d.png + labels.tsv (file<TAB>label), or the LMDB\n"
            "  --lmdb             write DIR as LMDB: num-samples, image-%%09d (PNG), label-%%09d\n"
            "  --force            write into a DIR that holds samples already, replacing them\n"
            "                     (numbered PNGs past --count and labels.tsv, or the LMDB)\n"
            "  --seed S           random seed (default 1); the same seed gives the same bytes\n"
            "  --height H         output height in px (default 32)\n"
            "  --colour           write RGB crops (default grey: the luminance of the same crops)\n"
            "  --clean            printed words without camera effects, strong geometry or\n"
            "                     occluders (screenshots, scans, tests)\n"
            "  --empty F          fraction of crops with no text: a background, label \"\"\n"
            "  --fonts FILE       font manifest, one path a line (default: scan /usr/share/fonts)\n"
            "  --backgrounds DIR  folder of natural images for textures (repeatable; default\n"
            "                     ../shared/data/backgrounds/svt-train-scenes beside the\n"
            "                     project, if there)\n"
            "  --no-backgrounds   plain and procedural backgrounds only\n"
            "  --words FILE       one word a line (default lexicons/en.txt, then the system dict)\n"
            "  --max-len N        longest label in characters (default 24)\n"
            "  --min-margin F     text lies inside the crop by at least F text heights (default 0)\n"
            "  --rows R, --cols C sheet grid (default 16 x 4)\n"
            "  --cell-height PX   sheet row height (default 64)\n"
            "  -h, --help         this help\n");
}

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

/* The sample number of a name the generator writes ("000000042.png"), or -1. */
static long sample_number(const char *name) {
    if (strlen(name) != 13 || strcmp(name + 9, ".png") != 0) return -1;
    long n = 0;
    for (int i = 0; i < 9; i++) {
        if (name[i] < '0' || name[i] > '9') return -1;
        n = n * 10 + (name[i] - '0');
    }
    return n;
}

/* Whether DIR holds what a run of the generator would replace (labels.tsv and numbered PNGs,
   or an LMDB): then it says so (1), for nothing a user has is overwritten unasked. */
static int holds_samples(const char *dir, int lmdb) {
    DIR *d = opendir(dir);
    if (!d) return 0; /* new, or not a folder: the writer says what is wrong */
    long pngs = 0;
    int labels = 0, db = 0;
    for (struct dirent *e; (e = readdir(d));) {
        pngs += sample_number(e->d_name) >= 0;
        labels |= !strcmp(e->d_name, "labels.tsv");
        db |= !strcmp(e->d_name, "data.mdb");
    }
    closedir(d);
    if (lmdb ? !db : !(labels || pngs)) return 0;
    if (lmdb)
        fprintf(stderr, "ocr-crnn synth: %s holds an LMDB already: --force replaces it\n", dir);
    else
        fprintf(stderr, "ocr-crnn synth: %s holds samples already (%s%ld numbered PNG%s): "
                "--force replaces them, or choose another --out\n", dir,
                labels ? "labels.tsv, " : "", pngs, pngs == 1 ? "" : "s");
    return 1;
}

/* --force: the numbered PNGs of an earlier, longer run would sit beside the new labels.tsv
   as samples without labels; they go. */
static int remove_stale(const char *dir, long count) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int rc = 0;
    char path[4096];
    for (struct dirent *e; (e = readdir(d));) {
        if (sample_number(e->d_name) < count) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0) {
            fprintf(stderr, "ocr-crnn synth: cannot remove %s: %s\n", path, strerror(errno));
            rc = 1;
        }
    }
    closedir(d);
    return rc;
}

/* --force --lmdb: the old database goes before the new one is written. */
static int remove_lmdb(const char *dir) {
    const char *files[] = {"data.mdb", "lock.mdb"};
    char path[4096];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (unlink(path) != 0 && errno != ENOENT) {
            fprintf(stderr, "ocr-crnn synth: cannot remove %s: %s\n", path, strerror(errno));
            return 1;
        }
    }
    return 0;
}

/* Loads DIR/labels.tsv and the crops it names (grey) for a comparison sheet. */
static int real_sheet(const synth *s, const char *dir, const char *out, int rows, int cols, int cell_h) {
    char path[4096];
    if (strlen(dir) > 2000) {
        fprintf(stderr, "ocr-crnn synth: path too long: %s\n", dir);
        return 1;
    }
    snprintf(path, sizeof path, "%s/labels.tsv", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "ocr-crnn synth: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    int n = rows * cols, k = 0;
    synth_sample *items = calloc((size_t)n, sizeof *items);
    char **labels = calloc((size_t)n, sizeof *labels);
    char line[4096];
    while (items && labels && k < n && fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        *tab = 0;
        char *label = tab + 1;
        label[strcspn(label, "\r\n")] = 0;
        if (snprintf(path, sizeof path, "%s/%.2000s", dir, line) >= (int)sizeof path) continue;
        int w, h, c;
        uint8_t *px = stbi_load(path, &w, &h, &c, 3);
        if (!px) {
            fprintf(stderr, "ocr-crnn synth: skipping %s: %s\n", path, stbi_failure_reason());
            continue;
        }
        labels[k] = strdup(label);
        items[k] = (synth_sample){px, w, h, 3 * w, labels[k], 3};
        k++;
    }
    fclose(f);
    int rc = 0;
    crnn_error err;
    if (k == 0 || synth_write_sheet_images(s, out, items, k, cols, cell_h, &err) != CRNN_OK) {
        fprintf(stderr, "ocr-crnn synth: %s\n", k ? err.message : "no readable crops");
        rc = 1;
    }
    for (int i = 0; i < k; i++) {
        stbi_image_free((void *)items[i].pixels);
        free(labels[i]);
    }
    free(items);
    free(labels);
    return rc;
}

int cmd_synth(int argc, char **argv) {
    static const struct option opts[] = {
        {"count", required_argument, NULL, 'n'},   {"out", required_argument, NULL, 'o'},
        {"lmdb", no_argument, NULL, 'L'},          {"seed", required_argument, NULL, 's'},
        {"height", required_argument, NULL, 'H'},  {"fonts", required_argument, NULL, 'f'},
        {"backgrounds", required_argument, NULL, 'b'}, {"no-backgrounds", no_argument, NULL, 'B'},
        {"words", required_argument, NULL, 'w'},  {"max-len", required_argument, NULL, 'm'},
        {"wordlist", required_argument, NULL, 'w'}, /* its first name, kept for scripts */
        {"force", no_argument, NULL, 'X'},
        {"min-margin", required_argument, NULL, 'M'}, {"sheet", required_argument, NULL, 'S'},
        {"rows", required_argument, NULL, 'r'},    {"cols", required_argument, NULL, 'c'},
        {"cell-height", required_argument, NULL, 'C'}, {"real", required_argument, NULL, 'R'},
        {"list-fonts", no_argument, NULL, 'F'},    {"help", no_argument, NULL, 'h'},
        {"colour", no_argument, NULL, 'K'},        {"color", no_argument, NULL, 'K'},
        {"clean", no_argument, NULL, 'P'},        {"empty", required_argument, NULL, 'E'},
        {NULL, 0, NULL, 0}};
    synth_config cfg = synth_default_config();
    const char *out = NULL, *sheet = NULL, *real = NULL;
    const char *bg_dirs[MAX_BG_DIRS + 1] = {NULL};
    int nbg = 0, no_bg = 0, lmdb = 0, list_fonts = 0, force = 0;
    long count = -1, rows = 16, cols = 4, cell_h = 64, v;
    optind = 1;
    static char prog[] = "ocr-crnn synth"; /* getopt's own messages start with argv[0] */
    argv[0] = prog;
    int c, li = -1;
    while ((c = getopt_long(argc, argv, "h", opts, &li)) != -1) {
        switch (c) {
        case 'n': if (!parse_long(optarg, 0, 1000000000L, &count)) goto bad; break;
        case 'o': out = optarg; break;
        case 'L': lmdb = 1; break;
        case 's': {
            char *end;
            errno = 0;
            unsigned long long sd = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end) goto bad;
            cfg.seed = sd;
            break;
        }
        case 'H': if (!parse_long(optarg, 8, 512, &v)) goto bad; cfg.height = (int)v; break;
        case 'f': cfg.font_manifest = optarg; break;
        case 'b':
            if (nbg == MAX_BG_DIRS) { fprintf(stderr, "ocr-crnn synth: at most %d --backgrounds\n", MAX_BG_DIRS); return 2; }
            bg_dirs[nbg++] = optarg;
            break;
        case 'B': no_bg = 1; break;
        case 'w': cfg.wordlist = optarg; break;
        case 'm': if (!parse_long(optarg, 1, 256, &v)) goto bad; cfg.max_label_len = (int)v; break;
        case 'M': {
            char *end;
            cfg.min_margin = strtof(optarg, &end);
            if (end == optarg || *end || cfg.min_margin < 0 || cfg.min_margin > 2) goto bad;
            break;
        }
        case 'S': sheet = optarg; break;
        case 'r': if (!parse_long(optarg, 1, 200, &rows)) goto bad; break;
        case 'c': if (!parse_long(optarg, 1, 50, &cols)) goto bad; break;
        case 'C': if (!parse_long(optarg, 8, 512, &cell_h)) goto bad; break;
        case 'R': real = optarg; break;
        case 'F': list_fonts = 1; break;
        case 'K': cfg.channels = 3; break;
        case 'P': cfg.clean = 1; break;
        case 'E': {
            char *end;
            cfg.empty = strtof(optarg, &end);
            if (end == optarg || *end || !(cfg.empty >= 0 && cfg.empty <= 1)) goto bad;
            break;
        }
        case 'X': force = 1; break;
        case 'h': usage(stdout); return 0;
        default: cli_usage_hint("synth"); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ocr-crnn synth: unexpected argument '%s'\n", argv[optind]);
        cli_usage_hint("synth");
        return 2;
    }
    if (!sheet && !list_fonts && (count < 0 || !out)) {
        fprintf(stderr, "ocr-crnn synth: need --count N --out DIR, --sheet OUT.png or --list-fonts\n");
        cli_usage_hint("synth");
        return 2;
    }
    if (real && !sheet) {
        fprintf(stderr, "ocr-crnn synth: --real needs --sheet OUT.png\n");
        return 2;
    }
    if (out && count >= 0 && !force && holds_samples(out, lmdb)) return 1;
    /* The default is found beside the project, not in the current folder. */
    char default_bg[4200];
    if (!no_bg && !nbg) {
        bg_dirs[0] = cli_default_backgrounds(default_bg, sizeof default_bg);
        no_bg = bg_dirs[0] == NULL;
    }
    static const char *const none[] = {NULL};
    cfg.background_dirs = no_bg ? none : bg_dirs;

    crnn_error err;
    synth *s = synth_new(&cfg, &err);
    if (!s) {
        fprintf(stderr, "ocr-crnn synth: %s\n", err.message);
        return 1;
    }
    int rc = 0;
    if (list_fonts)
        for (int i = 0; i < synth_num_fonts(s); i++) printf("%s\n", synth_font_path(s, i));
    if (rc == 0 && sheet) {
        if (real) {
            rc = real_sheet(s, real, sheet, (int)rows, (int)cols, (int)cell_h);
        } else if (synth_write_sheet(s, sheet, (int)rows, (int)cols, (int)cell_h, &err) != CRNN_OK) {
            fprintf(stderr, "ocr-crnn synth: %s\n", err.message);
            rc = 1;
        }
    }
    if (rc == 0 && out && count >= 0) {
        if (lmdb && remove_lmdb(out) != 0) rc = 1; /* --force: a new database, not a mix */
        crnn_status st = rc ? CRNN_OK
                         : lmdb ? synth_write_lmdb(s, out, count, &err)
                                : synth_write_dir(s, out, count, &err);
        if (st != CRNN_OK) {
            fprintf(stderr, "ocr-crnn synth: %s\n", err.message);
            rc = 1;
        }
        if (rc == 0 && !lmdb && remove_stale(out, count) != 0) rc = 1;
    }
    synth_free(s);
    return rc;
bad:
    fprintf(stderr, "ocr-crnn synth: invalid value '%s' for --%s\n", optarg,
            li >= 0 ? opts[li].name : "?");
    return 2;
}

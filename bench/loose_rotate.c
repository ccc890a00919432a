/* loose_rotate.c — the robustness variants of a labelled set of word crops, for
   bench/loose_rotated.sh: every crop of TSV (path<TAB>label, paths relative to the TSV or
   absolute) is written three times under OUT_DIR, as PNG with the crop's own channels:

     loose/   padded by one crop height of blank left and right and a third of it above and
              below; the blank is the crop's border colour (the mean of its outermost ring of
              pixels, per channel), flat, so the crop's edge against it is as faint as the
              crop's border is even
     rot90/   turned 90° clockwise
     rot270/  turned 90° counter-clockwise

   Each folder gets a labels.tsv (file name<TAB>label) that `ocr-crnn eval --data DIR` reads.
   Output names are the input's line number and file name, so crops of the same name from
   different folders do not collide.

   usage: loose_rotate TSV OUT_DIR */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb_image.h>
#include <stb_image_write.h>

#define MAX_SIDE 65535             /* the limits ocr-crnn applies to its inputs */
#define MAX_PIXELS (64L << 20)

typedef struct {
    unsigned char *px; /* h rows of w pixels of c channels */
    int w, h, c;
} image;

static const char *const variant[3] = {"loose", "rot90", "rot270"};

/* loose: (w + 2h) × (h + 2·round(h/3)), the crop in the middle, the rest its border colour. */
static image pad_loose(image in) {
    int px = in.h, py = (in.h + 1) / 3;
    image out = {NULL, in.w + 2 * px, in.h + 2 * py, in.c};
    double sum[4] = {0};
    long ring = 0;
    for (int y = 0; y < in.h; y++)
        for (int x = 0; x < in.w; x++) {
            if (y != 0 && y != in.h - 1 && x != 0 && x != in.w - 1) continue;
            for (int k = 0; k < in.c; k++) sum[k] += in.px[((size_t)y * in.w + x) * in.c + k];
            ring++;
        }
    unsigned char fill[4];
    for (int k = 0; k < in.c; k++) fill[k] = (unsigned char)(sum[k] / ring + 0.5);
    out.px = malloc((size_t)out.w * out.h * out.c);
    if (!out.px) return out;
    for (size_t i = 0; i < (size_t)out.w * out.h; i++) memcpy(out.px + i * out.c, fill, out.c);
    for (int y = 0; y < in.h; y++)
        memcpy(out.px + ((size_t)(y + py) * out.w + px) * out.c, in.px + (size_t)y * in.w * in.c,
               (size_t)in.w * in.c);
    return out;
}

/* Turned a quarter: clockwise, source (x, y) lands at (h−1−y, x); counter-clockwise at
   (y, w−1−x). The result is h wide and w high. */
static image rotate(image in, int clockwise) {
    image out = {malloc((size_t)in.w * in.h * in.c), in.h, in.w, in.c};
    if (!out.px) return out;
    for (int y = 0; y < in.h; y++)
        for (int x = 0; x < in.w; x++) {
            int ox = clockwise ? in.h - 1 - y : y, oy = clockwise ? x : in.w - 1 - x;
            memcpy(out.px + ((size_t)oy * out.w + ox) * out.c, in.px + ((size_t)y * in.w + x) * in.c,
                   in.c);
        }
    return out;
}

static int make_dir(const char *path) {
    if (mkdir(path, 0777) == 0 || errno == EEXIST) return 0;
    fprintf(stderr, "loose_rotate: cannot create %s: %s\n", path, strerror(errno));
    return -1;
}

/* Reads one crop and writes its three variants, named after the TSV line and the crop's file
   name, adding a line to each variant's labels.tsv. */
static int write_variants(const char *file, const char *label, long lineno, const char *out_dir,
                          FILE *labels[3]) {
    int w, h, c;
    if (!stbi_info(file, &w, &h, &c)) {
        fprintf(stderr, "loose_rotate: %s: %s\n", file,
                stbi_failure_reason() ? stbi_failure_reason() : "cannot be read");
        return -1;
    }
    if (w > MAX_SIDE || h > MAX_SIDE || (long)w * h > MAX_PIXELS) {
        fprintf(stderr, "loose_rotate: %s: %d x %d is over the size limits\n", file, w, h);
        return -1;
    }
    image img = {stbi_load(file, &w, &h, &c, 0), w, h, c};
    if (!img.px) {
        fprintf(stderr, "loose_rotate: %s: %s\n", file, stbi_failure_reason());
        return -1;
    }
    const char *name = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    const char *dot = strrchr(name, '.');
    int stem_len = dot ? (int)(dot - name) : (int)strlen(name);
    char out_name[512], path[8192];
    int rc = 0;
    if (snprintf(out_name, sizeof out_name, "%05ld-%.*s.png", lineno, stem_len, name) >=
        (int)sizeof out_name) {
        fprintf(stderr, "loose_rotate: %s: file name too long\n", file);
        rc = -1;
    }
    for (int v = 0; v < 3 && rc == 0; v++) {
        image o = v == 0 ? pad_loose(img) : rotate(img, v == 1);
        if (snprintf(path, sizeof path, "%s/%s/%s", out_dir, variant[v], out_name) >= (int)sizeof path) {
            fprintf(stderr, "loose_rotate: %s: path too long\n", out_dir);
            rc = -1;
        } else if (!o.px) {
            fprintf(stderr, "loose_rotate: out of memory\n");
            rc = -1;
        } else if (!stbi_write_png(path, o.w, o.h, o.c, o.px, o.w * o.c)) {
            fprintf(stderr, "loose_rotate: cannot write %s\n", path);
            rc = -1;
        } else {
            fprintf(labels[v], "%s\t%s\n", out_name, label);
        }
        free(o.px);
    }
    stbi_image_free(img.px);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: loose_rotate TSV OUT_DIR\n");
        return 2;
    }
    const char *tsv = argv[1], *out_dir = argv[2];
    /* relative paths in the TSV are relative to the TSV's folder */
    const char *slash = strrchr(tsv, '/');
    int base_len = slash ? (int)(slash - tsv) + 1 : 0;
    char path[8192];

    FILE *in = fopen(tsv, "r");
    if (!in) {
        fprintf(stderr, "loose_rotate: cannot open %s: %s\n", tsv, strerror(errno));
        return 1;
    }
    FILE *labels[3] = {NULL, NULL, NULL};
    int rc = make_dir(out_dir);
    for (int v = 0; v < 3 && rc == 0; v++) {
        if (snprintf(path, sizeof path, "%s/%s/labels.tsv", out_dir, variant[v]) >= (int)sizeof path) {
            fprintf(stderr, "loose_rotate: %s: path too long\n", out_dir);
            rc = -1;
            break;
        }
        *strrchr(path, '/') = '\0';
        rc = make_dir(path);
        path[strlen(path)] = '/';
        if (rc == 0 && !(labels[v] = fopen(path, "w"))) {
            fprintf(stderr, "loose_rotate: cannot write %s: %s\n", path, strerror(errno));
            rc = -1;
        }
    }

    char *line = NULL;
    size_t cap = 0;
    long n = 0, lineno = 0;
    while (rc == 0 && getline(&line, &cap, in) > 0) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) continue;
        char *tab = strchr(line, '\t');
        if (!tab) {
            fprintf(stderr, "loose_rotate: %s:%ld: no tab between path and label\n", tsv, lineno);
            rc = -1;
            break;
        }
        *tab = '\0';
        if (snprintf(path, sizeof path, "%.*s%s", line[0] == '/' ? 0 : base_len, tsv, line) >=
            (int)sizeof path) {
            fprintf(stderr, "loose_rotate: %s:%ld: path too long\n", tsv, lineno);
            rc = -1;
            break;
        }
        rc = write_variants(path, tab + 1, lineno, out_dir, labels);
        n += rc == 0;
    }
    free(line);
    fclose(in);
    for (int v = 0; v < 3; v++)
        if (labels[v] && fclose(labels[v]) && rc == 0) {
            fprintf(stderr, "loose_rotate: cannot write %s/%s/labels.tsv\n", out_dir, variant[v]);
            rc = -1;
        }
    if (rc == 0 && n == 0) {
        fprintf(stderr, "loose_rotate: %s lists no images\n", tsv);
        rc = -1;
    }
    if (rc == 0) printf("%ld crops -> %s/{loose,rot90,rot270}\n", n, out_dir);
    return rc == 0 ? 0 : 1;
}

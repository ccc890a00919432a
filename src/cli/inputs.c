/* inputs.c — streaming enumeration of the recogniser's inputs.

   Order is deterministic: command-line paths, then --list lines, each in the order given;
   inside a folder, names sorted bytewise (strcmp, not the locale), and with -r a sub-folder's
   contents come at the sub-folder's place in that order (depth first). Only one folder's
   names per level of depth are held in memory, so a tree of millions of files costs what its
   largest folder costs.

   Inside folders only names with an image extension count, and hidden names (a leading '.',
   such as macOS "._x.png" resource forks, which are not images) are skipped; a path named
   explicitly is always attempted. Symbolic links are followed; a link to a folder that is
   one of the folders being walked (a loop) is reported, not followed. Only the ancestors are
   checked, not every folder seen: two links to the same sibling folder are not a loop, and
   reading it twice is what was asked for. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/inputs.h"
#include "util/util.h"

/* What a folder held besides the entries kept, for its note (see folder_note). */
#define MAX_UNREAD_KINDS 8
typedef struct {
    long images;          /* files named as images read */
    long folders_skipped; /* sub-folders, without -r */
    long other;           /* files of no image format */
    int n_unread;         /* image formats not read, by extension */
    struct unread_kind {
        char ext[8];
        long count;
    } unread[MAX_UNREAD_KINDS];
} folder_tally;

typedef struct {
    char *path;    /* the folder as it is printed */
    char *arena;   /* entries as [d_type byte][name NUL], back to back */
    char **names;  /* sorted pointers into arena, just past each type byte */
    size_t n, next;
    dev_t dev;
    ino_t ino;
    folder_tally tally;
} level;

struct input_walker {
    input_options o;
    int next_arg;
    FILE *list; /* NULL once exhausted or if none */
    int list_is_stdin;
    char *line;
    size_t line_cap;
    level *stack;
    int depth, stack_cap;
};

static const char *const image_exts[] = {"png", "jpg", "jpeg", "bmp", "gif", "tga",
                                         "pnm", "pgm", "ppm", "psd", "hdr"};
/* Image formats people keep crops in that are not read: a folder of them gets a note. */
static const char *const unread_exts[] = {"tif", "tiff", "webp", "heic", "heif", "avif",
                                          "jp2",  "jxl",  "ico",  "svg"};

int input_is_image_name(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return 0;
    for (size_t i = 0; i < sizeof image_exts / sizeof image_exts[0]; i++)
        if (!strcasecmp(dot + 1, image_exts[i])) return 1;
    return 0;
}

uint64_t input_path_hash(const char *path) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    /* MurmurHash3's finaliser: FNV's low bits alone split similar names unevenly. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static int in_shard(const input_walker *w, const char *path) {
    if (w->o.shard_count <= 1) return 1;
    return input_path_hash(path) % (uint64_t)w->o.shard_count == (uint64_t)w->o.shard_index;
}

input_walker *input_walker_new(const input_options *o, char *err, size_t err_size) {
    input_walker *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    w->o = *o;
    if (o->list_path) {
        w->list_is_stdin = !strcmp(o->list_path, "-");
        w->list = w->list_is_stdin ? stdin : fopen(o->list_path, "r");
        if (!w->list) {
            snprintf(err, err_size, "%s: cannot open the list: %s", o->list_path, strerror(errno));
            free(w);
            return NULL;
        }
    }
    return w;
}

static void level_free(level *L) {
    free(L->path);
    free(L->arena);
    free(L->names);
}

void input_walker_free(input_walker *w) {
    if (!w) return;
    while (w->depth > 0) level_free(&w->stack[--w->depth]);
    free(w->stack);
    if (w->list && !w->list_is_stdin) fclose(w->list);
    free(w->line);
    free(w);
}

void input_item_free(input_item *item) {
    free(item->path);
    free(item->message);
    item->path = item->message = NULL;
}

static int cancelled(const input_walker *w) { return w->o.cancel && atomic_load(w->o.cancel); }

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Which entries are worth keeping: image names always (they are inputs, or reported), and
   with -r anything that may be a folder. Deciding here keeps a folder of a million
   non-images from costing memory. */
static int keep_entry(const input_walker *w, const struct dirent *e) {
    if (e->d_name[0] == '.') return 0;
    if (input_is_image_name(e->d_name)) return 1;
    return w->o.recursive &&
           (e->d_type == DT_DIR || e->d_type == DT_LNK || e->d_type == DT_UNKNOWN);
}

/* Counts an entry that keep_entry left out. */
static void tally_skipped(const input_walker *w, folder_tally *t, const struct dirent *e) {
    if (e->d_type == DT_DIR && !w->o.recursive) {
        t->folders_skipped++;
        return;
    }
    const char *dot = strrchr(e->d_name, '.');
    for (size_t i = 0; dot && i < sizeof unread_exts / sizeof unread_exts[0]; i++) {
        if (strcasecmp(dot + 1, unread_exts[i]) != 0) continue;
        int k = 0;
        while (k < t->n_unread && strcmp(t->unread[k].ext, unread_exts[i]) != 0) k++;
        if (k == t->n_unread) {
            if (k == MAX_UNREAD_KINDS) break;
            snprintf(t->unread[k].ext, sizeof t->unread[k].ext, "%s", unread_exts[i]);
            t->n_unread++;
        }
        t->unread[k].count++;
        return;
    }
    t->other++;
}

/* Reads and sorts one folder and pushes it. Returns 0, or an errno value. */
static int push_level(input_walker *w, const char *path, dev_t dev, ino_t ino) {
    DIR *d = opendir(path);
    if (!d) return errno;
    level L;
    memset(&L, 0, sizeof L);
    size_t used = 0, cap = 0;
    int e = 0;
    for (;;) {
        errno = 0;
        struct dirent *ent = readdir(d);
        if (!ent) {
            e = errno;
            break;
        }
        if (ent->d_name[0] == '.') continue;
        if (!keep_entry(w, ent)) {
            tally_skipped(w, &L.tally, ent);
            continue;
        }
        L.tally.images += input_is_image_name(ent->d_name);
        size_t len = strlen(ent->d_name);
        if (used + len + 2 > cap) {
            size_t nc = cap ? cap * 2 : 4096;
            while (nc < used + len + 2) nc *= 2;
            char *na = realloc(L.arena, nc);
            if (!na) {
                e = ENOMEM;
                break;
            }
            L.arena = na;
            cap = nc;
        }
        L.arena[used] = (char)ent->d_type;
        memcpy(L.arena + used + 1, ent->d_name, len + 1);
        used += len + 2;
        L.n++;
    }
    closedir(d);
    if (!e && L.n) {
        L.names = malloc(L.n * sizeof *L.names);
        if (!L.names) e = ENOMEM;
    }
    if (!e) {
        /* Pointers only now: the arena may have moved while it grew. */
        size_t off = 0;
        for (size_t i = 0; i < L.n; i++) {
            L.names[i] = L.arena + off + 1;
            off += strlen(L.names[i]) + 2;
        }
        if (L.n) qsort(L.names, L.n, sizeof *L.names, cmp_names); /* none: names is NULL */
    }
    if (!e && w->depth == w->stack_cap) {
        int nc = w->stack_cap ? w->stack_cap * 2 : 16;
        level *ns = realloc(w->stack, (size_t)nc * sizeof *ns);
        if (!ns) e = ENOMEM;
        else {
            w->stack = ns;
            w->stack_cap = nc;
        }
    }
    if (!e) L.path = strdup(path);
    if (!e && !L.path) e = ENOMEM;
    if (e) {
        level_free(&L);
        return e;
    }
    L.dev = dev;
    L.ino = ino;
    w->stack[w->depth++] = L;
    return 0;
}

/* Fills item; takes ownership of path. Returns 1 (an item), or 0 when the item belongs to
   another shard and is dropped. Messages about folders follow the same rule, so that across
   the shards of a run each problem is reported exactly once. */
static int make_item(input_walker *w, input_item *item, input_kind kind, char *path,
                     const char *fmt, ...) CRNN_PRINTF(5, 6);
static int make_item(input_walker *w, input_item *item, input_kind kind, char *path,
                     const char *fmt, ...) {
    if (!path || !in_shard(w, path)) {
        free(path);
        return 0;
    }
    item->kind = kind;
    item->path = path;
    item->message = NULL;
    if (fmt) {
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        item->message = strdup(buf);
    }
    return 1;
}

/* Why stat() failed on a path, in words that tell links apart. */
static const char *stat_failure(const char *path, int e, char *buf, size_t size) {
    struct stat ls;
    if (e == ELOOP) return "symbolic link loop";
    if (e == ENOENT && lstat(path, &ls) == 0 && S_ISLNK(ls.st_mode)) {
        char target[1024];
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = 0;
        snprintf(buf, size, "dangling symbolic link (to %s)", target);
        return buf;
    }
    if (e == ENOENT) return "no such file or folder";
    return strerror(e);
}

/* What is worth saying about a folder just read (kept: the entries it will visit), or "":
   files in image formats that are not read, sub-folders left out without -r, and for a
   folder named as an input, that there is nothing in it to read (a folder of TIFFs, an
   empty folder). */
typedef struct unread_kind unread_kind;

static int cmp_unread(const void *a, const void *b) {
    return strcmp(((const unread_kind *)a)->ext, ((const unread_kind *)b)->ext);
}

static void folder_note(folder_tally *t, size_t kept, int named, char *out, size_t size) {
    size_t n = 0;
    out[0] = 0;
    /* in the order of their names, not of the folder's listing */
    qsort(t->unread, (size_t)t->n_unread, sizeof t->unread[0], cmp_unread);
#define NOTE(...) (n += (size_t)snprintf(out + n, n < size ? size - n : 0, __VA_ARGS__))
    long unread = 0;
    for (int k = 0; k < t->n_unread; k++) unread += t->unread[k].count;
    if (named && kept == 0)
        NOTE("no image files in it%s", t->other || unread || t->folders_skipped ? "" : " (empty)");
    if (unread) {
        NOTE("%s%ld file%s in formats not read (", n ? "; " : "", unread, unread == 1 ? "" : "s");
        for (int k = 0; k < t->n_unread; k++)
            NOTE("%s%ld .%s", k ? ", " : "", t->unread[k].count, t->unread[k].ext);
        NOTE("): the formats read are PNG, JPEG, BMP, GIF, TGA, PNM, PSD, HDR");
    }
    if (t->folders_skipped)
        NOTE("%s%ld sub-folder%s not read (-r reads folders inside folders)", n ? "; " : "",
             t->folders_skipped, t->folders_skipped == 1 ? "" : "s");
#undef NOTE
}

/* Descends into a folder, or explains why not. Returns 1 if an item was produced: an error,
   or a note about what the folder holds (its entries follow). */
static int enter_folder(input_walker *w, input_item *item, char *path, const struct stat *st) {
    for (int i = 0; i < w->depth; i++)
        if (w->stack[i].dev == st->st_dev && w->stack[i].ino == st->st_ino)
            return make_item(w, item, INPUT_ERROR, path,
                             "symbolic link loop: leads back to %s, not followed",
                             w->stack[i].path);
    int named = w->depth == 0;
    int e = push_level(w, path, st->st_dev, st->st_ino);
    if (e) return make_item(w, item, INPUT_ERROR, path, "cannot read the folder: %s", strerror(e));
    char note[600];
    level *L = &w->stack[w->depth - 1];
    folder_note(&L->tally, L->n, named, note, sizeof note);
    if (note[0]) return make_item(w, item, INPUT_NOTE, path, "%s", note);
    free(path);
    return 0;
}

/* One path named on the command line or in the list. */
static int visit_root(input_walker *w, char *path, int from_args, input_item *item) {
    if (from_args && !strcmp(path, "-")) return make_item(w, item, INPUT_STDIN, path, NULL);
    struct stat st;
    if (stat(path, &st) != 0) {
        char buf[1100];
        const char *why = stat_failure(path, errno, buf, sizeof buf);
        return make_item(w, item, INPUT_ERROR, path, "%s", why);
    }
    if (S_ISDIR(st.st_mode)) return enter_folder(w, item, path, &st);
    /* Anything else named explicitly is attempted; the decoder explains what it is not. */
    return make_item(w, item, INPUT_FILE, path, NULL);
}

static char *join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    if (a && dir[a - 1] != '/') p[a++] = '/';
    memcpy(p + a, name, b + 1);
    return p;
}

/* One entry of the folder at the top of the stack. */
static int visit_entry(input_walker *w, const char *name, input_item *item) {
    level *L = &w->stack[w->depth - 1];
    int type = (unsigned char)name[-1];
    int image = input_is_image_name(name);
    char *path = join(L->path, name);
    if (!path) return make_item(w, item, INPUT_ERROR, strdup(name), "out of memory");
    struct stat st;
    int have_stat = 0;
    if (type == DT_LNK || type == DT_UNKNOWN || (type == DT_DIR && w->o.recursive)) {
        if (stat(path, &st) != 0) {
            int e = errno;
            if (!image) { /* not an input we would have read */
                free(path);
                return 0;
            }
            char buf[1100];
            const char *why = stat_failure(path, e, buf, sizeof buf);
            return make_item(w, item, INPUT_ERROR, path, "%s", why);
        }
        have_stat = 1;
        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_FIFO;
    }
    if (type == DT_DIR) {
        if (w->o.recursive && have_stat) return enter_folder(w, item, path, &st);
        if (image)
            return make_item(w, item, INPUT_NOTE, path,
                             "is a folder, skipped (-r reads folders inside folders)");
        free(path);
        return 0;
    }
    if (!image) {
        free(path);
        return 0;
    }
    if (type == DT_REG) return make_item(w, item, INPUT_FILE, path, NULL);
    /* A FIFO or device named like an image would block or never end: never opened. */
    return make_item(w, item, INPUT_ERROR, path, "not a regular file");
}

/* The next --list line, without its line ending; NULL at the end. */
static char *next_list_line(input_walker *w, input_item *item, int *error) {
    *error = 0;
    while (w->list) {
        ssize_t n = getline(&w->line, &w->line_cap, w->list);
        if (n < 0) {
            if (ferror(w->list)) {
                *error = make_item(w, item, INPUT_ERROR, strdup(w->o.list_path),
                                   "read error in the list");
            }
            if (!w->list_is_stdin) fclose(w->list);
            w->list = NULL;
            return NULL;
        }
        while (n > 0 && (w->line[n - 1] == '\n' || w->line[n - 1] == '\r')) w->line[--n] = 0;
        if (n > 0) return strdup(w->line);
    }
    return NULL;
}

int input_walker_next(input_walker *w, input_item *item) {
    memset(item, 0, sizeof *item);
    while (!cancelled(w)) {
        if (w->depth > 0) {
            level *L = &w->stack[w->depth - 1];
            if (L->next == L->n) {
                level_free(L);
                w->depth--;
                continue;
            }
            if (visit_entry(w, L->names[L->next++], item)) return 1;
            continue;
        }
        if (w->next_arg < w->o.n_args) {
            char *p = strdup(w->o.args[w->next_arg++]);
            if (!p) return 0;
            if (visit_root(w, p, 1, item)) return 1;
            continue;
        }
        int error;
        char *p = next_list_line(w, item, &error);
        if (error) return 1;
        if (!p) return 0;
        if (visit_root(w, p, 0, item)) return 1;
    }
    return 0;
}

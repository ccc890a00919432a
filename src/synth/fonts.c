/* fonts.c — the generator's font set: finds TrueType/OpenType files (manifest or system
   folders), keeps those stb_truetype can read and that draw Latin text, groups them by family
   so that a family with 20 weights is not drawn 20 times as often as one with a single
   weight, and caches rasterised glyphs at one size per font (the warp scales them), because
   rasterising outlines per sample would dominate the cost of a sample. */
#include <ctype.h>
#include <math.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "synth/internal.h"

#define MAX_FONT_FILE (64u << 20)
#define MAX_FONTS 20000

typedef struct {
    char **v;
    int n, cap;
} strlist;

static int strlist_push(strlist *l, const char *s) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 256;
        char **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) return 0;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s))) return 0;
    l->n++;
    return 1;
}

static void strlist_free(strlist *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

static int has_font_ext(const char *name) {
    size_t n = strlen(name);
    if (n < 5) return 0;
    const char *e = name + n - 4;
    return !strcasecmp(e, ".ttf") || !strcasecmp(e, ".otf");
}

static void scan_dir(const char *dir, strlist *out, int depth) {
    if (depth > 8 || out->n >= MAX_FONTS) return;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode))
            scan_dir(path, out, depth + 1);
        else if (S_ISREG(st.st_mode) && has_font_ext(e->d_name))
            strlist_push(out, path);
    }
    closedir(d);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Share of each kind among the words drawn, as on signs, shop fronts and posters: mostly
   sans-serif, then serif and display faces, little handwriting or monospace. Kinds absent
   from the manifest give their share to the others. */
static const double KIND_SHARE[FONT_KINDS] = {0, 0.50, 0.20, 0.20, 0.06, 0.04};
static const char *const KIND_NAME[FONT_KINDS] = {"", "sans-serif", "serif", "display",
                                                  "handwriting", "monospace"};

/* Lines "path" or "path<TAB>kind"; '#' starts a comment line. kinds[i] belongs to out->v[i]. */
static crnn_status read_manifest(const char *path, strlist *out, int **kinds, crnn_error *err) {
    unsigned char *data;
    size_t size;
    crnn_status st = read_file(path, 16u << 20, &data, &size, err);
    if (st) return st;
    int cap = 0, lineno = 0;
    char *line = (char *)data;
    while (line && *line && st == CRNN_OK) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        lineno++;
        size_t n = strlen(line);
        while (n && isspace((unsigned char)line[n - 1])) line[--n] = 0;
        while (*line && isspace((unsigned char)*line)) line++;
        if (*line && *line != '#' && out->n < MAX_FONTS) {
            int kind = FONT_KIND_NONE;
            char *tab = strchr(line, '\t');
            if (tab) {
                *tab = 0;
                const char *name = tab + 1;
                while (*name == '\t' || *name == ' ') name++;
                for (kind = FONT_KINDS - 1; kind > FONT_KIND_NONE; kind--)
                    if (!strcmp(name, KIND_NAME[kind])) break;
                if (kind == FONT_KIND_NONE) {
                    st = set_error(err, CRNN_ERR_FORMAT,
                                   "%s:%d: unknown font category '%.40s' (sans-serif, serif, "
                                   "display, handwriting or monospace)", path, lineno, name);
                    break;
                }
            }
            if (out->n == cap) {
                cap = cap ? 2 * cap : 256;
                int *k = realloc(*kinds, (size_t)cap * sizeof *k);
                if (!k) { st = set_error(err, CRNN_ERR_NOMEM, "synth: out of memory"); break; }
                *kinds = k;
            }
            (*kinds)[out->n] = kind;
            if (!strlist_push(out, line)) { st = set_error(err, CRNN_ERR_NOMEM, "synth: out of memory"); break; }
        }
        line = nl ? nl + 1 : NULL;
    }
    free(data);
    return st;
}

/* Family name from the name table: typographic family (16) if present, else family (1). */
static void font_family(const stbtt_fontinfo *info, char *out, size_t cap) {
    static const int ids[2] = {16, 1};
    out[0] = 0;
    for (int k = 0; k < 2 && !out[0]; k++) {
        int len = 0;
        const char *s = stbtt_GetFontNameString(info, &len, STBTT_PLATFORM_ID_MICROSOFT,
                                                STBTT_MS_EID_UNICODE_BMP, STBTT_MS_LANG_ENGLISH,
                                                ids[k]);
        if (!s) s = stbtt_GetFontNameString(info, &len, STBTT_PLATFORM_ID_MAC, 0, 0, ids[k]);
        if (!s) continue;
        /* Microsoft names are UTF-16BE; Mac Roman ones are bytes. Keep ASCII only. */
        int wide = len >= 2 && s[0] == 0;
        size_t o = 0;
        for (int i = wide ? 1 : 0; i < len && o + 1 < cap; i += wide ? 2 : 1)
            if (s[i] >= 0x20 && s[i] < 0x7f) out[o++] = s[i];
        out[o] = 0;
    }
}

static int glyph_box(const stbtt_fontinfo *info, int cp, int *x0, int *y0, int *x1, int *y1) {
    int g = stbtt_FindGlyphIndex(info, cp);
    if (!g || stbtt_IsGlyphEmpty(info, g)) return 0;
    return stbtt_GetGlyphBox(info, g, x0, y0, x1, y1);
}

/* Symbol and pictograph fonts map ASCII to non-Latin shapes; their labels would lie. */
static int is_symbol_font(const char *family, const char *path) {
    static const char *bad[] = {"symbol", "dingbat", "webding", "wingding", "emoji", "math",
                                "d050000l", "s050000l", "opensymbol", "icon", "keyboard", "flatline", NULL};
    char low[600];
    size_t n = 0;
    for (const char *s = family; *s && n + 1 < sizeof low; s++) low[n++] = (char)tolower(*s);
    low[n++] = ' ';
    const char *base = strrchr(path, '/');
    for (const char *s = base ? base + 1 : path; *s && n + 1 < sizeof low; s++)
        low[n++] = (char)tolower(*s);
    low[n] = 0;
    for (int i = 0; bad[i]; i++)
        if (strstr(low, bad[i])) return 1;
    return 0;
}

/* Caps-only and small-caps fonts draw 'a' as a capital; such a font must not draw lower-case
   labels, or the label would disagree with the picture. Detected by lower-case letters that
   share the capital's glyph or are nearly as tall as it, or by the family name. */
static int lowercase_is_capital(const stbtt_fontinfo *info, const char *family) {
    /* ADF's "Style" cuts are small capitals throughout. */
    if (strstr(family, " SC") || strstr(family, "Small Caps") || strstr(family, "Capitals") ||
        strstr(family, "Caps") || strstr(family, "ADF Style"))
        return 1;
    static const char pairs[] = "aAeEoOsSxXnNmMrRuU";
    int same = 0, tall = 0, checked = 0;
    for (int i = 0; pairs[i]; i += 2) {
        int gl = stbtt_FindGlyphIndex(info, pairs[i]), gu = stbtt_FindGlyphIndex(info, pairs[i + 1]);
        if (!gl || !gu) continue;
        checked++;
        if (gl == gu) { same++; continue; }
        int lx0, ly0, lx1, ly1, ux0, uy0, ux1, uy1;
        if (!glyph_box(info, pairs[i], &lx0, &ly0, &lx1, &ly1) ||
            !glyph_box(info, pairs[i + 1], &ux0, &uy0, &ux1, &uy1))
            continue;
        if (uy1 - uy0 > 0 && (float)(ly1 - ly0) > 0.88f * (float)(uy1 - uy0)) tall++;
    }
    return checked && (same + tall) * 2 > checked;
}

/* Shape of glyph cp normalised to its own box on an 12 × 12 grid, values 0..255; 0 if none. */
static int glyph_shape(const stbtt_fontinfo *info, int cp, float *out) {
    int g = stbtt_FindGlyphIndex(info, cp);
    if (!g || stbtt_IsGlyphEmpty(info, g)) return 0;
    int x0, y0, x1, y1;
    float sc = stbtt_ScaleForPixelHeight(info, 48);
    stbtt_GetGlyphBitmapBox(info, g, sc, sc, &x0, &y0, &x1, &y1);
    int w = x1 - x0, h = y1 - y0;
    if (w <= 0 || h <= 0 || w > 96 || h > 96) return 0;
    unsigned char bmp[96 * 96];
    stbtt_MakeGlyphBitmap(info, bmp, w, h, w, sc, sc, g);
    for (int i = 0; i < 144; i++) out[i] = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) out[(y * 12 / h) * 12 + x * 12 / w] += bmp[y * w + x];
    return 1;
}

/* Correlation of two shapes, −1..1. */
static float shape_corr(const float *a, const float *b) {
    float ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < 144; i++) ma += a[i], mb += b[i];
    ma /= 144, mb /= 144;
    for (int i = 0; i < 144; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / sqrtf(saa * sbb) : 1.0f;
}

/* Small-caps fonts draw 'a' as a smaller 'A': the lower-case shapes of letters whose two cases
   differ in every normal font (a/A, e/E, g/G, ...) then match their capitals. */
static int lowercase_looks_capital(const stbtt_fontinfo *info) {
    static const char pairs[] = "aAbBdDeEgGhHnNqQrR";
    float la[144], ua[144];
    int similar = 0, checked = 0;
    for (int i = 0; pairs[i]; i += 2) {
        if (!glyph_shape(info, pairs[i], la) || !glyph_shape(info, pairs[i + 1], ua)) continue;
        checked++;
        if (shape_corr(la, ua) > 0.8f) similar++;
    }
    return checked >= 5 && similar * 2 > checked;
}

static int load_one(synth_font *f, const char *path, float cap_px) {
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < 64 || (size_t)st.st_size > MAX_FONT_FILE) {
        close(fd);
        return 0;
    }
    /* Mapped, not read: several generator instances (one per trainer thread) then share the
       page cache instead of each holding a copy of ~200 MB of fonts. */
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return 0;
    f->data = map;
    f->size = (size_t)st.st_size;
    int off = stbtt_GetFontOffsetForIndex(f->data, 0);
    if (off < 0 || !stbtt_InitFont(&f->info, f->data, off)) goto fail;
    font_family(&f->info, f->family, sizeof f->family);
    if (is_symbol_font(f->family, path)) goto fail;

    for (uint32_t cp = 0x21; cp < 0x7f; cp++) {
        int g = stbtt_FindGlyphIndex(&f->info, (int)cp);
        if (g && !stbtt_IsGlyphEmpty(&f->info, g)) f->cov[cp >> 6] |= 1ull << (cp & 63);
    }
    /* A space that exists (even empty) is fine; without one we use half the em. */
    f->cov[0] |= 1ull << 0x20;
    if (lowercase_is_capital(&f->info, f->family) || lowercase_looks_capital(&f->info)) {
        for (uint32_t cp = 'a'; cp <= 'z'; cp++) f->cov[1] &= ~(1ull << (cp & 63));
    }
    /* A font must draw at least all capitals or all small letters; other gaps (digits,
       punctuation) only keep it away from labels that need them. */
    int upper = 0, lower = 0;
    for (uint32_t cp = 'A'; cp <= 'Z'; cp++) upper += (int)((f->cov[1] >> (cp & 63)) & 1);
    for (uint32_t cp = 'a'; cp <= 'z'; cp++) lower += (int)((f->cov[1] >> (cp & 63)) & 1);
    if (upper < 26 && lower < 26) goto fail;

    /* Scale by cap height so that all fonts come out at a comparable size whatever their
       ascent/descent conventions (some reserve room for stacked accents). */
    int x0, y0, x1, y1, cap = 0;
    if (glyph_box(&f->info, 'H', &x0, &y0, &x1, &y1) || glyph_box(&f->info, 'h', &x0, &y0, &x1, &y1) ||
        glyph_box(&f->info, 'A', &x0, &y0, &x1, &y1))
        cap = y1 > 0 ? y1 : 0;
    int asc, desc, gap;
    stbtt_GetFontVMetrics(&f->info, &asc, &desc, &gap);
    if (cap <= 0) cap = (int)(0.7f * (float)asc);
    if (cap <= 0) goto fail;
    f->scale = cap_px / (float)cap;
    f->ascent = (float)asc * f->scale;
    f->descent = (float)desc * f->scale;
    if (!(f->ascent > 0.5f * cap_px) || f->ascent > 4.0f * cap_px) f->ascent = 1.35f * cap_px;
    if (!(f->descent < 0) || f->descent < -2.0f * cap_px) f->descent = -0.3f * cap_px;
    if (!(f->path = strdup(path))) goto fail;
    return 1;
fail:
    munmap(f->data, f->size);
    memset(f, 0, sizeof *f);
    return 0;
}

static void font_clear_cache(synth_font *f) {
    if (f->ascii)
        for (int i = 0; i < 128; i++) free(f->ascii[i]);
    free(f->ascii);
    f->ascii = NULL;
    for (int i = 0; i < f->nx; i++) free(f->xg[i]);
    free(f->xg);
    free(f->xcp);
    f->xg = NULL;
    f->xcp = NULL;
    f->nx = f->capx = 0;
}

static int cmp_family(const void *a, const void *b, void *ctx) {
    const synth_font *fonts = ctx;
    int i = *(const int *)a, j = *(const int *)b;
    int c = strcmp(fonts[i].family, fonts[j].family);
    return c ? c : (i > j) - (i < j);
}

/* Merge sort with a context pointer: qsort_r is a GNU extension and a file
   static would make two instances race. */
static void sort_by_family(int *v, int n, const synth_font *fonts, int *tmp) {
    if (n < 2) return;
    int h = n / 2;
    sort_by_family(v, h, fonts, tmp);
    sort_by_family(v + h, n - h, fonts, tmp);
    int i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = cmp_family(&v[i], &v[j], (void *)fonts) <= 0 ? v[i++] : v[j++];
    while (i < h) tmp[k++] = v[i++];
    while (j < n) tmp[k++] = v[j++];
    memcpy(v, tmp, (size_t)n * sizeof *v);
}

/* Where the manifest classified families, each kind gets KIND_SHARE of the classified
   families' draws (spread evenly over its families); unclassified families keep one draw's
   weight each, so the balance between classified and other fonts stays by family count. */
static crnn_status weigh_families(synth_fontset *fs, crnn_error *err) {
    int count[FONT_KINDS] = {0}, classified = 0;
    for (int g = 0; g < fs->ngroups; g++) count[fs->fonts[fs->groups[fs->group_off[g]]].kind]++;
    double share = 0;
    for (int k = 1; k < FONT_KINDS; k++)
        if (count[k]) share += KIND_SHARE[k], classified += count[k];
    if (!classified) return CRNN_OK;
    if (!(fs->group_cum = malloc((size_t)fs->ngroups * sizeof *fs->group_cum)))
        return set_error(err, CRNN_ERR_NOMEM, "synth: out of memory");
    double total = 0;
    for (int g = 0; g < fs->ngroups; g++) {
        int k = fs->fonts[fs->groups[fs->group_off[g]]].kind;
        total += k == FONT_KIND_NONE ? 1.0 : KIND_SHARE[k] / share * classified / count[k];
        fs->group_cum[g] = total;
    }
    return CRNN_OK;
}

crnn_status fontset_load(synth_fontset *fs, const char *manifest, float cap_px, crnn_error *err) {
    memset(fs, 0, sizeof *fs);
    fs->cap_px = cap_px;
    fs->cache_budget = 96u << 20;
    strlist paths = {0};
    int *kinds = NULL;
    if (manifest) {
        crnn_status st = read_manifest(manifest, &paths, &kinds, err);
        if (st) {
            strlist_free(&paths);
            free(kinds);
            return st;
        }
    } else {
        scan_dir("/usr/share/fonts/truetype", &paths, 0);
        scan_dir("/usr/share/fonts/opentype", &paths, 0);
        /* Sorted, so that the same machine gives the same font indices and hence the same
           samples for a seed, whatever order readdir returns. */
        if (paths.n) qsort(paths.v, (size_t)paths.n, sizeof *paths.v, cmp_str);
    }
    if (paths.n && !(fs->fonts = calloc((size_t)paths.n, sizeof *fs->fonts))) {
        strlist_free(&paths);
        free(kinds);
        return set_error(err, CRNN_ERR_NOMEM, "synth: out of memory for %d fonts", paths.n);
    }
    for (int i = 0; i < paths.n; i++)
        if (load_one(&fs->fonts[fs->n], paths.v[i], cap_px)) {
            fs->fonts[fs->n].kind = kinds ? (synth_font_kind)kinds[i] : FONT_KIND_NONE;
            fs->n++;
        }
    free(kinds);
    if (fs->n == 0) {
        crnn_status st = set_error(
            err, CRNN_ERR_IO,
            "synth: no usable fonts in %s (%d files listed); run scripts/install-fonts.sh",
            manifest ? manifest : "/usr/share/fonts/{truetype,opentype}", paths.n);
        strlist_free(&paths);
        fontset_free(fs);
        return st;
    }
    strlist_free(&paths);

    int *tmp = malloc((size_t)fs->n * sizeof *tmp);
    fs->groups = malloc((size_t)fs->n * sizeof *fs->groups);
    fs->group_off = malloc((size_t)(fs->n + 1) * sizeof *fs->group_off);
    if (!tmp || !fs->groups || !fs->group_off) {
        free(tmp);
        fontset_free(fs);
        return set_error(err, CRNN_ERR_NOMEM, "synth: out of memory");
    }
    for (int i = 0; i < fs->n; i++) fs->groups[i] = i;
    sort_by_family(fs->groups, fs->n, fs->fonts, tmp);
    free(tmp);
    for (int i = 0; i < fs->n; i++)
        if (i == 0 || strcmp(fs->fonts[fs->groups[i]].family, fs->fonts[fs->groups[i - 1]].family))
            fs->group_off[fs->ngroups++] = i;
    fs->group_off[fs->ngroups] = fs->n;
    crnn_status st = weigh_families(fs, err);
    if (st) fontset_free(fs);
    return st;
}

int fontset_pick_family(const synth_fontset *fs, rng_t *r) {
    if (!fs->group_cum) return rng_int(r, 0, fs->ngroups - 1);
    double u = rng_uniform(r) * fs->group_cum[fs->ngroups - 1];
    int lo = 0, hi = fs->ngroups - 1; /* first family whose cumulative weight exceeds u */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (fs->group_cum[mid] > u) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

void fontset_free(synth_fontset *fs) {
    for (int i = 0; i < fs->n; i++) {
        font_clear_cache(&fs->fonts[i]);
        free(fs->fonts[i].path);
        if (fs->fonts[i].data) munmap(fs->fonts[i].data, fs->fonts[i].size);
    }
    free(fs->fonts);
    free(fs->groups);
    free(fs->group_off);
    free(fs->group_cum);
    memset(fs, 0, sizeof *fs);
}

int font_has(const synth_font *f, uint32_t cp) {
    if (cp < 128) return (int)((f->cov[cp >> 6] >> (cp & 63)) & 1);
    int g = stbtt_FindGlyphIndex(&f->info, (int)cp);
    return g && !stbtt_IsGlyphEmpty(&f->info, g);
}

float font_kern(const synth_font *f, int g1, int g2) {
    return (float)stbtt_GetGlyphKernAdvance(&f->info, g1, g2) * f->scale;
}

static synth_glyph *rasterise(const synth_font *f, uint32_t cp) {
    int g = stbtt_FindGlyphIndex(&f->info, (int)cp);
    int adv, lsb;
    stbtt_GetGlyphHMetrics(&f->info, g, &adv, &lsb);
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    if (cp != ' ' && g) stbtt_GetGlyphBitmapBox(&f->info, g, f->scale, f->scale, &x0, &y0, &x1, &y1);
    int w = x1 - x0, h = y1 - y0;
    if (w < 0 || h < 0 || w > 4096 || h > 4096) w = h = 0;
    synth_glyph *gl = calloc(1, sizeof *gl + (size_t)w * (size_t)h);
    if (!gl) return NULL;
    gl->w = w;
    gl->h = h;
    gl->xoff = x0;
    gl->yoff = y0;
    gl->index = g;
    gl->advance = (float)adv * f->scale;
    if (cp == ' ' && !g) gl->advance = 0.33f * f->ascent;
    if (w && h) stbtt_MakeGlyphBitmap(&f->info, gl->bmp, w, h, w, f->scale, f->scale, g);
    return gl;
}

const synth_glyph *fontset_glyph(synth_fontset *fs, int font, uint32_t cp) {
    synth_font *f = &fs->fonts[font];
    if (!font_has(f, cp)) return NULL;
    synth_glyph **slot = NULL;
    if (cp < 128) {
        if (!f->ascii && !(f->ascii = calloc(128, sizeof *f->ascii))) return NULL;
        slot = &f->ascii[cp];
        if (*slot) return *slot;
    } else {
        for (int i = 0; i < f->nx; i++)
            if (f->xcp[i] == cp) return f->xg[i];
    }
    /* Past the budget the whole cache goes: simpler than LRU and the samples do not depend
       on what is cached, only the speed does. */
    if (fs->cache_bytes > fs->cache_budget) {
        for (int i = 0; i < fs->n; i++) font_clear_cache(&fs->fonts[i]);
        fs->cache_bytes = 0;
        if (cp < 128) {
            if (!(f->ascii = calloc(128, sizeof *f->ascii))) return NULL;
            slot = &f->ascii[cp];
        }
    }
    synth_glyph *gl = rasterise(f, cp);
    if (!gl) return NULL;
    fs->cache_bytes += sizeof *gl + (size_t)gl->w * (size_t)gl->h + 16;
    if (slot) {
        *slot = gl;
    } else {
        if (f->nx == f->capx) {
            int cap = f->capx ? 2 * f->capx : 16;
            uint32_t *xcp = realloc(f->xcp, (size_t)cap * sizeof *xcp);
            if (!xcp) { free(gl); return NULL; }
            f->xcp = xcp;
            synth_glyph **xg = realloc(f->xg, (size_t)cap * sizeof *xg);
            if (!xg) { free(gl); return NULL; }
            f->xg = xg;
            f->capx = cap;
        }
        f->xcp[f->nx] = cp;
        f->xg[f->nx++] = gl;
    }
    return gl;
}

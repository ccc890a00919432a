/* output.c — result formats, the atomic --output file, and the progress bar. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "util/util.h"

int out_open(out_sink *o, const char *path, out_format format, int with_rejected) {
    memset(o, 0, sizeof *o);
    o->format = format;
    o->with_rejected = with_rejected;
    if (!path) {
        o->f = stdout;
    } else {
        size_t n = strlen(path) + 32;
        o->path = strdup(path);
        o->tmp_path = malloc(n);
        if (!o->path || !o->tmp_path) {
            fprintf(stderr, "ocr-crnn: %s: out of memory\n", path);
            free(o->path);
            free(o->tmp_path);
            return -1;
        }
        snprintf(o->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
        /* O_EXCL: never write through a link or into someone else's file of that name. */
        int fd = open(o->tmp_path, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 || !(o->f = fdopen(fd, "w"))) {
            fprintf(stderr, "ocr-crnn: %s: cannot create %s: %s\n", path, o->tmp_path,
                    strerror(errno));
            if (fd >= 0) {
                close(fd);
                unlink(o->tmp_path);
            }
            free(o->path);
            free(o->tmp_path);
            return -1;
        }
    }
    if (format == OUT_CSV)
        fputs(with_rejected ? "path,text,confidence,rejected,error\n"
                            : "path,text,confidence,error\n",
              o->f);
    return 0;
}

/* RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
static void csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* TSV fields escape what would break the columns, as PostgreSQL's text format does. */
static void tsv_field(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '\t': fputs("\\t", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\\': fputs("\\\\", f); break;
        default: fputc(*s, f);
        }
    }
}

static void json_chars(FILE *f, const crnn_result *res) {
    /* Per-character confidences beside the characters they belong to. */
    const char *p = res->text;
    for (int i = 0; i < res->num_chars; i++) {
        uint32_t cp;
        int used = utf8_decode(p, strlen(p), &cp);
        char ch[5] = {0};
        memcpy(ch, p, (size_t)(used > 0 ? used : 0));
        p += used > 0 ? used : 1;
        fprintf(f, "%s{\"char\":", i ? "," : "");
        json_write_string(f, ch);
        fprintf(f, ",\"confidence\":%.4f}", res->char_confidence[i]);
    }
}

void out_result(out_sink *o, const char *path, const crnn_result *res) {
    FILE *f = o->f;
    switch (o->format) {
    case OUT_TEXT: fprintf(f, "%s\n", res->text); break;
    case OUT_PATH_TEXT: /* one line per image: the line breaks of a text read as several
                           lines are written as \n */
        fprintf(f, "%s\t", path);
        for (const char *p = res->text; *p; p++) {
            if (*p == '\n') fputs("\\n", f);
            else fputc(*p, f);
        }
        fputc('\n', f);
        break;
    case OUT_TSV:
        tsv_field(f, path);
        fputc('\t', f);
        tsv_field(f, res->text);
        fprintf(f, "\t%.4g", res->confidence);
        if (o->with_rejected) fprintf(f, "\t%d", res->rejected);
        fputc('\n', f);
        break;
    case OUT_CSV:
        csv_field(f, path);
        fputc(',', f);
        csv_field(f, res->text);
        fprintf(f, ",%.4g,", res->confidence);
        if (o->with_rejected) fprintf(f, "%d,", res->rejected);
        fputc('\n', f);
        break;
    case OUT_JSONL:
        fputs("{\"path\":", f);
        json_write_string(f, path);
        fputs(",\"text\":", f);
        json_write_string(f, res->text);
        if (res->free_text) { /* a lexicon or pattern chose the text: what was read without it,
                                 and whether it had to be kept */
            fputs(",\"free_text\":", f);
            json_write_string(f, res->free_text);
            fputs(",\"free_log_prob\":", f);
            if (isfinite(res->free_log_prob)) fprintf(f, "%.4f", res->free_log_prob);
            else fputs("null", f);
            fprintf(f, ",\"fallback\":%s", res->fallback ? "true" : "false");
        }
        if (res->lines > 1) fprintf(f, ",\"lines\":%d", res->lines);
        if (res->squeezed) fputs(",\"squeezed\":true", f);
        if (res->rotation) fprintf(f, ",\"rotation\":%d", res->rotation);
        if (res->stretch > 1) fprintf(f, ",\"stretch\":%g", (double)res->stretch);
        if (o->with_rejected) fprintf(f, ",\"rejected\":%s", res->rejected ? "true" : "false");
        /* %.4g: a confidence of 1e-9 must not print as 0.0000, and four digits are all that
           stay the same whatever the batching; JSON has no -inf */
        fprintf(f, ",\"confidence\":%.4g,\"log_prob\":", res->confidence);
        if (isfinite(res->log_prob)) fprintf(f, "%.4f", res->log_prob);
        else fputs("null", f);
        fputs(",\"chars\":[", f);
        json_chars(f, res);
        fprintf(f, "],\"milliseconds\":%.3f}\n", res->milliseconds);
        break;
    }
}

void out_failure(out_sink *o, const char *path, const char *reason) {
    FILE *f = o->f;
    if (o->format == OUT_CSV) {
        csv_field(f, path);
        fputs(o->with_rejected ? ",,,," : ",,,", f);
        csv_field(f, reason);
        fputc('\n', f);
    } else if (o->format == OUT_JSONL) {
        fputs("{\"path\":", f);
        json_write_string(f, path);
        fputs(",\"error\":", f);
        json_write_string(f, reason);
        fputs("}\n", f);
    }
}

int out_close(out_sink *o, int commit) {
    int rc = 0;
    if (!o->tmp_path) { /* stdout, or an --output that never opened */
        if (o->f && (fflush(o->f) != 0 || ferror(o->f))) {
            fprintf(stderr, "ocr-crnn: error writing the results: %s\n", strerror(errno));
            rc = -1;
        }
    } else {
        int bad = fflush(o->f) != 0 || ferror(o->f);
        int e = errno;
        if (commit && !bad && fsync(fileno(o->f)) != 0) bad = 1, e = errno;
        if (fclose(o->f) != 0 && !bad) bad = 1, e = errno;
        if (commit && !bad && rename(o->tmp_path, o->path) != 0) bad = 1, e = errno;
        if (!commit || bad) unlink(o->tmp_path);
        if (commit && bad) {
            fprintf(stderr, "ocr-crnn: %s: cannot write: %s (any previous file is unchanged)\n",
                    o->path, strerror(e));
            rc = -1;
        }
        if (commit && !bad) { /* the rename itself must survive a power cut */
            char *dir = strdup(o->path);
            int dfd = dir ? open(dirname(dir), O_RDONLY) : -1;
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
            free(dir);
        }
    }
    free(o->path);
    free(o->tmp_path);
    memset(o, 0, sizeof *o);
    return rc;
}

/* ---- progress ---- */

void progress_init(progress_bar *p, int enabled) {
    memset(p, 0, sizeof *p);
    p->enabled = enabled;
    p->stdout_tty = isatty(STDOUT_FILENO);
    p->t0 = now_seconds();
}

static int term_columns(void) {
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
    return 80;
}

static void format_duration(char *out, size_t size, double s) {
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(out, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(out, size, "%ld:%02ld", t / 60, t % 60);
}

void progress_update(progress_bar *p, long done, long total, long failed, int force) {
    if (!p->enabled) return;
    double now = now_seconds();
    if (!force && now - p->last_draw < 0.2) return;
    p->last_draw = now;
    double el = now - p->t0, rate = el > 0 ? done / el : 0;
    char tail[160], fail[40] = "";
    if (failed) snprintf(fail, sizeof fail, "  %ld failed", failed);
    int cols = term_columns();
    if (total >= 0) {
        char eta[32] = "--:--";
        if (rate > 0 && done > 0)
            format_duration(eta, sizeof eta, done < total ? (total - done) / rate : 0);
        snprintf(tail, sizeof tail, " %ld/%ld  %.0f images/s  ETA %s%s", done, total, rate, eta,
                 fail);
        int bar = cols - 3 - (int)strlen(tail) - 1;
        if (bar > 50) bar = 50;
        fputc('\r', stderr);
        if (bar >= 10) {
            int fill = total > 0 ? (int)((double)bar * done / total) : 0;
            if (fill > bar) fill = bar;
            fputc('[', stderr);
            for (int i = 0; i < bar; i++) fputc(i < fill ? '#' : '.', stderr);
            fputc(']', stderr);
        }
        fprintf(stderr, "%s\033[K", tail);
    } else {
        char el_s[32];
        format_duration(el_s, sizeof el_s, el);
        fprintf(stderr, "\r %ld done  %.0f images/s  %s%s\033[K", done, rate, el_s, fail);
    }
    fflush(stderr);
    p->shown = 1;
}

void progress_clear(progress_bar *p) {
    if (!p->enabled || !p->shown) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->shown = 0;
}

void progress_finish(progress_bar *p, long done, long failed) {
    if (!p->enabled) return;
    progress_clear(p);
    double el = now_seconds() - p->t0;
    fprintf(stderr, "ocr-crnn: %ld image%s in %.1f s (%.0f images/s)", done, done == 1 ? "" : "s",
            el, el > 0 ? done / el : 0.0);
    if (failed) fprintf(stderr, ", %ld failed", failed);
    fputc('\n', stderr);
}

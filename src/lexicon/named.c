/* named.c — lexicons by name ("en"): the word lists that come with ocr-crnn, found in the
   source tree or where they were installed, so that `--lexicon en` (and the character model
   built from the same list, `--lm en`) works anywhere. */
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "lexicon/lexicon.h"
#include "util/util.h"

#define LEXICON_NAME_MAX 64

static int is_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > LEXICON_NAME_MAX) return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

const char *lexicon_named_path(const char *name_or_path, char *buf, size_t cap,
                               crnn_error *err) {
    if (!name_or_path) {
        set_error(err, CRNN_ERR_ARG, "no lexicon name");
        return NULL;
    }
    struct stat st;
    /* A file of that name in the current folder wins: a path is what the user meant. */
    if (!is_name(name_or_path) || stat(name_or_path, &st) == 0) {
        if (strlen(name_or_path) >= cap) {
            set_error(err, CRNN_ERR_ARG, "%.200s...: path too long", name_or_path);
            return NULL;
        }
        return strcpy(buf, name_or_path);
    }
    /* the same relative path in the source tree and under share/ocr-crnn */
    char rel[LEXICON_NAME_MAX + 16];
    snprintf(rel, sizeof rel, "lexicons/%s.txt", name_or_path);
    if (!data_file_find(rel, rel, buf, cap)) {
        set_error(err, CRNN_ERR_IO,
                  "%s: no such file, and no lexicon of that name comes with ocr-crnn (looked "
                  "for %s beside the program and in %s)", name_or_path, rel, data_dir());
        return NULL;
    }
    return buf;
}

int lexicon_is_builtin(const char *name_or_path) {
    struct stat st;
    return name_or_path && !strcmp(name_or_path, LEXICON_BUILTIN_NAME) && lexicon_en_size > 0 &&
           stat(name_or_path, &st) != 0;
}

crnn_lexicon *crnn_lexicon_load_named(const char *name_or_path, crnn_error *err) {
    char path[PATH_MAX + 128];
    if (lexicon_named_path(name_or_path, path, sizeof path, err))
        return crnn_lexicon_load(path, err);
    if (!lexicon_is_builtin(name_or_path)) return NULL;
    return lexicon_parse((const char *)lexicon_en_data, lexicon_en_size, "en (built in)", err);
}

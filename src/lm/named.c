/* named.c — character models by name: "en", the English list that comes with ocr-crnn, is
   read from the tables the build made of it (no counting at start-up); other names and paths
   are word lists, counted when loaded. */
#include <limits.h>
#include <string.h>

#include "lexicon/lexicon.h"
#include "lm/charlm.h"
#include "util/util.h"

/* The tables of lexicons/en.txt at CRNN_LM_ORDER, made at build time by scripts/lm-table.c. */
extern const unsigned char lm_en_data[];
extern const size_t lm_en_size;

crnn_lm *crnn_lm_load_named(const char *name_or_path, int order, crnn_error *err) {
    /* "en" (and no file of that name here): the tables the build counted */
    if (lexicon_is_builtin(name_or_path) && order == CRNN_LM_ORDER && lm_en_size > 0)
        return charlm_table_read(lm_en_data, lm_en_size, "en (built in)", err);
    char path[PATH_MAX + 128];
    if (lexicon_named_path(name_or_path, path, sizeof path, err))
        return crnn_lm_load(path, order, err);
    if (!lexicon_is_builtin(name_or_path)) return NULL;
    return charlm_build((const char *)lexicon_en_data, lexicon_en_size, order, "en (built in)",
                        err);
}

/* lm-table.c — the build's tool that counts a word list into a character model's tables
   (src/lm/table.c), so that the library can carry them and skip the counting at start-up:

     lm-table WORDS.txt OUT [ORDER]     (ORDER: default CRNN_LM_ORDER)

   meson runs it on lexicons/en.txt; scripts/embed-file.py then makes the bytes a C array. */
#include <stdio.h>
#include <stdlib.h>

#include "crnn.h"
#include "lm/charlm.h"

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: lm-table WORDS.txt OUT [ORDER]\n");
        return 2;
    }
    const int order = argc == 4 ? atoi(argv[3]) : CRNN_LM_ORDER;
    crnn_error err;
    crnn_lm *lm = crnn_lm_load(argv[1], order, &err);
    unsigned char *bytes = NULL;
    size_t size = 0;
    if (!lm || charlm_table_write(lm, &bytes, &size, &err) != CRNN_OK) {
        fprintf(stderr, "lm-table: %s\n", err.message);
        crnn_lm_free(lm);
        return 1;
    }
    FILE *f = fopen(argv[2], "wb");
    int ok = f && fwrite(bytes, 1, size, f) == size;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) fprintf(stderr, "lm-table: %s: cannot write\n", argv[2]);
    free(bytes);
    crnn_lm_free(lm);
    return ok ? 0 : 1;
}

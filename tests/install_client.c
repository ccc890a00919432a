/* install_client.c — a program that uses an installed libcrnn as anyone would: crnn.h alone,
   built with `pkg-config --cflags --libs crnn` (tests/test_install.sh builds and runs it).

   usage: install_client IMAGE...
   Prints the library's version, then each image's text as read by the built-in model, a TAB,
   and its text as read by the default model (crnn_model_load_default); an image that cannot
   be read prints the library's message instead. Exit status 1 if any image failed. */
#include <stdio.h>

#include <crnn.h>

static int read_one(crnn_recognizer *rec, const char *path, FILE *out) {
    crnn_params params = crnn_default_params();
    crnn_result res;
    if (crnn_recognize_file(rec, path, &params, &res) != CRNN_OK) {
        fprintf(out, "error: %s", crnn_recognizer_error(rec));
        return 1;
    }
    fputs(res.text, out);
    crnn_result_free(&res);
    return 0;
}

int main(int argc, char **argv) {
    crnn_error err;
    crnn_model *builtin = crnn_model_load_builtin(&err);
    if (!builtin) {
        fprintf(stderr, "install_client: %s\n", err.message);
        return 1;
    }
    crnn_model *fallback = crnn_model_load_default(&err);
    if (!fallback) {
        fprintf(stderr, "install_client: %s\n", err.message);
        crnn_model_free(builtin);
        return 1;
    }
    crnn_recognizer *a = crnn_recognizer_new(builtin, &err);
    crnn_recognizer *b = a ? crnn_recognizer_new(fallback, &err) : NULL;
    int failed = !a || !b;
    if (failed) fprintf(stderr, "install_client: %s\n", err.message);
    printf("%s\n", crnn_version());
    for (int i = 1; i < argc && a && b; i++) {
        failed |= read_one(a, argv[i], stdout);
        putchar('\t');
        failed |= read_one(b, argv[i], stdout);
        putchar('\n');
    }
    crnn_recognizer_free(b);
    crnn_recognizer_free(a);
    crnn_model_free(fallback);
    crnn_model_free(builtin);
    return failed;
}

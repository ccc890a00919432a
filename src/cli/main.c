/* main.c — ocr-crnn: dispatch to a sub-command; recognition when none is named. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef int (*command_fn)(int argc, char **argv);

static command_fn find_command(const char *name) {
    if (!strcmp(name, "train")) return cmd_train;
    if (!strcmp(name, "eval")) return cmd_eval;
    if (!strcmp(name, "synth")) return cmd_synth;
    if (!strcmp(name, "recognize")) return cmd_recognize;
    return NULL;
}

int main(int argc, char **argv) {
    static char help[] = "--help";
    if (argc >= 2 && !strcmp(argv[1], "help")) { /* `ocr-crnn help [COMMAND]` */
        command_fn cmd = argc >= 3 ? find_command(argv[2]) : cmd_recognize;
        if (!cmd) {
            fprintf(stderr, "ocr-crnn help: no command '%s' (train, eval, synth; none for "
                    "recognition)\n", argv[2]);
            return 2;
        }
        char *args[] = {argc >= 3 ? argv[2] : argv[0], help, NULL};
        return cmd(2, args);
    }
    if (argc >= 2) {
        command_fn cmd = find_command(argv[1]);
        if (cmd) return cmd(argc - 1, argv + 1);
    }
    return cmd_recognize(argc, argv);
}

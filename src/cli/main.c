/* main.c — ocr-crnn: dispatch to a sub-command; recognition when none is named. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int main(int argc, char **argv) {
    if (argc >= 2) {
        const char *cmd = argv[1];
        if (!strcmp(cmd, "train")) return cmd_train(argc - 1, argv + 1);
        if (!strcmp(cmd, "eval")) return cmd_eval(argc - 1, argv + 1);
        if (!strcmp(cmd, "synth")) return cmd_synth(argc - 1, argv + 1);
        if (!strcmp(cmd, "recognize")) return cmd_recognize(argc - 1, argv + 1);
    }
    return cmd_recognize(argc, argv);
}

/* temporary until the sub-commands land */
#include <stdio.h>
#include "cli/cli.h"
int cmd_eval(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "not yet\n"); return 2; }

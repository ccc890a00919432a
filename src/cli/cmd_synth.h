/* cmd_synth.h — `ocr-crnn synth`: the synthetic scene-text generator on the command line. */
#ifndef CRNN_CMD_SYNTH_H
#define CRNN_CMD_SYNTH_H

/* argv[0] is "synth". Returns the exit status: 0 ok, 1 failure, 2 usage error. */
int cmd_synth(int argc, char **argv);

#endif

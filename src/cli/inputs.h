/* inputs.h — the recogniser's inputs as a stream: command-line paths, then the lines of a
   --list file, with folders walked lazily (one folder's sorted names in memory per level of
   depth, never the whole tree), filtered to image names, and cut to one --shard. */
#ifndef CRNN_CLI_INPUTS_H
#define CRNN_CLI_INPUTS_H

#include <stdatomic.h>
#include <stdint.h>

typedef enum {
    INPUT_FILE,  /* an image file to recognise */
    INPUT_STDIN, /* '-' on the command line: one image from standard input */
    INPUT_ERROR, /* an input that cannot be read (dangling link, loop, unreadable folder...) */
    INPUT_NOTE   /* something skipped that is worth a word, not a failure */
} input_kind;

typedef struct {
    input_kind kind;
    char *path;    /* malloc'ed, as printed: folder path as given + '/' + name */
    char *message; /* ERROR and NOTE: the reason, without the path; malloc'ed; else NULL */
} input_item;

typedef struct {
    char **args;           /* positional inputs, in order */
    int n_args;
    const char *list_path; /* --list: one path per line, read after args; "-" = stdin; or NULL */
    int recursive;         /* -r: walk folders inside folders */
    int shard_index, shard_count; /* --shard I/N; N = 0 or 1: everything */
    const atomic_int *cancel;     /* non-zero makes input_walker_next end early; may be NULL */
} input_options;

typedef struct input_walker input_walker;

/* Opens the --list file, if any. Returns NULL with a message in err (naming the file) if it
   cannot be opened, or if memory runs out. */
input_walker *input_walker_new(const input_options *options, char *err, size_t err_size);
/* Produces the next input in order: 1 with *item filled (free it with input_item_free), 0 at
   the end. */
int input_walker_next(input_walker *w, input_item *item);
void input_walker_free(input_walker *w);
void input_item_free(input_item *item);

/* 1 if name ends in an image extension this program decodes (case-insensitive). */
int input_is_image_name(const char *name);
/* The 64-bit FNV-1a hash of a path; --shard I/N keeps the inputs whose hash mod N is I. */
uint64_t input_path_hash(const char *path);

#endif

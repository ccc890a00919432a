/* stb_image_impl.c — the fuzz build's own copy of stb_image, compiled from Debian's header with
   the sanitizers and coverage on. Debian ships stb_image as a compiled library (libstb), which
   libFuzzer could neither see into nor check; linked first, this copy takes its place in the
   fuzz binaries only. Same source, same version, same default options as libstb. */
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>

/* casefold.c — simple (one code point to one) case folding for the scripts a Latin, Greek or
   Cyrillic charset holds, so that case-insensitive lexicon matching needs no locale. Other
   code points fold to themselves. */
#include "lexicon/lexicon.h"

uint32_t casefold(uint32_t c) {
    if (c < 0x80) return c >= 'A' && c <= 'Z' ? c + 32 : c;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32; /* Latin-1 À..Þ, not × */
    if (c >= 0x100 && c <= 0x17F) {                         /* Latin Extended-A */
        if (c == 0x130) return 'i';                         /* İ */
        if (c == 0x178) return 0xFF;                        /* Ÿ */
        if (c == 0x17F) return 's';                         /* long s */
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
            return (c & 1) ? c + 1 : c; /* odd = capital in these two runs */
        if (c == 0x131 || c == 0x138 || c == 0x149) return c;
        return (c & 1) ? c : c + 1; /* elsewhere even = capital */
    }
    if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32; /* Greek Α..Ϋ */
    if (c == 0x386) return 0x3AC;
    if (c >= 0x388 && c <= 0x38A) return c + 37;
    if (c == 0x38C) return 0x3CC;
    if (c == 0x38E || c == 0x38F) return c + 63;
    if (c == 0x3C2) return 0x3C3; /* final sigma */
    if (c >= 0x410 && c <= 0x42F) return c + 32; /* Cyrillic А..Я */
    if (c >= 0x400 && c <= 0x40F) return c + 80; /* Ѐ..Џ */
    if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F))
        return (c & 1) ? c : c + 1;
    return c;
}

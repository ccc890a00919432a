#!/bin/sh
# localize-archive.sh IN.a OUT.a CC... — writes OUT.a holding one object: every member of IN.a
# linked together (CC -r), with its hidden symbols made local. Inside one object the library's
# parts still reach each other; a program that links OUT.a sees only the default-visibility
# symbols, those of crnn.h (nm -g lists nothing else).
set -eu
in=$1 out=$2
shift 2
tmp=$out.tmp.o
rm -f "$tmp" "$out"
"$@" -r -nostdlib -Wl,--whole-archive "$in" -Wl,--no-whole-archive -o "$tmp"
${OBJCOPY:-objcopy} --localize-hidden "$tmp"
${AR:-ar} rcs "$out" "$tmp"
rm -f "$tmp"

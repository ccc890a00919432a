#!/bin/bash
# test_install.sh BUILD_DIR REPO [CFLAGS] — `meson install` into a temporary folder, then what
# a user of the installed files gets: the header, libraries, pkg-config file, model, lexicon
# and manual pages in place; libcrnn exporting crnn.h's names and nothing else; a C program
# built with `pkg-config --cflags --libs crnn` alone (and statically with --static), run from
# another folder, reading samples/ with the built-in model; the installed program alone
# reading them too, and finding the installed lexicon by name.
# CFLAGS: the sanitizer flags of a sanitizer build, which its client programs need as well.
set -u
unset LD_LIBRARY_PATH # the libraries under test are the installed ones
BUILD=$1
REPO=$2
CFLAGS=${3:-}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/check.sh"

DEST=$T/dest
meson install -C "$BUILD" --no-rebuild --quiet --destdir "$DEST" >"$T/install.log" 2>&1 ||
    { cat "$T/install.log"; echo "FAIL: meson install"; exit 1; }
prefix=$(meson introspect "$BUILD" --buildoptions |
    python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
P=$DEST$prefix
pc=$(find "$P" -name crnn.pc | head -n 1)
check "crnn.pc installed" test -n "$pc"
libdir=$(dirname "$(dirname "$pc")")
for f in include/crnn.h bin/ocr-crnn share/ocr-crnn/default.crnn share/ocr-crnn/lexicons/en.txt \
         share/man/man1/ocr-crnn.1 share/man/man1/ocr-crnn-train.1 share/man/man1/ocr-crnn-eval.1 \
         share/man/man1/ocr-crnn-synth.1; do
    check "$f installed" test -f "$P/$f"
done
for f in libcrnn.a libcrnn.so.0; do
    check "$f installed" test -f "$libdir/$f"
done
check "SONAME libcrnn.so.0" same "$(readelf -d "$libdir/libcrnn.so.0" | grep -o 'soname: \[.*\]')" \
    'soname: [libcrnn.so.0]'

# Only crnn.h's functions leave the libraries: every exported name is one the header declares.
declared=$(grep -o '\bcrnn_[a-z0-9_]*(' "$P/include/crnn.h" | tr -d '(' | sort -u)
exported_so=$(nm -D --defined-only "$libdir/libcrnn.so.0" | awk '$2 ~ /[A-Z]/ {print $3}' | sort -u)
exported_a=$(nm -g --defined-only "$libdir/libcrnn.a" | awk '$2 ~ /[A-Z]/ {print $3}' | sort -u)
check "libcrnn.so exports only crnn.h's names" same "$(comm -23 <(echo "$exported_so") <(echo "$declared"))" ""
check "libcrnn.a exports only crnn.h's names" same "$(comm -23 <(echo "$exported_a") <(echo "$declared"))" ""
check "libcrnn.so exports every function of crnn.h" same "$(comm -13 <(echo "$exported_so") <(echo "$declared"))" ""

export PKG_CONFIG_PATH=$libdir/pkgconfig
export OCR_CRNN_MODEL=
cc=${CC:-cc}
# shellcheck disable=SC2046,SC2086  # pkg-config's output is meant to be split into words
build() { "$cc" -std=c11 -Wall -Wextra -Werror $CFLAGS "$@"; }
build -o "$T/client" "$REPO/tests/install_client.c" $(pkg-config --cflags --libs crnn) ||
    { echo "FAIL: building the client with pkg-config --cflags --libs crnn"; exit 1; }
# The static archive with --static's private dependencies, and no libcrnn.so in the way.
static_libs=$(pkg-config --static --libs crnn | sed "s|-lcrnn\b|$libdir/libcrnn.a|")
build -o "$T/client-static" "$REPO/tests/install_client.c" $(pkg-config --cflags crnn) \
    $static_libs || { echo "FAIL: building the client against libcrnn.a"; exit 1; }
check "the static client does not need libcrnn.so" same \
    "$(readelf -d "$T/client-static" | grep -c 'libcrnn')" 0

expected=$(cut -f 2 "$REPO/samples/labels.tsv" | awk '{print $0 "\t" $0}')
images=()
while IFS=$'\t' read -r name _; do images+=("$REPO/samples/$name"); done <"$REPO/samples/labels.tsv"
mkdir "$T/elsewhere" && cd "$T/elsewhere" || exit 1
out=$(LD_LIBRARY_PATH=$libdir "$T/client" "${images[@]}")
check "client: exit status" test $? -eq 0
check "client: version" same "$(head -n 1 <<<"$out")" "$(sed -n 's/^#define CRNN_VERSION_STRING "\(.*\)"/\1/p' "$P/include/crnn.h")"
check "client: samples read by the built-in and the default model" same "$(tail -n +2 <<<"$out")" "$expected"
out=$("$T/client-static" "${images[@]}")
check "static client: samples" same "$(tail -n +2 <<<"$out")" "$expected"
out=$(LD_LIBRARY_PATH=$libdir "$T/client" "$T/nothing.png" 2>&1)
check "client: a missing image fails" test $? -eq 1
check "client: the library's message names the file and the reason" same \
    "$(tail -n 1 <<<"$out")" "error: $T/nothing.png: cannot open: No such file or directory	error: $T/nothing.png: cannot open: No such file or directory"

# The installed program, copied alone to an empty folder: the built-in model and word list.
mkdir "$T/alone" && cp "$P/bin/ocr-crnn" "$T/alone/" && cd "$T/alone" || exit 1
out=$(./ocr-crnn "${images[0]}")
check "ocr-crnn alone: reads a sample" same "$out" "$(head -n 1 "$REPO/samples/labels.tsv" | cut -f 2)"
out=$(./ocr-crnn --lexicon en --tsv "${images[@]}" 2>&1)
check "ocr-crnn alone: --lexicon en is the copy built in, the same words" same "$?:$out" \
    "0:$(./ocr-crnn --lexicon "$REPO/lexicons/en.txt" --tsv "${images[@]}" 2>&1)"
out=$(./ocr-crnn --lexicon fr "${images[0]}" 2>&1)
check "ocr-crnn alone: a name that is not built in, said so" same "$?:$(grep -c "fr: no such file, and no lexicon of that name" <<<"$out")" "1:1"
# In its installed place: the installed lexicon by name, as the source tree's file.
out=$("$P/bin/ocr-crnn" --lexicon en --tsv "${images[@]}" 2>&1)
check "installed ocr-crnn: --lexicon en is lexicons/en.txt" same "$out" \
    "$("$P/bin/ocr-crnn" --lexicon "$REPO/lexicons/en.txt" --tsv "${images[@]}" 2>&1)"

echo "test_install: $checks checks, $fails failed"
[ "$fails" -eq 0 ]

#!/bin/bash
# test_hostile.sh — a folder of hostile files beside good images through `ocr-crnn FOLDER`
# (batch mode): truncated PNG and JPEG, zero-byte files, a text file named .png, 1 x 100000 and
# 100000 x 1 images, a PNG header claiming 50000 x 50000, a decompression bomb, a JPEG of 2000
# scans, a 54-byte BMP claiming 8000 x 8000, a folder named x.png — and unusual but valid files
# (16-bit PNG, 16-bit RGBA Adam7 PNG, CMYK JPEG, animated GIF) that must be read.
#
#   bash tests/test_hostile.sh OCR_CRNN MAKE_TEST_MODEL HOSTILE_IMAGES_PY
#
# Checks: no crash (exit status 1, nothing from a sanitizer), every bad file named on stderr
# with its reason, every good file recognised on stdout, peak memory under 300 MB (with
# /usr/bin/time, package `time`). Prints the table: file, expected, what happened.
set -u
OCR=$1
MKMODEL=$2
GEN=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/check.sh"

PY=$(command -v python3 || true)
[ -n "$PY" ] || { echo "test_hostile: python3 not found" >&2; exit 1; }
"$MKMODEL" "$T/model.crnn" || { echo "cannot make the test model" >&2; exit 1; }
"$OCR" synth --count 5 --out "$T/good" --seed 4 --no-backgrounds >/dev/null ||
    { echo "cannot make test images" >&2; exit 1; }
H=$T/hostile
mkdir "$H"
for f in "$T"/good/*.png; do cp "$f" "$H/good-$(basename "$f")"; done
"$PY" "$GEN" hostile "$H" "$T/good/000000000.png" >"$T/expected.tsv" ||
    { echo "cannot write the hostile files" >&2; exit 1; }
for f in "$T"/good/*.png; do printf 'good-%s\tgood: rendered word\n' "$(basename "$f")"; done \
    >>"$T/expected.tsv"

cd "$T" || exit 1
timer=()
if [ -x /usr/bin/time ]; then timer=(/usr/bin/time -v -o "$T/time.txt"); fi
"${timer[@]}" "$OCR" --model "$T/model.crnn" hostile >out.txt 2>err.txt
status=$?
out=$(cat out.txt)
err=$(cat err.txt)

check "exit status 1 (some inputs failed, nothing crashed)" test "$status" -eq 1
check "no sanitizer report" test -z "$(grep -E 'Sanitizer|runtime error' err.txt)"
# reason each bad file must be given
declare -A reason=(
    [truncated.png]="truncated PNG" [truncated.jpg]="truncated JPEG"
    [empty.png]="empty file" [empty.jpg]="empty file" [text.png]="not a readable image"
    [tall-1x100000.png]="1 x 100000 pixels exceeds the limit"
    [wide-100000x1.png]="100000 x 1 pixels exceeds the limit"
    [header-50000x50000.png]="50000 x 50000" [bomb-1x1.png]="decompression bomb"
    [scans-2000.jpg]="more than 100 scans" [tiny-8000x8000.bmp]="truncated BMP"
    [x.png/]="is a folder")
printf '\n%-26s %-58s %s\n' FILE EXPECTED "WHAT HAPPENED" >&2
while IFS=$'\t' read -r name what; do
    path=hostile/${name%/}
    line=$(grep -F -- "$path" err.txt | head -1)
    text=$(grep -F -- "$path"$'\t' out.txt | head -1 | cut -f2-)
    if [ -n "$line" ]; then happened="error: ${line#*"$path": }"
    elif grep -qF -- "$path"$'\t' out.txt; then happened="recognised: \"$text\""
    else happened="(nothing)"; fi
    printf '%-26s %-58s %s\n' "$name" "$what" "$happened" >&2
    case $what in
    good*) check "$name recognised" grep -qF -- "$path"$'\t' out.txt
           check "$name: no error" test -z "$line" ;;
    bad*)  check "$name reported" test -n "$line"
           check "$name: reason" has "$line" "${reason[$name]}"
           check "$name: not in the results" test -z "$(grep -F -- "$path"$'\t' out.txt)" ;;
    esac
done <expected.tsv
if [ -f time.txt ]; then
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' time.txt)
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' time.txt)
    echo "peak memory ${rss} kB, wall ${wall}" >&2
    check "peak memory under 300 MB" test "$rss" -lt 307200
else
    echo "/usr/bin/time not found (package time): peak memory not measured" >&2
fi
echo "test_hostile: $checks checks, $fails failed"
[ "$fails" -eq 0 ]

#!/bin/bash
# bench_batch.sh — batch throughput of `ocr-crnn -j 2 FOLDER` on a folder of word crops, side
# by side in one run with Tesseract 5 (--psm 7, two processes in parallel through xargs -P 2)
# on the same files, if tesseract is installed.
#
#   bench/bench_batch.sh [-n RUNS] [-j JOBS] [-t TESS_MAX] [-x OCR_CRNN] FOLDER MODEL
#
#   -n RUNS      ocr-crnn runs; the median is reported (default 5)
#   -j JOBS      ocr-crnn worker threads and Tesseract processes (default 2)
#   -t MAX       give Tesseract only the first MAX images (default: all; it is slow)
#   -x PATH      the ocr-crnn executable (default: build/ocr-crnn)
#
# Every run is timed with /usr/bin/time (apt-get install time): wall-clock images/s, peak RSS,
# and CPU milliseconds per image (user + sys, Tesseract's child processes included) — the
# last is what to compare on a machine busy with something else, where wall-clock rates
# understate. Files are read once first so that every run, ocr-crnn's and Tesseract's, finds
# them in the page cache.
# Example (a model of the default size with random weights is fine for speed):
#   build/tests/make_test_model /tmp/fast.crnn --arch fast
#   bench/bench_batch.sh ../shared/data/iiit5k-train /tmp/fast.crnn
set -u
RUNS=5
JOBS=2
TESS_MAX=0
OCR=build/ocr-crnn
while getopts "n:j:t:x:" opt; do
    case $opt in
    n) RUNS=$OPTARG ;;
    j) JOBS=$OPTARG ;;
    t) TESS_MAX=$OPTARG ;;
    x) OCR=$OPTARG ;;
    *) sed -n '2,15p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [ $# -ne 2 ]; then
    sed -n '2,15p' "$0" >&2
    exit 2
fi
DIR=$1
MODEL=$2
[ -x /usr/bin/time ] || { echo "bench_batch: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
[ -x "$OCR" ] || { echo "bench_batch: $OCR is not an executable (-x PATH)" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# The same files ocr-crnn reads in a folder: image extensions, no hidden names, sorted.
find "$DIR" -maxdepth 1 -type f ! -name '.*' |
    grep -iE '\.(png|jpe?g|bmp|gif|tga|pnm|pgm|ppm|psd|hdr)$' | LC_ALL=C sort >"$T/files"
N=$(wc -l <"$T/files")
[ "$N" -gt 0 ] || { echo "bench_batch: no images in $DIR" >&2; exit 1; }
xargs -d '\n' cat <"$T/files" >/dev/null
echo "folder: $DIR ($N images)   model: $MODEL   cpu: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

median() { LC_ALL=C sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

"$OCR" -q -j "$JOBS" --model "$MODEL" "$DIR" >/dev/null 2>&1 # warm-up: model file, libraries
for r in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M %U %S" -o "$T/time" "$OCR" -q -j "$JOBS" --model "$MODEL" "$DIR" \
        >"$T/out" 2>"$T/err"
    status=$?
    read -r wall rss user sys <"$T/time"
    lines=$(wc -l <"$T/out")
    awk -v n="$lines" -v w="$wall" -v m="$rss" -v u="$user" -v s="$sys" -v r="$r" -v st="$status" \
        'BEGIN {printf "ocr-crnn run %d: %d images in %.2f s = %.0f images/s, peak RSS %.1f MB, %.2f CPU ms/image (exit %d)\n", r, n, w, n / w, m / 1024, 1000 * (u + s) / n, st}'
    awk -v n="$lines" -v w="$wall" 'BEGIN {print n / w}' >>"$T/rates"
    echo "$rss" >>"$T/rss"
    awk -v n="$lines" -v u="$user" -v s="$sys" 'BEGIN {print 1000 * (u + s) / n}' >>"$T/cpu"
done
RATE=$(median <"$T/rates")
printf 'ocr-crnn -j %s: median %.0f images/s, peak RSS %.1f MB (max of runs), %.2f CPU ms/image\n' \
    "$JOBS" "$RATE" "$(LC_ALL=C sort -g "$T/rss" | tail -1 | awk '{print $1 / 1024}')" \
    "$(median <"$T/cpu")"

if ! command -v tesseract >/dev/null; then
    echo "tesseract: not installed (apt-get install tesseract-ocr) — no comparison"
    exit 0
fi
TF=$T/files
if [ "$TESS_MAX" -gt 0 ]; then
    head -n "$TESS_MAX" "$T/files" >"$T/tfiles"
    TF=$T/tfiles
fi
TN=$(wc -l <"$TF")
# One thread per process: the parallelism is the two processes, as the comparison states.
OMP_THREAD_LIMIT=1 /usr/bin/time -f "%e %U %S" -o "$T/ttime" \
    xargs -d '\n' -P "$JOBS" -I{} tesseract {} stdout --psm 7 -l eng <"$TF" >"$T/tess_out" 2>/dev/null
read -r twall tuser tsys <"$T/ttime"
TRATE=$(awk -v n="$TN" -v w="$twall" 'BEGIN {print n / w}')
TCPU=$(awk -v n="$TN" -v u="$tuser" -v s="$tsys" 'BEGIN {print 1000 * (u + s) / n}')
printf 'tesseract %s --psm 7, %s processes: %d images in %.1f s = %.1f images/s, %.1f CPU ms/image\n' \
    "$(tesseract --version 2>&1 | head -1 | awk '{print $2}')" "$JOBS" "$TN" "$twall" "$TRATE" "$TCPU"
awk -v a="$RATE" -v b="$TRATE" -v c="$(median <"$T/cpu")" -v d="$TCPU" \
    'BEGIN {printf "ratio: ocr-crnn is %.1fx Tesseract in images/s, %.1fx in CPU time per image\n", a / b, d / c}'

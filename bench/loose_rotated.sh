#!/bin/bash
# loose_rotated.sh — how well a model reads crops that are not tight and horizontal: word
# accuracy on a labelled set as given (tight), padded loosely, and turned 90° either way,
# each beside the tight figure.
#
#   bench/loose_rotated.sh TSV OUT_DIR [MODEL] [-- EVAL_FLAGS...]
#
#   TSV         path<TAB>label (paths relative to the TSV or absolute), e.g.
#               runs/data/iiit5k-heldout.tsv from scripts/make-splits.sh
#   OUT_DIR     where build/bench/loose_rotate writes loose/, rot90/ and rot270/, each with
#               its labels.tsv (made again on every run)
#                 loose   one crop height of blank left and right, a third of it above and
#                         below, filled with the crop's border colour
#                 rot90   turned 90° clockwise;  rot270  counter-clockwise
#   MODEL       default models/en.crnn
#   EVAL_FLAGS  passed to every `ocr-crnn eval` (e.g. -- --beam 10)
#
# Accuracy is `ocr-crnn eval`'s word accuracy (lower-cased, only 0-9a-z kept). The targets
# column is the default-model-v2 acceptance: loose ≥ 95 % and turned ≥ 90 % of tight.
# Needs: build/ocr-crnn and build/bench/loose_rotate (ninja -C build).
# Example: bench/loose_rotated.sh runs/data/iiit5k-heldout.tsv runs/loose-rotated/iiit5k
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
usage() { sed -n '2,21p' "$0" >&2; exit 2; }
die() { echo "loose_rotated: $*" >&2; exit 1; }

args=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
[ $# -gt 0 ] && shift # the "--"; what is left goes to ocr-crnn eval
if [ ${#args[@]} -lt 2 ] || [ ${#args[@]} -gt 3 ]; then usage; fi
tsv=${args[0]}
out=${args[1]}
model=${args[2]:-$root/models/en.crnn}
[ -f "$tsv" ] || die "$tsv not found"
[ -f "$model" ] || die "model $model not found"
[ -x "$build/ocr-crnn" ] || die "$build/ocr-crnn is not built (ninja -C $build)"
[ -x "$build/bench/loose_rotate" ] || die "$build/bench/loose_rotate is not built (ninja -C $build)"

mkdir -p "$out"
rm -rf "$out/loose" "$out/rot90" "$out/rot270"
"$build/bench/loose_rotate" "$tsv" "$out" >/dev/null

accuracy() { # SET EVAL_FLAGS... → "word_accuracy images" in $out/eval.txt
    local set_path=$1
    shift
    "$build/ocr-crnn" eval --model "$model" --data "$set_path" --json "$@" >"$out/eval.json" ||
        die "ocr-crnn eval --data $set_path failed"
    sed -E 's/.*"images":([0-9]+).*"word_accuracy":([0-9.]+).*/\2 \1/' "$out/eval.json" >"$out/eval.txt"
}

echo "set: $tsv ($(grep -c . "$tsv") crops)   model: $model${*:+   eval flags: $*}"
printf '%-8s %7s %10s %9s  %s\n' variant images accuracy "vs tight" "target (ratio to tight)"
tight=
for v in tight loose rot90 rot270; do
    if [ "$v" = tight ]; then set_path=$tsv; else set_path=$out/$v; fi
    accuracy "$set_path" "$@"
    read -r acc n <"$out/eval.txt"
    [ -n "$acc" ] || die "no word accuracy from ocr-crnn eval --data $set_path"
    [ -n "$tight" ] || tight=$acc
    case $v in tight) target=- ;; loose) target=0.95 ;; *) target=0.90 ;; esac
    awk -v v="$v" -v n="$n" -v a="$acc" -v t="$tight" -v g="$target" 'BEGIN {
        r = t > 0 ? a / t : 0
        verdict = g == "-" ? "" : sprintf(">= %.2f %s", g, r >= g ? "met" : "not met")
        printf "%-8s %7d %8.1f %% %9.3f  %s\n", v, n, 100 * a, r, verdict }'
done
rm -f "$out/eval.json" "$out/eval.txt"

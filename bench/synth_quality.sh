#!/bin/sh
# synth_quality.sh — the number that says whether the synthetic generator got better: the
# held-out IIIT5K accuracy of the default architecture trained on the generator alone for a
# fixed budget (2000 steps of 32 = 64,000 words, cosine 1e-3 → 1e-5, seed 1). Run it before and
# after a change to src/synth/ and compare; same machine kind, nothing else running.
#
#   bench/synth_quality.sh [SHARED_DATA] [BUILD_DIR] [RUN_DIR]
set -eu
data=${1:-../shared/data}
build=${2:-build}
run=${3:-runs/synth-quality}
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/make-splits.sh" "$data" "$run/data" >/dev/null
rm -f "$run/checkpoint.bin" "$run/best.crnn"
start=$(date +%s)
"$build/ocr-crnn" train --run "$run" --data synth --arch small --steps 2000 --batch 32 \
    --warmup 200 --lr 1e-3 --final-lr 1e-5 --seed 1 --val-every 100000 2>"$run.log"
echo "trained in $(( $(date +%s) - start )) s (log: $run.log)"
"$build/ocr-crnn" eval --model "$run/best.crnn" --data "$run/data/iiit5k-heldout.tsv" |
    grep -E 'word accuracy|1 - NED'

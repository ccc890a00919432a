#!/bin/sh
# synth_quality.sh — the number that says whether the synthetic generator got better: the
# held-out accuracy of a model trained on the generator alone for a fixed budget (2000 steps
# of 32 = 64,000 words, cosine 1e-3 → 1e-5, seed 1, preset `small`), on the 1000 held-out
# IIIT5K images and the 500 held-out ICDAR 2015 crops. Run it before and after a change to
# src/synth/ and compare; same machine kind. The network is scored alone (`--lm off`), without
# the character model's help. At this budget the seed moves the figure by up to 14 points (the
# step at which a model leaves CTC's all-blank plateau varies), so compare several seeds
# (`--seed N`). Extra `ocr-crnn train` flags (the generator's fonts, backgrounds, another seed,
# a longer budget) go after the three positional arguments, e.g.
#
#   bench/synth_quality.sh ../shared/data build runs/sq-new --fonts fonts.manifest \
#       --backgrounds backgrounds/wallpapers --backgrounds backgrounds/textures
set -eu
data=${1:-../shared/data}
build=${2:-build}
run=${3:-runs/synth-quality}
[ $# -ge 3 ] && shift 3 || shift $#
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/make-splits.sh" "$data" "$run/data" >/dev/null
rm -f "$run/checkpoint.bin" "$run/best.crnn" "$run/log.csv"
start=$(date +%s)
"$build/ocr-crnn" train --run "$run" --data synth --arch small --steps 2000 --batch 32 \
    --warmup 200 --lr 1e-3 --final-lr 1e-5 --seed 1 --val-every 100000 "$@" 2>"$run.log"
echo "trained in $(( $(date +%s) - start )) s, $(grep -o '[0-9.]* [a-z]* of CPU time' "$run.log" | tail -n 1) (log: $run.log)"
for set in iiit5k-heldout ic15-heldout; do
    "$build/ocr-crnn" eval --lm off --model "$run/best.crnn" --data "$run/data/$set.tsv" |
        awk -v set="$set" '/^word accuracy/ { acc = $3 } /^1 - NED/ { ned = $4 }
            END { printf "%-16s word accuracy %s %%, 1 - NED %s\n", set, acc, ned }'
done

#!/bin/sh
# lexicon_accuracy.sh — word accuracy of MODEL on SVT (training split): lexicon-free, with each
# image's 50-word lexicon (the SVT-50 protocol) and with the 100k English lexicon, each with the
# default out-of-vocabulary margin and without one (--lexicon-margin off).
#
#   bench/lexicon_accuracy.sh MODEL [DATA_DIR] [BUILD_DIR]
#
# DATA_DIR defaults to ../shared/data/svt-train (labels.tsv, lexicon50.tsv), BUILD_DIR to build.
# Scoring is the benchmarks' (lower case, 0-9a-z only); lexicons are matched ignoring case
# (SVT's are in capitals). For reference, the CRNN paper reports on SVT *test* 80.8 %
# lexicon-free and 96.4 % with the 50-word lexicons.
set -eu
model=${1:?usage: bench/lexicon_accuracy.sh MODEL [DATA_DIR] [BUILD_DIR]}
data=${2:-../shared/data/svt-train}
build=${3:-build}
ocr=$build/ocr-crnn
lexicon=$(dirname "$0")/../lexicons/en.txt
if [ ! -x "$ocr" ]; then
    echo "lexicon_accuracy: $ocr not built (ninja -C $build)" >&2
    exit 1
fi
run() {
    name=$1
    shift
    start=$(date +%s.%N)
    acc=$("$ocr" eval --model "$model" --data "$data" --json "$@" |
          sed -n 's/.*"word_accuracy":\([0-9.]*\).*/\1/p')
    end=$(date +%s.%N)
    awk -v n="$name" -v a="$acc" -v s="$start" -v e="$end" \
        'BEGIN { printf "%-44s %5.1f %%   (%.1f s)\n", n, 100 * a, e - s }'
}
echo "$(grep -c . "$data/labels.tsv") images of $data, model $model"
run "lexicon-free, best path"
run "lexicon-free, beam search (width 10)" --beam 10
run "50-word lexicons, margin off (the protocol)" --lexicon-per-image "$data/lexicon50.tsv" --lexicon-ignore-case --lexicon-margin off
run "50-word lexicons, default margin" --lexicon-per-image "$data/lexicon50.tsv" --lexicon-ignore-case
run "100k English lexicon, default margin" --lexicon "$lexicon" --lexicon-ignore-case
run "100k English lexicon, default margin, exact" --lexicon "$lexicon" --lexicon-ignore-case --lexicon-distance -1
run "100k English lexicon, margin off" --lexicon "$lexicon" --lexicon-ignore-case --lexicon-margin off

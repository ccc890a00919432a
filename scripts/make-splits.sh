#!/usr/bin/env bash
# make-splits.sh SHARED_DATA OUT_DIR — writes the TSVs that training and evaluation use, with
# absolute paths, from the committed split lists in data/splits/:
#   OUT_DIR/iiit5k-heldout.tsv   1000 IIIT5K-train images kept out of all training (report on these)
#   OUT_DIR/iiit5k-finetune.tsv  the other 1000, allowed in training
#   OUT_DIR/svt-train.tsv        the 257 SVT-train crops, allowed in training
#   OUT_DIR/real-train.tsv       both training sets together
# The split itself was made once with --new (sorted by the MD5 of the file name) and is fixed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = "--new" ]; then
    shift
    data=$(cd "$1" && pwd)
    cut -f1 "$data/iiit5k-train/labels.tsv" | while read -r f; do
        printf '%s %s\n' "$(printf '%s' "$f" | md5sum | cut -c1-32)" "$f"
    done | sort | awk '{print $2}' > /tmp/iiit5k-order.txt
    head -n 1000 /tmp/iiit5k-order.txt | sort > "$here/data/splits/iiit5k-train-heldout.txt"
    tail -n +1001 /tmp/iiit5k-order.txt | sort > "$here/data/splits/iiit5k-train-finetune.txt"
    exit 0
fi
data=$(cd "${1:?usage: make-splits.sh SHARED_DATA OUT_DIR}" && pwd)
out=${2:?usage: make-splits.sh SHARED_DATA OUT_DIR}
mkdir -p "$out"
pick() { # list file → TSV with absolute paths
    awk -F'\t' -v dir="$data/iiit5k-train" 'NR == FNR { keep[$1] = 1; next }
        ($1 in keep) { print dir "/" $1 "\t" $2 }' "$1" "$data/iiit5k-train/labels.tsv"
}
pick "$here/data/splits/iiit5k-train-heldout.txt" > "$out/iiit5k-heldout.tsv"
pick "$here/data/splits/iiit5k-train-finetune.txt" > "$out/iiit5k-finetune.tsv"
awk -F'\t' -v dir="$data/svt-train" '{ print dir "/" $1 "\t" $2 }' "$data/svt-train/labels.tsv" > "$out/svt-train.tsv"
cat "$out/iiit5k-finetune.tsv" "$out/svt-train.tsv" > "$out/real-train.tsv"
wc -l "$out"/*.tsv

#!/usr/bin/env bash
# make-splits.sh SHARED_DATA OUT_DIR — writes the TSVs that training and evaluation use, with
# absolute paths and the cased labels (labels-cased.tsv where a set has one), from the
# committed split lists in data/splits/:
#   OUT_DIR/iiit5k-heldout.tsv   1000 IIIT5K-train images kept out of all training (report on these)
#   OUT_DIR/ic15-heldout.tsv     500 ICDAR 2015 training crops kept out of all training (report on these)
#   OUT_DIR/iiit5k-finetune.tsv  the other 1000 IIIT5K images, allowed in training
#   OUT_DIR/svt-train.tsv        the 257 SVT-train crops, allowed in training
#   OUT_DIR/ic15-train.tsv       the other 3968 ICDAR 2015 crops, allowed in training
#   OUT_DIR/ic13bd-train.tsv     the 4167 ICDAR 2013 born-digital crops, allowed in training
#   OUT_DIR/real-train.tsv       IIIT5K fine-tune half and SVT together
# Each split was made once with --new (sorted by the MD5 of the file name, the first N held
# out) and is fixed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
splits=$here/data/splits

md5_order() { # labels.tsv → its file names sorted by the MD5 of the name
    cut -f1 "$1" | while read -r f; do
        printf '%s %s\n' "$(printf '%s' "$f" | md5sum | cut -c1-32)" "$f"
    done | sort | awk '{print $2}'
}

if [ "${1:-}" = "--new" ]; then
    data=$(cd "${2:?usage: make-splits.sh --new SHARED_DATA}" && pwd)
    md5_order "$data/iiit5k-train/labels.tsv" > /tmp/iiit5k-order.txt
    head -n 1000 /tmp/iiit5k-order.txt | sort > "$splits/iiit5k-train-heldout.txt"
    tail -n +1001 /tmp/iiit5k-order.txt | sort > "$splits/iiit5k-train-finetune.txt"
    md5_order "$data/ic15-train/labels.tsv" | head -n 500 | sort > "$splits/ic15-train-heldout.txt"
    exit 0
fi
data=$(cd "${1:?usage: make-splits.sh SHARED_DATA OUT_DIR}" && pwd)
out=${2:?usage: make-splits.sh SHARED_DATA OUT_DIR}
mkdir -p "$out"

labels_of() { # set folder → its cased labels if it has them
    if [ -f "$1/labels-cased.tsv" ]; then echo "$1/labels-cased.tsv"; else echo "$1/labels.tsv"; fi
}
# pick LIST SET keep|drop → TSV with absolute paths of the set's images in (or not in) LIST
# (LIST "-" = none listed)
pick() {
    local dir=$data/$2
    awk -F'\t' -v dir="$dir" -v mode="$3" -v list="$1" '
        BEGIN { if (list != "-") while ((getline line < list) > 0) listed[line] = 1 }
        (($1 in listed) == (mode == "keep")) { print dir "/" $1 "\t" $2 }' "$(labels_of "$dir")"
}
pick "$splits/iiit5k-train-heldout.txt" iiit5k-train keep > "$out/iiit5k-heldout.tsv"
pick "$splits/iiit5k-train-heldout.txt" iiit5k-train drop > "$out/iiit5k-finetune.tsv"
pick "$splits/ic15-train-heldout.txt" ic15-train keep > "$out/ic15-heldout.tsv"
pick "$splits/ic15-train-heldout.txt" ic15-train drop > "$out/ic15-train.tsv"
pick - svt-train drop > "$out/svt-train.tsv"
pick - ic13bd-train drop > "$out/ic13bd-train.tsv"
cat "$out/iiit5k-finetune.tsv" "$out/svt-train.tsv" > "$out/real-train.tsv"
wc -l "$out"/*.tsv

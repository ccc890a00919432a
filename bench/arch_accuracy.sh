#!/bin/bash
# arch_accuracy.sh — candidate architectures compared by held-out accuracy at an equal budget of
# CPU time: each is trained from scratch on the default model's data recipe (55 % generated
# words, 45 % real crops: docs/training.md) for as many steps as fit in HOURS CPU-hours on one
# thread, then read once (no second look) on the held-out IIIT5K half and the held-out ic15
# part. Steps per candidate come from a calibration: the CPU time of 100 steps minus that of
# 20 (start-up cancels out). Speed at inference is bench/arch_speed.sh's job.
#
#   bench/arch_accuracy.sh [-b BUILD] [-c HOURS] [-j JOBS] DATA OUT ARCH...
#   bench/arch_accuracy.sh -c 0.4 -j 2 ../shared/data runs/arch fast "c32 m2 dw c64k1 ..."
#
# DATA is ../shared/data; OUT gets the splits, one run folder per candidate (a0, a1, ...) and
# results.tsv. JOBS candidates train side by side (one thread each), so CPU time, not wall
# time, is what is equal. The generator's fonts and backgrounds are fonts.manifest and
# backgrounds/ when the install scripts made them.
set -euo pipefail
build=build hours=0.4 jobs=1
while getopts b:c:j: o; do
    case $o in
    b) build=$OPTARG ;;
    c) hours=$OPTARG ;;
    j) jobs=$OPTARG ;;
    *) echo "usage: $0 [-b BUILD] [-c HOURS] [-j JOBS] DATA OUT ARCH..." >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [ $# -lt 3 ]; then
    echo "usage: $0 [-b BUILD] [-c HOURS] [-j JOBS] DATA OUT ARCH..." >&2
    exit 2
fi
data=$1 out=$2
shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
exe=$build/ocr-crnn
[ -x "$exe" ] || { echo "$0: $exe not built (ninja -C $build)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "$0: needs /usr/bin/time (Debian package 'time')" >&2; exit 1; }
mkdir -p "$out"
"$here/scripts/make-splits.sh" "$data" "$out/data" >/dev/null

conf=$out/train.conf
{
    echo "data 0.55:synth"
    echo "data 0.22:$out/data/ic15-train.tsv"
    echo "data 0.10:$out/data/iiit5k-finetune.tsv"
    echo "data 0.05:$out/data/svt-train.tsv"
    echo "data 0.08:$out/data/ic13bd-train.tsv"
    echo "augment-real"
    [ -f "$here/fonts.manifest" ] && echo "fonts $here/fonts.manifest"
    [ -d "$data/backgrounds/svt-train-scenes" ] && echo "backgrounds $data/backgrounds/svt-train-scenes"
    for d in "$here"/backgrounds/*/; do [ -d "$d" ] && echo "backgrounds ${d%/}"; done
    echo "synth-clean 0.3"
    echo "synth-empty 0.04"
    echo "batch 32"
    echo "lr 1e-3"
    echo "final-lr 1e-5"
    echo "warmup 300"
    echo "seed 1"
    echo "threads 1"
    echo "val $out/data/ic15-heldout.tsv"
} >"$conf"

# CPU seconds (user + system) of one training run of N steps into folder R.
cpu_of() {
    local arch=$1 steps=$2 run=$3
    rm -rf "$run"
    /usr/bin/time -f "%U %S" -o "$run.time" "$exe" train --config "$conf" --arch "$arch" \
        --run "$run" --steps "$steps" --val-every 1000000 --checkpoint-minutes 1000 \
        >"$run.log" 2>&1 || { echo "$0: training '$arch' failed (log: $run.log)" >&2; return 1; }
    awk '{ print $1 + $2 }' "$run.time"
}

# Calibrates, trains and evaluates candidate number i; writes $out/a$i.result.
candidate() {
    local i=$1 arch=$2
    local dir=$out/a$i
    local t20 t100 per_step steps
    t20=$(cpu_of "$arch" 20 "$dir.cal")
    t100=$(cpu_of "$arch" 100 "$dir.cal")
    rm -rf "$dir.cal" "$dir.cal.log" "$dir.cal.time"
    per_step=$(awk -v a="$t20" -v b="$t100" 'BEGIN { print (b - a) / 80 }')
    steps=$(awk -v h="$hours" -v s="$per_step" 'BEGIN { printf "%d", h * 3600 / s }')
    local cpu
    cpu=$(cpu_of "$arch" "$steps" "$dir")
    local row
    row=$(printf '%s\t%s\t%.3f' "$steps" "$((steps * 32))" "$(awk -v c="$cpu" 'BEGIN { print c / 3600 }')")
    for set in iiit5k-heldout ic15-heldout; do
        acc=$("$exe" eval --model "$dir/best.crnn" --data "$out/data/$set.tsv" --reread off \
              --threads 1 | awk '/^word accuracy/ { print $3 }')
        row="$row	$acc"
    done
    params=$(grep -o '[0-9.]* M params' "$dir.log" | head -n 1 | cut -d' ' -f1)
    printf '%s\t%sM\t%s\n' "$row" "${params:-?}" "$arch" >"$dir.result"
}

n=0 running=0
for arch in "$@"; do
    candidate "$n" "$arch" &
    n=$((n + 1))
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait || true

{
    printf 'steps\tsamples\tcpu_hours\tiiit5k\tic15\tparams\tarch\n'
    for ((i = 0; i < n; i++)); do cat "$out/a$i.result" 2>/dev/null || echo "(failed: $out/a$i.log)"; done
} | tee "$out/results.tsv"

#!/bin/sh
# arch_speed.sh — recognition speed of candidate architectures against the shipped one's
# (`fast`), random weights, on one labelled set. Each candidate is timed right after an anchor
# run of `fast` (bench_recognize, medians of RUNS), so a busy machine shows in both and the
# ratio holds; the table gives parameters, one-thread batch throughput, two-worker throughput,
# one-thread single-image latency and the candidate / `fast` ratio of one-thread throughput.
#
#   bench/arch_speed.sh [-n RUNS] [-b BUILD] SET ARCH...
#   bench/arch_speed.sh runs/data/iiit5k-heldout.tsv small "c32 m2 c48 m2 ... bilstm128 bilstm128"
set -eu
runs=5 build=build
while getopts n:b: o; do
    case $o in
    n) runs=$OPTARG ;;
    b) build=$OPTARG ;;
    *) echo "usage: $0 [-n RUNS] [-b BUILD] SET ARCH..." >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [ $# -lt 2 ]; then
    echo "usage: $0 [-n RUNS] [-b BUILD] SET ARCH..." >&2
    exit 2
fi
set_=$1
shift
bench=$build/bench/bench_recognize
[ -x "$bench" ] || { echo "$0: $bench not built (ninja -C $build)" >&2; exit 1; }

# Prints "params batch1 workers2 latency1" for one architecture.
measure() {
    "$bench" --data "$set_" --arch "$1" --runs "$runs" --max 200 2>&1 | awk '
        /M params/ { for (i = 1; i <= NF; i++) if ($i == "M") p = $(i - 1) }
        /on one thread \(/ { b = $3 }
        /with 2 workers/ { w = $1 }
        /single-image latency/ { l = $10 }
        END { if (b == "") exit 1; print p, b, w, l }' || {
        echo "$0: bench_recognize failed on '$1'" >&2
        exit 1
    }
}

printf '%-8s %-10s %-10s %-10s %-8s %s\n' params "1 thread" "2 workers" "latency" "vs fast" arch
for arch in "$@"; do
    anchor=$(measure fast)
    cand=$(measure "$arch")
    echo "$anchor $cand" | awk -v a="$arch" '{
        printf "%-8s %-10s %-10s %-10s %-8.2f %s\n", $5 "M", $6 "/s", $7 "/s", $8 " ms", $6 / $2, a }'
done

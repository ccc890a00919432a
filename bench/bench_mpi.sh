#!/bin/bash
# bench_mpi.sh — training throughput of one process beside N MPI ranks on this machine, the
# same cores in all: one process with C threads, then N ranks with C/N threads each, in turn,
# REPEAT times, in one run so that the machine's other load weighs on both alike.
#
#   bash bench/bench_mpi.sh [-n RANKS] [-c CORES] [-s SECONDS] [-r REPEAT] [-a ARCH] DATA
#
# DATA is a labelled set (`ocr-crnn synth --count 1000 --out DIR` makes one) or `synth`.
# Prints, per run, samples/s over the run after its first progress line (start-up excluded)
# and, for the ranks, the mean time of the step's allreduce (waiting for the slowest rank
# included) as the progress lines report it; then the medians and their ratio.
set -euo pipefail
ranks=2 cores=$(nproc) seconds=40 repeat=2 arch=fast
while getopts n:c:s:r:a: f; do
    case $f in
    n) ranks=$OPTARG ;; c) cores=$OPTARG ;; s) seconds=$OPTARG ;; r) repeat=$OPTARG ;;
    a) arch=$OPTARG ;; *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
data=${1:?usage: bench_mpi.sh [-n RANKS] [-c CORES] [-s SECONDS] [-r REPEAT] DATA}
root=$(cd "$(dirname "$0")/.." && pwd)
OCR=${OCR:-$root/build/ocr-crnn}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader}
export OMPI_MCA_btl_vader_single_copy_mechanism=none
per=$((cores / ranks > 0 ? cores / ranks : 1))
args=(--data "$data" --arch "$arch" --batch 32 --steps 1000000 --warmup 10 --no-backgrounds)

# rate LOG.CSV: samples/s between the first and the last progress rows
rate() {
    awk -F, 'NR > 1 && $4 != "" { if (!n++) { s0 = $2; t0 = $3 } s = $2; t = $3 }
             END { if (t > t0) printf "%.1f", (s - s0) / (t - t0); else print "nan" }' "$1"
}
# one NAME COMMAND...: trains for $seconds, then stops it (SIGTERM: checkpoint and stop)
one() {
    local name=$1; shift
    rm -rf "$T/run"
    "$@" --run "$T/run" >"$T/$name.log" 2>&1 &
    local pid=$!
    sleep "$seconds"
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" || true
    rate "$T/run/log.csv"
}
singles=() multis=() reduce=()
for ((i = 1; i <= repeat; i++)); do
    a=$(one single "$OCR" train "${args[@]}" --threads "$cores")
    b=$(one ranks mpirun --allow-run-as-root --oversubscribe -np "$ranks" "$OCR" train \
        "${args[@]}" --threads "$per")
    ms=$(grep -o 'allreduce [0-9.]* ms/step' "$T/ranks.log" | tail -n +2 | awk '{s += $2; n++}
         END { if (n) printf "%.1f", s / n; else print "nan" }')
    echo "round $i: 1 process x $cores threads $a samples/s; $ranks ranks x $per threads $b" \
         "samples/s, allreduce $ms ms/step"
    singles+=("$a") multis+=("$b") reduce+=("$ms")
done
params=$(grep -o '[0-9.]* M params' "$T/single.log" | head -1)
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ms=$(median "${singles[@]}") mm=$(median "${multis[@]}")
echo "model $arch ($params); medians: 1 process $ms samples/s, $ranks ranks $mm samples/s" \
     "(ratio $(awk -v a="$mm" -v b="$ms" 'BEGIN {printf "%.2f", a / b}')), allreduce" \
     "$(median "${reduce[@]}") ms/step"

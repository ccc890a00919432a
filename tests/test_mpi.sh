#!/bin/bash
# test_mpi.sh — `ocr-crnn train` across MPI ranks on this machine (src/train/dist.h):
#   - 1 process with 6 threads, 2 ranks x 3 and 3 ranks x 2 (the same 6 replicas) train the same
#     weights from the same seed and global batch, up to the order floats are summed; the
#     global batch of 10 splits unevenly (6+4, 4+4+2), and a batch of 4 leaves a rank with none
#   - validation split among the ranks scores the whole set once; one log, rank 0's
#   - a start that fails on a rank ends every rank with that one reason
#   - a rank killed with SIGKILL ends the job in bounded time with a non-zero status and a
#     message; the last checkpoint stays loadable and --resume with 3 ranks finishes the run
#   - a run started with 3 ranks and resumed with 2, or with one process, ends where a run
#     without the break ends
#
#   bash tests/test_mpi.sh OCR_CRNN COMPARE_CHECKPOINTS mpi|none LSAN_SUPPRESSIONS
#
# Exits 77 (skipped) where ocr-crnn was built without MPI or mpirun is missing. Needs no data
# outside the repository: the words come from `ocr-crnn synth` with the system's fonts.
set -u
OCR=$1
CMP=$2
MODE=$3
SUPP=$4
if [ "$MODE" != mpi ]; then
    echo "ocr-crnn was built without MPI: skipped"
    exit 77
fi
command -v mpirun >/dev/null || { echo "no mpirun (apt-get install openmpi-bin): skipped"; exit 77; }

# Open MPI as root in a container on one machine: shared memory between the ranks, no
# process-to-process copies through ptrace (often denied in containers).
export OMPI_MCA_btl=self,vader
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# A sanitizer build: the leak reports of Open MPI's own allocations, kept until exit, are
# suppressed by library (lsan-mpi.supp). Open MPI is built without frame pointers, so the fast
# unwinder stops inside it and the report names no library: the slow one finds them. The
# summary of what was suppressed stays unprinted, since any report file fails run-tests.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
export LSAN_OPTIONS="suppressions=$SUPP:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe)

# The largest relative difference of a parameter, |a - b| / max(|a|, |b|, 1e-3), and of an
# optimiser moment (relative to the largest), allowed between runs that differ only in how the
# ranks summed their gradients (compare_checkpoints.c): 6.4e-6 at most was seen. The runs
# below use AdaDelta, whose update is smooth in the gradient: Adam's is about lr * sign(g)
# where g is tiny, so it turns float-order noise in near-zero gradients into differences of up
# to lr a step (4e-5 after 8 steps here); Adam is compared after one step, before that adds up.
TOL=1e-4

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/check.sh"
count_is() { # TEXT NEEDLE N
    local n
    n=$(grep -cF -- "$2" <<<"$1")
    [ "$n" -eq "$3" ] || { printf '"%s" %s times, not %s, in:\n%s\n' "$2" "$n" "$3" "$1" >&2; return 1; }
}
# close A B: the two runs' checkpoints within TOL, the comparison printed.
close() {
    local out
    out=$("$CMP" "$1/checkpoint.bin" "$2/checkpoint.bin" "$TOL")
    local rc=$?
    echo "  $(basename "$1") vs $(basename "$2"): $out"
    return $rc
}

cd "$T" || exit 1
"$OCR" synth --count 60 --out data --seed 1 --no-backgrounds --clean --max-len 6 >/dev/null ||
    { echo "cannot make the training words" >&2; exit 1; }
# batch-norm in every convolution: each replica's share must be the same for the runs to agree
ARCH='c8 m2 c16 m2 c16 m2x2s2x1p0x1 c24k2p0 bilstm16'
# a constant rate: a run stopped at step 4 and resumed to 8 then follows the 8-step schedule
COMMON=(--data data/labels.tsv --arch "$ARCH" --optimizer adadelta --lr 1 --schedule constant
        --seed 5 --val data/labels.tsv --val-every 4)
train1() { timeout 120 "$OCR" train "$@" 2>&1; }
trainN() { local n=$1; shift; timeout 120 "${MPIRUN[@]}" -np "$n" "$OCR" train "$@" 2>&1; }

# -- 1, 2 and 3 ranks, 6 replicas in all, global batch 10 ------------------------------------
out1=$(train1 --run r1 "${COMMON[@]}" --batch 10 --steps 8 --threads 6)
check "one process trains" has "$out1" "done: step 8"
out2=$(trainN 2 --run r2 "${COMMON[@]}" --batch 10 --steps 8 --threads 3)
check "2 ranks train" has "$out2" "done: step 8"
check "2 ranks: the first line says so" has "$(head -1 <<<"$out2")" \
    "distributed: 2 ranks (2 on rank 0's machine), 3 threads each, 6 replicas; global batch 10, 4 to 6 samples a rank"
check "2 ranks: one log" count_is "$out2" "done: step 8" 1
check "2 ranks: validation scores every image once" has "$out2" "60 images in"
out3=$(trainN 3 --run r3 "${COMMON[@]}" --batch 10 --steps 8 --threads 2)
check "3 ranks train" has "$out3" "done: step 8"
check "3 ranks: uneven shares" has "$(head -1 <<<"$out3")" "3 ranks (3 on rank 0's machine), 2 threads each, 6 replicas; global batch 10, 2 to 4 samples a rank"
check "3 ranks: validation scores every image once" has "$out3" "60 images in"
check "1 process and 2 ranks agree" close r1 r2
check "1 process and 3 ranks agree" close r1 r3
# The same validation scores, the loss logged the same to 4 digits (log.csv).
val() { grep -E '^8,' "$1/log.csv" | awk -F, '$7 != "" {print $7, $8, $9}'; }
check "validation split among ranks scores as one process" [ "$(val r1)" == "$(val r3)" ]
loss() { grep -E '^8,' "$1/log.csv" | awk -F, '$4 != "" {printf "%.4f\n", $4}'; }
check "the same loss at step 8" [ "$(loss r1)" == "$(loss r3)" ]
[ -n "$(val r1)" ] || { echo "no validation row in r1/log.csv" >&2; fails=$((fails + 1)); }

# -- Adam, the default optimiser: one step --------------------------------------------------
ADAM=(--data data/labels.tsv --arch "$ARCH" --lr 3e-3 --seed 5 --batch 10 --steps 1)
train1 --run a1 "${ADAM[@]}" --threads 6 >/dev/null
trainN 2 --run a2 "${ADAM[@]}" --threads 3 >/dev/null
trainN 3 --run a3 "${ADAM[@]}" --threads 2 >/dev/null
check "Adam: 1 process and 2 ranks agree" close a1 a2
check "Adam: 1 process and 3 ranks agree" close a1 a3

# -- a batch of 4 over 6 replicas: the third rank's share is empty ----------------------------
train1 --run e1 "${COMMON[@]}" --batch 4 --steps 4 --threads 6 >/dev/null
oute=$(trainN 3 --run e3 "${COMMON[@]}" --batch 4 --steps 4 --threads 2)
check "an empty share: the first line says so" has "$oute" "global batch 4, 0 to 2 samples a rank"
check "an empty share trains as one process" close e1 e3

# -- a start that fails on one rank: every rank stops with that reason ------------------------
outf=$(trainN 2 --run r2 "${COMMON[@]}" --batch 10 --steps 8 --threads 3)
rc=$?
check "a run folder in use is refused across ranks" [ "$rc" -ne 0 ]
check "the reason, once" count_is "$outf" "holds a training run already" 1

# -- a rank killed mid-run; the checkpoint survives; --resume with 3 ranks --------------------
# Each rank writes its process id (exec keeps it), so the test can kill rank 1 alone.
mkdir pids
t0=$(date +%s.%N)
timeout 120 "${MPIRUN[@]}" -np 2 sh -c 'echo $$ > pids/$OMPI_COMM_WORLD_RANK; exec "$@"' sh \
    "$OCR" train --run k "${COMMON[@]}" --batch 10 --steps 100000 --threads 3 \
    --checkpoint-minutes 0 >kill.log 2>&1 &
job=$!
for _ in $(seq 600); do
    [ -s k/checkpoint.bin ] && [ -s pids/1 ] && break
    sleep 0.1
done
sleep 0.5
killed_at=$(date +%s.%N)
kill -9 "$(cat pids/1)"
wait "$job"
rc=$?
ended=$(date +%s.%N)
echo "  killed rank 1 $(awk -v a="$t0" -v b="$killed_at" 'BEGIN {printf "%.1f", b - a}') s in; the job ended $(awk -v a="$killed_at" -v b="$ended" 'BEGIN {printf "%.2f", b - a}') s later with status $rc"
failed_not_hung() { [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; }
within() { awk -v a="$killed_at" -v b="$ended" -v s="$1" 'BEGIN {exit !(b - a <= s)}'; }
check "a killed rank ends the job with an error, not a hang" failed_not_hung
check "a killed rank ends the job within 30 s" within 30
check "a killed rank ends the job with a message" grep -qF "exited on signal 9" kill.log
[ "$fails" -eq 0 ] || cat kill.log >&2
ckpt=$("$CMP" k/checkpoint.bin k/checkpoint.bin 0)
check "the checkpoint is whole after the kill" [ $? -eq 0 ]
step=$(sed -n 's/^step \([0-9]*\) .*/\1/p' <<<"$ckpt")
echo "  the checkpoint holds step ${step:-?}"
check "the killed run had checkpointed" [ "${step:-0}" -gt 0 ]
outr=$(trainN 3 --run k --resume --steps $((${step:-0} + 4)) --threads 2)
check "--resume with 3 ranks finishes" has "$outr" "done: step $((${step:-0} + 4))"

# -- 3 ranks, then resumed with 2 ranks, or one process: as if never broken -------------------
trainN 3 --run b2 "${COMMON[@]}" --batch 10 --steps 4 --threads 2 >/dev/null
trainN 2 --run b2 --resume --steps 8 --threads 3 >/dev/null
check "3 ranks resumed with 2 ends as one process" close r1 b2
trainN 3 --run b1 "${COMMON[@]}" --batch 10 --steps 4 --threads 2 >/dev/null
train1 --run b1 --resume --steps 8 --threads 6 >/dev/null
check "3 ranks resumed as one process ends as one process" close r1 b1

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]

#!/usr/bin/env bash
# fuzz.sh — builds one libFuzzer target (tests/fuzz/fuzz_TARGET.c) with clang and
# AddressSanitizer + UndefinedBehaviorSanitizer, and runs it for SECONDS at the lowest CPU
# priority (training may be running on the same machine).
#
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
#   TARGET: image | model | lexicon | dataset | pattern   e.g. scripts/fuzz.sh image 600
#
# Environment: BUILD (default build-fuzz).
# Seeds: tests/fuzz/corpus/TARGET (read only). New inputs the fuzzer keeps go to
# BUILD/corpus/TARGET, crashes, timeouts and out-of-memory inputs to BUILD/artifacts/TARGET/.
# Every crash found belongs in tests/regressions/TARGET/ (replayed by the test suite) with its
# fix. The last line is a summary: "fuzz TARGET: N s, N executions, N crashes".
# (The body is one { } block: bash reads it whole before running, so editing this file while a
# long run is going cannot derail that run.)
{
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-}
seconds=${2:-}
case "$target" in image|model|lexicon|dataset|pattern) ;; *)
    echo "usage: scripts/fuzz.sh image|model|lexicon|dataset|pattern SECONDS [libFuzzer options]" >&2
    exit 2 ;;
esac
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a number" >&2; exit 2; }
shift 2
build=${BUILD:-build-fuzz}
CC=${CC:-clang}
command -v "$CC" >/dev/null || { echo "fuzz.sh: $CC not found (apt-get install clang)" >&2; exit 1; }

flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
# The library's internal archive (every symbol, hidden or not: the targets call internals), built by meson with the sanitizers and libFuzzer's coverage instrumentation.
if [ ! -f "$build/build.ninja" ]; then
    CC=$CC nice -n 19 meson setup "$build" --buildtype=debugoptimized -Db_lundef=false \
        -Db_sanitize=address,undefined \
        -Dc_args="-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined" >/dev/null
fi
nice -n 19 ninja -C "$build" libcrnn_internal.a >/dev/null
# stb_image compiled from source so that it is instrumented too (see stb_image_impl.c).
stb_cflags=$(pkg-config --cflags stb)
libs="$(pkg-config --libs openblas stb lmdb) -lm -lpthread"
if [ ! -f "$build/stb_image_fuzz.o" ] || [ tests/fuzz/stb_image_impl.c -nt "$build/stb_image_fuzz.o" ]; then
    nice -n 19 "$CC" -O1 $flags -fsanitize=fuzzer-no-link $stb_cflags -c tests/fuzz/stb_image_impl.c \
        -o "$build/stb_image_fuzz.o"
fi
bin=$build/fuzz_$target
nice -n 19 "$CC" -std=c11 -O1 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $flags -fsanitize=fuzzer \
    -Iinclude -Isrc $stb_cflags "tests/fuzz/fuzz_$target.c" "$build/stb_image_fuzz.o" \
    "$build/libcrnn_internal.a" $libs -o "$bin"

mkdir -p "$build/corpus/$target" "$build/artifacts/$target"
log=$build/fuzz_$target.log
started=$(date +%s)
# rss_limit_mb: an input that makes the library use more than 2 GB is a finding ("eats the
# machine"), and so is one that runs longer than 60 s (a hang). Leaks are findings as well.
# The limit is wide because the fuzzer runs at the lowest priority: beside a training run, a
# 2586 × 8 image (10,344 columns at height 32, 2.5 s instrumented on an idle core) passed 10 s.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
nice -n 19 "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=60 \
    -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$target/" "$@" \
    "$build/corpus/$target" "tests/fuzz/corpus/$target" 2>&1 | tee "$log" | grep -E \
    '^(==|INFO: (Seed|Loaded|Running)|#[0-9]+ *(INITED|DONE|pulse)|stat::|SUMMARY|artifact_prefix|Test unit written)' || true
execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | awk '{s += $2} END {print s + 0}')
crashes=$(ls "$build/artifacts/$target" | wc -l)
echo "fuzz $target: $(( $(date +%s) - started )) s, $execs executions, $crashes crash/timeout/oom inputs in $build/artifacts/$target"
exit 0
}

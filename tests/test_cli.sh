#!/bin/bash
# test_cli.sh — `ocr-crnn IMAGE|FOLDER...` end to end: output formats and order, folders, -r,
# --list, --shard, --output, bad inputs, --fail-fast, thread-count independence.
#
#   bash tests/test_cli.sh OCR_CRNN MAKE_TEST_MODEL
#
# Needs no data outside the repository: the model is a tiny random one (make_test_model) and
# the images come from `ocr-crnn synth`. python3, where present, parses the JSONL and CSV.
set -u
OCR=$1
MKMODEL=$2
T=$(mktemp -d)
trap 'chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT
. "$(dirname "$0")/check.sh"
lines() { [ "$(grep -c '' <<<"$1")" -eq "$2" ] || { printf 'want %s lines:\n%s\n' "$2" "$1" >&2; return 1; }; }

M=$T/model.crnn
"$MKMODEL" "$M" || { echo "cannot make the test model" >&2; exit 1; }
"$OCR" synth --count 20 --out "$T/img" --seed 1 --no-backgrounds >/dev/null ||
    { echo "cannot make test images" >&2; exit 1; }
R() { "$OCR" --model "$M" "$@"; }
strip_ms() { sed 's/"milliseconds":[0-9.]*//'; }
SRC=$PWD # the project root (meson runs the test there)
cd "$T" || exit 1
IMGS=$(cd img && ls *.png | LC_ALL=C sort | sed 's|^|img/|')

# -- one image, several images, a folder ------------------------------------------------------
one=$(R img/000000000.png)
check "one image prints its text alone" lines "$one" 1
check "one image: no path" hasnt "$one" "img/"
two=$(R img/000000003.png img/000000001.png)
check "two images: PATH<TAB>TEXT in order" same "$(cut -f1 <<<"$two")" \
    "$(printf 'img/000000003.png\nimg/000000001.png')"
check "two images: same text as alone" same "$(head -1 <<<"$two" | cut -f2-)" \
    "$(R img/000000003.png)"
folder=$(R img)
check "folder: every image, sorted" same "$(cut -f1 <<<"$folder")" "$IMGS"
check "folder: labels.tsv is not an image" hasnt "$folder" "labels.tsv"
check "stdin" same "$(R - <img/000000000.png)" "$one"
check "no progress bar when stderr is not a terminal" same "$(R img 2>&1 >/dev/null)" ""

# -- -r, --list ---------------------------------------------------------------------------------
mkdir -p tree/d1/d2 tree/.hidden
cp img/000000001.png tree/1.png
cp img/000000002.png tree/d1/2.png
cp img/000000003.png tree/d1/d2/3.PNG
cp img/000000004.png tree/z.png
cp img/000000005.png tree/.hidden/h.png
cp img/000000006.png tree/.dot.png
check "folder without -r: direct images only" same "$(R tree | cut -f1)" \
    "$(printf 'tree/1.png\ntree/z.png')"
check "-r: depth first, sorted, case-insensitive extensions, hidden skipped" \
    same "$(R -r tree | cut -f1)" \
    "$(printf 'tree/1.png\ntree/d1/2.png\ntree/d1/d2/3.PNG\ntree/z.png')"
check "a hidden file named explicitly is read" lines "$(R tree/.dot.png)" 1
printf 'img/000000007.png\ntree\n\nimg/000000002.png\r\n' >list.txt
check "--list: files and folders mixed, after the arguments" \
    same "$(R img/000000009.png --list list.txt | cut -f1)" \
    "$(printf 'img/000000009.png\nimg/000000007.png\ntree/1.png\ntree/z.png\nimg/000000002.png')"
check "--list -" same "$(R --list - <list.txt | cut -f1)" "$(R --list list.txt | cut -f1)"

# -- formats ------------------------------------------------------------------------------------
cp img/000000008.png 'odd,"name".png'
cp img/000000009.png "$(printf 'tab\there.png')"
tsv=$(R --tsv img 'odd,"name".png' "$(printf 'tab\there.png')")
check "--tsv: three columns on every line" \
    same "$(awk -F'\t' 'NF != 3' <<<"$tsv")" ""
check "--tsv: tab in a path escaped" has "$tsv" 'tab\there.png'
check "--tsv: confidence is a number" \
    same "$(cut -f3 <<<"$tsv" | grep -cvE '^[0-9](\.[0-9]{1,4})?(e-[0-9]+)?$')" "0"
if command -v python3 >/dev/null; then
    R --jsonl img bad_missing.png >out.jsonl 2>/dev/null
    check "--jsonl: valid JSON, every field, errors as records" python3 -c '
import json, sys
rows = [json.loads(l) for l in open("out.jsonl")]
ok = [r for r in rows if "error" not in r]
assert len(ok) == 20 and len(rows) == 21, len(rows)
for r in ok:
    assert set(r) == {"path", "text", "confidence", "log_prob", "chars", "milliseconds"}, r
    assert len(r["chars"]) == len(r["text"]), r
assert rows[-1]["path"] == "bad_missing.png" and rows[-1]["error"], rows[-1]
'
    R --csv img 'odd,"name".png' bad_missing.png >out.csv 2>/dev/null
    check "--csv: header + 4 columns, RFC 4180 quoting, error column" python3 -c '
import csv
rows = list(csv.reader(open("out.csv", newline="")))
assert rows[0] == ["path", "text", "confidence", "error"], rows[0]
assert all(len(r) == 4 for r in rows), rows
assert len(rows) == 23, len(rows)
assert rows[21][0] == "odd,\"name\".png" and rows[21][3] == "", rows[21]
assert rows[22][0] == "bad_missing.png" and rows[22][1] == "" and rows[22][3], rows[22]
float(rows[1][2])
'
    check "--json is --jsonl" same "$(R --json img | strip_ms)" "$(R --jsonl img | strip_ms)"
else
    echo "python3 not found: JSONL and CSV parsing checks skipped" >&2
fi

# -- thread count and batching change nothing ---------------------------------------------------
j1=$(R --jsonl -j 1 -r tree img | strip_ms)
check "-j 1 and -j 2 give identical output" same "$(R --jsonl -j 2 -r tree img | strip_ms)" "$j1"
check "-j 3 --batch 1 gives identical output" \
    same "$(R --jsonl -j 3 --batch 1 -r tree img | strip_ms)" "$j1"
check "--batch 5 gives identical output" same "$(R --jsonl --batch 5 -r tree img | strip_ms)" "$j1"

# -- --shard ------------------------------------------------------------------------------------
all=$(R -r tree img | LC_ALL=C sort)
s0=$(R --shard 0/2 -r tree img | LC_ALL=C sort)
s1=$(R --shard 1/2 -r tree img | LC_ALL=C sort)
check "--shard 0/2 and 1/2 are both non-empty" test -n "$s0" -a -n "$s1"
check "--shard 0/2 + 1/2 == all" same "$(printf '%s\n%s' "$s0" "$s1" | LC_ALL=C sort)" "$all"
check "--shard 0/2 and 1/2 are disjoint" same "$(comm -12 <(echo "$s0") <(echo "$s1"))" ""
check "--shard is by path, not position" \
    same "$(R --shard 1/2 img/000000019.png $(echo "$IMGS" | head -19) | LC_ALL=C sort)" \
    "$(R --shard 1/2 img | LC_ALL=C sort)"

# -- bad inputs ---------------------------------------------------------------------------------
mkdir -p bad/x.png bad/loop
cp img/000000010.png bad/a.png
cp img/000000011.png bad/z.png
cp img/000000012.png bad/x.png/inner.png
: >bad/empty.png
echo "just text" >bad/text.png
head -c 120 img/000000013.png >bad/truncated.png
ln -s nowhere.png bad/dangling.png
ln -s selfloop.png bad/selfloop.png
ln -s .. bad/loop/up
# A valid PNG signature and IHDR claiming 50000 x 50000 pixels, then nothing.
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\xc3\x50\x00\x00\xc3\x50\x08\x00\x00\x00\x00\x00\x00\x00\x00' \
    >bad/huge.png
out=$(R bad 2>err.txt)
status=$?
err=$(cat err.txt)
check "bad files: exit status 1" test "$status" -eq 1
check "bad files: good ones still recognised" same "$(cut -f1 <<<"$out")" \
    "$(printf 'bad/a.png\nbad/z.png')"
for f in empty.png text.png truncated.png dangling.png selfloop.png huge.png; do
    check "bad files: $f reported" has "$err" "ocr-crnn: bad/$f: "
done
check "bad files: empty file says so" has "$err" "bad/empty.png: empty file"
check "bad files: dangling link says so" has "$err" "bad/dangling.png: dangling symbolic link"
check "bad files: huge header says so" has "$err" "50000 x 50000"
check "bad files: folder named x.png mentioned" has "$err" "bad/x.png: is a folder"
check "bad files: the sub-folder left out without -r mentioned" \
    has "$err" "ocr-crnn: bad: 1 sub-folder not read (-r reads folders inside folders)"
check "bad files: one stderr line each" lines "$err" 8
rout=$(R -q -r bad 2>err.txt)
check "-r: folder named x.png is descended" has "$rout" "bad/x.png/inner.png"
check "-r: symlink loop reported" has "$(cat err.txt)" "bad/loop/up: symbolic link loop"
for f in empty.png text.png truncated.png dangling.png selfloop.png huge.png x.png; do
    R "bad/$f" >/dev/null 2>err.txt
    status=$?
    if [ "$f" = x.png ]; then
        check "named folder x.png is walked" test "$status" -eq 0
    else
        check "named bad file $f: exit 1" test "$status" -eq 1
        check "named bad file $f: named on stderr" has "$(cat err.txt)" "bad/$f"
    fi
done
check "a missing file" has "$(R nothing.png 2>&1)" "nothing.png: no such file"
if [ "$(id -u)" != 0 ]; then
    cp img/000000014.png unreadable.png
    chmod 000 unreadable.png
    check "unreadable file reported" has "$(R unreadable.png 2>&1)" "unreadable.png: "
fi
out=$(R --fail-fast bad 2>err.txt)
status=$?
check "--fail-fast: exit 1" test "$status" -eq 1
check "--fail-fast: stops at the first failure" same "$out" "$(R bad/a.png img/000000000.png |
    head -1)"
check "--fail-fast: one error" lines "$(grep -v 'is a folder\|not read' err.txt)" 1

# -- folders with nothing to read, formats that are not read ------------------------------------
mkdir -p tifs empty
printf 'II*\0\010\0\0\0' >tifs/a.tif
printf 'II*\0\010\0\0\0' >tifs/b.TIFF
printf 'RIFF\020\0\0\0WEBPVP8 ' >tifs/c.webp
echo notes >tifs/notes.txt
out=$(R tifs 2>err.txt)
status=$?
check "a folder of TIFFs: exit 1" test "$status" -eq 1
check "a folder of TIFFs: nothing printed" same "$out" ""
check "a folder of TIFFs: says why" has "$(cat err.txt)" \
    "tifs: no image files in it; 3 files in formats not read (1 .tif, 1 .tiff, 1 .webp): the formats read are PNG, JPEG"
check "a folder of TIFFs: nothing was read" has "$(cat err.txt)" "nothing was read"
R empty >/dev/null 2>err.txt
check "an empty folder: exit 1" test $? -eq 1
check "an empty folder: says so" has "$(cat err.txt)" "empty: no image files in it (empty)"
R -q --shard 0/2 empty >/dev/null 2>&1
check "an empty folder in a --shard: exit 0 (another shard may have the images)" test $? -eq 0
check "a TIFF named: refused by name, with the formats read" has "$(R tifs/a.tif 2>&1)" \
    "tifs/a.tif: TIFF images are not read; convert it to one of PNG, JPEG, BMP, GIF, TGA, PNM, PSD, HDR"
check "a WebP named: refused by name" has "$(R tifs/c.webp 2>&1)" "WebP images are not read"
check "-q: no notes" same "$(R -q tifs 2>&1 | grep -c 'formats not read')" "0"

# -- --output -----------------------------------------------------------------------------------
echo "previous" >res.tsv
R --tsv -o res.tsv img
check "--output: written" same "$(cat res.tsv)" "$(R --tsv img)"
check "--output: no temporary left" same "$(ls res.tsv.tmp.* 2>/dev/null)" ""
echo "previous" >res.tsv
R -q --fail-fast -o res.tsv img bad/empty.png 2>/dev/null
check "--output: a failed --fail-fast run keeps the old file" same "$(cat res.tsv)" "previous"
R -q -o res.tsv img bad/empty.png 2>/dev/null
check "--output: failed images do not stop the write" lines "$(cat res.tsv)" 20
mkdir ro
echo "previous" >ro/res.tsv
chmod 555 ro
if [ "$(id -u)" != 0 ]; then
    R -o ro/res.tsv img 2>err.txt
    check "--output into a read-only folder fails" test $? -eq 1
    check "--output into a read-only folder: old file kept" same "$(cat ro/res.tsv)" "previous"
fi
check "--output into a missing folder fails before any work" \
    has "$(R -o nowhere/res.tsv img 2>&1)" "nowhere/res.tsv: cannot create"
# Interrupted: tens of thousands of inputs through --list, SIGTERM while running (a background
# job of a script ignores SIGINT, and so does ocr-crnn then, as it should).
for i in $(seq 2000); do echo img; done >big.list
echo "previous" >res.tsv
"$OCR" --model "$M" -q -j 1 --list big.list -o res.tsv &
pid=$!
sleep 0.5
kill -TERM $pid
wait $pid
status=$?
check "SIGTERM: exit 143" test "$status" -eq 143
check "SIGTERM: old --output file kept" same "$(cat res.tsv)" "previous"
check "SIGTERM: no temporary left" same "$(ls res.tsv.tmp.* 2>/dev/null)" ""

# -- usage errors -------------------------------------------------------------------------------
for args in "" "--shard 2/2 img" "--shard x img" "-j 0 img" "--batch 0 img" "- -" \
    "--list - -"; do
    R $args >/dev/null 2>&1 </dev/null
    check "usage error: '$args' exits 2" test $? -eq 2
done
check "--list of a missing file" has "$(R --list nolist.txt 2>&1)" "nolist.txt: cannot open"
check "a usage error: the error and a hint, not the whole help" \
    same "$(R --frobnicate img 2>&1)" "$(printf "ocr-crnn: unrecognized option '--frobnicate'\nTry 'ocr-crnn --help' for the options.")"
check "no image: the error and a hint" lines "$(R 2>&1)" 2
check "help is the help" same "$("$OCR" help)" "$("$OCR" --help)"
check "help COMMAND is the command's help" same "$("$OCR" help train)" "$("$OCR" train --help)"
"$OCR" help frob >/dev/null 2>&1
check "help of an unknown command: exit 2" test $? -eq 2
for cmd in train eval synth; do
    check "$cmd: a usage error is two lines" lines "$("$OCR" $cmd --frob 2>&1)" 2
done

# -- synth never overwrites samples unasked ----------------------------------------------------
"$OCR" synth --count 6 --out sy --seed 2 --no-backgrounds >/dev/null
before=$(md5sum sy/labels.tsv)
"$OCR" synth --count 3 --out sy --seed 5 --no-backgrounds >/dev/null 2>err.txt
check "synth into a folder of samples: refused" test $? -eq 1
check "synth into a folder of samples: says what is there" has "$(cat err.txt)" \
    "sy holds samples already (labels.tsv, 6 numbered PNGs): --force replaces them"
check "synth into a folder of samples: nothing changed" same "$(md5sum sy/labels.tsv)" "$before"
echo mine >sy/notes.txt
"$OCR" synth --count 3 --out sy --seed 5 --no-backgrounds --force >/dev/null
check "synth --force: no stale PNGs beside the new labels" same "$(ls sy)" \
    "$(printf '000000000.png\n000000001.png\n000000002.png\nlabels.tsv\nnotes.txt')"
check "synth --words is the word list flag" test "$("$OCR" synth --count 1 --out sw \
    --words "$SRC/lexicons/en.txt" --no-backgrounds >/dev/null 2>&1; echo $?)" -eq 0

# -- train and eval from the command line, flags from a config file ------------------------------
cat > train.conf <<CONF
# a tiny run: flags as 'flag value', comments and blank lines ignored

data $T/img/labels.tsv
val  $T/img
arch c8 m2 c16 m2 c16 m2x2s2x1p0x1 c16 m2x2s2x1p0x1 c16k2p0 bilstm16
steps 4
batch 4
val-every 2
CONF
"$OCR" train --config train.conf --run run --steps 3 >train.log 2>&1
check "train --config: exit 0" test $? -eq 0
check "train --config: the command line overrides the file" has "$(cat train.log)" "step 3/3"
check "train --config: the architecture came from the file" has "$(cat train.log)" "bilstm(16)"
check "train: checkpoint, best model, log and plot written" \
    test -s run/checkpoint.bin -a -s run/best.crnn -a -s run/log.csv -a -s run/plot.png
"$OCR" train --config train.conf --run new/nested/run --steps 1 >train3.log 2>&1
check "train --run creates missing parent folders" test -s new/nested/run/checkpoint.bin
"$OCR" train --config train.conf --run run --steps 5 --resume >train2.log 2>&1
check "train --resume continues from step 3" has "$(cat train2.log)" "resumed run/checkpoint.bin at step 3"
# -- a run folder is never replaced unasked; --resume restores the run's configuration -----------
check "train: run.conf records the run, defaults and all" has "$(cat run/run.conf)" "steps 5"
check "train: run.conf paths are absolute" has "$(cat run/run.conf)" "data 1:$T/img/labels.tsv"
sum_before=$(md5sum run/checkpoint.bin run/log.csv run/best.crnn run/run.conf)
"$OCR" train --config train.conf --run run --steps 2 >again.log 2>&1
status=$?
check "train into a run folder: refused (usage, 2)" test "$status" -eq 2
check "train into a run folder: says how to continue or start over" has "$(cat again.log)" \
    "run holds a training run already (checkpoint.bin): --resume continues it, --force starts over"
check "train into a run folder: nothing changed" \
    same "$(md5sum run/checkpoint.bin run/log.csv run/best.crnn run/run.conf)" "$sum_before"
"$OCR" train --run run --resume --force >/dev/null 2>&1
check "train --resume --force: refused" test $? -eq 2
"$OCR" train --run run --resume --arch small --lr 0.5 >refuse.log 2>&1
check "resume with another --arch: refused" test $? -eq 2
check "resume with another --arch: each difference named" has "$(cat refuse.log)" "--lr 0.5 (the run has 0.001)"
check "resume with another --arch: what may change listed" has "$(cat refuse.log)" \
    "Only --steps, --val, --val-max, --val-every, --checkpoint-minutes, --threads, --export, --half may change"
check "resume refused: nothing changed" \
    same "$(md5sum run/checkpoint.bin run/log.csv run/best.crnn run/run.conf)" "$sum_before"
check "train: run.conf records --synth-clean" has "$(cat run/run.conf)" "synth-clean 0"
check "train: run.conf records --synth-clean-fade" has "$(cat run/run.conf)" "synth-clean-fade 0"
"$OCR" train --run run --resume --synth-clean 0.5 >refuse2.log 2>&1
check "resume with another --synth-clean: refused (it changes the samples)" test $? -eq 2
check "resume with another --synth-clean: named" has "$(cat refuse2.log)" \
    "--synth-clean 0.5 (the run has 0)"
"$OCR" train --run run2 --data synth --synth-clean 1.5 >/dev/null 2>&1
check "train --synth-clean 1.5: refused (a fraction)" test $? -eq 2
"$OCR" train --run run --resume >alone.log 2>&1
check "--run DIR --resume alone: the run's settings (no --data needed)" test $? -eq 0
check "--run DIR --resume alone: nothing to do at the run's last step" \
    has "$(cat alone.log)" "resumed run/checkpoint.bin at step 5"
check "--run DIR --resume alone: the run's length, not the default 100000" \
    hasnt "$(cat alone.log)" "/100000"
"$OCR" train --run run --resume --steps 7 --val-every 3 >extend.log 2>&1
check "resume --steps 7: extends the run" has "$(cat extend.log)" "step 7/7"
check "resume --steps 7: says what changed" has "$(cat extend.log)" "--steps 7 on resuming (the run had 5)"
check "resume --steps 7: run.conf records it" has "$(cat run/run.conf)" "steps 7"
check "resume --steps 7: the architecture stayed the run's" has "$(cat extend.log)" "bilstm(16)"
"$OCR" train --config train.conf --run run --steps 7 --val-every 3 --resume >cfg.log 2>&1
check "resume with the run's --config: accepted" test $? -eq 0
"$OCR" train --config train.conf --run run --steps 7 --force >force.log 2>&1
check "train --force: starts over" has "$(cat force.log)" "step 7/7"
check "train --force: a new log" same "$(grep -c '^1,' run/log.csv)" "1"
rm run/run.conf
"$OCR" train --config train.conf --run run --steps 8 --resume >old.log 2>&1
check "resume a run from before run.conf: the flags given" test $? -eq 0
check "resume a run from before run.conf: says so" has "$(cat old.log)" "run/run.conf not found"
check "resume a run from before run.conf: run.conf written" has "$(cat run/run.conf)" "steps 8"
check "train: a warm-up as long as the run is warned of" has "$(cat train.log)" \
    "warning: the warm-up (500 steps) is not shorter than the run (3 steps)"
check "train: ETA in words, not 0.0 h" hasnt "$(cat train.log train2.log)" "ETA 0.0 h"
"$OCR" train --run noval --data "$T/img" --arch "c8 m2 c16 m2 c16 m2x2s2x1p0x1 c16 m2x2s2x1p0x1 c16k2p0 bilstm16" \
    --steps 2 --warmup 1 --batch 4 --no-backgrounds >noval.log 2>&1
check "train without --val: no 'best validation -1'" hasnt "$(cat noval.log)" "-1.0000"
check "train without --val: says best.crnn is the last model" has "$(cat noval.log)" \
    "no validation set: best.crnn is the last model"
check "train --no-backgrounds: recorded" has "$(cat noval/run.conf)" "no-backgrounds"

ev=$("$OCR" eval --model run/best.crnn --data img --json)
check "eval --json: 20 images scored" has "$ev" '"images":20'
check "a checkpoint as --model: says what it is and what to use" \
    has "$(R --model run/checkpoint.bin img/000000000.png 2>&1)" \
    "run/checkpoint.bin: a training checkpoint, not a model: recognise with best.crnn"
(printf 'file\tlabel\n'; cat img/labels.tsv) >img/with-header.tsv
check "eval: an unreadable line is named (a header)" \
    has "$("$OCR" eval --model run/best.crnn --data img/with-header.tsv)" \
    "20 (1 unreadable, skipped; the first: img/file: cannot open"
"$OCR" synth --count 2 --out lmdb --lmdb --seed 1 --no-backgrounds >/dev/null
check "eval: LMDB's data.mdb named: pass the folder" \
    has "$("$OCR" eval --model run/best.crnn --data lmdb/data.mdb 2>&1)" \
    "lmdb/data.mdb: a file of an LMDB database: pass the LMDB's folder (lmdb)"
check "train: a bad flag value is a usage error" test "$("$OCR" train --run r --data x --lr abc \
    >/dev/null 2>&1; echo $?)" -eq 2

echo "test_cli: $checks checks, $fails failed"
[ "$fails" -eq 0 ]

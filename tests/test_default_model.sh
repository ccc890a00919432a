#!/bin/bash
# test_default_model.sh OCR_CRNN REPO — the shipped model (models/en.crnn) reads every image
# of samples/ exactly as samples/labels.tsv says, alone and in one --json run, and under
# patterns and character sets that allow their text; blank crops (white, grey, black) read as
# nothing at a confidence threshold that every sample passes; a copy of the program alone,
# with the model built in, reads them too. A damaged or wrongly exported model fails here
# before a user sees it. Exit 77 (skip) without the model.
set -u
OCR=$1
REPO=$2
model=$REPO/models/en.crnn
[ -f "$model" ] || { echo "no $model: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
checks=0
failed=0
check() { # NAME EXPECTED GOT
    checks=$((checks + 1))
    if [ "$2" != "$3" ]; then
        echo "FAIL: $1: expected '$2', got '$3'"
        failed=$((failed + 1))
    fi
}
paths=()
while IFS=$'\t' read -r name text; do
    check "$name alone" "$text" "$("$OCR" --model "$model" "$REPO/samples/$name" 2>&1)"
    paths+=("$REPO/samples/$name")
done <"$REPO/samples/labels.tsv"
check "eight samples listed" 8 "${#paths[@]}"
# All at once with --json: one object per line, in input order, text as labelled, and
# confidences that are probabilities.
"$OCR" --model "$model" --json "${paths[@]}" >"$tmp/out.jsonl" 2>&1
check "--json exit status" 0 $?
verdict=$(python3 - "$REPO/samples/labels.tsv" "$tmp/out.jsonl" <<'PY'
import json, sys
labels = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
rows = [json.loads(l) for l in open(sys.argv[2])]
bad = []
if len(rows) != len(labels):
    bad.append("%d rows for %d images" % (len(rows), len(labels)))
for (name, text), r in zip(labels, rows):
    if not r["path"].endswith("/" + name) or r["text"] != text:
        bad.append("%s: %r" % (name, r.get("text")))
    if not 0 < r["confidence"] <= 1 or len(r["chars"]) != len(text):
        bad.append("%s: confidence %r, %d chars" % (name, r["confidence"], len(r["chars"])))
print("; ".join(bad) if bad else "ok")
PY
)
check "--json rows" ok "$verdict"

# Constraints leave a right reading as it is, and confidence separates text from no text.
s=$REPO/samples
check "date under a date pattern" "01/11/1915" \
    "$("$OCR" --model "$model" --pattern '\d{2}/\d{2}/\d{4}' "$s/date.png" 2>&1)"
check "price under a price pattern" '$13.00' \
    "$("$OCR" --model "$model" --pattern '\$\d{1,3}(,\d{3})*\.\d\d' "$s/price.png" 2>&1)"
check "capitals under --allow A-Z" HUMPY "$("$OCR" --model "$model" --allow A-Z "$s/humpy.png" 2>&1)"
digits=$("$OCR" --model "$model" --digits "$s/price.png" 2>&1)
check "--digits: only digits, however the price reads" "" "$(tr -d '0-9' <<<"$digits")"
# Blank crops, white, grey and black, read as nothing (read so, or rejected as unsure at 0.01);
# no sample is rejected there.
for v in 000 200 377; do
    printf 'P5 200 32 255\n' >"$tmp/blank-$v.pgm"
    head -c 6400 /dev/zero | tr '\0' "\\$v" >>"$tmp/blank-$v.pgm"
done
out=$("$OCR" --model "$model" --tsv --min-confidence 0.01 "$tmp"/blank-*.pgm "${paths[@]}" 2>&1)
check "blank crops read as nothing" "||" "$(awk -F'\t' 'NR <= 3 {printf "%s%s", (NR > 1 ? "|" : ""), $2}' <<<"$out")"
check "no sample is rejected" 0 "$(awk -F'\t' 'NR > 3 && $4 != 0' <<<"$out" | wc -l)"

# Turned a quarter either way (bench/loose_rotate), every sample reads as upright, the JSON
# saying which turn read it; --rotate none reads them as given.
if [ -n "${3:-}" ] && "$3" "$s/labels.tsv" "$tmp/turned" >/dev/null; then
    for v in rot90 rot270; do
        want=$([ $v = rot90 ] && echo 270 || echo 90)
        verdict=$("$OCR" --model "$model" --json "$tmp/turned/$v"/*.png 2>&1 | python3 -c '
import json, sys
labels = dict(l.rstrip("\n").split("\t") for l in open(sys.argv[1]))
bad = []
for line in sys.stdin:
    r = json.loads(line)
    name = r["path"].rsplit("/", 1)[1].split("-", 1)[1]
    if r.get("text") != labels[name] or r.get("rotation") != int(sys.argv[2]):
        bad.append("%s: %r turned %r" % (name, r.get("text"), r.get("rotation")))
print("; ".join(bad) if bad else "ok")' "$s/labels.tsv" "$want")
        check "$v samples read turned back" ok "$verdict"
    done
    none=$("$OCR" --model "$model" --rotate none --single-line "$tmp/turned/rot90/00001-humpy.png" 2>&1)
    check "--rotate none reads a turned sample as given" 1 "$([ "$none" != HUMPY ] && echo 1)"
else
    check "bench/loose_rotate made the turned samples" ok failed
fi
# The program carries the model: a copy alone in an empty folder reads every sample.
mkdir "$tmp/alone" && cp "$OCR" "$tmp/alone/ocr-crnn"
got=$(cd "$tmp/alone" && OCR_CRNN_MODEL= ./ocr-crnn --tsv "${paths[@]}" 2>&1 | cut -f 2)
check "a copy of ocr-crnn alone in an empty folder" "$(cut -f 2 "$REPO/samples/labels.tsv")" "$got"
# The English lexicon by name, from the source tree beside the build folder.
check "--lexicon en" "$("$OCR" --model "$model" --lexicon "$REPO/lexicons/en.txt" --tsv "${paths[@]}" 2>&1)" \
    "$("$OCR" --model "$model" --lexicon en --tsv "${paths[@]}" 2>&1)"
echo "test_default_model: $checks checks, $failed failed"
[ "$failed" -eq 0 ]

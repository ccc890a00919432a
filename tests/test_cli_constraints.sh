#!/bin/bash
# test_cli_constraints.sh — the constraint options of `ocr-crnn` and `ocr-crnn eval` end to
# end: --allow/--deny/--digits never let an excluded character out, --pattern texts match
# (or are flagged as the free text), --min-confidence rejects with a flag in every format,
# usage errors name the option and point at the offending character.
#
#   bash tests/test_cli_constraints.sh OCR_CRNN MAKE_TEST_MODEL
#
# A tiny random model and synthetic images: nothing outside the repository. A random model's
# frames are flat, so its readings are long and improbable: exactly what the constraints must
# hold against.
set -u
OCR=$1
MKMODEL=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/check.sh"
only() { # every line's text field (after the last tab) uses only the characters of the set
    local text=$1 set=$2 bad
    bad=$(awk -F'\t' '{print $NF}' <<<"$text" | grep -v "^[$set]*\$")
    [ -z "$bad" ] || { printf 'outside [%s]:\n%s\n' "$set" "$bad" >&2; return 1; }
}
status() { "$@" >/dev/null 2>&1; echo $?; }

M=$T/model.crnn
"$MKMODEL" "$M" || { echo "cannot make the test model" >&2; exit 1; }
"$OCR" synth --count 12 --out "$T/img" --seed 5 --no-backgrounds >/dev/null ||
    { echo "cannot make test images" >&2; exit 1; }
R() { "$OCR" --model "$M" -q "$@"; }
cd "$T" || exit 1

# -- character sets --------------------------------------------------------------------------
free=$(R img)
check "the free readings use other characters too" [ -n "$(awk -F'\t' '{print $2}' <<<"$free" | grep '[^0-9]')" ]
check "--digits: digits only" only "$(R --digits img)" "0-9"
check "--digits --beam 4: digits only" only "$(R --digits --beam 4 img)" "0-9"
check "--allow A-Z: capitals only" only "$(R --allow A-Z img)" "A-Z"
check "--allow a-c --allow x: the union" only "$(R --allow a-c --allow x img)" "a-cx"
check "--deny: what the free reading had is gone" only "$(R --allow 'a-zA-Z' --deny 'a-m' img)" "n-zA-Z"
printf 'Hotel\nabc\n' > words.txt
check "--digits with a lexicon and its fallback: digits only" \
    only "$(R --digits --lexicon words.txt img)" "0-9"

# -- patterns --------------------------------------------------------------------------------
out=$(R --pattern '\d{2}-[A-Z]' --lexicon-margin off img)
check "--pattern (margin off): every text matches" \
    [ -z "$(awk -F'\t' '{print $2}' <<<"$out" | grep -vE '^[0-9]{2}-[A-Z]$')" ]
out=$(R --pattern 'ab+' --pattern '\d' --lexicon-margin off img)
check "two --pattern: either matches" \
    [ -z "$(awk -F'\t' '{print $2}' <<<"$out" | grep -vE '^(ab+|[0-9])$')" ]
json=$(R --pattern '\d{2}' --json img)
check "--pattern --json: free_text, free_log_prob, fallback" python3 -c '
import json, re, sys
for line in sys.stdin:
    r = json.loads(line)
    assert {"free_text", "free_log_prob", "fallback", "log_prob"} <= set(r), r
    # the default margin: a match, or the free text flagged as such
    assert r["text"] == r["free_text"] if r["fallback"] else re.fullmatch(r"\d{2}", r["text"]), r
' <<<"$json"

# -- confidence and rejection ----------------------------------------------------------------
tsv=$(R --tsv --min-confidence 1 img)
check "--min-confidence 1 --tsv: four columns, all rejected" \
    [ "$(awk -F'\t' 'NF == 4 && $2 == "" && $4 == 1' <<<"$tsv" | wc -l)" == 12 ]
check "--tsv without --min-confidence: three columns" [ "$(R --tsv img | awk -F'\t' 'NF != 3' | wc -l)" == 0 ]
check "--min-confidence --csv: a rejected column" python3 -c '
import csv, sys
rows = list(csv.reader(sys.stdin))
assert rows[0] == ["path", "text", "confidence", "rejected", "error"], rows[0]
assert all(r[3] == "1" and r[1] == "" for r in rows[1:]) and len(rows) == 13, rows
' <<<"$(R --csv --min-confidence 1 img)"
check "--min-confidence --json: rejected, and the confidence that was too low" python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert len(rows) == 12 and all(r["rejected"] is True and r["text"] == "" for r in rows), rows
assert all(0 <= r["confidence"] < 1 and r["chars"] == [] for r in rows), rows
' <<<"$(R --json --min-confidence 1 img)"
check "--min-confidence 0: nothing rejected" [ "$(R --min-confidence 0 img)" == "$free" ]

# -- eval ------------------------------------------------------------------------------------
ev=$("$OCR" eval --model "$M" --data img --min-confidence 1 --json)
check "eval --min-confidence: every reading rejected, counted" python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["rejected"] == 12 and r["word_accuracy"] == 0, r
' <<<"$ev"
ev=$("$OCR" eval --model "$M" --data img --digits --pattern '\d+' 2>&1)
check "eval takes --digits and --pattern" has "$ev" "word accuracy"

# -- usage errors ----------------------------------------------------------------------------
err=$(R --pattern '\d{2}/\d{2' img 2>&1)
check "a bad pattern: exit 2" [ "$(status R --pattern '\d{2}/\d{2' img)" == 2 ]
check "a bad pattern: the position and reason" has "$err" "at character 9: '{' without its closing '}'"
check "a bad pattern: a caret under it" has "$err" "            ^"
check "a bad --allow: exit 2" [ "$(status R --allow 'z-a' img)" == 2 ]
check "a bad --allow: named" has "$(R --allow 'z-a' img 2>&1)" "--allow 'z-a': at character 1: range out of order"
check "a bad --deny: named" has "$(R --deny 'a\' img 2>&1)" "--deny 'a\\'"
check "--allow of characters the model lacks: exit 2" [ "$(status R --allow 'é' img)" == 2 ]
check "--allow of characters the model lacks: why" has "$(R --allow 'é' img 2>&1)" "none of these characters"
check "--deny of every character: exit 2" [ "$(status R --allow a --deny a img)" == 2 ]
check "--min-confidence 2: usage error" [ "$(status R --min-confidence 2 img)" == 2 ]
check "--min-confidence x: usage error" [ "$(status R --min-confidence x img)" == 2 ]
check "--lexicon-margin off is accepted" [ "$(status R --lexicon words.txt --lexicon-margin off img)" == 0 ]
check "--lexicon-margin -1: usage error" [ "$(status R --lexicon words.txt --lexicon-margin -1 img)" == 2 ]
check "eval: a bad pattern is a usage error" [ "$(status "$OCR" eval --model "$M" --data img --pattern '(')" == 2 ]

echo "$((checks - fails)) passed, $fails failed"
[ "$fails" == 0 ]

#!/bin/bash
# test_cli_lexicon.sh — the decoding options of `ocr-crnn` end to end: --lexicon (the text is
# always a lexicon word, as written or, matched in any case, in the image's case, beside the
# free text in JSON), --lexicon-per-image (by path and by file name, an unlisted image fails
# alone), --beam, --lexicon-margin/-distance, --explain (a PNG), and usage errors.
#
#   bash tests/test_cli_lexicon.sh OCR_CRNN MAKE_TEST_MODEL
#
# A tiny random model and synthetic images: nothing outside the repository.
set -u
OCR=$1
MKMODEL=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/check.sh"
in_set() { # every line's last field is one of the words given
    local text=$1
    shift
    while IFS= read -r line; do
        local w=${line##*$'\t'} ok=0
        for x in "$@"; do [ "$w" == "$x" ] && ok=1; done
        [ $ok == 1 ] || { echo "'$w' is not one of: $*" >&2; return 1; }
    done <<<"$text"
}
in_set_any_case() { # the same, the case aside (a word matched in any case takes the image's)
    local text=$1
    shift
    in_set "${text,,}" "${@,,}"
}
status() { "$@" >/dev/null 2>&1; echo $?; }
quiet() { "$@" >/dev/null; }

M=$T/model.crnn
"$MKMODEL" "$M" || { echo "cannot make the test model" >&2; exit 1; }
"$OCR" synth --count 6 --out "$T/img" --seed 3 --no-backgrounds >/dev/null ||
    { echo "cannot make test images" >&2; exit 1; }
R() { "$OCR" --model "$M" -q "$@"; }
# a random model's frames are far from any word: without 'off' the margin keeps the free text
RL() { R --lexicon-margin off "$@"; }
cd "$T" || exit 1
printf '# test words\nHotel\n\nNew York\ncafe\nHotel\n' > words.txt

out=$(RL --lexicon words.txt img)
check "--lexicon: six lines" [ "$(grep -c '' <<<"$out")" == 6 ]
check "--lexicon: only lexicon words" in_set "$out" Hotel "New York" cafe
out=$(RL --lexicon words.txt --lexicon-ignore-case --beam 4 img)
check "--lexicon --beam --ignore-case: only lexicon words, in any case" in_set_any_case "$out" Hotel "New York" cafe
json=$(R --lexicon words.txt --json img/000000000.png)
check "--json: free_text beside the word" has "$json" '"free_text":'
check "--json: log_prob" has "$json" '"log_prob":'
check "--json without a lexicon: no free_text" [ "$(R --json img/000000000.png | grep -c free_text)" == 0 ]

# per-image lexicons: one image by its path, the others by file name
{
    echo "img/000000000.png	alpha,beta"
    for i in 1 2 3 4; do echo "elsewhere/00000000$i.png	gamma,delta"; done
} > map.tsv
out=$(RL --lexicon-per-image map.tsv img/000000000.png img/000000001.png img/000000002.png)
check "--lexicon-per-image: by path" in_set "$(head -1 <<<"$out")" alpha beta
check "--lexicon-per-image: by file name" in_set "$(tail -2 <<<"$out")" gamma delta
err=$(R --lexicon-per-image map.tsv img 2>&1 >/dev/null)
check "--lexicon-per-image: an unlisted image is named" has "$err" "000000005.png: no word list for it in map.tsv"
check "--lexicon-per-image: an unlisted image fails the run" [ "$(status R --lexicon-per-image map.tsv img)" == 1 ]

# margin and distance are accepted; the fallback keeps the free text when no word is close
out=$(R --lexicon words.txt --lexicon-margin 0 --lexicon-distance -1 img/000000000.png)
free=$(R img/000000000.png)
check "--lexicon-margin 0: a word or the free text" in_set "$out" Hotel "New York" cafe "$free"

# the character language model: by default the English one; off, a file, weights
out=$(R --json img/000000000.png 2>&1)
check "--lm en (the default): read, no note that it is missing" hasnt "$out" "reading without"
check "--lm off: read" quiet R --lm off img
check "--lm FILE: a word list of one's own" quiet R --lm words.txt --lm-weight 1 --lm-bonus 0 img
err=$(R --lm nowhere.txt img 2>&1 >/dev/null)
check "--lm a missing file: named" has "$err" "nowhere.txt"
check "--lm a missing file: fails" [ "$(status R --lm nowhere.txt img)" == 1 ]
printf 'a\0b\n' > binary.txt
check "--lm not a word list: named" has "$(R --lm binary.txt img 2>&1)" "binary.txt: not a word list"
check "--lm-weight -1: usage error" [ "$(status R --lm-weight -1 img)" == 2 ]
check "--lm-bonus x: usage error" [ "$(status R --lm-bonus x img)" == 2 ]
# a program copied alone carries the English list: the character model and --lexicon en
# work, with no note, and give what the program beside lexicons/en.txt gives
mkdir -p lonely/bin
cp "$OCR" lonely/bin/ocr-crnn
err=$(lonely/bin/ocr-crnn --model "$M" -q img/000000000.png 2>&1 >/dev/null)
check "copied alone: no note about the English list" same "$err" ""
check "copied alone: the same readings" same "$(lonely/bin/ocr-crnn --model "$M" -q img)" "$(R img)"
check "copied alone: --lexicon en" same "$(lonely/bin/ocr-crnn --model "$M" -q --lexicon en img)" \
    "$(R --lexicon en img)"

# --explain
check "--explain writes a PNG" quiet R --lexicon words.txt --explain ex.png img/000000000.png
check "--explain: PNG signature" [ "$(head -c 8 ex.png | od -An -tx1 | tr -d ' \n')" == 89504e470d0a1a0a ]

# errors
check "--beam 0: usage error" [ "$(status R --beam 0 img)" == 2 ]
check "--lexicon-margin -1: usage error" [ "$(status R --lexicon words.txt --lexicon-margin -1 img)" == 2 ]
check "--lexicon and --lexicon-per-image: usage error" [ "$(status R --lexicon words.txt --lexicon-per-image map.tsv img)" == 2 ]
check "--explain with a folder: usage error" [ "$(status R --explain x.png img)" == 2 ]
printf 'good\nba\xffd\n' > bad.txt
err=$(R --lexicon bad.txt img 2>&1)
check "a bad lexicon names file and line" has "$err" "bad.txt:2: not valid UTF-8"
check "a bad lexicon: exit 1" [ "$(status R --lexicon bad.txt img)" == 1 ]
check "a missing lexicon: exit 1" [ "$(status R --lexicon missing.txt img)" == 1 ]

echo "$((checks - fails)) passed, $fails failed"
[ "$fails" == 0 ]

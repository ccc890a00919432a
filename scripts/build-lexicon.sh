#!/bin/sh
# build-lexicon.sh — builds lexicons/en.txt, an English lexicon of 100,000 words, from Debian's
# SCOWL word lists, reproducibly (same packages in, same file out, byte for byte).
#
#   apt-get install wamerican wbritish wamerican-large wbritish-large
#   scripts/build-lexicon.sh [OUT]          (default lexicons/en.txt)
#
# The rule:
#   1. every word of the common lists (american-english ∪ british-english, SCOWL size 50);
#   2. filled up to 100,000 from the large lists (size 70): words in both the American and the
#      British large list first, then shorter words (in bytes) first, then byte order;
#   possessives ("'s") dropped everywhere, spelling and case kept as the lists write them
#   ("Paris", "paris" if both appear), duplicates merged; the result sorted in byte order.
# See lexicons/README.md for the licence and how to make other lexicons.
set -eu
out=${1:-lexicons/en.txt}
size=${LEXICON_SIZE:-100000}
dict=${DICT_DIR:-/usr/share/dict}
for f in american-english british-english american-english-large british-english-large; do
    if [ ! -r "$dict/$f" ]; then
        echo "build-lexicon: $dict/$f missing: apt-get install wamerican wbritish wamerican-large wbritish-large" >&2
        exit 1
    fi
done
export LC_ALL=C
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
words() { cat "$@" | grep -v "'s\$" | grep -v '^$' | sort -u; }
words "$dict/american-english" "$dict/british-english" > "$tmp/common"
words "$dict/american-english-large" > "$tmp/am"
words "$dict/british-english-large" > "$tmp/br"
# large-list words not yet in: key 0 = in both large lists, 1 = in one; then length in bytes
comm -12 "$tmp/am" "$tmp/br" > "$tmp/both"
comm -23 "$tmp/both" "$tmp/common" | awk '{ print 0, length($0), $0 }' > "$tmp/extra"
sort -u "$tmp/am" "$tmp/br" | comm -23 - "$tmp/both" | comm -23 - "$tmp/common" \
    | awk '{ print 1, length($0), $0 }' >> "$tmp/extra"
need=$((size - $(wc -l < "$tmp/common")))
if [ "$need" -lt 0 ]; then need=0; fi
sort -k1,1n -k2,2n -k3 "$tmp/extra" | head -n "$need" | cut -d' ' -f3- > "$tmp/fill"
version=$(dpkg-query -W -f='${Version}' wamerican 2>/dev/null || echo unknown)
{
    echo "# English lexicon for ocr-crnn: $size words, one per line."
    echo "# Built by scripts/build-lexicon.sh from Debian's SCOWL word lists (wamerican, wbritish,"
    echo "# wamerican-large, wbritish-large $version). Copyright 2000-2011 Kevin Atkinson and"
    echo "# others; permission to use, copy, modify, distribute and sell: see lexicons/README.md."
    sort -u "$tmp/common" "$tmp/fill"
} > "$out.tmp"
mv "$out.tmp" "$out"
# the word lists' copyright and permission notice travel with every copy
copying=$(dirname "$out")/COPYING.SCOWL
if [ -r /usr/share/doc/wamerican/copyright ]; then
    cp /usr/share/doc/wamerican/copyright "$copying"
fi
echo "build-lexicon: $(grep -vc '^#' "$out") words in $out"

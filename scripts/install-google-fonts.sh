#!/usr/bin/env bash
# install-google-fonts.sh — installs Google Fonts families for the synthetic generator from the
# npm registry (each @expo-google-fonts/<family> package ships the family's TTF files), then
# rewrites the font manifest to list them beside the Debian fonts.
#
# Usage: scripts/install-google-fonts.sh [DIR] [MANIFEST]
#   DIR       where the fonts go, one folder per family (default: fonts/google)
#   MANIFEST  the generator's font manifest to rewrite (default: fonts.manifest)
# Environment: JOBS (parallel downloads, default 8), MAX_STYLES (files kept per family,
# default 4: regular, bold, italic and one extreme weight), LIMIT (only the first N families,
# for a quick trial).
#
# The family list comes from @expo-google-fonts/dev (~2,000 families). A family is kept if its
# metadata lists the "latin" subset; others, and packages that fail to download, are skipped
# with a note in DIR/skipped.txt. Re-running only fetches families not done before (each done
# family leaves DIR/<family>/.done and its category in DIR/<family>/category, each skipped one
# a line in DIR/skipped.txt), so it is cheap.
# Needs node + npm (Debian: nodejs, npm; for the family list and the registry's address), curl
# and network access to the npm registry; the unit tests and CI do not need these fonts.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$here/fonts/google}
manifest=${2:-$here/fonts.manifest}
jobs=${JOBS:-8}
export MAX_STYLES=${MAX_STYLES:-4}
registry=$(npm config get registry 2>/dev/null || echo https://registry.npmjs.org/)
export registry=${registry%/}

for tool in npm node tar curl; do
    command -v "$tool" >/dev/null || { echo "install-google-fonts: $tool not found (apt-get install nodejs npm)" >&2; exit 1; }
done
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. The family list: identifiers such as "IBMPlexSans_400Regular" in the dev package, turned
# into package names the way the packages are named ("ibm-plex-sans": words and digit runs
# joined by dashes); where that guess fails, the identifier in lower case ("abeezee") and
# with only its digit runs split off ("adlam-display" is not guessable; it is skipped) are tried.
(cd "$work" && npm pack --silent @expo-google-fonts/dev >/dev/null 2>"$work/dev.err") || {
    echo "install-google-fonts: cannot fetch @expo-google-fonts/dev from the npm registry:" >&2
    cat "$work/dev.err" >&2
    exit 1
}
tar -xzf "$work"/expo-google-fonts-dev-*.tgz -C "$work" package/index.js
node -e '
const src = require("fs").readFileSync(process.argv[1], "utf8");
const ids = new Set();
for (const m of src.matchAll(/^export const ([A-Za-z0-9]+)_\d+[A-Za-z]+/gm)) ids.add(m[1]);
const kebab = (s) => s
  .replace(/([a-z])([A-Z])/g, "$1 $2")          // camelCase word boundary
  .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")    // IBMPlex -> IBM Plex
  .replace(/([A-Za-z])([0-9])/g, "$1 $2")       // Exo2 -> Exo 2
  .replace(/([0-9])([A-Z])/g, "$1 $2")
  .toLowerCase().trim().split(/\s+/).join("-");
const digits = (s) => s.replace(/([A-Za-z])([0-9])/g, "$1-$2").toLowerCase();
console.log([...ids].sort().map((id) =>
  [...new Set([kebab(id), id.toLowerCase(), digits(id)])].join(" ")).join("\n"));
' "$work/package/index.js" > "$work/families.txt"
if [ -n "${LIMIT:-}" ]; then head -n "$LIMIT" "$work/families.txt" > "$work/f" && mv "$work/f" "$work/families.txt"; fi
touch "$dir/skipped.txt"
todo=$(while read -r fam alts; do
    [ -e "$dir/$fam/.done" ] && [ -e "$dir/$fam/category" ] && continue
    grep -q "^$fam	" "$dir/skipped.txt" && continue
    echo "$fam${alts:+ $alts}"
done < "$work/families.txt")
echo "install-google-fonts: $(wc -l < "$work/families.txt") families listed, $(printf '%s' "$todo" | grep -c . || true) to fetch" >&2

# 2. One family: download its package, keep it only if it covers Latin, extract up to
# MAX_STYLES TTF files (regular, bold, italic, then the heaviest or lightest weight there is).
fetch_one() {
    names=$(echo $1) dir=$2 work=$3 # (echo: one space between names)
    fam=${names%% *}
    tmp="$work/$fam"
    mkdir -p "$tmp"
    skip() { printf '%s\t%s\n' "$fam" "$1" >> "$dir/skipped.txt"; echo "install-google-fonts: skipped $fam: $1" >&2; rm -rf "$tmp"; }
    got= tgz="$tmp/package.tgz"
    for name in $names; do
        # The registry's package document names the latest version; its tarball URL follows.
        version=$(curl -fsS --retry 2 "$registry/@expo-google-fonts%2f$name" 2>/dev/null |
                  sed -n 's/.*"dist-tags": *{[^}]*"latest": *"\([^"]*\)".*/\1/p' | head -n 1)
        [ -n "$version" ] || continue
        if curl -fsS --retry 2 -o "$tgz" "$registry/@expo-google-fonts/$name/-/$name-$version.tgz"; then
            got=$name; break
        fi
    done
    if [ -z "$got" ]; then skip "no npm package named ${names// / or } (or the download failed)"; return 0; fi
    if ! tar -xzf "$tgz" -C "$tmp" --wildcards 'package/metadata.json' '*.ttf' 2>/dev/null; then
        skip "package has no metadata.json or no TTF files"; return 0
    fi
    if ! tr -d ' \n' < "$tmp/package/metadata.json" | grep -q '"subsets":\[[^]]*"latin"'; then
        skip "no latin subset"; return 0
    fi
    # Google's own classification (sans-serif, serif, display, handwriting, monospace): the
    # manifest carries it, and the generator draws each kind about as often as signs use it.
    category=$(tr -d ' \n' < "$tmp/package/metadata.json" | sed -n 's/.*"category":"\([a-z-]*\)".*/\1/p')
    mkdir -p "$dir/$fam"
    # A running generator maps its font files: a file in place is replaced (new file, then
    # rename), never overwritten, or the generator would die of SIGBUS mid-run.
    put() { cp "$1" "$dir/$fam/.incoming" && mv -f "$dir/$fam/.incoming" "$dir/$fam/$(basename "$1")"; }
    echo "$category" > "$dir/$fam/category" # empty where the metadata names none
    n=0
    for style in 400Regular 700Bold 400Regular_Italic 900Black 800ExtraBold 300Light 100Thin; do
        [ "$n" -ge "$MAX_STYLES" ] && break
        f=$(find "$tmp/package" -name "*_$style.ttf" | LC_ALL=C sort | head -n 1)
        [ -n "$f" ] || continue
        put "$f"
        n=$((n + 1))
    done
    if [ "$n" = 0 ]; then # display faces with only odd weights: take the first file there is
        f=$(find "$tmp/package" -name "*.ttf" | LC_ALL=C sort | head -n 1)
        [ -n "$f" ] && put "$f" && n=1
    fi
    cp "$tmp/package/LICENSE_FONT" "$dir/$fam/" 2>/dev/null || true
    rm -rf "$tmp"
    if [ "$n" = 0 ]; then rmdir "$dir/$fam" 2>/dev/null; skip "no TTF file"; return 0; fi
    touch "$dir/$fam/.done"
}
export -f fetch_one
printf '%s\n' "$todo" | grep . | xargs -r -P "$jobs" -I{} bash -c 'fetch_one "$@"' _ {} "$dir" "$work" || true

# 3. The manifest: Debian fonts and these, as the generator reads them.
families=$(find "$dir" -mindepth 2 -maxdepth 2 -name .done | wc -l)
echo "install-google-fonts: $families families in $dir ($(wc -l < "$dir/skipped.txt") skipped, see $dir/skipped.txt)" >&2
SKIP_APT=1 EXTRA_FONT_DIRS="$dir" sh "$here/scripts/install-fonts.sh" "$manifest"

# 4. Families of which the generator can draw no file (no Latin letters in fact, symbols,
# unreadable outlines) are named; the generator skips them by itself.
bin=${OCR_CRNN:-$here/build/ocr-crnn}
if [ -x "$bin" ]; then
    "$bin" synth --list-fonts --fonts "$manifest" > "$work/accepted.txt"
    drawn=0
    for d in "$dir"/*/; do
        [ -e "$d/.done" ] || continue
        if grep -q "^${d%/}/" "$work/accepted.txt"; then drawn=$((drawn + 1));
        else echo "install-google-fonts: the generator draws none of $(basename "$d")'s files" >&2; fi
    done
    echo "install-google-fonts: the generator draws $drawn Google Fonts families ($(wc -l < "$work/accepted.txt") font files in all)" >&2
fi

#!/bin/sh
# install-fonts.sh — installs the Debian font packages the synthetic generator draws from
# (list: docs/synth.md; about 150 Latin families: sans, serif, slab, condensed, display,
# script/handwriting, monospace) and writes a font manifest, one usable font file per line.
#
# Usage: scripts/install-fonts.sh [MANIFEST]     (default MANIFEST: fonts.manifest)
# Safe to re-run: apt-get skips what is installed, the manifest is rewritten whole.
# Set SKIP_APT=1 to only rewrite the manifest. A line may carry the font's category after a
# tab (see below). The manifest also lists the fonts under
# fonts/google (scripts/install-google-fonts.sh) when that folder exists, and under the folders
# in EXTRA_FONT_DIRS (space-separated).
set -eu

manifest=${1:-fonts.manifest}

packages="
fonts-dejavu-core fonts-dejavu-extra fonts-liberation2 fonts-freefont-ttf fonts-urw-base35
fonts-open-sans fonts-roboto-unhinted fonts-lato fonts-cabin fonts-comfortaa
fonts-crosextra-caladea fonts-crosextra-carlito fonts-linuxlibertine fonts-adf-accanthis
fonts-adf-baskervald fonts-adf-berenis fonts-adf-gillius fonts-adf-ikarius fonts-adf-irianis
fonts-adf-libris fonts-adf-mekanus fonts-adf-oldania fonts-adf-romande fonts-adf-solothurn
fonts-adf-switzera fonts-adf-tribun fonts-adf-universalis fonts-adf-verana fonts-dustin
fonts-league-spartan fonts-bebas-neue fonts-beteckna fonts-blankenburg fonts-breip
fonts-dkg-handwriting fonts-femkeklaver fonts-humor-sans fonts-kristi fonts-lobstertwo
fonts-oldstandard fonts-quicksand fonts-radisnoir fonts-yanone-kaffeesatz
fonts-goudybookletter fonts-inter fonts-jura fonts-karla fonts-manrope fonts-ebgaramond
fonts-go fonts-hack fonts-inconsolata fonts-firacode fonts-averia-gwf fonts-averia-sans-gwf
fonts-averia-serif-gwf fonts-texgyre fonts-cantarell fonts-isabella fonts-gotico-antiqua
fonts-junicode fonts-sixtyfour fonts-f500 fonts-staypuft fonts-tomsontalks fonts-cabinsketch
fonts-b612 fonts-ecolier-court fonts-mplus fonts-paratype fonts-arkpandora
fonts-anonymous-pro fonts-mononoki fonts-agave fonts-jetbrains-mono fonts-fantasque-sans
fonts-noto-mono fonts-croscore fonts-play fonts-vollkorn
"

if [ "${SKIP_APT:-0}" != 1 ]; then
    if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; else SUDO=; fi
    export DEBIAN_FRONTEND=noninteractive
    # An old or empty package list makes apt-get fail to find packages; update once first.
    $SUDO apt-get update -qq || echo "install-fonts: apt-get update failed; trying the install anyway" >&2
    # shellcheck disable=SC2086  # word splitting of the list is intended
    $SUDO apt-get install -y --no-install-recommends $packages
fi

# The manifest lists TrueType/OpenType outline fonts (.ttf/.otf; stb_truetype reads both
# glyf and, for .otf, CFF outlines). Coverage of each glyph is checked by the generator
# itself when it loads a font, so a font without, say, digits is still listed here and just
# not used for words that need them. Sorted so the manifest is the same on every machine.
mkdir -p "$(dirname "$manifest")"
tmp="$manifest.tmp.$$"
google="$(cd "$(dirname "$0")/.." && pwd)/fonts/google"
[ -d "$google" ] || google=
# shellcheck disable=SC2086  # EXTRA_FONT_DIRS is a list
# A font whose folder holds a file `category` (Google Fonts families: sans-serif, serif,
# display, handwriting, monospace) gets it after a tab: the generator weighs kinds by it.
find /usr/share/fonts/truetype /usr/share/fonts/opentype $google ${EXTRA_FONT_DIRS:-} -type f \
     \( -iname '*.ttf' -o -iname '*.otf' \) 2>/dev/null | LC_ALL=C sort -u |
while IFS= read -r font; do
    category=$(head -n 1 "$(dirname "$font")/category" 2>/dev/null || true)
    if [ -n "$category" ]; then printf '%s\t%s\n' "$font" "$category"; else printf '%s\n' "$font"; fi
done > "$tmp"
mv "$tmp" "$manifest"
echo "install-fonts: $(wc -l < "$manifest") font files listed in $manifest"

#!/bin/sh
# install-backgrounds.sh — photographs for the synthetic generator's backgrounds, from Debian:
# desktop wallpapers (landscapes, water, sky, flowers, wood, city; mate-backgrounds,
# ukui-wallpapers, plasma-workspace-wallpapers), GIMP's texture patterns (brick, stone, marble,
# wood, bark, paper, fabric, water, sky; gimp-data) and OpenArena's wall, floor, metal and sky
# textures (openarena-081-textures). They are gathered under one folder to pass as
# `--backgrounds DIR` (or one --backgrounds per sub-folder): photos of walls, wood, metal and
# sky that carry no text, unlike street scenes.
#
# Usage: scripts/install-backgrounds.sh [DIR]      (default DIR: backgrounds, git-ignored)
# Set SKIP_APT=1 to skip the package installation (the packages must then be there already).
# Safe to re-run: the folder's files are rewritten from the installed packages.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/backgrounds}
packages="mate-backgrounds ukui-wallpapers plasma-workspace-wallpapers gimp-data openarena-081-textures python3"

if [ "${SKIP_APT:-0}" != 1 ]; then
    if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; else SUDO=; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq || echo "install-backgrounds: apt-get update failed; trying the install anyway" >&2
    # shellcheck disable=SC2086  # word splitting of the list is intended
    $SUDO apt-get install -y --no-install-recommends $packages
fi
mkdir -p "$out/wallpapers" "$out/textures"

# Wallpapers: every photo of the two small sets; of each Plasma wallpaper the smallest image
# (they come in many sizes of one picture). Abstract art is kept too: it is colour and texture.
n=0
for f in /usr/share/backgrounds/*.jpg /usr/share/backgrounds/*.png /usr/share/backgrounds/mate/*/*.jpg \
         /usr/share/backgrounds/mate/*/*.png; do
    [ -f "$f" ] || continue
    cp "$f" "$out/wallpapers/$(echo "${f#/usr/share/backgrounds/}" | tr '/' '_')"
    n=$((n + 1))
done
for d in /usr/share/wallpapers/*/contents/images; do
    [ -d "$d" ] || continue
    f=$(ls -S "$d" | tail -n 1)
    [ -n "$f" ] || continue
    name=$(basename "$(dirname "$(dirname "$d")")")
    cp "$d/$f" "$out/wallpapers/plasma_${name}.${f##*.}"
    n=$((n + 1))
done

# Textures: GIMP patterns (.pat: a header then raw pixels) become PPM files; OpenArena's JPEGs
# come out of their zip, leaving out lights, effects, fog, symbols, logos and decals (glow,
# flat colour or lettering).
python3 - "$out/textures" <<'PY'
import glob, os, struct, sys, zipfile
out = sys.argv[1]
n = 0
for path in sorted(glob.glob("/usr/share/gimp/2.0/patterns/*/*.pat")):
    data = open(path, "rb").read()
    if len(data) < 28 or data[20:24] != b"GPAT":
        continue
    header, version, w, h, bpp = struct.unpack(">5I", data[:20])
    if bpp not in (1, 3, 4) or w < 32 or h < 32:
        continue
    px = data[header:header + w * h * bpp]
    if len(px) < w * h * bpp:
        continue
    if bpp == 4:  # drop alpha
        px = b"".join(px[i:i + 3] for i in range(0, len(px), 4))
    kind, magic = ("pgm", b"P5") if bpp == 1 else ("ppm", b"P6")
    name = "gimp_" + os.path.splitext(os.path.basename(path))[0] + "." + kind
    with open(os.path.join(out, name), "wb") as f:
        f.write(magic + b"\n%d %d\n255\n" % (w, h) + px)
    n += 1
skip = ("light", "sfx", "fog", "flare", "symbol", "logo", "decal", "sign", "glow", "fx_", "portal",
        "banner", "font", "skin/", "jumppad", "tim/")
for pk3 in sorted(glob.glob("/usr/share/games/openarena/baseoa/*.pk3")):
    try:
        z = zipfile.ZipFile(pk3)
    except zipfile.BadZipFile:
        continue
    for name in sorted(z.namelist()):
        low = name.lower()
        if not low.endswith(".jpg") or not (low.startswith("textures/") or low.startswith("env/")):
            continue
        if any(s in low for s in skip):
            continue
        data = z.read(name)
        if len(data) < 4000:  # tiny tiles: flat colour
            continue
        with open(os.path.join(out, "oa_" + name.replace("/", "_")), "wb") as f:
            f.write(data)
        n += 1
print(f"install-backgrounds: {n} textures", file=sys.stderr)
PY
echo "install-backgrounds: $n wallpapers; pass --backgrounds $out/wallpapers --backgrounds $out/textures" >&2

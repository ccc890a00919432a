#!/usr/bin/env bash
# setup.sh — installs what ocr-crnn needs from Debian (build tools, OpenBLAS, stb, uthash,
# liblmdb, Open MPI, the word list, PyTorch for the parity tests, and the fonts of the synthetic
# generator), then builds into build/. Needs root (apt-get). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if [ "${SKIP_APT:-0}" != 1 ]; then
    apt-get update
    apt-get install -y --no-install-recommends $(cat scripts/deps.txt)
    sh scripts/install-fonts.sh fonts.manifest
fi
if [ ! -d build ]; then
    meson setup build --buildtype=release ${MESON_ARGS:-}
fi
ninja -C build

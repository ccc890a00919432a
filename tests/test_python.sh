#!/bin/bash
# test_python.sh PYTHON LIBCRNN REPO [SANITIZE] — the Python package's tests (python/tests,
# pytest) against the shared library just built. Exit 77 (skipped) where PYTHON lacks pytest
# (Debian: python3-pytest; python3-numpy for the array tests).
# SANITIZE: the build's sanitizers; an AddressSanitizer library can only be loaded into a
# Python that starts with the sanitizer's runtime, so it is preloaded, and leak detection is
# left off (the interpreter itself keeps memory until exit).
set -u
PY=$1
export OCR_CRNN_LIBRARY=$2
REPO=$3
SANITIZE=${4:-none}
"$PY" -c 'import pytest' 2>/dev/null || { echo "no pytest for $PY: skipped"; exit 77; }
export PYTHONPATH=$REPO/python PYTHONDONTWRITEBYTECODE=1
unset OCR_CRNN_MODEL
if [[ $SANITIZE == *address* ]]; then
    export LD_PRELOAD=$(${CC:-cc} -print-file-name=libasan.so)
    export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
fi
cd "$REPO" && exec "$PY" -m pytest -q -p no:cacheprovider python/tests

#!/bin/bash
# device-bundle.sh — packs what `ocr-crnn train` needs on a bare 16-core training machine into
# .dev/bundle.txz: such a machine has no Debian packages, no fonts, no ../shared, and only
# 64 MB of files travel to it.
#
#   scripts/device-bundle.sh SHARED_DATA RUN_CONF
#
#   SHARED_DATA  ../shared/data (real crops, backgrounds); runs/data must exist
#                (scripts/make-splits.sh SHARED_DATA runs/data)
#   RUN_CONF     the training configuration to run there. Its data/val TSVs are replaced by
#                the bundled copies, its fonts/backgrounds by the bundled ones, `init` by a
#                bundled copy, `threads` by 15, `run` by runs/dev.
#
# The bundle holds: ocr-crnn built for any x86-64-v3 CPU (AVX2, FMA) with the .so files it
# links (OpenBLAS, stb, lmdb, gfortran), at most three font files of at most 450 kB from each
# font package, the backgrounds, the real training and held-out crops, the configuration and
# go.sh, which trains for a given number of seconds and copies checkpoint, best model, log
# and CSV to $OUT. Add `.dev/` to .git/info/exclude; then, with the device tool:
#
#   run  carry [".dev/bundle.txz"]   command
#        mkdir -p .dev/run && tar xJf .dev/bundle.txz -C .dev/run && bash .dev/run/go.sh 540
#
# A machine is given back 30 s after a call: copy the returned checkpoint.bin into .dev/ckpt/
# and carry that folder too, with CKPT_IN=.dev/ckpt/checkpoint.bin before `bash`, so that a
# fresh machine resumes instead of starting over.
set -euo pipefail
shared=${1:?usage: device-bundle.sh SHARED_DATA RUN_CONF}
conf=${2:?usage: device-bundle.sh SHARED_DATA RUN_CONF}
[ -f runs/data/real-train.tsv ] && [ -f runs/data/iiit5k-heldout.tsv ] ||
    { echo "device-bundle: run scripts/make-splits.sh $shared runs/data first" >&2; exit 1; }
stage=.dev/stage
rm -rf "$stage" && mkdir -p "$stage"/{fonts,lib,bg,real}

# 1. The program, for the training machine's CPU rather than this one's (x86-64-v3: AVX2).
[ -d build-dev ] || meson setup build-dev --buildtype release -Dnative=false \
    -Dc_args=-march=x86-64-v3 >/dev/null
ninja -C build-dev ocr-crnn >/dev/null
cp build-dev/ocr-crnn "$stage/"
for lib in $(ldd build-dev/ocr-crnn | awk '/openblas|stb|lmdb|gfortran|quadmath/ {print $3}'); do
    cp -L "$lib" "$stage/lib/"
done

# 2. Fonts: a spread of each package's files, small ones only (the whole set is 175 MB).
python3 - "$stage" <<'PY'
import os, shutil, sys
stage = sys.argv[1]
picked = []
for top in ("truetype", "opentype"):
    root = os.path.join("/usr/share/fonts", top)
    for pkg in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        files = sorted(os.path.join(d, f) for d, _, fs in os.walk(os.path.join(root, pkg))
                       for f in fs if f.lower().endswith((".ttf", ".otf"))
                       and os.path.getsize(os.path.join(d, f)) <= 450_000)
        k = min(3, len(files))
        picked += [files[i * len(files) // k] for i in range(k)]
with open(os.path.join(stage, "fonts.txt"), "w") as manifest:
    for i, f in enumerate(picked):
        name = "%03d_%s" % (i, os.path.basename(f))
        shutil.copy(f, os.path.join(stage, "fonts", name))
        manifest.write(".dev/run/fonts/%s\n" % name)
print("device-bundle: %d font files" % len(picked))
PY

# 3. Data: copies of the crops under short names; TSV paths are relative to the TSV.
cp -r "$shared/backgrounds/." "$stage/bg/"
python3 - "$stage" <<'PY'
import os, shutil, sys
stage = sys.argv[1]
for src, tsv, sub in (("runs/data/real-train.tsv", "real-train.tsv", "train"),
                      ("runs/data/iiit5k-heldout.tsv", "heldout.tsv", "val")):
    os.makedirs(os.path.join(stage, "real", sub), exist_ok=True)
    base = os.path.dirname(src)
    with open(os.path.join(stage, tsv), "w") as out:
        for i, line in enumerate(open(src)):
            path, label = line.rstrip("\n").split("\t", 1)
            if not os.path.isabs(path):
                path = os.path.join(base, path)
            name = "real/%s/%05d%s" % (sub, i, os.path.splitext(path)[1])
            shutil.copy(path, os.path.join(stage, name))
            out.write("%s\t%s\n" % (name, label))
PY

# 4. The configuration, pointed at the bundled copies, with a replica per core but one (the
#    loader thread needs it).
grep -v -E '^(data [0-9.]*:runs/|val |fonts |backgrounds |run |init |threads )' "$conf" \
    >"$stage/dev.conf"
echo "threads 15" >>"$stage/dev.conf"
init=$(sed -n 's/^init //p' "$conf")
if [ -n "$init" ]; then
    cp "$init" "$stage/init.crnn"
    echo "init .dev/run/init.crnn" >>"$stage/dev.conf"
fi
real_share=$(sed -n 's/^data \([0-9.]*\):runs\/data\/real-train.tsv$/\1/p' "$conf")
[ -n "$real_share" ] && echo "data $real_share:.dev/run/real-train.tsv" >>"$stage/dev.conf"
cat >>"$stage/dev.conf" <<EOF
fonts .dev/run/fonts.txt
backgrounds .dev/run/bg/$(ls "$shared/backgrounds" | head -1)
val .dev/run/heldout.tsv
run runs/dev
EOF

cat >"$stage/go.sh" <<'EOF'
#!/bin/bash
# go.sh SECONDS — train for at most SECONDS on the training machine, resuming runs/dev (or the
# checkpoint named by CKPT_IN on a fresh machine); copies the results to $OUT.
secs=${1:?usage: go.sh SECONDS}
conf=.dev/run/dev.conf
export LD_LIBRARY_PATH=$PWD/.dev/run/lib
lscpu | grep -E "Model name|^CPU\(s\)"
.dev/run/ocr-crnn --version || exit 1
mkdir -p runs/dev
if [ -n "${CKPT_IN:-}" ] && [ ! -f runs/dev/checkpoint.bin ]; then cp "$CKPT_IN" runs/dev/; fi
res=""
[ -f runs/dev/checkpoint.bin ] && res=--resume
timeout -s INT "$secs" .dev/run/ocr-crnn train --config $conf $res >>runs/dev.log 2>&1
echo "train exit $?"
grep -E "validation at|done" runs/dev.log | tail -5
cp runs/dev/checkpoint.bin runs/dev/best.crnn runs/dev/log.csv runs/dev.log "$OUT"/ 2>/dev/null
ls -la "$OUT"
EOF
chmod +x "$stage/go.sh"
(cd "$stage" && tar cJf ../bundle.txz .)
size=$(stat -c %s .dev/bundle.txz)
echo "device-bundle: .dev/bundle.txz, $((size >> 20)) MB (the tracked tree travels too; 64 MB in all)"
[ "$size" -lt $((56 << 20)) ] || echo "device-bundle: warning: likely over the 64 MB limit" >&2

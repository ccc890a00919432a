#!/usr/bin/python3
"""learn-colours.py — learns the text/background colour pairs of real scene text for the
synthetic generator (as SynthText did from IIIT5K), and writes them as src/synth/palette.c.

    scripts/learn-colours.py [--k 128] [--out src/synth/palette.c] TSV...

Each TSV lists training crops (`path<TAB>label`, paths relative to the TSV, as
scripts/make-splits.sh writes them; use only sets allowed in training). Each crop is split
into two colour clusters (2-means in RGB); the cluster that holds most of the crop's border is
the background, the other the text. Crops where that is ambiguous (the border is mixed, the
text cluster is tiny or huge, the two colours nearly equal) are left out. The (text,
background) pairs are then clustered (k-means in 6-D) into K pairs, each with its share of
the crops and the spread of its members, which the generator samples. Needs Debian's
python3-numpy and python3-pil.
"""
import argparse
import os
import sys

import numpy as np
from PIL import Image


def crop_pair(path):
    """(text RGB, background RGB) of one crop, or None when the split is not clear."""
    try:
        im = Image.open(path).convert("RGB")
    except Exception as e:  # unreadable crops are reported and skipped
        print(f"learn-colours: skipping {path}: {e}", file=sys.stderr)
        return None
    w, h = im.size
    if h < 8 or w < 8:
        return None
    if h > 48:
        im = im.resize((max(8, round(w * 48 / h)), 48), Image.BILINEAR)
    px = np.asarray(im, dtype=np.float32)
    H, W, _ = px.shape
    flat = px.reshape(-1, 3)
    lum = flat @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    lo, hi = np.percentile(lum, 10), np.percentile(lum, 90)
    c = np.stack([flat[lum <= lo].mean(0), flat[lum >= hi].mean(0)])
    for _ in range(8):
        d = ((flat[:, None, :] - c[None]) ** 2).sum(-1)
        a = d.argmin(1)
        if a.min() == a.max():
            return None
        c = np.stack([flat[a == k].mean(0) for k in range(2)])
    a = a.reshape(H, W)
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    share1 = border.mean()
    if 0.25 < share1 < 0.75:
        return None  # the border is as much one colour as the other
    bg = int(share1 >= 0.5)
    text_frac = (a != bg).mean()
    if not 0.05 <= text_frac <= 0.6:
        return None
    # Robust colours: the half of each cluster nearest its centre (anti-aliased edges and
    # texture pull plain means towards each other).
    out = []
    for k in (1 - bg, bg):
        m = flat[a.reshape(-1) == k]
        d = ((m - c[k]) ** 2).sum(1)
        out.append(m[d <= np.median(d)].mean(0))
    if np.sqrt(((out[0] - out[1]) ** 2).sum()) < 25:
        return None
    return np.concatenate(out)


def kmeans(x, k, iters=25, seed=1):
    rng = np.random.default_rng(seed)
    c = x[rng.choice(len(x), k, replace=False)].copy()
    for _ in range(iters):
        d = ((x[:, None, :] - c[None]) ** 2).sum(-1)
        a = d.argmin(1)
        for j in range(k):
            m = x[a == j]
            c[j] = m.mean(0) if len(m) else x[rng.integers(len(x))]
    return c, a


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--k", type=int, default=128)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "src", "synth", "palette.c"))
    ap.add_argument("tsv", nargs="+")
    args = ap.parse_args()
    pairs, names, seen = [], [], 0
    for tsv in args.tsv:
        base = os.path.dirname(os.path.abspath(tsv))
        names.append(os.path.basename(tsv))
        for line in open(tsv, encoding="utf-8"):
            path = line.split("\t")[0].strip()
            if not path:
                continue
            seen += 1
            p = crop_pair(path if os.path.isabs(path) else os.path.join(base, path))
            if p is not None:
                pairs.append(p)
    if len(pairs) < args.k:
        sys.exit(f"learn-colours: only {len(pairs)} usable crops of {seen}; need at least {args.k}")
    x = np.array(pairs, dtype=np.float32)
    c, a = kmeans(x, args.k)
    rows = []
    for j in range(args.k):
        m = x[a == j]
        if not len(m):
            continue
        sd = float(np.sqrt(((m - c[j]) ** 2).mean())) if len(m) > 1 else 10.0
        rows.append((len(m), [int(round(v)) for v in np.clip(c[j], 0, 255)], min(sd, 60.0)))
    rows.sort(key=lambda r: -r[0])
    with open(args.out, "w") as f:
        f.write("/* palette.c — text/background colour pairs of real scene text, learned by\n"
                f"   scripts/learn-colours.py (k-means, K = {args.k}) from {len(pairs)} of {seen} real\n"
                f"   training crops ({', '.join(names)}).\n"
                "   Generated: re-run the script rather than editing. Each row: text RGB, background RGB,\n"
                "   how many crops it stands for, and the RMS spread of its members (RGB levels). */\n")
        f.write('#include "synth/internal.h"\n\n')
        f.write("const synth_colour_pair synth_palette[] = {\n")
        for n, v, sd in rows:
            f.write(f"    {{{{{v[0]}, {v[1]}, {v[2]}}}, {{{v[3]}, {v[4]}, {v[5]}}}, {n}, {sd:.1f}f}},\n")
        f.write("};\n\nconst int synth_palette_size = (int)(sizeof synth_palette / sizeof *synth_palette);\n")
    print(f"learn-colours: {len(pairs)} of {seen} crops used, {len(rows)} pairs written to {args.out}")


if __name__ == "__main__":
    main()

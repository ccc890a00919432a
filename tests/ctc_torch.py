#!/usr/bin/python3
"""ctc_torch.py — reference cases for checking ctc_loss (src/ctc/ctc.h) against PyTorch.

    ctc_torch.py OUTDIR                  write OUTDIR/ctc_cases.bin
    ctc_torch.py [OUTDIR] --check EXE    ... then run `EXE OUTDIR/ctc_cases.bin` and exit with
                                         its status (without OUTDIR a temporary folder is used)

Each case is a (T, C) array of float32 log-probabilities (a log-softmax of random logits), a
label sequence, and what torch.nn.functional.ctc_loss(reduction='sum', blank=0) makes of them,
computed in float64 from exactly those float32 values: the loss, and its gradient with respect
to the logits that entered the log-softmax (what ctc_loss's grad_logits holds: softmax minus
the posterior label occupancy). tests/test_ctc_torch.c feeds the same inputs to ctc_loss.

The cases: random ones, with labels drawn from few symbols so that repeats are common; "tight"
ones where T is exactly the minimum L + (number of equal neighbours); empty labels; a single
frame; C = 2; long sequences with confident predictions, wrong (probabilities that underflow
anything but log space) and right (a small loss, a gradient that cancels); and ones that cannot
be aligned (T below the minimum), where the loss is +inf.

ctc_cases.bin, little-endian:
    "CTCT", u32 n_cases, then per case:
    u32 T, u32 C, u32 L, u32 min_frames, i32 labels[L], f32 log_probs[T*C] (row-major by frame),
    f64 loss (+inf when the labels cannot be aligned), f64 grad_logits[T*C] (0 when infinite)

Exits 77 (meson's "skipped") if torch or numpy cannot be imported, unless CRNN_REQUIRE_TORCH=1.
"""

import argparse
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:
    if os.environ.get("CRNN_REQUIRE_TORCH") == "1":
        sys.exit(f"ctc_torch: {e}; install python3-torch and python3-numpy")
    print(f"ctc_torch: SKIP: {e} (Debian: /usr/bin/python3 with python3-torch)")
    sys.exit(77)

SEED = 20240601


def min_frames(labels):
    """L plus one separating blank for each pair of equal neighbours."""
    return len(labels) + sum(a == b for a, b in zip(labels, labels[1:]))


def torch_ctc(lp, labels):
    T = lp.shape[0]
    return F.ctc_loss(lp[:, None, :], torch.tensor(labels, dtype=torch.long),
                      torch.tensor([T]), torch.tensor([len(labels)]),
                      blank=0, reduction="sum", zero_infinity=False)


def reference(log_probs32, labels):
    """PyTorch's loss and d loss / d logits for one case, in float64."""
    T, C = log_probs32.shape
    lp = torch.tensor(log_probs32, dtype=torch.float64)
    # The loss of exactly the values ctc_loss sees.
    loss = torch_ctc(lp, labels).item()
    if not np.isfinite(loss):
        return float("inf"), np.zeros((T, C))
    # The gradient at the input of a log-softmax, taking the logits to be the log-probabilities
    # themselves: log_softmax leaves a normalised row unchanged (up to float32 rounding, far
    # below the tolerance). Going through autograd this way also makes the result independent
    # of what PyTorch's ctc_loss backward reports for log_probs alone (which already assumes a
    # log-softmax in front of it).
    logits = lp.clone().requires_grad_(True)
    torch_ctc(torch.log_softmax(logits, dim=1), labels).backward()
    return loss, logits.grad.numpy().copy()


def random_log_probs(rng, T, C, scale):
    """float32 log-softmax of normal logits; scale sets how confident the frames are."""
    z = rng.normal(0.0, scale, size=(T, C))
    lp = z - z.max(axis=1, keepdims=True)
    lp -= np.log(np.exp(lp).sum(axis=1, keepdims=True))
    return lp.astype(np.float32)


def random_labels(rng, L, C, symbols):
    """L labels from a pool of `symbols` classes (few symbols: many repeats)."""
    pool = rng.choice(np.arange(1, C), size=min(symbols, C - 1), replace=False)
    return [int(x) for x in rng.choice(pool, size=L)]


def random_alignment(rng, labels, T):
    """A frame path of length T that collapses to labels: runs of each label, blank runs
    between them (at least one between equal neighbours), extra frames spread at random."""
    runs = []  # [class, minimum length]
    for i, k in enumerate(labels):
        runs.append([0, 1 if i > 0 and labels[i - 1] == k else 0])
        runs.append([k, 1])
    runs.append([0, 0])
    lengths = [m for _, m in runs]
    for r in rng.integers(0, len(runs), size=T - sum(lengths)):
        lengths[r] += 1
    return [k for (k, _), n in zip(runs, lengths) for _ in range(n)]


def make_cases():
    rng = np.random.default_rng(SEED)
    cases = []  # (log_probs, labels)

    # Random: any T, labels that fit, frequent repeats.
    for _ in range(40):
        C = int(rng.integers(2, 12))
        T = int(rng.integers(1, 50))
        L = int(rng.integers(0, T + 1))
        labels = random_labels(rng, L, C, int(rng.integers(1, 4)))
        while min_frames(labels) > T:
            labels.pop()
        cases.append((random_log_probs(rng, T, C, rng.uniform(0.5, 4.0)), labels))

    # Tight: T is exactly L + repeats, so only a few alignments exist.
    for labels in ([1], [1, 1], [1, 1, 1], [2, 2, 3, 3], [1, 2, 1, 2], [3, 3, 3, 1, 3, 3],
                   [1, 2, 3, 4, 5], [4, 4, 2, 2, 2, 4]):
        C = max(labels) + 1 + int(rng.integers(0, 3))
        T = min_frames(labels)
        cases.append((random_log_probs(rng, T, C, 2.0), labels))
    for _ in range(10):
        C = int(rng.integers(2, 8))
        L = int(rng.integers(1, 12))
        labels = random_labels(rng, L, C, 2)
        cases.append((random_log_probs(rng, min_frames(labels), C, 2.0), labels))

    # Edges: empty labels (all blanks), a single frame, C = 2 (every label is a repeat).
    cases.append((random_log_probs(rng, 1, 5, 1.0), []))
    cases.append((random_log_probs(rng, 7, 5, 1.0), []))
    cases.append((random_log_probs(rng, 1, 5, 1.0), [3]))
    cases.append((random_log_probs(rng, 9, 2, 1.0), [1, 1, 1]))
    cases.append((random_log_probs(rng, 5, 2, 1.0), [1, 1, 1]))

    # Long and confident: probabilities far below float range in linear space.
    for T, scale in ((300, 8.0), (400, 15.0)):
        C = 20
        labels = random_labels(rng, 60, C, 5)
        cases.append((random_log_probs(rng, T, C, scale), labels))

    # Long, confident and right: the frames follow one alignment of the labels, so the loss is
    # small and the gradient is a difference of two numbers near 1.
    for T, boost in ((200, 6.0), (250, 12.0)):
        C = 30
        labels = random_labels(rng, 70, C, 6)
        path = random_alignment(rng, labels, T)
        z = rng.normal(0.0, 1.0, size=(T, C))
        z[np.arange(T), path] += boost
        z -= z.max(axis=1, keepdims=True)
        lp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        cases.append((lp.astype(np.float32), labels))

    # Cannot be aligned: T one frame short (repeats need their separating blank).
    cases.append((random_log_probs(rng, 2, 4, 1.0), [1, 1]))
    cases.append((random_log_probs(rng, 4, 6, 1.0), [2, 2, 3, 3]))
    cases.append((random_log_probs(rng, 3, 6, 1.0), [1, 2, 3, 4]))
    return cases


def generate(outdir):
    torch.set_num_threads(1)
    os.makedirs(outdir, exist_ok=True)
    cases = make_cases()
    out = bytearray(b"CTCT" + struct.pack("<I", len(cases)))
    for lp, labels in cases:
        T, C = lp.shape
        loss, grad = reference(lp, labels)
        out += struct.pack(f"<IIII{len(labels)}i", T, C, len(labels), min_frames(labels), *labels)
        out += lp.astype("<f4").tobytes()
        out += struct.pack("<d", loss)
        out += grad.astype("<f8").tobytes()
    path = os.path.join(outdir, "ctc_cases.bin")
    with open(path, "wb") as f:
        f.write(out)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", nargs="?", help="output folder (default: a temporary one)")
    ap.add_argument("--check", metavar="EXE",
                    help="run `EXE OUTDIR/ctc_cases.bin` afterwards and exit with its status")
    args = ap.parse_args()
    if args.outdir is None and args.check is None:
        ap.error("give OUTDIR, --check EXE, or both")
    if args.outdir is not None:
        path = generate(args.outdir)
        return subprocess.call([args.check, path]) if args.check else 0
    with tempfile.TemporaryDirectory(prefix="ctc_torch.") as tmp:
        return subprocess.call([args.check, generate(tmp)])


if __name__ == "__main__":
    sys.exit(main())

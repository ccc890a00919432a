#!/usr/bin/python3
"""crnn_numpy_ref.py — an independent check of torch_parity.py's output.

    crnn_numpy_ref.py DIR                 recompute every reference in DIR, report max |diff|
    crnn_numpy_ref.py DIR --mutate NAME   the same with one deliberate engine mistake, to show
                                          the references are sensitive to it (expect failures)

Reads the model files with its own parser written from docs/model-format.md (not
scripts/crnn_format.py) and runs the network in NumPy float64 from the document's description
alone: batch-norm folded as the document says, padding never winning a max-pool, features
c*H' + h, [forward; backward], PyTorch's gate equations. Agreement with the PyTorch references
shows that the files say what the document says they say, independently of the C engine.
"""

import struct
import sys
import zlib

import numpy as np

MUTATIONS = {
    "feature_order": "sequence features in the order h*C' + c",
    "pool_zero_pad": "max-pool padding with 0 instead of never winning",
    "no_bn": "batch-norm ignored",
    "bn_eps": "batch-norm eps 1e-3 instead of 1e-5",
    "lstm_gates_ifog": "LSTM gate order i, f, o, g",
    "gru_reset_after": "GRU candidate W_hn (r * h) instead of r * (W_hn h + b_hn)",
    "bidir_order": "bidirectional output [backward; forward]",
    "norm": "input v/255 without mean/std",
    "convrnn_rows": "convrnn frame features in the order ki*C + c",
    "convrnn_last": "convrnn right-to-left state taken after the last column",
}


def parse(data):
    """Returns (header dict, layers [(kind, p[8])], tensors {name: float64 array})."""
    assert data[:4] == b"CRNN", "magic"
    assert zlib.crc32(data[:-4]) == struct.unpack_from("<I", data, len(data) - 4)[0], "crc"
    ver, h, ch, mean, std, ncls, nlay, nten, mlen = struct.unpack_from("<IIIffIIII", data, 4)
    assert ver == 1
    pos = 40 + 4 * ncls + mlen
    layers = []
    for _ in range(nlay):
        kind, *p = struct.unpack_from("<I8i", data, pos)
        layers.append((kind, p))
        pos += 36
    tensors = {}
    for _ in range(nten):
        (n,) = struct.unpack_from("<I", data, pos)
        name = data[pos + 4:pos + 4 + n].decode("ascii")
        pos += 4 + n
        dtype, ndim = struct.unpack_from("<II", data, pos)
        dims = struct.unpack_from(f"<{ndim}I", data, pos + 8)
        pos += 8 + 4 * ndim
        count = int(np.prod(dims))
        np_type = "<f4" if dtype == 0 else "<f2"
        tensors[name] = np.frombuffer(data, np_type, count, pos).astype(np.float64).reshape(dims)
        pos += count * (4 if dtype == 0 else 2)
    assert pos == len(data) - 4, "trailing bytes"
    header = dict(height=h, channels=ch, mean=mean, std=std, classes=ncls)
    return header, layers, tensors


def conv2d(x, w, b, sh, sw, ph, pw):
    """x [C, H, W], w [O, C, kh, kw] -> [O, H', W'], zero padding."""
    _, kh, kw = w.shape[1:]
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    ho = (xp.shape[1] - kh) // sh + 1
    wo = (xp.shape[2] - kw) // sw + 1
    y = np.zeros((w.shape[0], ho, wo)) + b[:, None, None]
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
            y += np.einsum("oc,chw->ohw", w[:, :, i, j], patch)
    return y


def maxpool(x, kh, kw, sh, sw, ph, pw, pad_value):
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    ho = (xp.shape[1] - kh) // sh + 1
    wo = (xp.shape[2] - kw) // sw + 1
    y = np.full((x.shape[0], ho, wo), -np.inf)
    for i in range(kh):
        for j in range(kw):
            y = np.maximum(y, xp[:, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw])
    return y


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def lstm_dir(xs, t, prefix, reverse, mutate):
    w_ih, w_hh = t[prefix + "w_ih"], t[prefix + "w_hh"]
    b = t[prefix + "b_ih"] + t[prefix + "b_hh"]
    H = w_hh.shape[1]
    h, c = np.zeros(H), np.zeros(H)
    out = np.zeros((len(xs), H))
    for step in (reversed(range(len(xs))) if reverse else range(len(xs))):
        g = w_ih @ xs[step] + w_hh @ h + b
        if mutate == "lstm_gates_ifog":
            i, f, o, gg = (g[k * H:(k + 1) * H] for k in range(4))
        else:
            i, f, gg, o = (g[k * H:(k + 1) * H] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(gg)
        h = sigmoid(o) * np.tanh(c)
        out[step] = h
    return out


def gru_dir(xs, t, prefix, reverse, mutate):
    w_ih, w_hh, b_ih, b_hh = (t[prefix + k] for k in ("w_ih", "w_hh", "b_ih", "b_hh"))
    H = w_hh.shape[1]
    h = np.zeros(H)
    out = np.zeros((len(xs), H))
    for step in (reversed(range(len(xs))) if reverse else range(len(xs))):
        gi = w_ih @ xs[step] + b_ih
        gh = w_hh @ h + b_hh
        r = sigmoid(gi[:H] + gh[:H])
        z = sigmoid(gi[H:2 * H] + gh[H:2 * H])
        if mutate == "gru_reset_after":
            n = np.tanh(gi[2 * H:] + w_hh[2 * H:] @ (r * h) + b_hh[2 * H:])
        else:
            n = np.tanh(gi[2 * H:] + r * gh[2 * H:])
        h = (1 - z) * n + z * h
        out[step] = h
    return out


def convrnn(x, t, prefix, p, mutate):
    """The Convolutional RNN: each kh x kw window (zero padding) as kw frames, its columns left
    to right, of C*kh features (feature c*kh + ki); last states or the mean of the outputs."""
    hidden, kh, kw, sh, sw, ph, pw, flags = p
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    C = x.shape[0]
    ho = (xp.shape[1] - kh) // sh + 1
    wo = (xp.shape[2] - kw) // sw + 1
    run = lstm_dir if flags & 1 else gru_dir
    dirs = ("fwd.", "bwd.") if flags & 2 else ("fwd.",)
    y = np.zeros((hidden * len(dirs), ho, wo))
    for oy in range(ho):
        for ox in range(wo):
            win = xp[:, oy * sh:oy * sh + kh, ox * sw:ox * sw + kw]  # [C, kh, kw]
            order = (2, 1, 0) if mutate == "convrnn_rows" else (2, 0, 1)
            frames = win.transpose(order).reshape(kw, C * kh)
            for d, name in enumerate(dirs):
                out = run(frames, t, prefix + name, d == 1, mutate)
                if flags & 4:
                    v = out.mean(axis=0)
                else:
                    v = out[0] if d == 1 and mutate != "convrnn_last" else out[-1]
                y[d * hidden:(d + 1) * hidden, oy, ox] = v
    return y


def forward(model, img, mutate=None):
    header, layers, t = model
    x = img.astype(np.float64)[None] / 255.0
    if mutate != "norm":
        x = (x - header["mean"]) / header["std"]
    seq = None
    for i, (kind, p) in enumerate(layers):
        L = f"layer{i}."
        if kind == 1:
            w, b = t[L + "weight"], t[L + "bias"]
            if p[7] & 1 and mutate != "no_bn":
                eps = 1e-3 if mutate == "bn_eps" else 1e-5
                s = t[L + "bn_weight"] / np.sqrt(t[L + "bn_var"] + eps)
                w = w * s[:, None, None, None]
                b = (b - t[L + "bn_mean"]) * s + t[L + "bn_bias"]
            x = conv2d(x, w, b, *p[3:7])
            if p[7] & 2:
                x = np.maximum(x, 0)
        elif kind == 2:
            pad = 0.0 if mutate == "pool_zero_pad" else -np.inf
            x = maxpool(x, *p[:6], pad)
        elif kind == 6:
            x = convrnn(x, t, L, p, mutate)
        else:
            if seq is None:
                C, Hh, W = x.shape
                order = (2, 1, 0) if mutate == "feature_order" else (2, 0, 1)
                seq = x.transpose(order).reshape(W, C * Hh)
            if kind == 5:
                seq = seq @ t[L + "weight"].T + t[L + "bias"]
            else:
                run = lstm_dir if kind == 3 else gru_dir
                outs = [run(seq, t, L + "fwd.", False, mutate)]
                if p[1]:
                    outs.append(run(seq, t, L + "bwd.", True, mutate))
                    if mutate == "bidir_order":
                        outs.reverse()
                seq = np.concatenate(outs, axis=1)
    m = seq.max(axis=1, keepdims=True)
    return seq - m - np.log(np.exp(seq - m).sum(axis=1, keepdims=True))


def read_pgm(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, w, h, maxval = data.split(maxsplit=4)[:4]
    assert magic == b"P5" and maxval == b"255"
    return np.frombuffer(data[-int(w) * int(h):], np.uint8).reshape(int(h), int(w))


def read_lp(path):
    with open(path, "rb") as f:
        data = f.read()
    T, C = struct.unpack_from("<II", data)
    return np.frombuffer(data, "<f4", T * C, 8).reshape(T, C)


def main():
    d = sys.argv[1]
    mutate = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--mutate" else None
    if mutate is not None and mutate not in MUTATIONS:
        sys.exit(f"unknown mutation; one of {', '.join(MUTATIONS)}")
    worst_all, model = 0.0, None
    for line in open(f"{d}/manifest.txt"):
        f = line.split()
        if not f or f[0].startswith("#"):
            continue
        if f[0] == "model":
            model = parse(open(f"{d}/{f[1]}", "rb").read())
            name = f[1]
            continue
        img, ref = read_pgm(f"{d}/{f[1]}"), read_lp(f"{d}/{f[2]}")
        ours = forward(model, img, mutate)
        diff = np.abs(ours - ref).max() if ours.shape == ref.shape else np.inf
        worst_all = max(worst_all, diff)
        print(f"{name:14s} {f[1]:20s} T={ref.shape[0]:3d} C={ref.shape[1]:3d} "
              f"lp range [{ref.min():8.3f}, {ref.max():7.3f}]  max|diff| {diff:.3g}")
    print(f"worst {worst_all:.3g}" + (f" (mutation: {MUTATIONS[mutate]})" if mutate else ""))
    return 0 if worst_all <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())

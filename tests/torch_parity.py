#!/usr/bin/python3
"""torch_parity.py — reference data for checking the C engine against PyTorch.

    torch_parity.py OUTDIR                  write models, images and expected outputs
    torch_parity.py [OUTDIR] --check EXE    ... then run `EXE OUTDIR` and exit with its status
                                            (without OUTDIR a temporary folder is used)

Builds a few small random CRNNs in PyTorch (fixed seeds), writes each in the v1 model format
(docs/model-format.md, via scripts/crnn_format.py), writes grey test images as binary PGM and,
for each image, the log-probabilities PyTorch computes for it. tests/test_torch_parity.c runs the
same images through the C engine and compares.

The references are computed in float64 so that the only rounding error in a comparison is the
engine's own float32 error.

Output folder:
    manifest.txt        "model FILE INPUT_HEIGHT N_CLASSES" lines, each followed by its
                        "image PGM_FILE LP_FILE WIDTH" lines
    NAME.crnn           model
    NAME_wW.pgm         image of the model's input height and width W (P5, maxval 255)
    NAME_wW.lp          u32 T, u32 C (little-endian), then T*C float32 log-probabilities,
                        row-major by frame

Exits 77 (meson's "skipped") if torch or numpy cannot be imported, unless CRNN_REQUIRE_TORCH=1
is set in the environment, as CI should, so that a missing python3-torch cannot pass silently.
"""

import argparse
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))

try:
    import numpy as np
    import torch
    from torch import nn

    import crnn_format as cf  # needs numpy
except ImportError as e:
    if os.environ.get("CRNN_REQUIRE_TORCH") == "1":
        sys.exit(f"torch_parity: {e}; install python3-torch and python3-numpy")
    print(f"torch_parity: SKIP: {e} (Debian: /usr/bin/python3 with python3-torch)")
    sys.exit(77)


RNN_SCALE = 2.0        # times PyTorch's default recurrent initialisation
LINEAR_GAIN = 1.0      # weight std = gain / sqrt(in_features)
CLASSIFIER_GAIN = 8.0  # the same for the last layer


class TorchConvRNN(nn.Module):
    """The Convolutional RNN as docs/model-format.md defines it: every kh x kw window (zero
    padding) read as kw frames, its columns left to right, of C*kh features (feature c*kh + ki);
    a PyTorch LSTM or GRU over each window from a zero state; each direction's last hidden
    state (the reverse one's after the first column) or the mean of its outputs."""

    def __init__(self, channels, p):
        super().__init__()
        self.hidden, self.kh, self.kw, sh, sw, ph, pw, flags = p
        self.stride, self.pad = (sh, sw), (ph, pw)
        self.bidir, self.mean = bool(flags & cf.CONVRNN_BIDIR), bool(flags & cf.CONVRNN_MEAN)
        rnn = nn.LSTM if flags & cf.CONVRNN_LSTM else nn.GRU
        self.rnn = rnn(channels * self.kh, self.hidden, bidirectional=self.bidir, batch_first=True)

    def forward(self, x):
        n, c, h, w = x.shape
        oh = cf.conv_out_size(h, self.kh, self.stride[0], self.pad[0])
        ow = cf.conv_out_size(w, self.kw, self.stride[1], self.pad[1])
        cols = nn.functional.unfold(x, (self.kh, self.kw), padding=self.pad, stride=self.stride)
        # (n, c*kh*kw, L) with index (c, ki, kj) -> frames (n*L, kw, c*kh), feature c*kh + ki
        frames = cols.reshape(n, c, self.kh, self.kw, oh * ow).permute(0, 4, 3, 1, 2)
        frames = frames.reshape(n * oh * ow, self.kw, c * self.kh)
        out, _ = self.rnn(frames)  # (windows, kw, dirs*H)
        H = self.hidden
        if self.mean:
            y = out.mean(dim=1)
        elif self.bidir:
            y = torch.cat([out[:, -1, :H], out[:, 0, H:]], dim=1)
        else:
            y = out[:, -1, :]
        return y.reshape(n, oh, ow, -1).permute(0, 3, 1, 2)


class TorchCRNN(nn.Module):
    """A PyTorch network built from the same layer list that is written to the file."""

    def __init__(self, spec):
        super().__init__()
        self.cnn = nn.ModuleList()
        self.seq = nn.ModuleList()
        channels, height, features = spec.input_channels, spec.input_height, None
        for layer in spec.layers:
            p = layer.params
            if layer.kind == cf.CONV2D:
                out, kh, kw, sh, sw, ph, pw, flags = p
                groups = channels if flags & cf.FLAG_DEPTHWISE else 1
                parts = [nn.Conv2d(channels, out, (kh, kw), (sh, sw), (ph, pw), groups=groups)]
                if flags & cf.FLAG_BN:
                    parts.append(nn.BatchNorm2d(out, eps=cf.BN_EPS))
                if flags & cf.FLAG_RELU:
                    parts.append(nn.ReLU())
                self.cnn.append(nn.Sequential(*parts))
                channels = out
                height = cf.conv_out_size(height, kh, sh, ph)
            elif layer.kind == cf.MAXPOOL:
                kh, kw, sh, sw, ph, pw = p[:6]
                # PyTorch pads max-pooling with -inf, so padding never wins, as the format says.
                self.cnn.append(nn.MaxPool2d((kh, kw), (sh, sw), (ph, pw)))
                height = cf.conv_out_size(height, kh, sh, ph)
            elif layer.kind == cf.CONVRNN:
                self.cnn.append(TorchConvRNN(channels, p))
                channels = p[0] * (2 if p[7] & cf.CONVRNN_BIDIR else 1)
                height = cf.conv_out_size(height, p[1], p[3], p[5])
            else:
                if features is None:
                    features = channels * height
                if layer.kind == cf.LINEAR:
                    self.seq.append(nn.Linear(features, p[0]))
                    features = p[0]
                else:
                    rnn = nn.LSTM if layer.kind == cf.LSTM else nn.GRU
                    self.seq.append(rnn(features, p[0], bidirectional=bool(p[1])))
                    features = p[0] * (2 if p[1] else 1)

    def forward(self, x):
        """x: [N, C, H, W] normalised input -> [T, N, classes] log-probabilities."""
        for m in self.cnn:
            x = m(x)
        n, c, h, w = x.shape
        # Column t becomes one sequence step; feature index c*H' + h as the format says.
        x = x.permute(3, 0, 1, 2).reshape(w, n, c * h)
        for m in self.seq:
            x = m(x)[0] if isinstance(m, nn.RNNBase) else m(x)
        return torch.log_softmax(x, dim=2)


def randomise(net, half):
    """Re-initialises the network so that it makes a demanding test. PyTorch's default
    initialisation shrinks the signal layer by layer, leaving log-probabilities that barely
    depend on the input and sit near -log(C), where many engine mistakes would hide. So: He
    initialisation for convolutions (the signal keeps its scale through ReLUs), non-trivial
    batch-norm statistics and affine parameters (a mis-folded or ignored batch-norm shows),
    recurrent weights large enough for the gates to leave their linear range, and a classifier
    whose logits spread over several nats."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                m.bias.uniform_(-0.2, 0.2)
            elif isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.4, 1.6)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
            elif isinstance(m, nn.RNNBase):
                for t in m.parameters():
                    t.mul_(RNN_SCALE)
            elif isinstance(m, nn.Linear):
                gain = CLASSIFIER_GAIN if m is net.seq[-1] else LINEAR_GAIN
                nn.init.normal_(m.weight, 0.0, gain / m.in_features ** 0.5)
                m.bias.uniform_(-0.5, 0.5)
        if half:
            # The f16 model computes with exactly the values its file holds.
            for t in list(net.parameters()) + list(net.buffers()):
                if t.is_floating_point():
                    t.copy_(t.half().float())
    net.eval()


def export_tensors(net, spec, half):
    """Maps the PyTorch parameters to the format's tensor names."""
    out = {}
    cnn, seq = iter(net.cnn), iter(net.seq)

    def arr(t):
        a = t.detach().cpu().numpy()
        return a.astype(np.float16) if half else a.astype(np.float32)

    for i, layer in enumerate(spec.layers):
        L = f"layer{i}"
        if layer.kind == cf.CONV2D:
            block = next(cnn)
            conv = block[0]
            out[f"{L}.weight"], out[f"{L}.bias"] = arr(conv.weight), arr(conv.bias)
            if layer.params[7] & cf.FLAG_BN:
                bn = block[1]
                out[f"{L}.bn_weight"], out[f"{L}.bn_bias"] = arr(bn.weight), arr(bn.bias)
                out[f"{L}.bn_mean"], out[f"{L}.bn_var"] = arr(bn.running_mean), arr(bn.running_var)
        elif layer.kind == cf.MAXPOOL:
            next(cnn)
        elif layer.kind == cf.CONVRNN:
            rnn = next(cnn).rnn
            for d, suffix in (("fwd", ""), ("bwd", "_reverse"))[: 2 if rnn.bidirectional else 1]:
                for ours, theirs in (("w_ih", "weight_ih"), ("w_hh", "weight_hh"),
                                     ("b_ih", "bias_ih"), ("b_hh", "bias_hh")):
                    out[f"{L}.{d}.{ours}"] = arr(getattr(rnn, f"{theirs}_l0{suffix}"))
        elif layer.kind == cf.LINEAR:
            lin = next(seq)
            out[f"{L}.weight"], out[f"{L}.bias"] = arr(lin.weight), arr(lin.bias)
        else:
            rnn = next(seq)
            for d, suffix in (("fwd", ""), ("bwd", "_reverse"))[: 2 if layer.params[1] else 1]:
                for ours, theirs in (("w_ih", "weight_ih"), ("w_hh", "weight_hh"),
                                     ("b_ih", "bias_ih"), ("b_hh", "bias_hh")):
                    out[f"{L}.{d}.{ours}"] = arr(getattr(rnn, f"{theirs}_l0{suffix}"))
    return out


def make_image(rng, height, width):
    """A grey image with some structure: a gradient, dark strokes and noise, so that every
    column differs and the whole 0..255 range occurs."""
    y, x = np.mgrid[0:height, 0:width]
    img = 180 + 60 * np.sin(x / 5.0 + y / 7.0)
    for _ in range(max(1, width // 8)):
        x0 = rng.integers(0, width)
        w = rng.integers(1, 4)
        y0, y1 = sorted(rng.integers(0, height, size=2))
        img[y0:y1 + 1, x0:x0 + w] = rng.integers(0, 60)
    img += rng.normal(0, 25, size=img.shape)
    img[0, 0], img[-1, -1] = 0, 255
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def write_pgm(path, img):
    h, w = img.shape
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (w, h))
        f.write(img.tobytes())


def write_lp(path, lp):
    T, C = lp.shape
    with open(path, "wb") as f:
        f.write(struct.pack("<II", T, C))
        f.write(lp.astype("<f4").tobytes())


def charset(symbols):
    return [0] + [ord(s) for s in symbols]


# The test models. Each exercises something the others do not; see the comments.
MODELS = [
    # (a) The CRNN paper's shape, shrunk: 3x3 conv + BN + ReLU, 2x2 pools, the paper's
    # width-keeping pools (2x2 with stride (2,1) and padding (0,1), and 2x1 with stride (2,1)),
    # a final 2x2 valid conv down to one row, two BiLSTMs and the classifier.
    dict(name="a_paper", seed=1, half=False, widths=[13, 37, 64, 101],
         model=cf.Model(
             input_height=32, norm_mean=0.5, norm_std=0.5,
             charset=charset("0123456789abcdefghijklmnopqrstuvwxyz"),
             metadata="torch_parity a_paper",
             layers=[
                 cf.conv2d(8, 3, 3, 1, 1, 1, 1, bn=True),
                 cf.maxpool(2, 2, 2, 2),
                 cf.conv2d(12, 3, 3, 1, 1, 1, 1, bn=True),
                 cf.maxpool(2, 2, 2, 2),
                 cf.conv2d(16, 3, 3, 1, 1, 1, 1, bn=True),
                 cf.conv2d(16, 3, 3, 1, 1, 1, 1, bn=True),
                 cf.maxpool(2, 2, 2, 1, 0, 1),
                 cf.conv2d(24, 3, 3, 1, 1, 1, 1, bn=True),
                 cf.conv2d(24, 3, 3, 1, 1, 1, 1, bn=True),
                 cf.maxpool(2, 1, 2, 1),
                 cf.conv2d(24, 2, 2, 1, 1, 0, 0, bn=True),
                 cf.lstm(16, bidirectional=True),
                 cf.lstm(16, bidirectional=True),
                 cf.linear(37),
             ], tensors={})),
    # (b) GRUs (one bidirectional, one not), non-square kernels, strides and padding, convs
    # without BN and without ReLU. The BN-only conv feeds a pool padded on both axes: its
    # negative outputs would lose to zero padding if the engine padded pools with 0.
    dict(name="b_gru", seed=2, half=False, widths=[5, 37, 64, 100],
         model=cf.Model(
             input_height=16, norm_mean=0.4, norm_std=0.25,
             charset=charset("-+*/=.,:;?"),
             metadata="torch_parity b_gru",
             layers=[
                 cf.conv2d(6, 3, 5, 1, 1, 1, 2, bn=False, relu=True),
                 cf.conv2d(8, 3, 3, 2, 1, 1, 1, bn=True, relu=False),
                 cf.maxpool(3, 3, 2, 2, 1, 1),
                 cf.conv2d(10, 2, 3, 1, 2, 0, 1, bn=False, relu=True),
                 cf.conv2d(12, 3, 1, 1, 1, 0, 0, bn=False, relu=False),
                 cf.gru(12, bidirectional=True),
                 cf.gru(10, bidirectional=False),
                 cf.linear(11),
             ], tensors={})),
    # (c) The CNN ends with H' = 3 rows of C' = 8 channels, so the sequence features are
    # C'*H' = 24 in the order c*H' + h; the first sequence layer is a linear one.
    dict(name="c_tall", seed=3, half=False, widths=[9, 37, 64, 101],
         model=cf.Model(
             input_height=24, norm_mean=0.5, norm_std=0.3,
             charset=charset("ABCDEFGHIJKLMNOPQRS"),
             metadata="torch_parity c_tall",
             layers=[
                 cf.conv2d(6, 3, 3, 1, 1, 1, 1, bn=True),
                 cf.maxpool(2, 2, 2, 2),
                 cf.conv2d(8, 3, 3, 2, 1, 1, 1, bn=False),
                 cf.maxpool(2, 2, 2, 1, 0, 1),
                 cf.linear(20),
                 cf.lstm(8, bidirectional=True),
                 cf.lstm(6, bidirectional=False),
                 cf.linear(20),
             ], tensors={})),
    # (d) Every tensor stored as f16; the smallest input height; H' = 2; non-ASCII classes;
    # normalisation far from the usual (0.5, 0.5).
    dict(name="d_half", seed=4, half=True, widths=[3, 8, 37, 64],
         model=cf.Model(
             input_height=8, norm_mean=0.2, norm_std=0.7,
             charset=charset("é€中ß😀Ω"),
             metadata="torch_parity d_half",
             layers=[
                 cf.conv2d(4, 3, 3, 1, 1, 1, 1, bn=True),
                 cf.maxpool(2, 2, 2, 2),
                 cf.conv2d(6, 3, 3, 1, 1, 0, 1, bn=True),
                 cf.gru(5, bidirectional=True),
                 cf.linear(7),
             ], tensors={})),
    # (e) The Convolutional RNN: on a map (bidirectional GRU, 3x3 windows, last states, a
    # stride), then as tall as the map on the column sequence (LSTM, 3 columns, the mean of its
    # outputs, width kept by padding), a one-direction GRU with asymmetric padding, and one
    # with windows taller than wide and a horizontal stride.
    dict(name="e_convrnn", seed=5, half=False, widths=[6, 23, 64],
         model=cf.Model(
             input_height=16, norm_mean=0.5, norm_std=0.5,
             charset=charset("abcdefgh"),
             metadata="torch_parity e_convrnn",
             layers=[
                 cf.conv2d(4, 3, 3, 1, 1, 1, 1, bn=True),
                 cf.convrnn(5, 3, 3, 1, 1, 1, 1, lstm=False, bidirectional=True),
                 cf.maxpool(2, 2, 2, 2),
                 cf.convrnn(4, 3, 2, 1, 1, 0, 1, lstm=False, bidirectional=False),
                 cf.convrnn(6, 4, 2, 2, 2, 1, 0, lstm=True, bidirectional=True, mean=True),
                 cf.convrnn(7, 3, 3, 1, 1, 0, 1, lstm=True, bidirectional=False, mean=True),
                 cf.gru(6, bidirectional=True),
                 cf.linear(9),
             ], tensors={})),
    # (f) Depthwise-separable blocks as MobileNet and PP-LCNet build them: a depthwise 3x3 with
    # BN and ReLU, then a pointwise 1x1; one depthwise conv strided (2, 1) and without ReLU,
    # one without BN with a wide kernel, and the CRNN pools between them.
    dict(name="f_depthwise", seed=6, half=False, widths=[7, 29, 64, 101],
         model=cf.Model(
             input_height=16, norm_mean=0.5, norm_std=0.5,
             charset=charset("0123456789"),
             metadata="torch_parity f_depthwise",
             layers=[
                 cf.conv2d(6, 3, 3, 1, 1, 1, 1, bn=True),
                 cf.conv2d(6, 3, 3, 1, 1, 1, 1, bn=True, depthwise=True),
                 cf.conv2d(10, 1, 1, 1, 1, 0, 0, bn=True),
                 cf.maxpool(2, 2, 2, 2),
                 cf.conv2d(10, 3, 3, 2, 1, 1, 1, bn=True, relu=False, depthwise=True),
                 cf.conv2d(12, 1, 1, 1, 1, 0, 0, bn=True),
                 cf.maxpool(2, 2, 2, 1, 0, 1),
                 cf.conv2d(12, 1, 5, 1, 1, 0, 2, bn=False, depthwise=True),
                 cf.conv2d(14, 2, 1, 1, 1, 0, 0, bn=True),
                 cf.lstm(10, bidirectional=True),
                 cf.linear(11),
             ], tensors={})),
]


def normalise(img, spec):
    """The engine's input mapping, (v/255 - mean)/std, with mean and std as the file stores them
    (f32), evaluated in float64."""
    mean = float(np.float32(spec.norm_mean))
    std = float(np.float32(spec.norm_std))
    return (img.astype(np.float64) / 255.0 - mean) / std


def generate(outdir):
    torch.set_num_threads(1)  # small models; keep the shared machine light
    os.makedirs(outdir, exist_ok=True)
    manifest = ["# torch_parity.py output; see the docstring there for the layout"]
    for entry in MODELS:
        name, spec, half = entry["name"], entry["model"], entry["half"]
        torch.manual_seed(entry["seed"])
        rng = np.random.default_rng(entry["seed"])
        net = TorchCRNN(spec)
        randomise(net, half)
        spec.tensors = export_tensors(net, spec, half)
        cf.write_model(os.path.join(outdir, name + ".crnn"), spec)
        manifest.append(f"model {name}.crnn {spec.input_height} {spec.n_classes}")
        net = net.double()
        for width in entry["widths"]:
            img = make_image(rng, spec.input_height, width)
            x = torch.from_numpy(normalise(img, spec))[None, None]
            with torch.no_grad():
                lp = net(x)[:, 0, :].numpy()
            if lp.shape[0] < 1:
                raise SystemExit(f"{name}: width {width} gives no output column")
            base = f"{name}_w{width}"
            write_pgm(os.path.join(outdir, base + ".pgm"), img)
            write_lp(os.path.join(outdir, base + ".lp"), lp)
            manifest.append(f"image {base}.pgm {base}.lp {width}")
    with open(os.path.join(outdir, "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", nargs="?", help="output folder (default: a temporary one)")
    ap.add_argument("--check", metavar="EXE",
                    help="run `EXE OUTDIR` afterwards and exit with its status")
    args = ap.parse_args()
    if args.outdir is None and args.check is None:
        ap.error("give OUTDIR, --check EXE, or both")
    if args.outdir is not None:
        generate(args.outdir)
        return subprocess.call([args.check, args.outdir]) if args.check else 0
    with tempfile.TemporaryDirectory(prefix="torch_parity.") as tmp:
        generate(tmp)
        return subprocess.call([args.check, tmp])


if __name__ == "__main__":
    sys.exit(main())

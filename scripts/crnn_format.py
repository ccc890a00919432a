"""crnn_format — write and read ocr-crnn model files, format version 1.

The byte layout is specified in docs/model-format.md; this module follows it field by field
and is the Python side's single implementation of it (the parity tests use it, and trainer-side
tools may too). It depends only on NumPy.

    import crnn_format as cf
    layers = [cf.conv2d(64, 3, 3, pad_h=1, pad_w=1, bn=True), cf.maxpool(2, 2, 2, 2),
              ..., cf.lstm(256, bidirectional=True), cf.linear(n_classes)]
    model = cf.Model(input_height=32, charset=[0] + [ord(c) for c in "abc"],
                     layers=layers, tensors={"layer0.weight": w, ...})
    cf.write_model("m.crnn", model)          # validates names and shapes first
    again = cf.read_model("m.crnn")

Tensors are NumPy arrays; float16 arrays are stored as f16 (dtype 1), anything else as f32.
"""

import struct
import zlib
from dataclasses import dataclass

import numpy as np

MAGIC = b"CRNN"
VERSION = 1

# Layer kinds (the u32 `kind` field).
CONV2D, MAXPOOL, LSTM, GRU, LINEAR, CONVRNN = 1, 2, 3, 4, 5, 6
KIND_NAMES = {CONV2D: "conv2d", MAXPOOL: "maxpool", LSTM: "lstm", GRU: "gru", LINEAR: "linear",
              CONVRNN: "convrnn"}

# conv2d flags (p[7]).
FLAG_BN = 1
FLAG_RELU = 2
FLAG_DEPTHWISE = 4  # each channel its own kernel: out = in, weight [out, 1, kh, kw]
BN_EPS = 1e-5

# convrnn flags (p[7]).
CONVRNN_LSTM = 1
CONVRNN_BIDIR = 2
CONVRNN_MEAN = 4

# Tensor dtypes.
DTYPE_F32, DTYPE_F16 = 0, 1

# Limits from the format document; the writer refuses what the loader would refuse.
MIN_INPUT_HEIGHT, MAX_INPUT_HEIGHT = 8, 256
MAX_CLASSES = 65536
MAX_LAYERS = 64
MAX_TENSORS = 1024
MAX_META_LEN = 65536
MAX_NAME_LEN = 63
MAX_NDIM = 4


class FormatError(ValueError):
    """A model that does not follow docs/model-format.md."""


@dataclass(frozen=True)
class Layer:
    kind: int
    params: tuple  # exactly 8 ints, unused entries 0

    def __post_init__(self):
        if self.kind not in KIND_NAMES:
            raise FormatError(f"unknown layer kind {self.kind}")
        if len(self.params) != 8:
            raise FormatError("a layer has exactly 8 parameters")

    @property
    def name(self):
        return KIND_NAMES[self.kind]


def conv2d(out_channels, kh, kw, stride_h=1, stride_w=1, pad_h=0, pad_w=0, bn=False, relu=True,
           depthwise=False):
    """depthwise: PyTorch's Conv2d with groups = in_channels = out_channels."""
    flags = (FLAG_BN if bn else 0) | (FLAG_RELU if relu else 0) | (FLAG_DEPTHWISE if depthwise else 0)
    return Layer(CONV2D, (out_channels, kh, kw, stride_h, stride_w, pad_h, pad_w, flags))


def maxpool(kh, kw, stride_h, stride_w, pad_h=0, pad_w=0):
    return Layer(MAXPOOL, (kh, kw, stride_h, stride_w, pad_h, pad_w, 0, 0))


def lstm(hidden, bidirectional=True):
    return Layer(LSTM, (hidden, int(bool(bidirectional)), 0, 0, 0, 0, 0, 0))


def gru(hidden, bidirectional=True):
    return Layer(GRU, (hidden, int(bool(bidirectional)), 0, 0, 0, 0, 0, 0))


def convrnn(hidden, kh, kw, stride_h=1, stride_w=1, pad_h=0, pad_w=0, lstm=False,
            bidirectional=False, mean=False):
    """The Convolutional RNN (Keren & Schuller 2016): each kh x kw window read column by column
    by an LSTM or GRU of `hidden` units; its last state (or the mean of its outputs) out."""
    flags = ((CONVRNN_LSTM if lstm else 0) | (CONVRNN_BIDIR if bidirectional else 0) |
             (CONVRNN_MEAN if mean else 0))
    return Layer(CONVRNN, (hidden, kh, kw, stride_h, stride_w, pad_h, pad_w, flags))


def linear(out):
    return Layer(LINEAR, (out, 0, 0, 0, 0, 0, 0, 0))


@dataclass
class Model:
    input_height: int
    charset: list  # code points; entry 0 is the CTC blank and must be 0
    layers: list
    tensors: dict  # name -> np.ndarray
    input_channels: int = 1
    norm_mean: float = 0.5
    norm_std: float = 0.5
    metadata: str = ""

    @property
    def n_classes(self):
        return len(self.charset)


def conv_out_size(n, k, stride, pad):
    """Spatial output size of a conv or pool along one axis (may be <= 0: no output)."""
    return (n + 2 * pad - k) // stride + 1


def _check_layer_params(i, layer):
    p = layer.params
    where = f"layer {i} ({layer.name})"
    if layer.kind == CONV2D:
        out, kh, kw, sh, sw, ph, pw, flags = p
        if out < 1 or kh < 1 or kw < 1 or sh < 1 or sw < 1 or ph < 0 or pw < 0:
            raise FormatError(f"{where}: sizes must be positive, padding non-negative")
        if flags & ~(FLAG_BN | FLAG_RELU | FLAG_DEPTHWISE):
            raise FormatError(f"{where}: unknown flag bits {flags:#x}")
    elif layer.kind == MAXPOOL:
        kh, kw, sh, sw, ph, pw = p[:6]
        if kh < 1 or kw < 1 or sh < 1 or sw < 1 or ph < 0 or pw < 0:
            raise FormatError(f"{where}: sizes must be positive, padding non-negative")
        # A window made only of padding would have no maximum.
        if ph >= kh or pw >= kw:
            raise FormatError(f"{where}: padding must be smaller than the window")
        if any(p[6:]):
            raise FormatError(f"{where}: unused parameters must be 0")
    elif layer.kind == CONVRNN:
        hidden, kh, kw, sh, sw, ph, pw, flags = p
        if hidden < 1 or kh < 1 or kw < 1 or sh < 1 or sw < 1 or ph < 0 or pw < 0:
            raise FormatError(f"{where}: sizes must be positive, padding non-negative")
        if ph >= kh or pw >= kw:
            raise FormatError(f"{where}: padding must be smaller than the window")
        if flags & ~(CONVRNN_LSTM | CONVRNN_BIDIR | CONVRNN_MEAN):
            raise FormatError(f"{where}: unknown flag bits {flags:#x}")
    elif layer.kind in (LSTM, GRU):
        if p[0] < 1 or p[1] not in (0, 1) or any(p[2:]):
            raise FormatError(f"{where}: expected (hidden >= 1, bidirectional 0/1, 0...)")
    elif layer.kind == LINEAR:
        if p[0] < 1 or any(p[1:]):
            raise FormatError(f"{where}: expected (out >= 1, 0...)")


def expected_tensors(model):
    """The tensors the layer list calls for, as an ordered dict name -> shape tuple.

    Walks the network the way the engine does: channels and height through the CNN (width is
    free), then feature sizes through the sequence layers. Raises FormatError if the layer list
    itself is invalid."""
    if not model.layers or len(model.layers) > MAX_LAYERS:
        raise FormatError(f"n_layers must be 1..{MAX_LAYERS}")
    shapes = {}
    channels, height = model.input_channels, model.input_height
    features = None  # set once the map has become a sequence
    for i, layer in enumerate(model.layers):
        _check_layer_params(i, layer)
        L = f"layer{i}"
        p = layer.params
        if layer.kind in (CONV2D, MAXPOOL, CONVRNN):
            if features is not None:
                raise FormatError(f"layer {i}: {layer.name} after a sequence layer")
            if layer.kind == CONV2D:
                out, kh, kw, sh, sw, ph, pw, flags = p
                if flags & FLAG_DEPTHWISE and out != channels:
                    raise FormatError(f"layer {i}: a depthwise conv2d needs out = in channels")
                shapes[f"{L}.weight"] = (out, 1 if flags & FLAG_DEPTHWISE else channels, kh, kw)
                shapes[f"{L}.bias"] = (out,)
                if flags & FLAG_BN:
                    for t in ("bn_weight", "bn_bias", "bn_mean", "bn_var"):
                        shapes[f"{L}.{t}"] = (out,)
                channels = out
            elif layer.kind == CONVRNN:
                hidden, kh, kw, sh, sw, ph, pw, flags = p
                gates = 4 if flags & CONVRNN_LSTM else 3
                dirs = ("fwd", "bwd") if flags & CONVRNN_BIDIR else ("fwd",)
                for d in dirs:  # frames of channels * kh features, feature c*kh + ki
                    shapes[f"{L}.{d}.w_ih"] = (gates * hidden, channels * kh)
                    shapes[f"{L}.{d}.w_hh"] = (gates * hidden, hidden)
                    shapes[f"{L}.{d}.b_ih"] = (gates * hidden,)
                    shapes[f"{L}.{d}.b_hh"] = (gates * hidden,)
                channels = hidden * len(dirs)
            else:
                kh, kw, sh, sw, ph, pw = p[:6]
            height = conv_out_size(height, kh, sh, ph)
            if height < 1:
                raise FormatError(f"layer {i}: the map has no rows left")
            continue
        if features is None:
            features = channels * height  # feature index c*H' + h
        if layer.kind == LINEAR:
            shapes[f"{L}.weight"] = (p[0], features)
            shapes[f"{L}.bias"] = (p[0],)
            features = p[0]
        else:
            hidden, bidir = p[0], p[1]
            gates = 4 if layer.kind == LSTM else 3
            for d in ("fwd", "bwd") if bidir else ("fwd",):
                shapes[f"{L}.{d}.w_ih"] = (gates * hidden, features)
                shapes[f"{L}.{d}.w_hh"] = (gates * hidden, hidden)
                shapes[f"{L}.{d}.b_ih"] = (gates * hidden,)
                shapes[f"{L}.{d}.b_hh"] = (gates * hidden,)
            features = hidden * (2 if bidir else 1)
    last = model.layers[-1]
    if last.kind != LINEAR or last.params[0] != model.n_classes:
        raise FormatError("the last layer must be linear with out = n_classes")
    return shapes


def validate(model):
    """Raises FormatError unless the model can be written as a valid v1 file."""
    if not MIN_INPUT_HEIGHT <= model.input_height <= MAX_INPUT_HEIGHT:
        raise FormatError(f"input_height must be {MIN_INPUT_HEIGHT}..{MAX_INPUT_HEIGHT}")
    if model.input_channels != 1:
        raise FormatError("input_channels must be 1")
    if not (model.norm_std > 0 and np.isfinite(model.norm_std) and np.isfinite(model.norm_mean)):
        raise FormatError("norm_std must be > 0 and both norms finite")
    cs = list(model.charset)
    if not 2 <= len(cs) <= MAX_CLASSES or cs[0] != 0:
        raise FormatError("charset: 2..65536 entries, entry 0 (the blank) must be 0")
    if len(set(cs[1:])) != len(cs) - 1:
        raise FormatError("charset: duplicate code point")
    for cp in cs[1:]:
        if not (0x20 <= cp <= 0x10FFFF) or 0xD800 <= cp <= 0xDFFF:
            raise FormatError(f"charset: invalid code point {cp:#x}")
    if len(model.metadata.encode("utf-8")) > MAX_META_LEN:
        raise FormatError("metadata longer than 65536 bytes")
    want = expected_tensors(model)
    have = set(model.tensors)
    if have != set(want):
        missing, extra = sorted(set(want) - have), sorted(have - set(want))
        raise FormatError(f"tensors: missing {missing}, unexpected {extra}")
    if len(want) > MAX_TENSORS:
        raise FormatError("too many tensors")
    for name, shape in want.items():
        t = np.asarray(model.tensors[name])
        if tuple(t.shape) != shape:
            raise FormatError(f"tensor '{name}': shape {tuple(t.shape)}, expected {shape}")
        if not np.all(np.isfinite(t)):
            raise FormatError(f"tensor '{name}': non-finite values")
        if name.endswith(".bn_var") and np.any(t < 0):
            raise FormatError(f"tensor '{name}': negative variance")


def encode_model(model):
    """The complete file contents as bytes (validated first)."""
    validate(model)
    out = bytearray()
    meta = model.metadata.encode("utf-8")
    out += MAGIC
    out += struct.pack("<IIIffIIII", VERSION, model.input_height, model.input_channels,
                       model.norm_mean, model.norm_std, model.n_classes, len(model.layers),
                       len(model.tensors), len(meta))
    out += struct.pack(f"<{model.n_classes}I", *model.charset)
    out += meta
    for layer in model.layers:
        out += struct.pack("<I8i", layer.kind, *layer.params)
    # Tensor order is free; writing them in layer order keeps files diffable.
    for name in expected_tensors(model):
        t = np.asarray(model.tensors[name])
        if t.dtype == np.float16:
            dtype, data = DTYPE_F16, t.astype("<f2")
        else:
            dtype, data = DTYPE_F32, t.astype("<f4")
        raw = name.encode("ascii")
        if not 1 <= len(raw) <= MAX_NAME_LEN:
            raise FormatError(f"tensor name '{name}' too long")
        out += struct.pack("<I", len(raw)) + raw
        out += struct.pack(f"<II{t.ndim}I", dtype, t.ndim, *t.shape)
        out += np.ascontiguousarray(data).tobytes()
    out += struct.pack("<I", zlib.crc32(bytes(out)) & 0xFFFFFFFF)
    return bytes(out)


def write_model(path, model):
    with open(path, "wb") as f:
        f.write(encode_model(model))


class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n, what):
        left = len(self.data) - self.pos
        if n > left:
            raise FormatError(f"truncated: {what} needs {n} bytes, {left} left")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt, what):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def decode_model(data):
    """Parses file contents into a Model; raises FormatError on any violation."""
    data = bytes(data)
    if len(data) < 44:
        raise FormatError("truncated: shorter than the header")
    (crc,) = struct.unpack("<I", data[-4:])
    if zlib.crc32(data[:-4]) & 0xFFFFFFFF != crc:
        raise FormatError("CRC mismatch")
    r = _Reader(data[:-4])
    if r.take(4, "magic") != MAGIC:
        raise FormatError("bad magic")
    (version, height, channels, mean, std, n_classes, n_layers, n_tensors,
     meta_len) = r.unpack("IIIffIIII", "header")
    if version != VERSION:
        raise FormatError(f"unsupported version {version}")
    if not 2 <= n_classes <= MAX_CLASSES or not 1 <= n_layers <= MAX_LAYERS \
            or not 1 <= n_tensors <= MAX_TENSORS or meta_len > MAX_META_LEN:
        raise FormatError("a header count is out of range")
    charset = list(r.unpack(f"{n_classes}I", "charset"))
    metadata = r.take(meta_len, "metadata").decode("utf-8")
    layers = []
    for i in range(n_layers):
        kind, *params = r.unpack("I8i", f"layer {i}")
        layers.append(Layer(kind, tuple(params)))
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = r.unpack("I", "tensor name length")
        if not 1 <= name_len <= MAX_NAME_LEN:
            raise FormatError("tensor name length out of range")
        name = r.take(name_len, "tensor name").decode("ascii")
        dtype, ndim = r.unpack("II", f"tensor '{name}' header")
        if dtype not in (DTYPE_F32, DTYPE_F16) or not 1 <= ndim <= MAX_NDIM:
            raise FormatError(f"tensor '{name}': bad dtype or ndim")
        dims = r.unpack(f"{ndim}I", f"tensor '{name}' dims")
        if min(dims) < 1:
            raise FormatError(f"tensor '{name}': zero dimension")
        size = 2 if dtype == DTYPE_F16 else 4
        raw = r.take(int(np.prod(dims)) * size, f"tensor '{name}'")
        if name in tensors:
            raise FormatError(f"tensor '{name}' appears twice")
        tensors[name] = np.frombuffer(raw, dtype="<f2" if size == 2 else "<f4").reshape(dims)
    if r.pos != len(r.data):
        raise FormatError("bytes between the last tensor and the CRC")
    model = Model(input_height=height, charset=charset, layers=layers, tensors=tensors,
                  input_channels=channels, norm_mean=mean, norm_std=std, metadata=metadata)
    validate(model)
    return model


def read_model(path):
    with open(path, "rb") as f:
        return decode_model(f.read())

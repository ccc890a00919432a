"""Recognizer: a model and a pool of libcrnn recognisers (one per thread at work), reading
paths, encoded image bytes and NumPy arrays, one at a time or a list on several threads."""
import ctypes
import os
import queue
from concurrent.futures import ThreadPoolExecutor

from . import _native
from ._native import Error
from .options import Options


class Char:
    """One character of a reading and its confidence (its highest probability among the
    frames of its run, along the text's best alignment)."""

    __slots__ = ("char", "confidence")

    def __init__(self, char, confidence):
        self.char = char
        self.confidence = confidence

    def __iter__(self):
        return iter((self.char, self.confidence))

    def __eq__(self, other):
        return tuple(self) == tuple(other)

    def __repr__(self):
        return "Char(%r, %.4f)" % (self.char, self.confidence)


class Result:
    """What was read in one image.

    text          the text ("" when rejected by min_confidence)
    confidence    p(text | image), the CTC probability of the text
    chars         [Char(char, confidence), ...], one per character of text
    log_prob      log p(text | image)
    free_text     with a lexicon or pattern: the unconstrained reading; else None
    free_log_prob and its log-probability (None without a lexicon or pattern)
    fallback      with a lexicon or pattern: no match was close enough, text is free_text
    rejected      confidence was below min_confidence
    lines         text lines read: 1, or more when the image held stacked lines (the text
                  then has a '\\n' between them, a character of confidence 1)
    squeezed      a line was too wide to read whole and was squeezed (read poorly)
    rotation      0, or 90 / 270: the reading kept is of the image turned that many degrees
                  clockwise (option rotate)
    stretch       1, or 2: the reading kept is of the image read twice as wide (option
                  reread)
    milliseconds  time to decode, run the network and decode the output"""

    __slots__ = ("text", "confidence", "chars", "log_prob", "free_text", "free_log_prob",
                 "fallback", "rejected", "lines", "squeezed", "rotation", "stretch",
                 "milliseconds")

    def __init__(self, r):
        self.text = r.text.decode() if r.text else ""
        self.confidence = r.confidence
        self.chars = [Char(c, r.char_confidence[i])
                      for i, c in enumerate(self.text[:r.num_chars])]
        self.log_prob = r.log_prob
        self.free_text = r.free_text.decode() if r.free_text is not None else None
        self.free_log_prob = r.free_log_prob if r.free_text is not None else None
        self.fallback = bool(r.fallback)
        self.rejected = bool(r.rejected)
        self.lines = r.lines
        self.squeezed = bool(r.squeezed)
        self.rotation = r.rotation
        self.stretch = r.stretch
        self.milliseconds = r.milliseconds

    def __str__(self):
        return self.text

    def __repr__(self):
        return "Result(text=%r, confidence=%.4f)" % (self.text, self.confidence)


def _as_array(image):
    """image as a C-contiguous uint8 array of shape (H, W) or (H, W, 3), or a TypeError or
    ValueError that says what was wrong with it."""
    try:
        import numpy as np
    except ImportError:
        np = None
    if np is None or not (isinstance(image, np.ndarray) or hasattr(image, "__array__") or
                          hasattr(image, "__array_interface__")):
        raise TypeError("an image is a path, bytes of an encoded image, or a NumPy array; got "
                        "%s" % type(image).__name__)
    a = np.asarray(image)
    if a.dtype != np.uint8:
        raise TypeError("an image array must be uint8 (0..255), not %s; convert it with "
                        ".astype(numpy.uint8) after scaling" % a.dtype)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)):
        raise ValueError("an image array is H x W (grey) or H x W x 3 (RGB), not %s%s"
                         % (" x ".join(map(str, a.shape)),
                            "; drop the alpha channel with image[..., :3]"
                            if a.ndim == 3 and a.shape[2] == 4 else ""))
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError("an image array of shape %s holds no pixels" % (a.shape,))
    return np.ascontiguousarray(a)


class Recognizer:
    """Reads the text of cropped word or text-line images.

    Recognizer(model=None, **options)
      model    None: the default model, found as the ocr-crnn program finds it
               ($OCR_CRNN_MODEL, else an installed default.crnn, else the English model
               built into libcrnn); a path to a model file; or the bytes of one
      options  decoding options applied to every call (see recognize)

    A Recognizer may be used from several threads at once; each call gets its own libcrnn
    recogniser from a pool, over the one model."""

    def __init__(self, model=None, **options):
        self._lib = lib = _native.lib()
        err = _native.CError()
        if model is None:
            ptr = lib.crnn_model_load_default(ctypes.byref(err))
        elif isinstance(model, (bytes, bytearray, memoryview)):
            data = bytes(model)
            ptr = lib.crnn_model_load_memory(data, len(data), b"model bytes", ctypes.byref(err))
        else:
            ptr = lib.crnn_model_load(os.fsencode(model), ctypes.byref(err))
        self._model = _native.check(err, ptr)
        self._pool = queue.SimpleQueue()
        self._recognizers = []
        self._options = Options(self._model, options)

    # -- the model --
    @property
    def input_height(self):
        """The height images are scaled to."""
        return self._lib.crnn_model_input_height(self._model)

    @property
    def description(self):
        """A one-line summary of the model's layers, classes and size."""
        buf = ctypes.create_string_buffer(512)
        self._lib.crnn_model_describe(self._model, buf, len(buf))
        return buf.value.decode()

    # -- recognition --
    def recognize(self, images, *, threads=None, **options):
        """Reads one image, or a list of images.

        images   a path (str or os.PathLike), the bytes of an encoded image (PNG, JPEG, BMP,
                 GIF, TGA, PNM, PSD, HDR), a NumPy uint8 array H x W (grey) or H x W x 3
                 (RGB); or a list of them, read on `threads` threads (default: the number
                 of cores), results in the same order
        options  for this call, over the Recognizer's:
          decoder='greedy'|'beam'   best path (default) or prefix beam search
          beam=N                    beam search N prefixes wide (1..1024)
          lm='en'|path|words|None   the character language model weighed into the free
                                    text ('en', the default: the 100k English words;
                                    None: the network alone, best path)
          lm_weight=X, lm_bonus=X   its weight (default 0.3) and nats a character (0.5)
          lexicon=...               only words of a lexicon: 'en' (English, 100k words), a
                                    file, a list of words, or a Lexicon
          lexicon_ignore_case=True  match lexicon words in any case (returned in the image's case)
          lexicon_margin=X|'off'    keep the free text when the best word is more than X
                                    nats less probable (default 4); 'off': always a word
          lexicon_distance=D        large lexicons: candidate edit distance (default 3)
          allow='A-Z0-9'            emit only these characters (ranges, \\d \\w \\s)
          deny='Il|'                never emit these
          digits=True               the same as allow='0-9'
          pattern=REGEX or [...]    the most probable text that a regex matches, or a
                                    Pattern
          min_confidence=X          readings less confident (0..1) are rejected: text ''
          split_lines=False         read every image as one line (by default stacked text
                                    lines with empty rows between them are cut apart and
                                    read one by one)
          rotate='auto'|'none'      auto (default): a crop 1.1x as tall as wide or more is
                                    also read turned 90 degrees each way, the most probable
                                    reading kept (Result.rotation); none: as given
          reread=X|'off'            a one-line reading less confident than X (0..1,
                                    default 0.9) is read again from the image twice as
                                    wide, the more confident reading kept
                                    (Result.stretch); 'off': never

        Returns a Result, or a list of them. Raises Error (with the library's message, which
        names the file and the reason) if an image cannot be read; for a list, the first
        failure in list order once every image is done."""
        if not self._model:
            raise ValueError("this Recognizer is closed")
        opts = Options(self._model, options, self._options) if options else self._options
        if not isinstance(images, list):
            return self._read(images, opts)
        n = len(images)
        threads = min(n, threads or os.cpu_count() or 1)
        if threads <= 1:
            return [self._read(im, opts) for im in images]
        with ThreadPoolExecutor(max_workers=threads) as pool:
            futures = [pool.submit(self._read, im, opts) for im in images]
        return [f.result() for f in futures]

    def _read(self, image, opts):
        lib = self._lib
        rec = self._take()
        res = _native.Result()
        params = ctypes.byref(opts.params)
        try:
            if isinstance(image, (str, os.PathLike)):
                status = lib.crnn_recognize_file(rec, os.fsencode(image), params,
                                                 ctypes.byref(res))
            elif isinstance(image, (bytes, bytearray, memoryview)):
                data = bytes(image)
                status = lib.crnn_recognize_memory(rec, data, len(data), b"image bytes", params,
                                                   ctypes.byref(res))
            else:
                a = _as_array(image)
                im = _native.Image(a.shape[1], a.shape[0], a.strides[0], a.ctypes.data,
                                   1 if a.ndim == 2 else 3)
                status = lib.crnn_recognize_image(rec, ctypes.byref(im), params,
                                                  ctypes.byref(res))
            if status != 0:
                message = lib.crnn_recognizer_error(rec).decode(errors="replace")
                if not isinstance(image, (str, os.PathLike, bytes, bytearray, memoryview)):
                    message = "image array: " + message
                raise Error(message, _native.status_name(status))
            return Result(res)
        finally:
            lib.crnn_result_free(ctypes.byref(res))
            self._pool.put(rec)

    def _take(self):
        try:
            return self._pool.get_nowait()
        except queue.Empty:
            err = _native.CError()
            rec = _native.check(err, self._lib.crnn_recognizer_new(self._model,
                                                                   ctypes.byref(err)))
            self._recognizers.append(rec)
            return rec

    # -- lifetime --
    def close(self):
        """Frees the model and the recognisers now rather than when garbage-collected."""
        for rec in getattr(self, "_recognizers", []):
            self._lib.crnn_recognizer_free(rec)
        self._recognizers = []
        self._pool = queue.SimpleQueue()
        if getattr(self, "_model", None):
            self._lib.crnn_model_free(self._model)
            self._model = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

"""Decoding options as keyword arguments, turned into crnn_params: the decoder, a lexicon, a
pattern, character sets and a confidence threshold (docs/decoding.md explains each)."""
import ctypes
import os

from . import _native
from ._native import Error


class Lexicon:
    """A lexicon: the text read is the word of it that the image most probably shows.

    Lexicon("en") is the English word list that comes with ocr-crnn (100,000 words); any other
    string or path is a file (UTF-8, one entry per line, '#' comments); a list (or any
    iterable) of strings gives the words themselves. Immutable; share one between
    recognisers and threads."""

    def __init__(self, source):
        lib = _native.lib()
        err = _native.CError()
        if isinstance(source, (str, bytes, os.PathLike)):
            ptr = lib.crnn_lexicon_load_named(os.fsencode(source), ctypes.byref(err))
        else:
            words = [w.encode() if isinstance(w, str) else bytes(w) for w in source]
            array = (ctypes.c_char_p * max(len(words), 1))(*words)
            ptr = lib.crnn_lexicon_from_words(array, len(words), ctypes.byref(err))
        self._ptr = _native.check(err, ptr)
        self._lib = lib

    def __len__(self):
        return self._lib.crnn_lexicon_size(self._ptr)

    def __del__(self):
        if getattr(self, "_ptr", None):
            self._lib.crnn_lexicon_free(self._ptr)
            self._ptr = None


LM_ORDER = 6  # CRNN_LM_ORDER


class LanguageModel:
    """A character language model: how likely each letter is after the ones before it in a
    word, learned from a word list and weighed into the free text's beam search.

    LanguageModel("en") is built from the English word list that comes with ocr-crnn (the
    default of Recognizer, as of the ocr-crnn program); any other string or path is a file
    (one word per line); a list of strings gives the words. Immutable; share one."""

    def __init__(self, source, order=LM_ORDER):
        lib = _native.lib()
        err = _native.CError()
        if isinstance(source, (str, bytes, os.PathLike)):
            ptr = lib.crnn_lm_load_named(os.fsencode(source), order, ctypes.byref(err))
        else:
            words = [w.encode() if isinstance(w, str) else bytes(w) for w in source]
            array = (ctypes.c_char_p * max(len(words), 1))(*words)
            ptr = lib.crnn_lm_from_words(array, len(words), order, ctypes.byref(err))
        self._ptr = _native.check(err, ptr)
        self._lib = lib

    def __del__(self):
        if getattr(self, "_ptr", None):
            self._lib.crnn_lm_free(self._ptr)
            self._ptr = None


_default_lm = []  # built once, on first use: [LanguageModel] or [None] where 'en' is missing


def default_lm():
    """The English character model (None only if the library was built without its list)."""
    if not _default_lm:
        try:
            _default_lm.append(LanguageModel("en"))
        except Error:
            _default_lm.append(None)
    return _default_lm[0]


class Pattern:
    """Regular expressions the whole text must match (any one of them), e.g.
    Pattern(r"\\d{2}/\\d{2}/\\d{4}", r"\\d{1,2}:\\d\\d"). A malformed one raises Error
    naming the character it stops at."""

    def __init__(self, *regexes):
        if len(regexes) == 1 and not isinstance(regexes[0], (str, bytes)):
            regexes = tuple(regexes[0])
        lib = _native.lib()
        err = _native.CError()
        encoded = [r.encode() if isinstance(r, str) else bytes(r) for r in regexes]
        array = (ctypes.c_char_p * max(len(encoded), 1))(*encoded)
        self._ptr = _native.check(err, lib.crnn_pattern_compile(array, len(encoded),
                                                                ctypes.byref(err)))
        self._lib = lib

    def __del__(self):
        if getattr(self, "_ptr", None):
            self._lib.crnn_pattern_free(self._ptr)
            self._ptr = None


NAMES = ("decoder", "beam", "lm", "lm_weight", "lm_bonus", "lexicon", "lexicon_ignore_case",
         "lexicon_margin", "lexicon_distance", "allow", "deny", "digits", "pattern",
         "min_confidence", "split_lines", "rotate", "reread")


class Options:
    """Keyword options as one crnn_params, holding what its pointers point to."""

    def __init__(self, model, options, base=None):
        unknown = sorted(set(options) - set(NAMES))
        if unknown:
            raise TypeError("unknown option%s %s; the options are %s"
                            % ("s" if len(unknown) > 1 else "", ", ".join(unknown),
                               ", ".join(NAMES)))
        self.values = dict(base.values if base else {}, **options)
        v = self.values
        lib = _native.lib()
        p = lib.crnn_default_params()
        decoder = v.get("decoder")
        if decoder not in (None, "greedy", "beam"):
            raise ValueError("decoder must be 'greedy' or 'beam', not %r" % (decoder,))
        if v.get("beam") is not None:
            if decoder == "greedy":
                raise ValueError("beam=%r with decoder='greedy'" % (v["beam"],))
            p.decoder = 1
            p.beam_width = int(v["beam"])
        elif decoder == "beam":
            p.decoder = 1
        # the character model: 'en' unless told otherwise (None: the network alone)
        self.lm = v.get("lm", "en")
        if self.lm == "en":
            self.lm = default_lm()
        elif self.lm is not None and not isinstance(self.lm, LanguageModel):
            self.lm = LanguageModel(self.lm)
        if self.lm is not None:
            p.lm = self.lm._ptr
        if v.get("lm_weight") is not None:
            p.lm_weight = float(v["lm_weight"])
        if v.get("lm_bonus") is not None:
            p.lm_bonus = float(v["lm_bonus"])
        self.lexicon = v.get("lexicon")
        if self.lexicon is not None and not isinstance(self.lexicon, Lexicon):
            self.lexicon = Lexicon(self.lexicon)
        if self.lexicon is not None:
            p.lexicon = self.lexicon._ptr
        p.lexicon_case_insensitive = bool(v.get("lexicon_ignore_case"))
        margin = v.get("lexicon_margin")
        if margin == "off":
            p.lexicon_margin = -1.0
        elif margin is not None:
            if float(margin) < 0:
                raise ValueError("lexicon_margin must be >= 0 nats or 'off', not %r" % (margin,))
            p.lexicon_margin = float(margin)
        if v.get("lexicon_distance") is not None:
            p.lexicon_max_distance = int(v["lexicon_distance"])
        allow = v.get("allow")
        if v.get("digits"):
            allow = (allow or "") + "0-9"
        # kept here: p.allow and p.deny point into these bytes
        self.allow = allow.encode() if allow is not None else None
        self.deny = v["deny"].encode() if v.get("deny") is not None else None
        p.allow = self.allow
        p.deny = self.deny
        self.pattern = v.get("pattern")
        if self.pattern is not None and not isinstance(self.pattern, Pattern):
            self.pattern = Pattern(self.pattern)
        if self.pattern is not None:
            p.pattern = self.pattern._ptr
        if v.get("min_confidence") is not None:
            p.min_confidence = float(v["min_confidence"])
        if v.get("split_lines") is not None:
            p.split_lines = 1 if v["split_lines"] else 0
        rotate = v.get("rotate")
        if rotate not in (None, "auto", "none"):
            raise ValueError("rotate must be 'auto' or 'none', not %r" % (rotate,))
        if rotate is not None:
            p.rotate = 0 if rotate == "auto" else 1  # CRNN_ROTATE_AUTO, CRNN_ROTATE_NONE
        reread = v.get("reread")
        if reread == "off":
            p.reread_below = 0.0
        elif reread is not None:
            p.reread_below = float(reread)
        err = _native.CError()
        if lib.crnn_params_check(model, ctypes.byref(p), ctypes.byref(err)) != 0:
            raise Error(err.message.decode(errors="replace"), _native.status_name(err.code))
        self.params = p

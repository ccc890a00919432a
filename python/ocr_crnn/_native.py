"""libcrnn through ctypes: where the shared library is found, and crnn.h's types and functions
as ctypes sees them. The structures mirror crnn.h field by field; the package's tests compare
their layout with what the C compiler makes of the header."""
import ctypes
import ctypes.util
import os
import subprocess
import threading

# The crnn.h these declarations mirror. A library of another minor version may lay its
# structures out differently, so it is refused rather than misread.
HEADER_VERSION = "0.1.0"


class Error(Exception):
    """A failure reported by libcrnn. str(error) is the library's message, which names the file
    and the reason where a file is involved; .status is the kind of failure ("i/o error",
    "cannot decode image", "invalid argument", ...)."""

    def __init__(self, message, status="error"):
        super().__init__(message)
        self.status = status


Error.__module__ = "ocr_crnn"  # where users catch it


class CError(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("message", ctypes.c_char * 512)]


class Image(ctypes.Structure):
    _fields_ = [("width", ctypes.c_int), ("height", ctypes.c_int), ("stride", ctypes.c_int),
                ("pixels", ctypes.c_void_p), ("channels", ctypes.c_int)]


# crnn_params and crnn_result are written whole by the library (crnn_default_params returns
# one by value, recognition fills a result), so each mirror ends with room to spare: a library
# whose structures have grown by fields added at the end writes into that room instead of past
# the buffer, and those fields keep the library's defaults. The tests still fail until the
# fields are mirrored here.
_SPARE = ("_spare", ctypes.c_char * 256)


class Params(ctypes.Structure):
    _fields_ = [("decoder", ctypes.c_int),
                ("beam_width", ctypes.c_int),
                ("lexicon", ctypes.c_void_p),
                ("lexicon_case_insensitive", ctypes.c_int),
                ("lexicon_margin", ctypes.c_float),
                ("lexicon_max_distance", ctypes.c_int),
                ("allow", ctypes.c_char_p),
                ("deny", ctypes.c_char_p),
                ("pattern", ctypes.c_void_p),
                ("min_confidence", ctypes.c_float),
                ("split_lines", ctypes.c_int),
                ("rotate", ctypes.c_int),
                ("reread_below", ctypes.c_float),
                ("lm", ctypes.c_void_p),
                ("lm_weight", ctypes.c_float),
                ("lm_bonus", ctypes.c_float),
                _SPARE]


class Result(ctypes.Structure):
    _fields_ = [("text", ctypes.c_char_p),
                ("confidence", ctypes.c_float),
                ("num_chars", ctypes.c_int),
                ("char_confidence", ctypes.POINTER(ctypes.c_float)),
                ("free_text", ctypes.c_char_p),
                ("free_log_prob", ctypes.c_double),
                ("log_prob", ctypes.c_double),
                ("fallback", ctypes.c_int),
                ("rejected", ctypes.c_int),
                ("milliseconds", ctypes.c_double),
                ("lines", ctypes.c_int),
                ("squeezed", ctypes.c_int),
                ("rotation", ctypes.c_int),
                ("stretch", ctypes.c_float),
                _SPARE]


_p = ctypes.c_void_p
_err = ctypes.POINTER(CError)
_SIGNATURES = {
    "crnn_version": (ctypes.c_char_p, []),
    "crnn_status_name": (ctypes.c_char_p, [ctypes.c_int]),
    "crnn_model_load": (_p, [ctypes.c_char_p, _err]),
    "crnn_model_load_memory": (_p, [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, _err]),
    "crnn_model_load_default": (_p, [_err]),
    "crnn_model_load_builtin": (_p, [_err]),
    "crnn_model_free": (None, [_p]),
    "crnn_model_input_height": (ctypes.c_int, [_p]),
    "crnn_model_input_channels": (ctypes.c_int, [_p]),
    "crnn_model_num_classes": (ctypes.c_int, [_p]),
    "crnn_model_num_params": (ctypes.c_size_t, [_p]),
    "crnn_model_describe": (None, [_p, ctypes.c_char_p, ctypes.c_size_t]),
    "crnn_model_metadata": (ctypes.c_char_p, [_p]),
    "crnn_default_params": (Params, []),
    "crnn_params_check": (ctypes.c_int, [_p, ctypes.POINTER(Params), _err]),
    "crnn_recognizer_new": (_p, [_p, _err]),
    "crnn_recognizer_free": (None, [_p]),
    "crnn_recognizer_error": (ctypes.c_char_p, [_p]),
    "crnn_recognize_file": (ctypes.c_int, [_p, ctypes.c_char_p, ctypes.POINTER(Params),
                                           ctypes.POINTER(Result)]),
    "crnn_recognize_memory": (ctypes.c_int, [_p, ctypes.c_void_p, ctypes.c_size_t,
                                             ctypes.c_char_p, ctypes.POINTER(Params),
                                             ctypes.POINTER(Result)]),
    "crnn_recognize_image": (ctypes.c_int, [_p, ctypes.POINTER(Image), ctypes.POINTER(Params),
                                            ctypes.POINTER(Result)]),
    "crnn_result_free": (None, [ctypes.POINTER(Result)]),
    "crnn_lexicon_load_named": (_p, [ctypes.c_char_p, _err]),
    "crnn_lexicon_from_words": (_p, [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, _err]),
    "crnn_lexicon_free": (None, [_p]),
    "crnn_lexicon_size": (ctypes.c_int, [_p]),
    "crnn_lm_load_named": (_p, [ctypes.c_char_p, ctypes.c_int, _err]),
    "crnn_lm_from_words": (_p, [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int,
                                _err]),
    "crnn_lm_free": (None, [_p]),
    "crnn_pattern_compile": (_p, [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, _err]),
    "crnn_pattern_free": (None, [_p]),
}


def _candidates():
    """Where libcrnn may be, in order, as (description, path or name)."""
    env = os.environ.get("OCR_CRNN_LIBRARY")
    if env:
        yield "$OCR_CRNN_LIBRARY", env
        return  # named explicitly: nothing else would be what was meant
    here = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(os.listdir(here)):
        if name.startswith("libcrnn.so"):
            yield "the package folder", os.path.join(here, name)
    found = ctypes.util.find_library("crnn")
    if found:
        yield "the system's libraries", found
    try:
        libdir = subprocess.run(["pkg-config", "--variable=libdir", "crnn"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        libdir = ""
    if libdir:
        yield "pkg-config's libdir", os.path.join(libdir, "libcrnn.so.0")
    # LD_LIBRARY_PATH, which find_library does not always read
    yield "the loader's search path", "libcrnn.so.0"


def _load():
    tried = []
    for where, path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append("%s (%s): %s" % (path, where, e))
            continue
        break
    else:
        raise Error("libcrnn not found; tried:\n  " + "\n  ".join(tried) +
                    "\nInstall ocr-crnn (meson install), or set OCR_CRNN_LIBRARY to the path "
                    "of libcrnn.so", "i/o error")
    try:
        version = lib.crnn_version
    except AttributeError:
        raise Error("%s is not libcrnn %s or newer (it has no crnn_version)"
                    % (path, HEADER_VERSION), "invalid argument") from None
    version.restype = ctypes.c_char_p
    found = version().decode()
    if found.split(".")[:2] != HEADER_VERSION.split(".")[:2]:
        raise Error("%s is libcrnn %s; this package needs %s.x"
                    % (path, found, HEADER_VERSION.rsplit(".", 1)[0]), "invalid argument")
    for name, (restype, argtypes) in _SIGNATURES.items():
        f = getattr(lib, name)
        f.restype = restype
        f.argtypes = argtypes
    # One BLAS thread, as the ocr-crnn program sets it: the network's matrix products are
    # small, and OpenBLAS's own threads beside the package's reader threads fight over the
    # cores (2 reader threads on 2 cores: 172 images/s with OpenBLAS threaded, 746 without).
    # dlsym through libcrnn's handle finds the OpenBLAS that libcrnn itself uses; NumPy's
    # BLAS (libblas.so.3) is another library and keeps its threads.
    try:
        set_threads = lib.openblas_set_num_threads
    except AttributeError:
        pass  # another BLAS
    else:
        set_threads.restype = None
        set_threads.argtypes = [ctypes.c_int]
        set_threads(1)
    return lib


_lib = None
_lock = threading.Lock()


def lib():
    """libcrnn, loaded on first use; raises Error if it cannot be found."""
    global _lib
    with _lock:
        if _lib is None:
            _lib = _load()
        return _lib


def status_name(code):
    return lib().crnn_status_name(code).decode()


def check(err, value):
    """value, or Error with err's message when value is NULL."""
    if not value:
        raise Error(err.message.decode(errors="replace"), status_name(err.code))
    return value

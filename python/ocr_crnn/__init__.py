"""ocr_crnn — scene-text recognition (CNN + BiLSTM + CTC) with ocr-crnn's library, libcrnn.

    import ocr_crnn
    rec = ocr_crnn.Recognizer()              # the default English model
    r = rec.recognize("word.png")            # a path, bytes, or a NumPy array (H x W, H x W x 3)
    print(r.text, r.confidence, r.chars)     # 'Sven' 0.958 [Char('S', 0.982), ...]
    rec.recognize(["a.png", "b.png"], digits=True)   # a list: read on several threads

Recognizer.recognize lists the decoding options (beam search, lexicons, patterns, character
sets, a confidence threshold). Failures raise ocr_crnn.Error with the library's message.

libcrnn is found through $OCR_CRNN_LIBRARY (a path to libcrnn.so), a copy in this package's
folder, the system's libraries, pkg-config's libdir for crnn, or the loader's search path.
Loading it sets the OpenBLAS that libcrnn uses to one thread, as the ocr-crnn program does:
the package's own threads read images faster (NumPy's BLAS is not affected)."""
from ._native import Error, HEADER_VERSION as __version__
from .options import LanguageModel, Lexicon, Pattern
from .recognizer import Char, Recognizer, Result

__all__ = ["Char", "Error", "LanguageModel", "Lexicon", "Pattern", "Recognizer", "Result", "library_version",
           "library_path"]


def library_version():
    """The version of the libcrnn in use."""
    from . import _native
    return _native.lib().crnn_version().decode()


def library_path():
    """Where the libcrnn in use was loaded from (a path, or a name the loader resolved)."""
    from . import _native
    return _native.lib()._name

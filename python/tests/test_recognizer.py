"""ocr_crnn against the libcrnn named by $OCR_CRNN_LIBRARY (tests/test_python.sh sets it to the
build's): the default model reads samples/ from paths, bytes and arrays, alone and in
threads; the options reach the decoder; failures raise ocr_crnn.Error with the library's
message; the ctypes structures have the compiler's layout."""
import ctypes
import os
import shutil
import subprocess
import sys
import threading

import pytest

import ocr_crnn
from ocr_crnn import _native

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SAMPLES = os.path.join(REPO, "samples")
MODEL = os.path.join(REPO, "models", "en.crnn")
LABELS = [line.rstrip("\n").split("\t") for line in open(os.path.join(SAMPLES, "labels.tsv"))]
PATHS = [os.path.join(SAMPLES, name) for name, _ in LABELS]
TEXTS = [text for _, text in LABELS]

needs_model = pytest.mark.skipif(not os.path.exists(MODEL), reason="no models/en.crnn")


@pytest.fixture(scope="module")
def rec():
    with ocr_crnn.Recognizer() as r:
        yield r


def decode(path, channels):
    """path's pixels as a NumPy array, decoded by libcrnn itself (no imaging package needed)."""
    np = pytest.importorskip("numpy")
    lib = _native.lib()
    f = lib.crnn_image_decode_file_channels
    f.restype = ctypes.c_int
    f.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p),
                  ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int),
                  ctypes.POINTER(_native.CError)]
    px, w, h, err = ctypes.c_void_p(), ctypes.c_int(), ctypes.c_int(), _native.CError()
    assert f(path.encode(), channels, ctypes.byref(px), ctypes.byref(w), ctypes.byref(h),
             ctypes.byref(err)) == 0, err.message
    n = w.value * h.value * channels
    a = np.frombuffer(ctypes.string_at(px, n), np.uint8).copy()
    ctypes.CDLL(None).free(px)
    return a.reshape((h.value, w.value, channels) if channels == 3 else (h.value, w.value))


# -- the library --

def test_versions_agree():
    header = open(os.path.join(REPO, "include", "crnn.h")).read()
    assert '#define CRNN_VERSION_STRING "%s"' % ocr_crnn.__version__ in header
    assert ocr_crnn.library_version() == ocr_crnn.__version__
    assert os.path.samefile(ocr_crnn.library_path(), os.environ["OCR_CRNN_LIBRARY"])


def test_structures_have_the_compilers_layout(tmp_path):
    """Every field at the compiler's offset, and nothing in crnn.h that is not mirrored: a C
    structure ends where its mirror's last field (before the spare room) ends, padded."""
    cc = shutil.which(os.environ.get("CC", "cc"))
    if not cc:
        pytest.skip("no C compiler")
    structs = {"crnn_error": _native.CError, "crnn_image": _native.Image,
               "crnn_params": _native.Params, "crnn_result": _native.Result}
    fields = {c: [f for f, _ in py._fields_ if f != "_spare"] for c, py in structs.items()}
    lines = []
    for c_name in structs:
        lines.append('printf("%s %%zu %%zu\\n", sizeof(%s), _Alignof(%s));'
                     % (c_name, c_name, c_name))
        for field in fields[c_name]:
            lines.append('printf("%s.%s %%zu\\n", offsetof(%s, %s));'
                         % (c_name, field, c_name, field))
    src = tmp_path / "layout.c"
    src.write_text("#include <stddef.h>\n#include <stdio.h>\n#include <crnn.h>\n"
                   "int main(void) {\n%s\nreturn 0;\n}\n" % "\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run([cc, "-std=c11", "-I", os.path.join(REPO, "include"), str(src), "-o",
                    str(exe)], check=True)
    got = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    want = []
    for c_name, py in structs.items():
        last = getattr(py, fields[c_name][-1])
        align = ctypes.alignment(py)
        end = -(-(last.offset + last.size) // align) * align
        want.append("%s %d %d" % (c_name, end, align))
        want += ["%s.%s %d" % (c_name, f, getattr(py, f).offset) for f in fields[c_name]]
    assert got.split("\n")[:-1] == want, (
        "the ctypes mirrors in python/ocr_crnn/_native.py differ from include/crnn.h")


# -- reading images --

@needs_model
def test_paths(rec):
    for path, text in zip(PATHS, TEXTS):
        r = rec.recognize(path)
        assert r.text == text
        assert str(r) == text
        assert 0 < r.confidence <= 1
        assert [c.char for c in r.chars] == list(text)
        assert all(0 < c.confidence <= 1 for c in r.chars)
        assert r.free_text is None and not r.rejected


@needs_model
def test_path_objects_and_bytes(rec):
    import pathlib
    assert rec.recognize(pathlib.Path(PATHS[0])).text == TEXTS[0]
    data = open(PATHS[1], "rb").read()
    assert rec.recognize(data).text == TEXTS[1]
    assert rec.recognize(bytearray(data)).text == TEXTS[1]
    assert rec.recognize(memoryview(data)).text == TEXTS[1]


@needs_model
def test_arrays_grey_and_rgb(rec):
    np = pytest.importorskip("numpy")
    for path, text in zip(PATHS, TEXTS):
        grey = decode(path, 1)
        assert grey.ndim == 2 and grey.dtype == np.uint8
        assert rec.recognize(grey).text == text
        assert rec.recognize(grey[:, :, None]).text == text
        rgb = decode(path, 3)
        assert rec.recognize(rgb).text == text
    # a view that is not contiguous: every other column dropped, then restored
    wide = np.repeat(decode(PATHS[0], 1), 2, axis=1)
    assert rec.recognize(wide[:, ::2]).text == TEXTS[0]


@needs_model
def test_list_on_threads_in_order(rec):
    one_by_one = [rec.recognize(p).text for p in PATHS]
    assert one_by_one == TEXTS
    assert [r.text for r in rec.recognize(PATHS, threads=3)] == TEXTS
    assert [r.text for r in rec.recognize(PATHS, threads=1)] == TEXTS
    assert rec.recognize([]) == []


@needs_model
def test_one_recognizer_from_many_threads(rec):
    got, errors = {}, []

    def work(i):
        try:
            got[i] = [rec.recognize(p).text for p in PATHS]
        except Exception as e:  # noqa: BLE001 — reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(v == TEXTS for v in got.values()) and len(got) == 4


# -- models --

@needs_model
def test_model_from_path_and_bytes():
    with ocr_crnn.Recognizer(MODEL) as r:
        assert r.recognize(PATHS[0]).text == TEXTS[0]
        assert r.input_height == 32
        assert "classes" in r.description
    with ocr_crnn.Recognizer(open(MODEL, "rb").read()) as r:
        assert r.recognize(PATHS[0]).text == TEXTS[0]


def test_model_errors(tmp_path, monkeypatch):
    with pytest.raises(ocr_crnn.Error, match="nothing.crnn: cannot open: No such file"):
        ocr_crnn.Recognizer(str(tmp_path / "nothing.crnn"))
    bad = tmp_path / "bad.crnn"
    bad.write_bytes(b"not a model at all")
    with pytest.raises(ocr_crnn.Error, match="bad.crnn") as e:
        ocr_crnn.Recognizer(str(bad))
    assert e.value.status == "malformed file"
    monkeypatch.setenv("OCR_CRNN_MODEL", str(tmp_path / "gone.crnn"))
    with pytest.raises(ocr_crnn.Error, match="OCR_CRNN_MODEL: .*gone.crnn: cannot open"):
        ocr_crnn.Recognizer()


@needs_model
def test_closed(tmp_path):
    r = ocr_crnn.Recognizer()
    r.close()
    with pytest.raises(ValueError, match="closed"):
        r.recognize(PATHS[0])


# -- options --

@needs_model
def test_constraints(rec):
    date, price, humpy = (PATHS[TEXTS.index(t)] for t in ("01/11/1915", "$13.00", "HUMPY"))
    assert rec.recognize(date, pattern=r"\d{2}/\d{2}/\d{4}").text == "01/11/1915"
    r = rec.recognize(price, pattern=[r"\d{2}/\d{2}/\d{4}", r"\$\d{1,3}\.\d\d"])
    assert r.text == "$13.00" and r.free_text == "$13.00"
    assert rec.recognize(date, pattern=ocr_crnn.Pattern(r"\d+/\d+/\d+")).text == "01/11/1915"
    assert rec.recognize(price, digits=True).text.isdigit()
    assert rec.recognize(humpy, allow="A-Z").text == "HUMPY"
    assert "H" not in rec.recognize(humpy, deny="H").text
    assert rec.recognize(humpy, beam=8).text == "HUMPY"
    assert rec.recognize(humpy, decoder="beam").text == "HUMPY"


@needs_model
def test_lexicons(rec):
    sven = PATHS[TEXTS.index("Sven")]
    r = rec.recognize(sven, lexicon=["Sven", "Swan", "Oven"])
    assert r.text == "Sven" and r.free_text == "Sven" and not r.fallback
    # matched in any case, the word comes back in the case the image shows
    assert rec.recognize(sven, lexicon=["sven"], lexicon_ignore_case=True).text == "Sven"
    assert rec.recognize(sven, lexicon=["SVEN"], lexicon_ignore_case=True).text == "Sven"
    # a closed vocabulary: the word, however unlike the image
    assert rec.recognize(sven, lexicon=["ark"], lexicon_margin="off").text == "ark"
    assert rec.recognize(sven, lexicon=["ark"]).fallback
    en = ocr_crnn.Lexicon("en")  # found by name, from the source tree beside the library
    assert len(en) == 100000
    assert rec.recognize(sven, lexicon=en, lexicon_ignore_case=True).text.lower() == "sven"
    assert len(ocr_crnn.Lexicon(os.path.join(REPO, "lexicons", "en.txt"))) == len(en)


@needs_model
def test_language_model(rec, tmp_path):
    sven = PATHS[TEXTS.index("Sven")]
    # the English model by default, the network alone with lm=None; a sure reading is the same
    assert rec.recognize(sven).text == rec.recognize(sven, lm=None).text == "Sven"
    own = ocr_crnn.LanguageModel(["Sven", "Oven"], order=3)
    assert rec.recognize(sven, lm=own, lm_weight=1.0, lm_bonus=0).text == "Sven"
    with pytest.raises(ocr_crnn.Error, match="nowhere.txt"):
        rec.recognize(sven, lm=str(tmp_path / "nowhere.txt"))
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"ab\0cd\n")
    with pytest.raises(ocr_crnn.Error, match="not a word list"):
        ocr_crnn.LanguageModel(str(binary))
    with pytest.raises(ocr_crnn.Error):
        rec.recognize(sven, lm_weight=-1)


@needs_model
def test_options_given_once(rec):
    with ocr_crnn.Recognizer(allow="0-9", min_confidence=0.5) as digits:
        r = digits.recognize(PATHS[TEXTS.index("HUMPY")])
        assert r.rejected and r.text == ""
        # a call's options go over the Recognizer's
        assert digits.recognize(PATHS[0], allow=None, min_confidence=0).text == TEXTS[0]


@needs_model
def test_a_blank_reads_as_nothing(rec):
    np = pytest.importorskip("numpy")
    blank = np.full((32, 200), 255, np.uint8)
    # the shipped model learned crops without text: nothing, and sure of it
    r = rec.recognize(blank, min_confidence=0.01)
    assert r.text == "" and not r.rejected and r.confidence > 0.5
    # a threshold above that confidence rejects it, the confidence kept to say why
    sure = rec.recognize(blank, min_confidence=0.999)
    assert sure.rejected and sure.text == "" and sure.confidence == r.confidence
    assert not rec.recognize(PATHS[0], min_confidence=0.01).rejected


@needs_model
def test_stacked_lines(rec):
    np = pytest.importorskip("numpy")
    sven, date = decode(PATHS[TEXTS.index("Sven")], 1), decode(PATHS[TEXTS.index("01/11/1915")], 1)
    width = max(sven.shape[1], date.shape[1])
    gap = np.full((24, width), int(np.median(sven[0])), np.uint8)
    stacked = np.vstack([np.pad(sven, ((0, 0), (0, width - sven.shape[1])), mode="edge"), gap,
                         np.pad(date, ((0, 0), (0, width - date.shape[1])), mode="edge")])
    r = rec.recognize(stacked)
    assert r.lines == 2 and r.text.split("\n")[0] == "Sven" and not r.squeezed
    assert len(r.chars) == len(r.text) and r.chars[4] == ("\n", 1.0)
    assert rec.recognize(stacked, split_lines=False).lines == 1
    assert rec.recognize(PATHS[0]).lines == 1


@needs_model
def test_turned_crops(rec):
    np = pytest.importorskip("numpy")
    humpy = decode(PATHS[TEXTS.index("HUMPY")], 1)
    turned = np.ascontiguousarray(np.rot90(humpy))  # a quarter anticlockwise
    r = rec.recognize(turned)
    assert r.text == "HUMPY" and r.rotation in (90, 270)
    assert rec.recognize(turned, rotate="none").rotation == 0
    assert rec.recognize(PATHS[0]).rotation == 0
    with pytest.raises(ValueError, match="rotate must be"):
        rec.recognize(PATHS[0], rotate="left")


@needs_model
def test_second_look(rec):
    np = pytest.importorskip("numpy")
    date = decode(PATHS[TEXTS.index("01/11/1915")], 1)
    squeezed = np.ascontiguousarray(date[:, ::2])  # every other column: too narrow to read
    once = rec.recognize(squeezed, reread="off")
    assert once.text != "01/11/1915" and once.stretch == 1
    r = rec.recognize(squeezed)  # read again twice as wide
    assert r.text == "01/11/1915" and r.stretch == 2 and r.confidence > once.confidence
    assert rec.recognize(squeezed, reread=0.0).text == once.text
    word = decode(PATHS[TEXTS.index("Assertions")], 1)
    turned = np.ascontiguousarray(np.rot90(word[:, ::2]))  # squeezed, then a quarter turn
    once = rec.recognize(turned, reread="off")
    r = rec.recognize(turned)  # turned back, and read again twice as wide
    assert r.text == "Assertions" and r.rotation == once.rotation != 0 and r.stretch == 2
    assert r.confidence > once.confidence
    with pytest.raises(ocr_crnn.Error, match="reread_below 1.5 outside 0..1"):
        rec.recognize(PATHS[0], reread=1.5)


# -- errors --

def test_image_errors(rec, tmp_path):
    np = pytest.importorskip("numpy")
    with pytest.raises(ocr_crnn.Error, match="nothing.png: cannot open: No such file") as e:
        rec.recognize(str(tmp_path / "nothing.png"))
    assert e.value.status == "i/o error"
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(ocr_crnn.Error, match="junk.png") as e:
        rec.recognize(str(junk))
    assert e.value.status == "cannot decode image"
    with pytest.raises(ocr_crnn.Error, match="image bytes: not a readable image"):
        rec.recognize(b"garbage")
    with pytest.raises(ocr_crnn.Error, match="image bytes"):
        rec.recognize(b"")
    with pytest.raises(ValueError, match=r"10 x 10 x 4; drop the alpha channel"):
        rec.recognize(np.zeros((10, 10, 4), np.uint8))
    with pytest.raises(TypeError, match="must be uint8"):
        rec.recognize(np.zeros((10, 10), np.float32))
    with pytest.raises(ValueError, match="no pixels"):
        rec.recognize(np.zeros((0, 10), np.uint8))
    with pytest.raises(ocr_crnn.Error, match="image array: .*70000"):
        rec.recognize(np.zeros((1, 70000), np.uint8))
    with pytest.raises(TypeError, match="got int"):
        rec.recognize(3)
    # in a list, the failure names the file once the others are read
    with pytest.raises(ocr_crnn.Error, match="nothing.png"):
        rec.recognize(PATHS[:3] + [str(tmp_path / "nothing.png")] + PATHS[3:], threads=2)


def test_option_errors(rec):
    with pytest.raises(TypeError, match="unknown option lexicn; the options are"):
        rec.recognize(PATHS[0], lexicn="en")
    with pytest.raises(ocr_crnn.Error, match="beam width 0 outside 1..1024") as e:
        rec.recognize(PATHS[0], beam=0)
    assert e.value.status == "invalid argument"
    with pytest.raises(ValueError, match="decoder must be"):
        rec.recognize(PATHS[0], decoder="exact")
    with pytest.raises(ocr_crnn.Error, match=r"pattern '\(ab': at character 1"):
        rec.recognize(PATHS[0], pattern="(ab")
    with pytest.raises(ocr_crnn.Error, match="no lexicon of that name"):
        rec.recognize(PATHS[0], lexicon="klingon")
    with pytest.raises(ocr_crnn.Error, match="allow"):
        rec.recognize(PATHS[0], allow="z-a")
    with pytest.raises(ValueError, match="lexicon_margin"):
        rec.recognize(PATHS[0], lexicon=["a"], lexicon_margin=-1)


def test_library_not_found(tmp_path):
    env = dict(os.environ, OCR_CRNN_LIBRARY=str(tmp_path / "libcrnn.so.0"),
               PYTHONPATH=os.path.join(REPO, "python"))
    out = subprocess.run([sys.executable, "-c", "import ocr_crnn; ocr_crnn.Recognizer()"],
                         env=env, capture_output=True, text=True)
    assert out.returncode == 1
    assert "ocr_crnn.Error: libcrnn not found; tried:" in out.stderr
    assert "OCR_CRNN_LIBRARY" in out.stderr


# -- packaging --

def test_pip_install(tmp_path):
    """`pip install ./python` (offline, with the system's setuptools) gives a package that
    works from anywhere."""
    # asked in a new interpreter: importing setuptools here, after pytest, trips over its
    # distutils shim
    if any(subprocess.run([sys.executable] + args, capture_output=True).returncode
           for args in (["-c", "import setuptools"], ["-m", "pip", "--version"])):
        pytest.skip("pip or setuptools missing")
    src = tmp_path / "src"
    shutil.copytree(os.path.join(REPO, "python"), src,
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index",
                    "--no-build-isolation", "--no-deps", "--target", str(target), str(src)],
                   check=True, cwd=tmp_path)
    env = dict(os.environ, PYTHONPATH=str(target))
    code = ("import ocr_crnn, sys; print(ocr_crnn.__file__); "
            "print(ocr_crnn.Recognizer().recognize(sys.argv[1]).text)")
    out = subprocess.run([sys.executable, "-c", code, PATHS[0]], env=env, cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0].startswith(str(target))
    if os.path.exists(MODEL):
        assert out[1] == TEXTS[0]

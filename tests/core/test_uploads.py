"""core.uploads: the one gate for untrusted images, its limits, and what each hostile file costs.

Every hostile file is checked twice: in this process (a label-able array of
the model's shape, or a refusal that names the file), and in a child process
whose peak memory, less that of a child that only imports the same modules,
must stay under :data:`PEAK_LIMIT_MB`.
"""
from __future__ import annotations

import functools
import io
import json
import os
import struct
import subprocess
import sys
import types
import zlib

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin, features

from core import config, uploads
from core.uploads import UploadError

#: Most memory a hostile file may cost above an interpreter that imported the same modules.
PEAK_LIMIT_MB = 300
#: A file whose header declares more than a limit by one pixel row.
_PNG_OVER = (6000, uploads.MAX_PIXELS // 6000 + 1)
_JPEG_OVER = (12000, uploads.MAX_JPEG_PIXELS // 12000 + 1)

resource = pytest.importorskip("resource")


# ----------------------------------------------------------------------------
# Generated files
# ----------------------------------------------------------------------------
def _enc(image: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _photo(size=(60, 80), mode="RGB") -> Image.Image:
    """A small noisy picture (seeded): a product on white."""
    rng = np.random.default_rng(0)
    w, h = size
    arr = np.full((h, w, 3), 255, np.uint8)
    y0, y1, x0, x1 = h // 4, 3 * h // 4, w // 4, 3 * w // 4
    arr[y0:y1, x0:x1] = rng.integers(0, 200, (y1 - y0, x1 - x0, 3), dtype=np.uint8)
    return Image.fromarray(arr).convert(mode)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    """A valid PNG header declaring ``width x height`` with a tiny compressed body (a few rows)."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    body = zlib.compress(b"\x00" * min(4096, 1 + 3 * max(width, 1)))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def _jpeg_declaring(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header is rewritten to declare ``width x height``."""
    data = bytearray(_enc(_photo((16, 16)), "JPEG"))
    i = data.index(b"\xff\xc0")
    data[i + 5:i + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _webp_declaring(width: int, height: int) -> bytes:
    """A real small WebP whose extended header (VP8X) is rewritten to declare ``width x height``."""
    exif = Image.Exif()
    exif[0x0112] = 1  # any metadata makes the encoder write the extended header
    data = bytearray(_enc(_photo((16, 16)), "WEBP", exif=exif.tobytes()))
    assert data[12:16] == b"VP8X"
    data[24:30] = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return bytes(data)


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (60, 80), c).convert("P") for c in ((200, 0, 0), (0, 0, 200))]
    return _enc(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def _palette_png() -> bytes:
    image = Image.new("P", (60, 80), 0)
    image.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    image.paste(1, (0, 0, 60, 40))  # top half red, bottom half transparent
    return _enc(image, "PNG", transparency=0)


def _alpha(mode: str) -> bytes:
    colour = (30, 60, 90, 255) if mode == "RGBA" else (40, 255)
    clear = (0, 0, 0, 0) if mode == "RGBA" else (0, 0)
    image = Image.new(mode, (60, 80), clear)
    image.paste(colour, (0, 0, 60, 40))
    return _enc(image, "PNG")


def _one_bit() -> bytes:
    image = Image.new("1", (60, 80), 0)
    image.paste(1, (0, 0, 60, 40))
    return _enc(image, "PNG")


def _sixteen_bit(size=(70, 90)) -> bytes:
    rng = np.random.default_rng(0)
    return _enc(Image.fromarray(rng.integers(0, 65536, (size[1], size[0]), dtype=np.uint16)), "PNG")


def _rotated_jpeg() -> bytes:
    # Stored 80 wide by 60 high, left half black; EXIF orientation 6 means
    # "rotate 90 degrees clockwise to view", which puts the black half on top.
    stored = Image.new("RGB", (80, 60), (255, 255, 255))
    stored.paste((0, 0, 0), (0, 0, 40, 60))
    exif = Image.Exif()
    exif[0x0112] = 6
    return _enc(stored, "JPEG", exif=exif.tobytes(), quality=95)


#: name -> (builder, expected reason or None for an accepted file); builders are cached.
CASES = {
    "strip.png": (lambda: _enc(Image.new("RGB", (1, 40_000), (9, 9, 9)), "PNG"), "aspect ratio"),
    "strip-200k.png": (lambda: _enc(Image.new("L", (1, 200_000)), "PNG"), "aspect ratio"),
    "deep-6000.png": (lambda: _enc(Image.fromarray(np.zeros((6000, 6000), np.uint16)), "PNG"), "too large"),
    "screen-6500.gif": (lambda: _enc(Image.new("P", (6500, 6000)), "GIF"), "too large"),
    "phone-48mp.jpg": (lambda: _enc(Image.new("RGB", (8000, 6000), (180, 90, 40)), "JPEG", quality=50), None),
    # 100 MP in grayscale: the same decoder path, a quarter of the memory to generate.
    "phone-100mp.jpg": (lambda: _enc(Image.new("L", (12000, 8400), 120), "JPEG", quality=50), None),
    "over-limit.png": (lambda: _png_header(*_PNG_OVER), "too large"),
    "over-limit.jpg": (lambda: _jpeg_declaring(*_JPEG_OVER), "too large"),
    "zero.png": (lambda: _png_header(0, 50), "no pixels"),
    "empty.jpg": (lambda: b"", "empty file"),
    "notes.jpg": (lambda: b"name,price\nshirt,10\n" * 20, "not an image"),
    "cut.jpg": (lambda: _truncated(_enc(_photo((300, 400)), "JPEG")), "truncated"),
    "cut.png": (lambda: _truncated(_enc(_photo((300, 400)), "PNG")), "truncated"),
    "scan.tiff": (lambda: _enc(_photo(), "TIFF"), "unsupported format"),
    "paint.bmp": (lambda: _enc(_photo(), "BMP"), "unsupported format"),
    "cmyk.jpg": (lambda: _enc(_photo(mode="CMYK"), "JPEG"), None),
    "palette.png": (_palette_png, None),
    "rgba.png": (lambda: _alpha("RGBA"), None),
    "la.png": (lambda: _alpha("LA"), None),
    "bits.png": (_one_bit, None),
    "deep.png": (_sixteen_bit, None),
    "rotated.jpg": (_rotated_jpeg, None),
    "anim.gif": (_animated_gif, None),
    # At the full-decode limit: the worst that is accepted.
    "limit-rgba.png": (lambda: _enc(Image.new("RGBA", (6000, 4000), (10, 20, 30, 128)), "PNG"), None),
    "limit-16bit.png": (lambda: _enc(Image.fromarray(np.full((4000, 6000), 40000, np.uint16)), "PNG"), None),
    "limit-alpha.gif": (lambda: _enc(Image.new("P", (6000, 4000), 1), "GIF", transparency=0), None),
}
if features.check("webp"):
    CASES["limit-alpha.webp"] = (lambda: _enc(Image.new("RGBA", (4000, 3000), (10, 20, 30, 128)),
                                              "WEBP", lossless=True), None)
    CASES["over-limit.webp"] = (lambda: _webp_declaring(4000, 3001), "too large")

@functools.cache
def case_bytes(name: str) -> bytes:
    """The bytes of a case, generated once per session."""
    return CASES[name][0]()


# ----------------------------------------------------------------------------
# Each hostile file: an array of the model's shape, or a refusal naming it
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(CASES))
def test_hostile_file_gives_an_input_or_a_clear_refusal(name):
    data = case_bytes(name)
    expected = CASES[name][1]
    if expected is None:
        out = uploads.model_input(data, name)
        assert out.shape == (80, 60, 3) and out.dtype == np.uint8
        return
    with pytest.raises(UploadError) as err:
        uploads.model_input(data, name)
    message = str(err.value)
    assert message.startswith(name + " ") and message.endswith(".")
    assert message.count(". ") == 0  # one sentence
    assert err.value.reason == expected and err.value.name == name
    assert isinstance(err.value, ValueError)


def test_limits_match_the_streamlit_config():
    text = (config.REPO_ROOT / ".streamlit" / "config.toml").read_text()
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("maxUploadSize"))
    assert int(line.split("=")[1]) * 2**20 == uploads.MAX_FILE_BYTES


def test_limits_are_below_pillows_own_guard():
    # Pillow refuses at twice MAX_IMAGE_PIXELS; every size that passes this
    # module's limits stays below it, so Pillow's guard never decides.
    assert uploads.MAX_JPEG_PIXELS < 2 * Image.MAX_IMAGE_PIXELS
    assert uploads.MAX_PIXELS < uploads.MAX_JPEG_PIXELS


def test_strip_message_is_plain():
    with pytest.raises(UploadError) as err:
        uploads.model_input(case_bytes("strip.png"), "photo.png")
    assert str(err.value) == ("photo.png is 1×40000 pixels; images wider or taller than 20 times "
                              "the other side are refused.")


def test_empty_message_is_plain():
    with pytest.raises(UploadError) as err:
        uploads.open_image(b"", "x.jpg")
    assert str(err.value) == "x.jpg is not an image (empty file)."


def _no_decoding(monkeypatch):
    def refuse(self, *a, **k):
        raise AssertionError("decoded a file that should have been refused from its header")

    monkeypatch.setattr(Image.Image, "load", refuse)
    from PIL import ImageFile
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


def test_png_just_over_the_limit_is_refused_by_this_module_before_decoding(monkeypatch):
    data = case_bytes("over-limit.png")
    w, h = _PNG_OVER
    with Image.open(io.BytesIO(data)) as im:  # Pillow alone accepts this header
        assert im.size == (w, h)
    _no_decoding(monkeypatch)
    with pytest.raises(UploadError) as err:
        uploads.model_input(data, "bomb.png")
    assert str(err.value) == (f"bomb.png declares {w}×{h} pixels, over the 24-megapixel limit "
                              "for PNG images; resize it before uploading.")


def test_jpeg_just_over_the_limit_is_refused_by_this_module_before_decoding(monkeypatch):
    data = case_bytes("over-limit.jpg")
    w, h = _JPEG_OVER
    with pytest.warns(Image.DecompressionBombWarning), Image.open(io.BytesIO(data)) as im:
        assert im.size == (w, h)  # Pillow alone only warns
    _no_decoding(monkeypatch)
    with pytest.raises(UploadError, match="120-megapixel limit for JPEG") as err:
        uploads.model_input(data, "bomb.jpg")
    assert f"{w}×{h}" in str(err.value)


def test_the_pixel_check_is_this_modules_own(monkeypatch):
    data = _enc(_photo(), "PNG")
    assert uploads.model_input(data, "ok.png").shape == (80, 60, 3)
    monkeypatch.setattr(uploads, "MAX_PIXELS", 60 * 80 - 1)
    with pytest.raises(UploadError, match="limit for PNG"):
        uploads.model_input(data, "ok.png")


@pytest.mark.parametrize("name,largest", [("phone-48mp.jpg", 1000 * 750),
                                          ("phone-100mp.jpg", 1500 * 1050)])
def test_big_jpeg_is_decoded_at_reduced_scale(monkeypatch, name, largest):
    decoded = []
    original = JpegImagePlugin.JpegImageFile.load

    def spy(self):
        decoded.append(self.size)
        return original(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", spy)
    out = uploads.model_input(case_bytes(name), name)
    assert out.shape == (80, 60, 3)
    assert decoded and all(w * h <= largest for w, h in decoded)
    preview = uploads.open_image(case_bytes(name), name)
    assert max(preview.size) == 640 and preview.mode == "RGB"


def test_48mp_colour_survives():
    out = uploads.model_input(case_bytes("phone-48mp.jpg"), "phone.jpg")
    assert np.abs(out[40, 30].astype(int) - (180, 90, 40)).max() < 6
    assert (out[0] == 255).all() and (out[-1] == 255).all()  # 4:3 landscape padded top and bottom


# ----------------------------------------------------------------------------
# Modes, orientation, frames
# ----------------------------------------------------------------------------
def test_exif_orientation_is_applied():
    out = uploads.model_input(case_bytes("rotated.jpg"), "rotated.jpg")
    assert out[:35].mean() < 40 and out[45:].mean() > 215


def test_animated_gif_gives_its_first_frame():
    out = uploads.model_input(case_bytes("anim.gif"), "anim.gif")
    r, _, b = out[40, 30].astype(int)
    assert r > 150 and b < 60


@pytest.mark.parametrize("name", ["palette.png", "rgba.png", "la.png"])
def test_transparency_is_composited_on_white(name):
    out = uploads.model_input(case_bytes(name), name)
    assert (out[60:] == 255).all()  # bottom half was transparent
    assert out[10:30].mean() < 200


def test_one_bit_and_sixteen_bit():
    out = uploads.model_input(case_bytes("bits.png"), "bits.png")
    assert out[10:30].max() > 250 and out[50:].min() < 5
    deep = uploads.model_input(case_bytes("deep.png"), "deep.png")
    assert deep.std() > 10  # not flattened to black or white by a wrong scale


def test_cmyk_jpeg_keeps_its_colours():
    src = np.asarray(_photo())
    out = uploads.model_input(case_bytes("cmyk.jpg"), "cmyk.jpg")
    assert np.abs(out.astype(int) - src.astype(int)).mean() < 20


def test_open_image_keeps_small_images_small():
    image = uploads.open_image(_enc(_photo((30, 20)), "PNG"), "small.png")
    assert image.size == (30, 20) and image.mode == "RGB"


# ----------------------------------------------------------------------------
# letterbox
# ----------------------------------------------------------------------------
def test_letterbox_keeps_a_native_photo_exactly():
    image = _photo()
    np.testing.assert_array_equal(uploads.letterbox(image), np.asarray(image))


def test_letterbox_pads_a_wide_image_with_white():
    out = uploads.letterbox(Image.new("RGB", (600, 100), (0, 0, 0)))
    assert out.shape == (80, 60, 3)
    assert (out[0] == 255).all() and (out[-1] == 255).all() and (out[40] < 10).all()


def test_letterbox_of_a_large_image_is_cheap():
    out = uploads.letterbox(Image.new("RGBA", (3000, 4000), (0, 0, 255, 255)), shape=(8, 6))
    assert out.shape == (8, 6, 3) and (out[..., 2] == 255).all() and (out[..., 0] == 0).all()


# ----------------------------------------------------------------------------
# Headers
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("fmt,kw", [("JPEG", {}), ("PNG", {}), ("GIF", {}), ("WEBP", {}),
                                    ("WEBP", {"lossless": True}), ("WEBP", {"exif": b"Exif\0\0MM\0*\0\0\0\x08\0\0"})])
def test_header_size_matches_pillow(fmt, kw):
    if fmt == "WEBP" and not features.check("webp"):
        pytest.skip("this Pillow was built without WebP")
    data = _enc(_photo((37, 53)), fmt, **kw)
    assert uploads.sniff(data) == fmt
    assert uploads.header_size(data) == (37, 53)


def test_gif_frame_outside_its_screen_counts():
    data = bytearray(_enc(Image.new("P", (10, 10)), "GIF"))
    data[6:10] = struct.pack("<HH", 5, 5)  # a screen smaller than the frame
    assert uploads.header_size(bytes(data)) == (10, 10)


def test_sniff_ignores_the_name():
    assert uploads.sniff(_enc(_photo(), "PNG")) == "PNG"
    assert uploads.sniff(b"\x00\x00\x00\x18ftypheic" + b"\0" * 20) == "HEIC"
    assert uploads.sniff(b"hello") is None


def test_conversion_notes():
    assert uploads.conversion_notes(_enc(_photo(), "JPEG")) == []
    assert uploads.conversion_notes(_enc(_photo(), "PNG")) == ["png"]
    assert uploads.conversion_notes(_enc(_photo(mode="L"), "JPEG")) == ["grayscale"]
    assert uploads.conversion_notes(_enc(_photo(mode="CMYK"), "JPEG")) == ["cmyk"]
    assert uploads.conversion_notes(_enc(_photo((47, 80)), "JPEG")) == ["odd size"]
    assert uploads.conversion_notes(_sixteen_bit((60, 80))) == ["png", "16-bit"]


# ----------------------------------------------------------------------------
# Catalogue images
# ----------------------------------------------------------------------------
def test_decode_catalogue_is_opencvs_decode():
    cv2 = pytest.importorskip("cv2")
    data = _enc(_photo(), "JPEG")
    expected = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(uploads.decode_catalogue(data, "1.jpg"), expected)


def test_decode_catalogue_gif_is_bgr_at_its_own_size():
    out = uploads.decode_catalogue(_enc(Image.new("RGB", (47, 80), (200, 10, 10)).convert("P"), "GIF"),
                                   "2.jpg")
    assert out.shape == (80, 47, 3) and out[40, 20, 2] > 150 and out[40, 20, 0] < 60


@pytest.mark.parametrize("data,reason", [
    (b"", "empty file"),
    (b"this is not an image, just text\n", "not an image"),
    (b"\xff\xd8\xff\xe0" + bytes(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8))
     + b"\xff\xd9", "corrupt"),
])
def test_decode_catalogue_reasons(data, reason):
    with pytest.raises(UploadError) as err:
        uploads.decode_catalogue(data, "2020.jpg")
    assert err.value.reason == reason and str(err.value).startswith("2020.jpg ")


def test_decode_catalogue_truncated():
    for name in ("cut.jpg", "cut.png"):
        with pytest.raises(UploadError) as err:
            uploads.decode_catalogue(case_bytes(name), name)
        assert err.value.reason == "truncated"


def test_decode_catalogue_reduces_a_huge_jpeg():
    out = uploads.decode_catalogue(case_bytes("phone-48mp.jpg"), "big.jpg")
    assert out.shape == (3000, 4000, 3)


# ----------------------------------------------------------------------------
# read_file and check_submission
# ----------------------------------------------------------------------------
def test_read_file_reads_a_regular_file(tmp_path):
    path = tmp_path / "a.jpg"
    path.write_bytes(b"abc")
    assert uploads.read_file(path) == b"abc"


def test_read_file_refuses_a_folder_and_a_missing_file(tmp_path):
    with pytest.raises(UploadError, match="is a folder") as err:
        uploads.read_file(tmp_path)
    assert err.value.reason == "not a file"
    with pytest.raises(UploadError, match="does not exist") as err:
        uploads.read_file(tmp_path / "nope.jpg")
    assert err.value.reason == "missing file"


@pytest.mark.timeout(10)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_read_file_refuses_a_fifo_at_once(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(UploadError, match="named pipe"):
        uploads.read_file(fifo)


@pytest.mark.timeout(10)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_read_file_does_not_hang_on_a_fifo_swapped_in_after_the_check(tmp_path, monkeypatch):
    regular = tmp_path / "a.jpg"
    regular.write_bytes(b"abc")
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    # uploads sees a stat of a regular file, then opens the pipe.
    fake = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
    fake.stat = lambda p: os.stat(regular)
    monkeypatch.setattr(uploads, "os", fake)
    with pytest.raises(UploadError, match="named pipe"):
        uploads.read_file(fifo)


@pytest.mark.timeout(10)
@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_read_file_refuses_dev_zero():
    with pytest.raises(UploadError, match="character device"):
        uploads.read_file("/dev/zero")


def test_read_file_refuses_a_file_over_the_limit_without_reading_it(tmp_path, monkeypatch):
    path = tmp_path / "big.jpg"
    path.write_bytes(b"x" * 5000)
    read = []
    original = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: read.append(n) or original(fd, n))
    with pytest.raises(UploadError, match="limit for one file") as err:
        uploads.read_file(path, max_bytes=1024)
    assert err.value.reason == "too big" and read == []


@pytest.mark.timeout(10)
@pytest.mark.skipif(not os.path.isfile("/proc/self/maps"), reason="no /proc here")
def test_read_file_reads_at_most_one_byte_over_the_limit(monkeypatch):
    # /proc files are regular files whose stat size is 0: only reading tells.
    got = []
    original = os.read

    def spy(fd, n):
        chunk = original(fd, n)
        got.append(len(chunk))
        return chunk

    monkeypatch.setattr(os, "read", spy)
    with pytest.raises(UploadError, match="larger than the"):
        uploads.read_file("/proc/self/maps", max_bytes=64)
    assert sum(got) == 65


def test_check_submission():
    uploads.check_submission([("a.jpg", 10), ("b.png", 20)])
    with pytest.raises(UploadError, match="17 files were sent; at most 16") as err:
        uploads.check_submission([(f"{i}.jpg", 1) for i in range(17)])
    assert err.value.reason == "too many files"
    with pytest.raises(UploadError, match="over the 64 MB limit for one submission") as err:
        uploads.check_submission([(f"{i}.jpg", 20 * 2**20) for i in range(4)])
    assert err.value.reason == "too big"


def test_over_the_file_limit_in_memory(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_FILE_BYTES", 100)
    with pytest.raises(UploadError, match="limit for one file") as err:
        uploads.model_input(_enc(_photo(), "PNG"), "big.png")
    assert err.value.reason == "too big"


# ----------------------------------------------------------------------------
# Peak memory, measured in a child process
# ----------------------------------------------------------------------------
_CHILD = r"""
import json, resource, sys
import numpy as np
from PIL import Image
Image.init()
from core import uploads
func, path = sys.argv[1], sys.argv[2]
if func == "decode_catalogue":
    import cv2
out = {}
if path != "-":
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        out["shape"] = list(getattr(uploads, func)(data, "case").shape)
    except uploads.UploadError as exc:
        out["error"] = str(exc)
# VmHWM is the peak of this program's own memory. ru_maxrss is not: on Linux
# it starts from the peak of the forked copy of the parent it replaced.
try:
    with open("/proc/self/status") as fh:
        out["peak_kb"] = next(int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out["peak_kb"] = peak // 1024 if sys.platform == "darwin" else peak
print(json.dumps(out))
"""


def peak_mb(func: str, path) -> tuple[float, dict]:
    """Peak resident memory (MB) of a child that runs ``uploads.<func>`` on a file ('-': nothing)."""
    env = dict(os.environ, PYTHONPATH=str(config.REPO_ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", _CHILD, func, str(path)], cwd=config.REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out["peak_kb"] / 1024, out


@pytest.fixture(scope="module")
def baseline_mb():
    """Peak of an interpreter that imported the same modules, per entry point."""
    return {f: min(peak_mb(f, "-")[0] for _ in range(2)) for f in ("model_input", "decode_catalogue")}


@pytest.mark.parametrize("name", list(CASES))
def test_peak_memory_of_each_case(name, tmp_path, baseline_mb):
    path = tmp_path / "case.bin"
    path.write_bytes(case_bytes(name))
    peak, out = peak_mb("model_input", path)
    delta = peak - baseline_mb["model_input"]
    assert ("error" in out) == (CASES[name][1] is not None), out
    if "shape" in out:
        assert out["shape"] == [80, 60, 3]
    assert delta < PEAK_LIMIT_MB, f"{name}: {delta:.0f} MB above the interpreter"


@pytest.mark.parametrize("name", ["phone-48mp.jpg", "strip.png", "screen-6500.gif",
                                  "limit-rgba.png", "limit-alpha.gif"])
def test_peak_memory_of_catalogue_decodes(name, tmp_path, baseline_mb):
    path = tmp_path / "case.bin"
    path.write_bytes(case_bytes(name))
    peak, out = peak_mb("decode_catalogue", path)
    assert peak - baseline_mb["decode_catalogue"] < PEAK_LIMIT_MB, out

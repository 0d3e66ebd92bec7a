"""Untrusted bytes to an image: the one gate for every file a person hands over, with one set of limits.

Every image that comes from outside the code (an upload on the Classifier
page, a path given to ``python -m core classify``, a catalogue file) goes
through this module, which checks it in an order where nothing large is
allocated before it is known to be affordable:

1. the byte size and, for a submission, the number of files and their total;
2. the format, sniffed from the magic bytes (never from the name);
3. whether the file ends where its format says it ends (truncated files are
   refused; ``ImageFile.LOAD_TRUNCATED_IMAGES`` is never set);
4. the pixel size declared by the header, read by this module without
   decoding, against the pixel limit of the format and the aspect-ratio
   limit. A 242-byte PNG can declare 1x40,000 pixels and a 30 KB GIF
   6500x6000: the header, not the file size, says what a decode costs;
5. the decode itself: a JPEG is decoded at 1/2, 1/4 or 1/8 scale by libjpeg
   (``Image.draft``) so a 48 or 100 megapixel phone photo never exists at
   full size; PNG, WebP and GIF have no such option and are decoded at full
   size, which their lower pixel limit keeps affordable;
6. shrinking to a small multiple of what is needed, then EXIF orientation,
   mode conversion to 8-bit RGB (transparency over white, the catalogue's
   background) and, for the model, letterboxing to 80 high by 60 wide.

Pillow's own decompression-bomb guard (``Image.MAX_IMAGE_PIXELS``, 89.5
megapixels with a warning, twice that with an error) is left as it is for
the rest of the process, but it never decides here: the limits below are
lower and are checked first, from the header, so every refusal carries this
module's message.

Limits
------
MAX_FILE_BYTES
    20 MiB per file, the same as ``server.maxUploadSize`` in
    ``.streamlit/config.toml``, so the page and the CLI refuse the same files.
MAX_FILES, MAX_TOTAL_BYTES
    16 files and 64 MiB per submission.
MAX_JPEG_PIXELS
    120 megapixels declared by a JPEG header. Phones take 48 and 50 MP photos
    and some 100 MP ones; at 1/8 scale 120 MP decodes as 1.9 MP (7.5 MB).
MAX_PIXELS
    24 megapixels for PNG and GIF, which are decoded at full size, and the
    most pixels any decode here ever produces. Pillow keeps RGB, RGBA and LA
    at 4 bytes a pixel (16-bit colour PNGs are decoded to 8 bits), so 24 MP
    is 96 MB; shrinking an image with alpha makes one premultiplied copy,
    about 190 MB at worst (measured); 16-bit grayscale is 2 bytes a pixel,
    48 MB. That keeps the worst case under 200 MB above the interpreter.
MAX_WEBP_PIXELS
    12 megapixels for WebP. Pillow decodes WebP through libwebp's animation
    decoder, which holds its own canvas and a copy of the frame besides the
    image: about 16 bytes a pixel at the peak (measured: 24 MP cost 370 MB),
    so the same memory bound allows half the pixels.
MAX_ASPECT
    20: an image whose long side is more than 20 times its short side is
    refused; no photo of a product looks like that, and a 1x40,000 strip is
    only a way to make a letterbox allocate a 40,000x30,000 canvas.
FORMATS
    JPEG, PNG, WebP, GIF and MPO (the multi-picture JPEG some cameras write;
    its first picture is used). Animations give their first frame.
"""
from __future__ import annotations

import io
import os
import stat
import warnings
from collections.abc import Sequence
from typing import Optional

import numpy as np
from PIL import Image

#: Largest file accepted, in bytes: ``server.maxUploadSize = 20`` (megabytes).
MAX_FILE_BYTES = 20 * 1024 * 1024
#: Most files classified in one submission.
MAX_FILES = 16
#: Largest total size of one submission, in bytes.
MAX_TOTAL_BYTES = 64 * 1024 * 1024
#: Most pixels a JPEG header may declare (decoded at reduced scale).
MAX_JPEG_PIXELS = 120_000_000
#: Most pixels of a PNG or GIF (decoded at full size), and of any decode.
MAX_PIXELS = 24_000_000
#: Most pixels of a WebP (decoded at full size, at about four times the cost).
MAX_WEBP_PIXELS = 12_000_000
#: Largest ratio of the long side to the short side.
MAX_ASPECT = 20
#: Formats accepted, as Pillow names them.
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "MPO")
#: File extensions to offer in a file picker.
EXTENSIONS = ("jpg", "jpeg", "png", "webp", "gif")
#: The model's input, ``(height, width)``: the catalogue's native photo size.
MODEL_SHAPE = (80, 60)
#: The catalogue's background, used to pad and to flatten transparency.
BACKGROUND = (255, 255, 255)

#: How a format is named in messages.
_LABELS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF"}
#: Formats that libjpeg can decode at 1/2, 1/4 or 1/8 scale.
_SCALABLE = ("JPEG", "MPO")

_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"%PDF", "PDF"),
    (b"\x00\x00\x01\x00", "ICO"),
)
#: ISO-BMFF brands of the photo formats phones write (``ftyp`` box at offset 4).
_FTYP = {b"heic": "HEIC", b"heix": "HEIC", b"hevc": "HEIC", b"mif1": "HEIF", b"msf1": "HEIF",
         b"avif": "AVIF", b"avis": "AVIF"}

#: EXIF orientation to the transpose that undoes it, as ``ImageOps.exif_transpose``.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class UploadError(ValueError):
    """A file refused, with one plain sentence that names it.

    Attributes
    ----------
    name : str
        The file's name, as given.
    reason : str
        A few words for tallies: ``"empty file"``, ``"too big"``, ``"not an
        image"``, ``"unsupported format"``, ``"truncated"``, ``"corrupt"``,
        ``"too large"`` (pixels), ``"aspect ratio"``, ``"no pixels"``,
        ``"not a file"``, ``"missing file"``, ``"unreadable"``, ``"too many
        files"``.
    """

    def __init__(self, message: str, *, name: str = "image", reason: str = "refused"):
        super().__init__(message or f"{name} was refused.")
        self.name = name
        self.reason = reason


def _refuse(name: str, reason: str, rest: str) -> UploadError:
    """``UploadError("<name> <rest>")``; the name is never empty."""
    name = str(name) or "image"
    return UploadError(f"{name} {rest}", name=name, reason=reason)


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def _mp(n: int) -> str:
    return f"{n / 1e6:g}-megapixel"


# ----------------------------------------------------------------------------
# Headers, without decoding
# ----------------------------------------------------------------------------
def sniff(data: bytes) -> Optional[str]:
    """The format named by the file's first bytes, whatever its name says.

    Returns
    -------
    str or None
        ``"JPEG"``, ``"PNG"``, ``"GIF"``, ``"WEBP"``, or a format that is
        recognised only to be refused by name (``"BMP"``, ``"TIFF"``,
        ``"HEIC"``, ``"AVIF"``, ``"PDF"``...); None when unknown.
    """
    for magic, fmt in _MAGIC:
        if data.startswith(magic):
            return fmt
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp":
        return _FTYP.get(data[8:12], "ISO media")
    return None


def is_complete(data: bytes, fmt: Optional[str]) -> bool:
    """Whether a file ends where its format says it ends (False: truncated).

    Only the tail is looked at; formats without a check count as complete.
    """
    if fmt in ("JPEG", "MPO"):
        # Some encoders pad after the end-of-image marker; allow a little slack.
        return b"\xff\xd9" in data[-64:]
    if fmt == "PNG":
        return b"IEND" in data[-64:]
    if fmt == "GIF":
        return data.rstrip(b"\x00")[-1:] == b";"
    if fmt == "WEBP":
        # The RIFF header says how long the file is.
        return len(data) >= 12 and int.from_bytes(data[4:8], "little") + 8 <= len(data)
    return True


def jpeg_header(data: bytes) -> Optional[tuple[str, tuple[int, int]]]:
    """Mode and ``(width, height)`` from a JPEG's frame header, without decoding.

    Walks the marker segments to the first start-of-frame: about 30 times
    cheaper than opening the file with Pillow, which matters over 42k files.

    Returns
    -------
    tuple or None
        ``("L" | "RGB" | "CMYK", (width, height))``, or None when no frame
        header is found.
    """
    i, n = 2, len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if 0xD0 <= marker <= 0xD8 or marker == 0x01:  # markers without a length
            i += 2
            continue
        length = (data[i + 2] << 8) | data[i + 3]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h = (data[i + 5] << 8) | data[i + 6]
            w = (data[i + 7] << 8) | data[i + 8]
            comps = data[i + 9]
            return {1: "L", 3: "RGB", 4: "CMYK"}.get(comps, "RGB"), (w, h)
        i += 2 + length
    return None


def _gif_size(data: bytes) -> Optional[tuple[int, int]]:
    """The logical screen, grown to hold the first frame, as Pillow sizes a GIF."""
    if len(data) < 13:
        return None
    w, h = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    flags = data[10]
    i = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    n = len(data)
    while i < n:
        block = data[i]
        if block == 0x21:  # extension: label, then sub-blocks up to a zero length
            i += 2
            while i < n and data[i]:
                i += data[i] + 1
            i += 1
        elif block == 0x2C and i + 9 < n:  # the first image descriptor
            x, y = int.from_bytes(data[i + 1:i + 3], "little"), int.from_bytes(data[i + 3:i + 5], "little")
            fw, fh = int.from_bytes(data[i + 5:i + 7], "little"), int.from_bytes(data[i + 7:i + 9], "little")
            return max(w, x + fw), max(h, y + fh)
        else:
            break
    return w, h


def _webp_size(data: bytes) -> Optional[tuple[int, int]]:
    """Canvas size from the first chunk of a WebP (VP8X, VP8 or VP8L)."""
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return (1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little"))
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        return (int.from_bytes(data[26:28], "little") & 0x3FFF,
                int.from_bytes(data[28:30], "little") & 0x3FFF)
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    return None


def header_size(data: bytes, fmt: Optional[str] = None) -> Optional[tuple[int, int]]:
    """``(width, height)`` declared by the header, read without Pillow or decoding.

    Parameters
    ----------
    data : bytes
    fmt : str, optional
        The sniffed format; sniffed here when omitted.

    Returns
    -------
    tuple of int, or None
        None when the format is not one of :data:`FORMATS` or its header
        cannot be found.
    """
    fmt = fmt or sniff(data)
    if fmt in ("JPEG", "MPO"):
        header = jpeg_header(data)
        return header[1] if header else None
    if fmt == "PNG":
        if len(data) >= 24 and data[12:16] == b"IHDR":
            return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        return None
    if fmt == "GIF":
        return _gif_size(data)
    if fmt == "WEBP":
        return _webp_size(data)
    return None


def _lazy_open(data: bytes, formats) -> Image.Image:
    """``Image.open`` (which reads the header only) with Pillow's bomb warning silenced.

    The limits of this module were checked before, and are lower than
    Pillow's; its warning would only repeat them in the log.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data), formats=formats)


def conversion_notes(data: bytes, native_shape: tuple[int, int] = MODEL_SHAPE) -> list[str]:
    """What a catalogue image needs converted: foreign format, colour mode, size.

    Read from the header only. The notes are ``"png"``, ``"gif"``, ``"webp"``
    (a format other than JPEG), ``"grayscale"``, ``"cmyk"``, ``"palette"``,
    ``"16-bit"``, ``"alpha"`` and ``"odd size"`` (not ``native_shape``, given
    as ``(height, width)``).
    """
    fmt = sniff(data)
    notes = []
    if fmt not in (None, "JPEG"):
        notes.append(fmt.lower())
    header = jpeg_header(data) if fmt == "JPEG" else None
    if header is not None:
        mode, size = header
    else:
        try:
            with _lazy_open(data, None) as im:
                mode, size = im.mode, im.size
        except Exception:  # any damaged header: the notes are what is known so far
            return notes
    if mode in ("L", "LA", "1"):
        notes.append("grayscale")
    elif mode == "CMYK":
        notes.append("cmyk")
    elif mode == "P":
        notes.append("palette")
    elif mode.startswith("I") or mode == "F":
        notes.append("16-bit")
    elif mode in ("RGBA", "PA"):
        notes.append("alpha")
    if (size[1], size[0]) != tuple(native_shape):
        notes.append("odd size")
    return notes


# ----------------------------------------------------------------------------
# The gate
# ----------------------------------------------------------------------------
def pixel_limit(fmt: str) -> int:
    """Most pixels a header of format ``fmt`` may declare (see the module's Limits)."""
    if fmt in _SCALABLE:
        return MAX_JPEG_PIXELS
    if fmt == "WEBP":
        return MAX_WEBP_PIXELS
    return MAX_PIXELS


def _check_pixels(name: str, fmt: str, size: tuple[int, int]) -> None:
    """Refuse a declared size that has no pixels, too many, or an absurd shape."""
    w, h = size
    if w <= 0 or h <= 0:
        raise _refuse(name, "no pixels", f"declares a {w}×{h} image, which has no pixels.")
    limit = pixel_limit(fmt)
    if w * h > limit:
        raise _refuse(name, "too large",
                      f"declares {w}×{h} pixels, over the {_mp(limit)} limit for "
                      f"{_LABELS.get(fmt, fmt)} images; resize it before uploading.")
    if max(w, h) > MAX_ASPECT * min(w, h):
        raise _refuse(name, "aspect ratio",
                      f"is {w}×{h} pixels; images wider or taller than {MAX_ASPECT} times "
                      "the other side are refused.")


def check_bytes(data: bytes, name: str = "image") -> tuple[str, tuple[int, int]]:
    """Everything that can be checked before Pillow touches the file.

    Size in bytes, format from the magic bytes, completeness, and the
    declared pixel size against the format's limit (:func:`pixel_limit`)
    and :data:`MAX_ASPECT`. Nothing is decoded.

    ``data`` is the file's content and ``name`` its name, for messages.

    Returns
    -------
    fmt : str
        One of :data:`FORMATS` (``"JPEG"`` also for MPO).
    size : tuple of int or None
        ``(width, height)`` from the header, or None when this module could
        not read it (Pillow's header reader then decides, see :func:`open_image`).

    Raises
    ------
    UploadError
    """
    if not data:
        raise _refuse(name, "empty file", "is not an image (empty file).")
    if len(data) > MAX_FILE_BYTES:
        raise _refuse(name, "too big", f"is {_mb(len(data))}, over the {_limit_mb(MAX_FILE_BYTES)} "
                                       "limit for one file; send a smaller image.")
    fmt = sniff(data)
    if fmt is None:
        raise _refuse(name, "not an image",
                      "is not an image (its content is not JPEG, PNG, WebP or GIF).")
    if fmt not in FORMATS:
        raise _refuse(name, "unsupported format",
                      f"is a {fmt} file; only JPEG, PNG, WebP and GIF images are accepted.")
    if not is_complete(data, fmt):
        raise _refuse(name, "truncated",
                      f"is a truncated {_LABELS[fmt]} file (it ends before the image does); "
                      "send the complete file.")
    size = header_size(data, fmt)
    if size is not None:
        _check_pixels(name, fmt, size)
    return fmt, size


def _open(data: bytes, name: str) -> tuple[Image.Image, str]:
    """Check the bytes, then open lazily (header only) and check Pillow's view of the size."""
    fmt, _ = check_bytes(data, name)
    try:
        image = _lazy_open(data, ["JPEG", "MPO"] if fmt == "JPEG" else [fmt])
    except Image.DecompressionBombError:
        # Only reachable when this module could not read the header itself.
        limit = pixel_limit(fmt)
        raise _refuse(name, "too large", f"declares more pixels than the {_mp(limit)} limit for "
                                         f"{_LABELS[fmt]} images; resize it before uploading.") from None
    except MemoryError:
        raise
    except Exception:
        # Pillow reports a damaged header as SyntaxError, OSError, ValueError,
        # struct.error...; to the person they all mean the same.
        raise _refuse(name, "corrupt", f"looks like a {_LABELS[fmt]} file but its header is "
                                       "damaged; it cannot be decoded.") from None
    try:
        # Pillow may size a file differently (a GIF frame outside its screen).
        _check_pixels(name, image.format or fmt, image.size)
    except UploadError:
        image.close()
        raise
    return image, image.format or fmt


def _load(image: Image.Image, name: str, fmt: str) -> None:
    """Decode the pixels (first frame), mapping every failure to a sentence."""
    w, h = image.size
    if w * h > MAX_PIXELS:
        # A JPEG whose reduced decode did not take: never decode it at full size.
        raise _refuse(name, "too large",
                      f"would decode to {w}×{h} pixels, over the {_mp(MAX_PIXELS)} limit of one "
                      "decode; resize it before uploading.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
    except MemoryError:
        raise
    except Exception as exc:  # as for the header: many kinds, one meaning
        if "truncated" in str(exc).lower():
            raise _refuse(name, "truncated", f"is a truncated {_LABELS[fmt]} file; send the "
                                             "complete file.") from None
        raise _refuse(name, "corrupt", f"is a damaged {_LABELS[fmt]} file; it cannot be "
                                       "decoded.") from None


def _scale_for(size: tuple[int, int]) -> int:
    """Smallest JPEG scale divisor (1, 2, 4, 8) that keeps a decode within :data:`MAX_PIXELS`."""
    w, h = size
    for k in (1, 2, 4, 8):
        if (-(-w // k)) * (-(-h // k)) <= MAX_PIXELS:
            return k
    return 8


def _draft(image: Image.Image, box: Optional[tuple[int, int]]) -> None:
    """Ask libjpeg to decode at the smallest scale that still covers ``box``.

    ``draft`` picks the largest of 1/8, 1/4, 1/2 and 1 that keeps both sides
    at least the requested size; asking for at most ``size / k`` also makes it
    at least the 1/k that :data:`MAX_PIXELS` requires.
    """
    w, h = image.size
    k = _scale_for((w, h))
    bw, bh = box if box is not None else (w, h)
    request = (max(1, min(bw, w // k)), max(1, min(bh, h // k)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image.draft("RGB", request)


def _orientation(image: Image.Image) -> int:
    """EXIF orientation (1 to 8), read as ``ImageOps.exif_transpose`` reads it."""
    try:
        value = image.getexif().get(0x0112, 1)
        return int(value) if int(value) in _TRANSPOSE else 1
    except Exception:  # a damaged EXIF block must not refuse a photo: it is shown as stored
        return 1


def _flatten_palette(image: Image.Image) -> Image.Image:
    """A palette image as RGB, transparent entries composited on white in the palette.

    Blending the (at most 256) palette entries instead of the pixels means a
    transparent GIF or PNG never exists as a full-size RGBA image.
    """
    transparency = image.info.get("transparency")
    has_alpha = image.palette is not None and image.palette.mode == "RGBA"
    if transparency is None and not has_alpha:
        return image.convert("RGB")
    rgba = image.getpalette("RGBA") or []
    n = len(rgba) // 4
    alpha = [rgba[4 * i + 3] for i in range(n)]
    if isinstance(transparency, int) and 0 <= transparency < n:
        alpha[transparency] = 0
    elif isinstance(transparency, (bytes, bytearray)):
        for i, a in enumerate(transparency[:n]):
            alpha[i] = min(alpha[i], a)
    flat = []
    for i in range(n):
        a = alpha[i]
        flat += [(c * a + BACKGROUND[j] * (255 - a) + 127) // 255
                 for j, c in enumerate(rgba[4 * i:4 * i + 3])]
    image.putpalette(flat, "RGB")
    image.info.pop("transparency", None)
    return image.convert("RGB")


def _fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The largest size of ``size``'s aspect inside ``box`` (both ``(width, height)``)."""
    w, h = size
    scale = min(box[0] / w, box[1] / h)
    return (min(box[0], max(1, round(w * scale))), min(box[1], max(1, round(h * scale))))


def _native_to_small(image: Image.Image, box: Optional[tuple[int, int]]) -> Image.Image:
    """Shrink to fit ``box`` in the image's own mode, after the few full-size conversions needed.

    Resizing before converting keeps every copy small. Only modes that cannot
    be resized correctly are converted first: palette (resized as nearest
    neighbour otherwise) through :func:`_flatten_palette`, 1-bit to L, and a
    colour-key transparency to an alpha channel.
    """
    mode = image.mode
    if mode == "P":
        image = _flatten_palette(image)
    elif mode == "1":
        image = image.convert("L")
    elif mode == "PA":
        image = image.convert("RGBA")
    elif mode in ("L", "RGB") and "transparency" in image.info:
        image = image.convert("LA" if mode == "L" else "RGBA")
    if box is not None and (image.width > box[0] or image.height > box[1]):
        # Pillow premultiplies alpha while resizing RGBA and LA.
        image = image.resize(_fit(image.size, box), Image.Resampling.BICUBIC)
    return image


def _small_to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB of a (small) image of any mode; transparency over white."""
    mode = image.mode
    if mode.startswith("I"):
        # 16/32-bit grayscale: 8 bits by the range the format can hold.
        arr = np.asarray(image, dtype=np.float64)
        top = 65535.0 if arr.size and arr.max() > 255 else 255.0
        image = Image.fromarray(np.clip(arr / top * 255.0, 0, 255).astype(np.uint8), "L")
    elif mode == "F":
        arr = np.nan_to_num(np.asarray(image, dtype=np.float64))
        lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        image = Image.fromarray(arr.astype(np.uint8), "L")
    elif mode in ("LA", "La", "RGBA", "RGBa", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _decode(data: bytes, name: str, max_side: Optional[int]) -> Image.Image:
    """Checked, reduced decode to 8-bit RGB, EXIF-rotated, at most ``max_side``."""
    image, fmt = _open(data, name)
    with image:
        box = None if max_side is None else (int(max_side), int(max_side))
        if fmt in _SCALABLE:
            _draft(image, box)
        _load(image, name, fmt)
        orientation = _orientation(image)
        try:
            small = _small_to_rgb(_native_to_small(image, box))
        except MemoryError:
            raise
        except Exception:  # an odd mode Pillow decodes but cannot convert
            raise _refuse(name, "corrupt", f"is a {_LABELS[fmt]} image whose colours cannot be "
                                           "converted to RGB.") from None
    if orientation in _TRANSPOSE:
        small = small.transpose(_TRANSPOSE[orientation])
    return small


# ----------------------------------------------------------------------------
# Public entry points
# ----------------------------------------------------------------------------
def open_image(data: bytes, name: str = "image", *, max_side: int = 640) -> Image.Image:
    """Decode an untrusted file to a small RGB image, for previews and other uses.

    Parameters
    ----------
    data : bytes
        The file's content.
    name : str
        Its name, for messages only (the format comes from the content).
    max_side : int, default 640
        Longest side of the result; smaller images are not enlarged. A JPEG
        is decoded at the reduced scale (1/2, 1/4 or 1/8) that still covers it.

    Returns
    -------
    PIL.Image.Image
        Mode ``"RGB"``, EXIF orientation applied, transparency over white,
        first frame of an animation.

    Raises
    ------
    UploadError
        Empty, over :data:`MAX_FILE_BYTES`, not an image, a format outside
        :data:`FORMATS`, truncated, damaged, more pixels than the format's
        limit, or a shape beyond :data:`MAX_ASPECT`.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1, got {max_side}")
    return _decode(data, name, max_side)


def letterbox(image: Image.Image, shape: tuple[int, int] = MODEL_SHAPE,
              background: tuple[int, int, int] = BACKGROUND) -> np.ndarray:
    """Fit an image inside ``shape`` and pad the rest with ``background``.

    The image is resized first, keeping its aspect, to the largest size that
    fits, then pasted in the middle of a canvas of ``shape``: a square photo
    of a shoe stays a shoe, not a tall thin one, and no step holds more
    than the image and the small canvas. An image already of ``shape`` is
    returned pixel for pixel.

    Parameters
    ----------
    image : PIL.Image.Image
        Any mode; it is converted to RGB after shrinking (transparency over
        white). EXIF orientation is not applied here.
    shape : tuple of int
        ``(height, width)`` of the result.
    background : tuple of int
        RGB of the padding.

    Returns
    -------
    numpy.ndarray
        uint8 of shape ``(height, width, 3)``.
    """
    height, width = int(shape[0]), int(shape[1])
    if image.width < 1 or image.height < 1:
        raise ValueError("cannot letterbox an image without pixels")
    fit = _fit(image.size, (width, height))
    small = _native_to_small(image, None)
    if small.size != fit:
        small = small.resize(fit, Image.Resampling.BICUBIC)
    small = _small_to_rgb(small)
    if small.size == (width, height):
        return np.array(small, dtype=np.uint8)
    canvas = Image.new("RGB", (width, height), tuple(background))
    canvas.paste(small, ((width - fit[0]) // 2, (height - fit[1]) // 2))
    return np.array(canvas, dtype=np.uint8)


def model_input(data: bytes, name: str = "image", shape: tuple[int, int] = MODEL_SHAPE) -> np.ndarray:
    """The exact array the model sees for an untrusted file (what the page previews).

    :func:`open_image` at four times the model's longer side, then
    :func:`letterbox` to ``shape``.

    Parameters
    ----------
    data : bytes
    name : str
        For messages.
    shape : tuple of int
        ``(height, width)``; the model's is 80 by 60.

    Returns
    -------
    numpy.ndarray
        uint8 of shape ``(height, width, 3)``, RGB.

    Raises
    ------
    UploadError
        See :func:`open_image`.
    """
    image = open_image(data, name, max_side=4 * max(int(shape[0]), int(shape[1])))
    return letterbox(image, shape)


def decode_catalogue(data: bytes, name: str) -> np.ndarray:
    """A catalogue image at its own size, as OpenCV decodes it: BGR uint8 ``(h, w, 3)``.

    The same gate and limits as uploads. JPEG and PNG are decoded by OpenCV,
    the notebook's reader, so the feature matrices do not change; a JPEG over
    :data:`MAX_PIXELS` is decoded by OpenCV at the reduced scale (1/2, 1/4,
    1/8) that brings it within, so the result is then smaller than the file
    says. GIF, WebP and whatever OpenCV cannot read go through Pillow
    (transparency over white, first frame).

    Parameters
    ----------
    data : bytes
        The file's content.
    name : str
        Its name, for messages.

    Returns
    -------
    numpy.ndarray
        uint8 of shape ``(h, w, 3)``, BGR channel order.

    Raises
    ------
    UploadError
        With ``reason`` ``"empty file"``, ``"truncated"``, ``"not an image"``,
        ``"corrupt"``, ``"too large"``... (see :class:`UploadError`).
    """
    fmt, size = check_bytes(data, name)
    import cv2  # here, not at the top: the gate's other paths need only Pillow

    if fmt in ("JPEG", "PNG") and size is not None:
        k = _scale_for(size) if fmt == "JPEG" else 1
        flag = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2,
                4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}[k]
        img = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
        if img is not None and img.ndim == 3 and img.shape[0] * img.shape[1] <= MAX_PIXELS:
            return img
    image = _decode(data, name, None)
    bgr = np.array(image, dtype=np.uint8)
    del image  # before the channel swap, which is done in place to need no third copy
    return cv2.cvtColor(bgr, cv2.COLOR_RGB2BGR, dst=bgr)


def read_file(path: os.PathLike | str, max_bytes: int = MAX_FILE_BYTES,
              name: Optional[str] = None) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``, or a refusal.

    The path is checked with ``os.stat`` before it is opened, so a folder, a
    named pipe, a device such as ``/dev/zero`` or a socket is refused without
    reading; it is opened non-blocking, so a pipe put in its place since then
    cannot hang the open, and checked again on the open file. At most
    ``max_bytes + 1`` bytes are read, so a file whose size the system does
    not report (or that grows) is refused as too big, not read to the end.

    Parameters
    ----------
    path : path-like
    max_bytes : int
        Largest size accepted; default :data:`MAX_FILE_BYTES`.
    name : str, optional
        How to name the file in messages; default the path as given.

    Returns
    -------
    bytes

    Raises
    ------
    UploadError
        Missing, not a regular file, unreadable or over ``max_bytes``.
    """
    shown = name or os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _refuse(shown, "missing file", "does not exist.") from None
    except OSError as exc:
        raise _refuse(shown, "unreadable", f"cannot be read ({exc.strerror or exc}).") from None
    _check_regular(st, shown)
    if st.st_size > max_bytes:
        raise _too_big(shown, st.st_size, max_bytes)
    flags = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
             | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _refuse(shown, "unreadable", f"cannot be read ({exc.strerror or exc}).") from None
    chunks, left = [], max_bytes + 1
    try:
        _check_regular(os.fstat(fd), shown)
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise _refuse(shown, "unreadable", f"cannot be read ({exc.strerror or exc}).") from None
    finally:
        os.close(fd)
    if left <= 0:
        raise _refuse(shown, "too big", f"is larger than the {_limit_mb(max_bytes)} limit for one "
                                        "file; send a smaller image.")
    return b"".join(chunks)


def _limit_mb(max_bytes: int) -> str:
    return f"{max_bytes / 2**20:g} MB"


def _too_big(name: str, size: int, max_bytes: int) -> UploadError:
    return _refuse(name, "too big", f"is {_mb(size)}, over the {_limit_mb(max_bytes)} limit for one "
                                    "file; send a smaller image.")


def _check_regular(st: os.stat_result, name: str) -> None:
    if stat.S_ISREG(st.st_mode):
        return
    if stat.S_ISDIR(st.st_mode):
        raise _refuse(name, "not a file", "is a folder, not an image file.")
    kind = ("a named pipe" if stat.S_ISFIFO(st.st_mode) else
            "a character device" if stat.S_ISCHR(st.st_mode) else
            "a block device" if stat.S_ISBLK(st.st_mode) else
            "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
    raise _refuse(name, "not a file", f"is {kind}, not an image file; only regular files are read.")


def check_submission(items: Sequence[tuple[str, int]], max_files: Optional[int] = None,
                     max_total_bytes: Optional[int] = None) -> None:
    """Refuse a submission of too many files, or too many bytes in all.

    Each file's own limits are checked when it is decoded; this is the cap on
    the work one submission may ask for.

    Parameters
    ----------
    items : sequence of (str, int)
        ``(name, size in bytes)`` of each file.
    max_files, max_total_bytes : int, optional
        Default :data:`MAX_FILES` and :data:`MAX_TOTAL_BYTES`.

    Raises
    ------
    UploadError
        With ``reason`` ``"too many files"`` or ``"too big"``.
    """
    max_files = MAX_FILES if max_files is None else int(max_files)
    max_total = MAX_TOTAL_BYTES if max_total_bytes is None else int(max_total_bytes)
    items = list(items)
    if len(items) > max_files:
        raise UploadError(f"{len(items)} files were sent; at most {max_files} can be classified "
                          "at once.", name="submission", reason="too many files")
    total = sum(int(size) for _, size in items)
    if total > max_total:
        raise UploadError(f"The {len(items)} files sent total {_mb(total)}, over the "
                          f"{_limit_mb(max_total)} limit for one submission; send fewer or "
                          "smaller images.", name="submission", reason="too big")

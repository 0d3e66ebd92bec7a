"""Tests of core.classifier.inputs: every image becomes (80, 60, 3), bad uploads are refused, the split."""
from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image, features

from core import classifier, uploads
from make_data import encoded


def _photo(rng, size=(60, 80), mode="RGB") -> Image.Image:
    arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(arr, "RGB").convert(mode) if mode != "RGB" else Image.fromarray(arr, "RGB")


def _png_with_size(width: int, height: int) -> bytes:
    """A small valid PNG whose header claims another size (a decompression bomb's shape)."""
    data = bytearray(encoded(Image.new("L", (8, 8), 255), "PNG"))
    ihdr = 8 + 8  # signature, then chunk length and type
    data[ihdr:ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12:ihdr + 13])) & 0xFFFFFFFF
    data[ihdr + 13:ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


# ----------------------------------------------------------------------------
# Preprocessing: every mode and size becomes (80, 60, 3) uint8
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L", "LA", "CMYK", "1", "I;16", "I", "F"])
def test_prepare_accepts_every_mode(mode):
    rng = np.random.default_rng(0)
    if mode == "I;16":
        image = Image.fromarray(rng.integers(0, 65536, (80, 60), dtype=np.uint16))
    else:
        image = _photo(rng).convert(mode)
    out = classifier.prepare(image)
    assert out.shape == (80, 60, 3) and out.dtype == np.uint8


def test_prepare_keeps_a_catalogue_image_unchanged():
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (80, 60, 3), dtype=np.uint8)
    np.testing.assert_array_equal(classifier.prepare(Image.fromarray(arr)), arr)
    np.testing.assert_array_equal(classifier.prepare(arr), arr)


def test_prepare_composites_transparency_over_white():
    image = Image.new("RGBA", (60, 80), (0, 0, 0, 0))
    out = classifier.prepare(image)
    assert (out == 255).all()


def test_prepare_pads_other_aspect_ratios_with_white():
    # A wide black bar: padded above and below, not stretched to fill the frame.
    out = classifier.prepare(Image.new("RGB", (600, 100), (0, 0, 0)))
    assert out.shape == (80, 60, 3)
    assert (out[0] == 255).all() and (out[-1] == 255).all()
    assert (out[40] < 10).all()


def test_prepare_applies_exif_orientation():
    # A tall image stored sideways: EXIF orientation 6 means "rotate 90 degrees clockwise".
    stored = Image.new("RGB", (80, 60), (255, 255, 255))
    stored.paste((0, 0, 0), (0, 0, 40, 60))  # left half black as stored
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encoded(stored, "JPEG", exif=exif.tobytes(), quality=95)
    out = uploads.model_input(data, "rotated.jpg")
    assert out.shape == (80, 60, 3)
    # After rotating clockwise the stored left half is on top.
    assert out[:35].mean() < 40 and out[45:].mean() > 215


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
@pytest.mark.parametrize("size", [(60, 80), (1200, 900), (7, 5)])
def test_prepare_upload_formats_and_sizes(fmt, size):
    if fmt == "WEBP" and not features.check("webp"):
        pytest.skip("this Pillow was built without WebP")
    rng = np.random.default_rng(0)
    image = _photo(rng, size)
    if fmt == "GIF":
        image = image.convert("P")
    out = uploads.model_input(encoded(image, fmt), f"x.{fmt.lower()}")
    assert out.shape == (80, 60, 3) and out.dtype == np.uint8


def test_prepare_upload_sixteen_bit_png():
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 65536, (90, 70), dtype=np.uint16))
    out = uploads.model_input(encoded(image, "PNG"), "deep.png")
    assert out.shape == (80, 60, 3)
    assert out.std() > 10  # not flattened to black or white by a wrong scale


def test_prepare_upload_cmyk_jpeg():
    rng = np.random.default_rng(0)
    out = uploads.model_input(encoded(_photo(rng).convert("CMYK"), "JPEG"), "print.jpg")
    assert out.shape == (80, 60, 3)


# ----------------------------------------------------------------------------
# The notebook's split
# ----------------------------------------------------------------------------
def test_split_keeps_the_notebooks_validation_set():
    from sklearn.model_selection import train_test_split

    fit, tune, val = classifier.split(1000, random_state=7)
    _, expected_val = train_test_split(np.arange(1000), test_size=0.2, random_state=42)
    np.testing.assert_array_equal(val, np.sort(expected_val))
    assert len(np.intersect1d(fit, tune)) == 0 and len(np.intersect1d(fit, val)) == 0
    assert len(np.intersect1d(tune, val)) == 0
    assert len(fit) + len(tune) + len(val) == 1000
    assert len(tune) == 80

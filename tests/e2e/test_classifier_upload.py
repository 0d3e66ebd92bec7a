"""Uploading photos on the Classifier page in a real browser.

Good files of every kind get a top-3 answer, every attribute's tag, similar
products and a star on the PCA map; bad files get a clear error beside them, and nothing breaks.
The first upload trains the demo set's model (a minute or two on 2 cores).
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from .conftest import exceptions, screenshot, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _files(folder):
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, (400, 300, 3), dtype=np.uint8))
    good = {
        "photo.jpg": lambda p: photo.save(p, "JPEG"),
        "transparent.png": lambda p: Image.new("RGBA", (500, 500), (200, 30, 30, 128)).save(p),
        "print.jpg": lambda p: photo.convert("CMYK").save(p, "JPEG"),
        "deep.png": lambda p: Image.fromarray(rng.integers(0, 65535, (90, 70), dtype=np.uint16)).save(p),
        "palette.gif": lambda p: photo.convert("P").save(p),
        "shoe.webp": lambda p: Image.new("RGB", (60, 80), (30, 30, 200)).save(p, "WEBP"),
    }
    paths = []
    for name, write in good.items():
        write(folder / name)
        paths.append(folder / name)
    (folder / "notes.png").write_text("a text file, not an image\n")
    (folder / "empty.jpg").write_bytes(b"")
    whole = (folder / "transparent.png").read_bytes()
    (folder / "cut.png").write_bytes(whole[: len(whole) // 2])
    bad = [folder / "notes.png", folder / "empty.jpg", folder / "cut.png"]
    return paths, bad


def test_upload_good_and_bad_files(page, app_server, tmp_path):
    good, bad = _files(tmp_path)
    page.goto(f"{app_server}/classifier")
    wait_idle(page)
    page.locator("input[type=file]").set_input_files([str(p) for p in good + bad])
    wait_idle(page, timeout_s=900)
    assert not exceptions(page)
    text = page.locator("[data-testid='stMain']").inner_text()
    assert text.count("Most similar products") == len(good), text[:2000]
    for column in ("masterCategory", "subCategory", "articleType", "gender", "baseColour"):
        assert text.count(f"{column}: ") >= len(good), (column, text[:2000])
    assert "notes.png is not an image" in text
    assert "empty.jpg is not an image (empty file)." in text
    assert "cut.png is a truncated" in text
    assert "Where the uploads land on the PCA map" in text
    assert not page.page_errors
    screenshot(page, "classifier_upload")

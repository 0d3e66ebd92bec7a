"""Tests of core.classifier: the seed model's size, preprocessing, upload checks, train/save/load."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image, features

from core import classifier, config
from core.classifier import UploadError


# ----------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------
def _encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def _photo(rng, size=(60, 80), mode="RGB") -> Image.Image:
    arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(arr, "RGB").convert(mode) if mode != "RGB" else Image.fromarray(arr, "RGB")


def _png_with_size(width: int, height: int) -> bytes:
    """A small valid PNG whose header claims another size (a decompression bomb's shape)."""
    data = bytearray(_encode(Image.new("L", (8, 8), 255), "PNG"))
    ihdr = 8 + 8  # signature, then chunk length and type
    data[ihdr:ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12:ihdr + 13])) & 0xFFFFFFFF
    data[ihdr + 13:ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


# ----------------------------------------------------------------------------
# The notebook's model
# ----------------------------------------------------------------------------
def test_seed_model_has_the_notebooks_parameter_counts():
    model = classifier.build_seed_model()
    counts = classifier.parameter_counts(model)
    assert counts["total"] == 48_038_633
    assert counts["biases"] == 258
    assert model.input_shape == (None, 400, 400, 3)
    assert model.output_shape == (None, 8)


def test_default_model_is_small_and_native_size():
    model = classifier.build_default_model()
    counts = classifier.parameter_counts(model)
    assert counts["total"] < 1_000_000
    assert model.input_shape == (None, classifier.IMAGE_HEIGHT, classifier.IMAGE_WIDTH, 3)
    assert model.output_shape == (None, len(config.CATEGORIES))


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
    data = _encode(stored, "JPEG", exif=exif.tobytes(), quality=95)
    out = classifier.prepare_upload(data, "rotated.jpg")
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
    out = classifier.prepare_upload(_encode(image, fmt), f"x.{fmt.lower()}")
    assert out.shape == (80, 60, 3) and out.dtype == np.uint8


def test_prepare_upload_sixteen_bit_png():
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 65536, (90, 70), dtype=np.uint16))
    out = classifier.prepare_upload(_encode(image, "PNG"), "deep.png")
    assert out.shape == (80, 60, 3)
    assert out.std() > 10  # not flattened to black or white by a wrong scale


def test_prepare_upload_cmyk_jpeg():
    rng = np.random.default_rng(0)
    out = classifier.prepare_upload(_encode(_photo(rng).convert("CMYK"), "JPEG"), "print.jpg")
    assert out.shape == (80, 60, 3)


# ----------------------------------------------------------------------------
# Bad uploads: a clear message, never an exception of another kind
# ----------------------------------------------------------------------------
def _truncated_jpeg():
    data = _encode(_photo(np.random.default_rng(0), (300, 400)), "JPEG")
    return data[: len(data) // 3]


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"name,price\nshirt,10\n" * 20, "not an image"),
    ("%PDF-1.4 not a photo".encode(), "not an image"),
    (_truncated_jpeg(), "truncated"),
    (_png_with_size(20_000, 20_000), "decompression bomb"),
])
def test_bad_uploads_are_refused_with_a_reason(data, words):
    with pytest.raises(UploadError, match=words):
        classifier.prepare_upload(data, "bad")


def test_upload_over_the_size_limit_is_refused():
    data = _encode(_photo(np.random.default_rng(0)), "PNG")
    with pytest.raises(UploadError, match="upload limit"):
        classifier.prepare_upload(data, "big.png", max_bytes=len(data) - 1)


def test_upload_limit_matches_the_streamlit_config():
    text = (config.REPO_ROOT / ".streamlit" / "config.toml").read_text()
    line = next(l for l in text.splitlines() if l.strip().startswith("maxUploadSize"))
    assert int(line.split("=")[1]) * 2**20 == classifier.MAX_UPLOAD_BYTES


def test_unsupported_format_is_refused():
    data = _encode(_photo(np.random.default_rng(0)), "BMP")
    with pytest.raises(UploadError, match="BMP"):
        classifier.prepare_upload(data, "x.bmp")


# ----------------------------------------------------------------------------
# Split, weights, evaluation
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


def test_class_weights_favour_rare_classes_within_a_cap():
    y = np.array([0] * 900 + [1] * 90 + [2] * 1)
    w = classifier.class_weights(y, 4, power=0.5, cap=5.0)
    assert w[2] > w[1] > w[0]
    assert w[2] / w[0] == pytest.approx(5.0)
    assert w[y].mean() == pytest.approx(1.0)


def test_evaluate_confusion_and_tiny_classes():
    y = np.array([0, 0, 1, 1, 1, 6])
    proba = np.zeros((6, 7))
    proba[np.arange(6), [0, 1, 1, 1, 1, 1]] = 0.9
    ids = np.arange(100, 106)
    ev = classifier.evaluate(y, proba, ids)
    assert ev["accuracy"] == pytest.approx(4 / 6)
    assert ev["confusion"][0][1] == 1 and ev["confusion"][6][1] == 1
    rows = {r["category"]: r for r in ev["per_class"]}
    assert rows["Home"]["support"] == 1 and "anecdotal" in rows["Home"]["note"]
    assert rows["Footwear"]["support"] == 0 and "none" in rows["Footwear"]["note"]
    assert sorted(m["id"] for m in ev["misclassified"]) == [101, 105]


# ----------------------------------------------------------------------------
# One epoch on a tiny generated dataset: trains, saves, loads, answers
# ----------------------------------------------------------------------------
def _tiny_dataset(folder, n_per_class=16):
    """A dataset in the Kaggle layout: three classes told apart by colour and shape."""
    rng = np.random.default_rng(0)
    (folder / "images").mkdir(parents=True)
    rows = []
    looks = {"Apparel": (200, 30, 30), "Footwear": (30, 30, 200), "Accessories": (30, 160, 30)}
    pid = 1000
    for name, colour in looks.items():
        for _ in range(n_per_class):
            arr = np.full((80, 60, 3), 255, np.uint8)
            jitter = rng.integers(-20, 20, 3)
            arr[20:60, 15:45] = np.clip(np.array(colour) + jitter, 0, 255)
            Image.fromarray(arr).save(folder / "images" / f"{pid}.jpg", quality=95)
            rows.append({"id": pid, "gender": "Men", "masterCategory": name, "subCategory": "x",
                         "articleType": "x", "baseColour": "Red", "season": "Summer", "year": 2012,
                         "usage": "Casual", "productDisplayName": f"product {pid}"})
            pid += 1
    pd.DataFrame(rows).to_csv(folder / "styles.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from core import dataset, subsample

    return subsample.Subsample(dataset.open_dataset(_tiny_dataset(tmp_path_factory.mktemp("tiny"))), fraction=1.0)


def test_one_epoch_trains_saves_loads_and_classifies(tiny, monkeypatch):
    monkeypatch.setitem(classifier.DEFAULT_RECIPE, "width", 8)
    messages = []
    assert not classifier.is_trained(tiny, epochs=1)
    info = classifier.train(tiny, epochs=1, progress=lambda f, m: messages.append((f, m)))
    assert messages and messages[-1][0] == 1.0
    assert len(info["history"]) == 1 and {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(info["history"][0])
    assert info["n_fit"] + info["n_tune"] + info["n_val"] == 48
    assert info["params"]["total"] == classifier.parameter_counts(classifier.build_default_model(width=8))["total"]
    assert (classifier.cache.files_dir() / info["model_file"]).exists()
    assert np.array(info["evaluation"]["confusion"]).sum() == info["n_val"]
    assert classifier.is_trained(tiny, epochs=1)

    # Cached: the same result, no training.
    again = classifier.train(tiny, epochs=1, progress=lambda f, m: pytest.fail("retrained"))
    assert again["model_file"] == info["model_file"] and again["seconds"] == info["seconds"]

    # Loaded from the .keras file, it answers like the trained model did.
    classifier._loaded.clear()
    predictor = classifier.load(tiny, epochs=1)
    x = np.asarray(classifier.dataset_images(tiny))
    proba = predictor.predict_proba(x[:5])
    assert proba.shape == (5, 7)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)
    dist, ids, labels = predictor.neighbors(x[:2], k=3)
    assert ids[0][0] == tiny.ids[0] and dist[0][0] == pytest.approx(0.0, abs=1e-3)

    # Uploads, good and bad together, answered by the same cached model (one
    # training per test keeps the suite cheap).
    monkeypatch.setitem(classifier.DEFAULT_RECIPE, "epochs", 1)
    good = _encode(Image.new("RGB", (300, 400), (200, 30, 30)), "PNG")
    results = classifier.classify_images(tiny, [("good.png", good), ("empty.jpg", b"")], k=4,
                                         progress=lambda f, m: pytest.fail("retrained"))
    assert results[0]["name"] == "good.png" and results[0]["label"] in config.CATEGORIES
    assert len(results[0]["top"]) == 3 and len(results[0]["neighbors"]) == 4
    assert results[0]["top"][0][1] >= results[0]["top"][1][1] >= results[0]["top"][2][1]
    assert results[1] == {"name": "empty.jpg", "error": "empty.jpg: the file is empty"}


def test_upload_lands_where_its_catalogue_image_is_on_the_pca_map(tiny):
    from core import pca

    coords, _ = pca.projection_2d(tiny)
    x = np.asarray(classifier.dataset_images(tiny))[:6]
    pos = classifier.pca_position(tiny, x)
    assert pos.shape == (6, 2)
    spread = np.ptp(coords, axis=0)
    # The same photo through the upload route lands on its own point (JPEG
    # decoders may differ by a grey level here and there).
    np.testing.assert_allclose(pos, coords[:6], atol=0.02 * spread.max())

"""Tests of core.classifier.predict, after one epoch on a tiny generated dataset.

One training per test keeps the suite cheap: the first test trains, saves,
loads and classifies with the same model.
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core import cache, classifier, config, images
from core.classifier import predict
from make_data import encoded, make_classifier_dataset


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from core import dataset, subsample

    folder = make_classifier_dataset(tmp_path_factory.mktemp("tiny"))
    return subsample.Subsample(dataset.open_dataset(folder), fraction=1.0)


def test_one_epoch_trains_saves_loads_and_classifies(tiny, monkeypatch):
    monkeypatch.setitem(classifier.DEFAULT_RECIPE, "width", 8)
    messages = []
    assert not classifier.is_trained(tiny, epochs=1)
    info = classifier.train(tiny, epochs=1, progress=lambda f, m: messages.append((f, m)))
    assert messages and messages[-1][0] == 1.0
    assert len(info["history"]) == 1 and {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(info["history"][0])
    assert info["n_fit"] + info["n_tune"] + info["n_val"] == 48
    heads = [len(a["classes"]) for a in info["attributes"]]
    assert heads[0] == 7 and len(heads) == len(tiny.label_columns)
    assert info["params"]["total"] == classifier.parameter_counts(
        classifier.build_default_model(heads, width=8))["total"]
    assert (cache.files_dir() / info["model_file"]).exists()
    assert np.array(info["evaluation"]["confusion"]).sum() == info["n_val"]
    assert classifier.is_trained(tiny, epochs=1)

    # Cached: the same result, no training.
    again = classifier.train(tiny, epochs=1, progress=lambda f, m: pytest.fail("retrained"))
    assert again["model_file"] == info["model_file"] and again["seconds"] == info["seconds"]

    # Loaded from the .keras file, it answers like the trained model did.
    predict._loaded.clear()
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
    good = encoded(Image.new("RGB", (300, 400), (200, 30, 30)), "PNG")
    results = classifier.classify_images(tiny, [("good.png", good), ("empty.jpg", b"")], k=4,
                                         progress=lambda f, m: pytest.fail("retrained"))
    assert results[0]["name"] == "good.png" and results[0]["label"] in config.CATEGORIES
    assert list(results[0]["tags"]) == list(tiny.label_columns)
    assert results[0]["tags"]["masterCategory"]["label"] == results[0]["label"]
    assert len(results[0]["top"]) == 3 and len(results[0]["neighbors"]) == 4
    assert results[0]["top"][0][1] >= results[0]["top"][1][1] >= results[0]["top"][2][1]
    assert results[1] == {"name": "empty.jpg", "error": "empty.jpg is not an image (empty file)."}


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


@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize("resample", ["bicubic", "area"])
def test_an_upload_takes_the_datasets_feature_route(tmp_path, color, resample):
    """features_from_rgb gives the row decode gives for the same image written to disk."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (80, 60, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "1.png")
    expected = images.decode(tmp_path / "1.png", image_size=24, color=color, resample=resample)
    rows = images.features_from_rgb(rgb[None], image_size=24, color=color, resample=resample)
    assert rows.dtype == np.uint8 and rows.shape == (1, expected.size)
    np.testing.assert_array_equal(rows[0], expected.ravel())

"""The tagger end to end on a generated catalogue where every attribute is learnable.

One training serves every test of the module: it learns masterCategory,
subCategory, articleType, gender and colour from the photos to a high
accuracy in seconds, tags uploads whose classes are known (so the mapping from
a head's index to a name is checked end to end, per attribute), and its
catalogue check flags labels deliberately changed in ``styles.csv``.
"""
from __future__ import annotations

import numpy as np
import pytest

from core import classifier, config
from core.classifier import predict
from make_data import TAG_COLOURS, TAG_SHAPES, encoded, make_tagging_dataset, tagging_image

#: One cache for the module: the tagger trained once serves every test.
pytestmark = pytest.mark.usefixtures("shared_cache")

#: Changed labels: (masterCategory, baseColour) written instead of the truth.
_WRONG = {"masterCategory": {"Apparel": "Footwear", "Footwear": "Accessories", "Accessories": "Apparel"},
          "baseColour": {"Red": "Blue", "Blue": "Green", "Green": "Red"}}


@pytest.fixture(scope="module")
def tagged(tmp_path_factory, shared_cache):
    """The generated catalogue, with up to four products of the tuning slice relabelled, and its tagger."""
    import pandas as pd

    from core import dataset, subsample

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setitem(classifier.DEFAULT_RECIPE, "width", 16)
    monkeypatch.setitem(classifier.DEFAULT_RECIPE, "batch_size", 16)
    monkeypatch.setitem(classifier.DEFAULT_RECIPE, "min_count", 5)
    monkeypatch.setitem(classifier.DEFAULT_RECIPE, "epochs", 12)
    folder = make_tagging_dataset(tmp_path_factory.mktemp("tagging"), n_per_combination=6)
    sub = subsample.Subsample(dataset.open_dataset(folder), fraction=1.0)
    frame = sub.frame()
    _, tune, _ = classifier.split(len(frame), random_state=42)
    relabel = {}
    # products of the tuning slice (out of sample, and outside the reported
    # validation part), solid ones (Men's), which the model sees at its surest:
    # the check is for confident contradictions
    solid = [row for row in tune if frame["gender"].iloc[row] == "Men"]
    assert len(solid) >= 2
    for k, row in enumerate(solid[:4]):
        column = ("masterCategory", "baseColour")[k % 2]
        pid = int(frame["id"].iloc[row])
        relabel[pid] = {column: _WRONG[column][frame[column].iloc[row]]}
    styles = pd.read_csv(folder / "styles.csv")
    for pid, change in relabel.items():
        for column, value in change.items():
            styles.loc[styles["id"] == pid, column] = value
    styles.to_csv(folder / "styles.csv", index=False)
    sub = subsample.Subsample(dataset.open_dataset(folder), fraction=1.0)
    assert sub.ids.tolist() == frame["id"].tolist()  # relabelling moved no row
    info = classifier.train(sub)
    yield sub, info, relabel
    monkeypatch.undo()


def test_heads_have_one_output_per_class_of_their_attribute():
    model = classifier.build_default_model([7, 45, 3], width=8)
    assert model.output_shape == [(None, 7), (None, 45), (None, 3)]
    assert [layer.name for layer in model.layers if layer.name.startswith("head_")] == ["head_0", "head_1", "head_2"]
    x = np.zeros((2, classifier.IMAGE_HEIGHT, classifier.IMAGE_WIDTH, 3), np.uint8)
    probas = classifier.head_probas(model, x)
    assert [p.shape for p in probas] == [(2, 7), (2, 45), (2, 3)]
    np.testing.assert_allclose([p.sum(1) for p in probas], 1.0, atol=1e-5)


def test_every_attribute_is_learnt_from_the_photos(tagged):
    sub, info, _ = tagged
    assert [a["column"] for a in info["attributes"]] == list(config.LABEL_COLUMNS)
    assert tuple(info["attributes"][0]["classes"]) == tuple(sub.categories)
    for column, ev in info["evaluations"].items():
        assert ev["accuracy"] >= 0.9, (column, ev["accuracy"])
        assert ev["majority_rate"] < 0.6  # the figure beside it: guessing does not get there
        assert np.array(ev["confusion"]).sum() == info["n_val"]
    summary = classifier.train_summary(sub)
    assert summary["from_cache"] and set(summary["attributes"]) == set(config.LABEL_COLUMNS)
    article = summary["attributes"]["articleType"]
    assert article["n_classes"] == 3 and article["top5_accuracy"] == 1.0


@pytest.mark.parametrize("shape", list(TAG_SHAPES))
def test_an_upload_of_a_known_class_comes_back_with_its_names(tagged, shape):
    sub, _, _ = tagged
    colour = list(TAG_COLOURS)[hash(shape) % 3]
    for gender in ("Men", "Women"):
        img = tagging_image(shape, colour, gender, np.random.default_rng(7))
        # sent as a large PNG: the upload gate letterboxes it back to 80x60
        payload = encoded(img.resize((300, 400)), "PNG")
        (r,) = classifier.classify_images(sub, [("known.png", payload)])
        master, subcategory, article = shape
        expected = {"masterCategory": master, "subCategory": subcategory, "articleType": article,
                    "gender": gender, "baseColour": colour}
        assert {c: t["label"] for c, t in r["tags"].items()} == expected
        assert r["label"] == master and r["top"][0][0] == master
        assert all(len(t["top"]) == min(3, len(t["top"])) and t["top"][0][0] == t["label"]
                   for t in r["tags"].values())


def test_the_catalogue_check_flags_the_changed_labels(tagged):
    _, info, relabel = tagged
    for pid, change in relabel.items():
        (column, stored), = change.items()
        flagged = {i["id"]: i for i in info["issues"][column]}
        assert pid in flagged, (pid, column, info["issues"][column])
        assert flagged[pid]["given"] == stored and flagged[pid]["predicted"] != stored
    changed = set(relabel)
    for column, found in info["issues"].items():
        assert {i["id"] for i in found} <= changed, column  # clean products are not flagged


def test_similar_products_use_the_taggers_embedding(tagged):
    from core import similarity

    sub, info, _ = tagged
    predict._loaded.clear()
    X = similarity.model_space(sub)
    assert X.shape == (len(sub.ids), 64)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-4)
    pid = int(sub.ids[0])
    near = similarity.nearest(sub, pid, k=5)
    pixel = similarity.nearest(sub, pid, k=5, use_model=False)
    assert len(near) == len(pixel) == 5 and pid not in near["id"].tolist()
    article = sub.frame().set_index("id")["articleType"]
    values = sub.frame()["articleType"].to_numpy()
    queries = np.arange(len(values))
    assert similarity.agreement(X, values, queries, k=8) >= 0.9
    assert (article.loc[near["id"]] == article.loc[pid]).mean() >= 0.8


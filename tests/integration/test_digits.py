"""scikit-learn's handwritten digits as a catalogue: the whole analysis, compared with scikit-learn's example.

``make_digits_catalogue`` writes the 1,797 digits out as a CSV and PNGs in
nested folders; the catalogue is opened from its ``catalogue.toml`` alone.
scikit-learn's "Manifold learning on handwritten digits" example shows t-SNE
separating the ten digits; here the map's 10-nearest-neighbour accuracy
(:func:`core.manifold.quality`) must reach 95%. ``warm`` must compute every
figure, and the classifier must train for one epoch on the ten classes.
"""
from __future__ import annotations

import numpy as np
import pytest

from core import dataset, manifold, pipeline, subsample
from make_data import make_digits_catalogue

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sub(tmp_path_factory, shared_cache):
    folder = make_digits_catalogue(tmp_path_factory.mktemp("digits") / "digits")
    return subsample.Subsample(dataset.open_dataset(folder), fraction=1.0)


def test_tsne_separates_the_ten_digits(sub):
    assert sub.categories == tuple(str(d) for d in range(10))
    q = manifold.quality(sub, "tsne")
    assert q["knn_accuracy"] >= 0.95, q
    assert q["trustworthiness"] > 0.9, q


def test_warm_computes_every_figure(sub):
    result = pipeline.warm(sub)
    assert set(result["embeddings"]) >= {"pca", "tsne"}
    assert result["embeddings"]["tsne"]["knn_accuracy"] >= 0.95
    assert 2 <= result["elbow_k"] <= 15 and result["bic_k"] >= 1


def test_classifier_trains_one_epoch_on_the_ten_digits(sub):
    from core import classifier

    info = classifier.train(sub, epochs=1, allow=True)
    confusion = np.asarray(info["evaluation"]["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == info["n_val"]
    assert [a["column"] for a in info["attributes"]][:2] == ["digit", "parity"]
    assert info["val_accuracy"] > 0.5  # one epoch on 8x8 digits already beats chance (10%) by far

"""Nearest neighbours for "most similar products"."""
from __future__ import annotations

import numpy as np
import pytest

from core import similarity


class _Sub:
    """A stand-in subsample: ids and a cache key are all nearest() reads."""

    def __init__(self, ids, key="toy"):
        self.ids = np.asarray(ids, dtype=np.int64)
        self._key = key

    def cache_key(self):
        return ("toy", self._key)


@pytest.fixture
def toy(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)).astype(np.float32)
    ids = np.arange(200) * 3 + 11
    monkeypatch.setattr(similarity, "space", lambda sub, n, rs, progress=None: X)
    monkeypatch.setattr(similarity, "model_space", lambda sub: None)  # no tagger: the PCA fallback
    return _Sub(ids), X, ids


def test_nearest_matches_brute_force(toy):
    sub, X, ids = toy
    q = 17
    got = similarity.nearest(sub, int(ids[q]), k=6)
    d = np.linalg.norm(X.astype(np.float64) - X[q], axis=1)
    d[q] = np.inf
    order = np.argsort(d)[:6]
    assert got["id"].tolist() == ids[order].tolist()
    np.testing.assert_allclose(got["distance"], d[order], rtol=1e-5)
    assert int(ids[q]) not in got["id"].tolist()
    assert got["distance"].is_monotonic_increasing


def test_k_is_capped_and_unknown_ids_are_refused(toy):
    sub, _, ids = toy
    assert len(similarity.nearest(sub, int(ids[0]), k=10_000)) == len(ids) - 1
    assert len(similarity.nearest(sub, int(ids[0]), k=0)) == 0
    with pytest.raises(KeyError, match="not in this subsample"):
        similarity.nearest(sub, 5, k=3)


def test_the_search_reads_the_cached_pca_scores(tiny_sub, monkeypatch):
    """Queries search the PCA scores cached on disk: nothing is refitted or rebuilt per query."""
    from sklearn.neighbors import NearestNeighbors

    from core import pca

    ids = tiny_sub.ids
    first = similarity.nearest(tiny_sub, int(ids[1]), k=5)
    calls = []
    original = pca.decompose
    monkeypatch.setattr(pca, "decompose", lambda *a, **k: calls.append(1) or original(*a, **k))
    again = similarity.nearest(tiny_sub, int(ids[1]), k=5)
    similarity.nearest(tiny_sub, int(ids[2]), k=5)
    assert calls == []
    assert again["id"].tolist() == first["id"].tolist()
    # the same neighbours as a scikit-learn index over the same space
    X = np.asarray(similarity.space(tiny_sub))
    assert X.shape == (len(ids), len(ids) - 1)  # 50 components capped at the rank
    dist, idx = NearestNeighbors(algorithm="brute").fit(X).kneighbors(X[1:2], n_neighbors=6)
    keep = idx[0] != 1
    assert first["id"].tolist() == ids[idx[0][keep][:5]].tolist()
    np.testing.assert_allclose(first["distance"], dist[0][keep][:5], rtol=1e-4)


@pytest.mark.slow
def test_neighbours_on_the_real_data_share_their_category(shared_data, shared_cache):
    """Most similar products of the real 10% subsample mostly share the product's masterCategory."""
    from core.subsample import Subsample
    from core.dataset import open_dataset

    sub = Subsample(open_dataset(shared_data))
    frame = sub.frame()
    cat = dict(zip(frame["id"], frame["masterCategory"]))
    picks = frame.sample(30, random_state=0)["id"].tolist()
    same = []
    for pid in picks:
        near = similarity.nearest(sub, int(pid), k=8)
        assert len(near) == 8 and int(pid) not in near["id"].tolist()
        same += [cat[i] == cat[pid] for i in near["id"]]
    # products look most like products of their own kind (chance is about 0.4)
    assert np.mean(same) > 0.7

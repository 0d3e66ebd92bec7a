"""core.manifold: embeddings on known structure, quality, caching."""
from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.manifold import trustworthiness as sk_trustworthiness

from core import cache, manifold, mds


def noisy_plane(n=300, dims=50, noise=0.02, seed=0):
    """Points on a 2-D plane embedded in ``dims`` dimensions, with a little noise."""
    rng = np.random.default_rng(seed)
    uv = rng.uniform(-1, 1, (n, 2))
    basis, _ = np.linalg.qr(rng.standard_normal((dims, 2)))
    return (uv @ basis.T + noise * rng.standard_normal((n, dims))).astype(np.float32), uv


@pytest.mark.parametrize("k", [5, 10])
def test_trustworthiness_equals_sklearn(k):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 30))
    coords = X[:, :2] + 0.5 * rng.standard_normal((200, 2))
    assert manifold.trustworthiness(X, coords, k) == pytest.approx(
        sk_trustworthiness(X, coords, n_neighbors=k), abs=1e-12)
    with pytest.raises(ValueError, match="n_samples / 2"):
        manifold.trustworthiness(X[:15], coords[:15], 10)


def test_trustworthiness_is_near_one_on_an_easy_manifold_and_low_on_noise():
    X, uv = noisy_plane()
    rng = np.random.default_rng(0)
    assert manifold.trustworthiness(X, uv) > 0.99
    assert manifold.trustworthiness(X, rng.standard_normal((len(X), 2))) < 0.7


@pytest.mark.parametrize("method", ["mds", "tsne", "lle"])
def test_array_methods_recover_a_plane(method):
    X, _ = noisy_plane()
    if method == "mds":
        coords, route, extra = mds.mds(X, n_iter=100)
        assert "SMACOF" in route and extra["n_iter"] <= 100
    elif method == "tsne":
        coords, route = manifold.tsne(X, perplexity=20, n_iter=250, random_state=0)
        assert "openTSNE" in route
    else:
        coords, route = manifold.lle(X, n_neighbors=12, random_state=0)
    assert coords.shape == (len(X), 2) and coords.dtype == np.float32
    assert manifold.trustworthiness(X, coords) > 0.95


def test_evaluate_on_separated_classes():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 60)
    centers = np.array([[0, 0], [20, 0], [0, 20]])
    coords = centers[labels] + rng.standard_normal((180, 2))
    X = np.hstack([coords, 0.1 * rng.standard_normal((180, 10))])
    q = manifold.evaluate(X, coords, labels)
    assert q["knn_accuracy"] == pytest.approx(1.0)
    assert q["silhouette"] > 0.8
    assert q["trustworthiness"] > 0.9
    shuffled = manifold.evaluate(X, coords, rng.permutation(labels))
    assert shuffled["knn_accuracy"] < 0.6 and shuffled["silhouette"] < 0.1


def test_sample_indices_are_fixed_and_sorted():
    assert_array_equal(manifold.sample_indices(30, 50), np.arange(30))
    a, b = manifold.sample_indices(1000, 100), manifold.sample_indices(1000, 100)
    assert_array_equal(a, b) and len(np.unique(a)) == 100 and np.all(np.diff(a) > 0)


def test_method_params_keep_only_what_a_method_uses():
    assert manifold.method_params("mds", perplexity=5.0) == manifold.DEFAULTS["mds"]
    assert manifold.method_params("tsne", perplexity=5)["perplexity"] == 5.0
    assert manifold.method_params("pca", n_input_dims=7) == {}
    assert manifold.method_params("lle", n_input_dims=None)["n_input_dims"] is None
    for bad in [dict(perplexity=0), dict(n_neighbors=1), dict(n_input_dims=1), dict(n_iter=0)]:
        with pytest.raises(ValueError):
            manifold.method_params("tsne" if "perplexity" in bad or "n_iter" in bad else "lle", **bad)
    with pytest.raises(ValueError, match="unknown embedding method"):
        manifold.method_params("isomap")
    assert set(manifold.METHODS) == set(manifold.DISPLAY_NAMES) == set(manifold.DEFAULTS)


# ----------------------------------------------------------------------------
# Subsample level
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["pca", "mds", "tsne", "lle"])
def test_embed_is_cached_and_reproducible(tiny_sub, method):
    n = len(tiny_sub.ids)
    kwargs = {"n_iter": 100} if method == "tsne" else {}
    assert not manifold.embed.is_cached(tiny_sub, method, **kwargs)
    emb = manifold.embed(tiny_sub, method, n_input_dims=10, **kwargs)
    assert emb.coords.shape == (n, 2) and emb.coords.dtype == np.float32
    assert emb.method == method and emb.seconds >= 0 and emb.route
    assert np.isfinite(emb.coords).all()
    if method != "pca":
        assert "PCA-10" in emb.route and emb.params["n_input_dims"] == 10
    assert manifold.embed.is_cached(tiny_sub, method, n_input_dims=10, **kwargs)
    again = manifold.embed(tiny_sub, method, n_input_dims=10, **kwargs)
    assert again.seconds == emb.seconds  # served from the cache, not recomputed
    cache.clear_cache()
    fresh = manifold.embed(tiny_sub, method, n_input_dims=10, **kwargs)
    assert_allclose(fresh.coords, emb.coords, rtol=1e-5, atol=1e-5)


def test_unused_parameters_share_the_cache_entry(tiny_sub):
    manifold.embed(tiny_sub, "mds")
    assert manifold.embed.is_cached(tiny_sub, "mds", perplexity=5.0, n_neighbors=3)
    assert not manifold.embed.is_cached(tiny_sub, "mds", n_input_dims=20)


def test_quality_of_an_embedding_and_of_any_coords(tiny_sub):
    q = manifold.quality(tiny_sub, "pca")
    assert set(q) == {"trustworthiness", "knn_accuracy", "silhouette", "seconds"}
    assert 0 < q["trustworthiness"] <= 1 and 0 <= q["knn_accuracy"] <= 1
    emb = manifold.embed(tiny_sub, "pca")
    same = manifold.evaluate_subsample(tiny_sub, emb.coords)
    assert same["trustworthiness"] == pytest.approx(q["trustworthiness"])
    X = tiny_sub.features()
    assert q["trustworthiness"] == pytest.approx(sk_trustworthiness(X, emb.coords, n_neighbors=10), abs=1e-9)
    with pytest.raises(ValueError, match="shape"):
        manifold.evaluate_subsample(tiny_sub, emb.coords[:5])

"""core.pca: the exact routes agree with scikit-learn, counts, reconstruction, caching."""
from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.decomposition import PCA

from core import cache, pca
from core.subsample import Subsample
from core.dataset import open_dataset


def known_spectrum(n=120, d=60, variances=(50.0, 25.0, 12.0, 9.0, 3.0, 1.0), seed=0):
    """Data of rank len(variances) whose covariance eigenvalues are exactly ``variances``."""
    rng = np.random.default_rng(seed)
    r = len(variances)
    U = rng.standard_normal((n, r))
    U -= U.mean(axis=0)
    U, _ = np.linalg.qr(U)  # orthonormal, centred columns
    V, _ = np.linalg.qr(rng.standard_normal((d, r)))
    X = (U * np.sqrt(np.asarray(variances) * (n - 1))) @ V.T + rng.standard_normal(d) * 3
    return X.astype(np.float64)


def test_components_for_95_percent_of_a_known_rank():
    X = known_spectrum()  # cumulative 0.50, 0.75, 0.87, 0.96, 0.99, 1.00
    dec = pca.decompose(X)
    ratio = dec.eigenvalues / dec.total_variance
    assert_allclose(ratio[:6], np.array([50, 25, 12, 9, 3, 1]) / 100, atol=1e-6)
    assert pca.components_for_variance(ratio, 0.95) == 4
    assert pca.components_for_variance(ratio, 0.97) == 5
    assert pca.components_for_variance(ratio, 0.50) == 2  # strictly past the target, as sklearn
    assert PCA(0.95, svd_solver="full").fit(X).n_components_ == 4
    assert dec.total_variance == pytest.approx(100.0, rel=1e-6)


def test_components_for_variance_rejects_a_bad_target():
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        pca.components_for_variance(np.array([0.5, 0.5]), 1.5)


@pytest.mark.parametrize("shape,route", [((80, 200), "gram"), ((300, 40), "covariance")])
def test_exact_routes_match_sklearn_full_svd(shape, route):
    rng = np.random.default_rng(0)
    n, d = shape
    X = (rng.standard_normal((n, 12)) @ rng.standard_normal((12, d))
         + 0.1 * rng.standard_normal((n, d)) + 5).astype(np.float32)
    dec = pca.decompose(X, n_components=10)
    assert dec.extra["route"] == route and dec.method.startswith(route)
    ref = PCA(10, svd_solver="full").fit(X.astype(np.float64))
    res = dec.to_result()
    assert_allclose(res.explained_variance_, ref.explained_variance_, rtol=1e-4)
    assert_allclose(res.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-4)
    # same signs as scikit-learn's svd_flip: the 2-D picture is the notebook's
    assert_allclose(res.components_, ref.components_, atol=2e-4)
    assert_allclose(res.scores, ref.transform(X.astype(np.float64)), rtol=1e-3, atol=1e-3)
    assert_allclose(res.transform(X), res.scores, rtol=1e-3, atol=1e-3)


def test_randomized_route_finds_the_leading_components():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 8)) @ rng.standard_normal((8, 150)) + 0.01 * rng.standard_normal((200, 150))
    dec = pca.decompose(X, n_components=5, method="randomized")
    ref = PCA(5, svd_solver="full").fit(X)
    assert_allclose(dec.eigenvalues, ref.explained_variance_, rtol=1e-5)
    assert dec.total_variance == pytest.approx(ref.explained_variance_.sum() / ref.explained_variance_ratio_.sum(), rel=1e-6)


def test_reconstruction_with_all_components_is_exact():
    X = known_spectrum()
    dec = pca.decompose(X, n_components=6)
    res = dec.to_result()
    assert_allclose(res.inverse_transform(res.scores), X, atol=1e-3 * np.abs(X).max())
    fewer = dec.to_result(4)
    err = ((fewer.inverse_transform(fewer.scores) - X) ** 2).sum() / (len(X) - 1)
    assert err == pytest.approx(3.0 + 1.0, rel=1e-3)  # the discarded eigenvalues


def test_two_dimensional_variance_equals_sklearn():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 400)) * np.linspace(3, 0.1, 400)
    dec = pca.decompose(X)
    ratio = dec.eigenvalues / dec.total_variance
    ref = PCA(2, svd_solver="full").fit(X).explained_variance_ratio_.sum()
    assert ratio[:2].sum() == pytest.approx(ref, rel=1e-5)


def test_decompose_is_reproducible():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2500, 60)).astype(np.float32)
    a, b = pca.decompose(X, n_components=10), pca.decompose(X, n_components=10)
    assert_array_equal(a.components_, b.components_)
    assert_array_equal(a.eigenvalues, b.eigenvalues)


def test_decompose_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2 samples"):
        pca.decompose(np.zeros((1, 5)))


# ----------------------------------------------------------------------------
# Subsample level
# ----------------------------------------------------------------------------
def test_subsample_spectrum_fit_and_projection_agree_with_sklearn(tiny_sub):
    X = np.asarray(tiny_sub.features(), dtype=np.float64)
    spec = pca.spectrum(tiny_sub)
    ref = PCA().fit(X)
    k = len(spec["explained_variance_ratio"])
    assert k == min(X.shape[0] - 1, X.shape[1])  # the full rank on a small matrix
    assert_allclose(spec["explained_variance_ratio"], ref.explained_variance_ratio_[:k], atol=1e-5)
    assert_allclose(spec["cumulative"][-1], 1.0, atol=1e-5)
    assert spec["n_components_95"] == PCA(0.95, svd_solver="full").fit(X).n_components_
    assert spec["n_components_95"] == pca.n_components_for(tiny_sub)
    assert pca.n_components_for(tiny_sub, 0.5) < spec["n_components_95"]
    assert spec["method"].startswith("gram")
    coords, var2 = pca.projection_2d(tiny_sub)
    assert coords.shape == (len(X), 2) and coords.dtype == np.float32
    assert var2 == pytest.approx(ref.explained_variance_ratio_[:2].sum(), rel=1e-4)
    assert_allclose(coords, PCA(2).fit_transform(X), atol=1e-3)
    fit = pca.fit(tiny_sub, 5)
    assert fit.components_.shape == (5, X.shape[1]) and fit.scores.shape == (len(X), 5)
    assert_allclose(pca.transform(tiny_sub, 5), fit.scores)


def test_reconstruct_for_a_slider(tiny_sub):
    n = len(tiny_sub.ids)
    out = pca.reconstruct(tiny_sub, [0, 3, 7], 5)
    assert out["originals"].shape == (3, 12, 12) == out["reconstructions"].shape
    assert out["reconstructions_pixels"].dtype == np.uint8
    assert out["errors"].shape == (3,) and np.all(out["errors"] >= 0)
    full = pca.reconstruct(tiny_sub, [0, 3, 7], n - 1)
    assert_allclose(full["reconstructions"], full["originals"], atol=1e-3)
    assert full["mean_error"] == pytest.approx(0, abs=1e-6)
    assert full["variance_retained"] == pytest.approx(1.0, abs=1e-5)
    # the whole-subsample error is exact: the mean of the per-image errors over all rows
    every = pca.reconstruct(tiny_sub, np.arange(n), 5)
    assert every["mean_error"] == pytest.approx(every["errors"].mean(), rel=1e-3)
    errors = [pca.reconstruct(tiny_sub, np.arange(n), k)["mean_error"] for k in (1, 3, 10, 20)]
    assert errors == sorted(errors, reverse=True)
    # pixels round-trip through the standardization
    from core import images
    raw = images.pixels(tiny_sub.dataset, tiny_sub.ids[[0, 3, 7]], 12)
    assert np.abs(out["originals_pixels"].reshape(3, -1).astype(int) - raw.astype(int)).max() <= 1
    with pytest.raises(IndexError):
        pca.reconstruct(tiny_sub, [n], 5)


def test_second_call_is_a_cache_hit(tiny_sub, monkeypatch):
    assert not pca._basis_meta.is_cached(tiny_sub)
    first = pca.spectrum(tiny_sub)
    assert pca._basis_meta.is_cached(tiny_sub)
    calls = []
    original = pca.decompose
    monkeypatch.setattr(pca, "decompose", lambda *a, **k: calls.append(1) or original(*a, **k))
    again = pca.spectrum(tiny_sub)
    pca.fit(tiny_sub, 7)
    pca.reconstruct(tiny_sub, [1], 9)
    assert calls == []
    assert_array_equal(first["explained_variance_ratio"], again["explained_variance_ratio"])
    # a lost array file is rebuilt, not fatal
    for f in cache.files_dir().glob("pca.components.*"):
        f.unlink()
    assert pca.fit(tiny_sub, 3).components_.shape[0] == 3


def test_more_components_than_the_rank_are_refused(tiny_sub):
    with pytest.raises(ValueError, match="rank"):
        pca.fit(tiny_sub, 10_000)
    with pytest.raises(ValueError, match="at least 1"):
        pca.fit(tiny_sub, 0)


@pytest.mark.slow
def test_shared_data_figures(shared_data, shared_cache):
    """The notebook's figures on the real 10% subsample: 95% count and 2-D variance."""
    sub = Subsample(open_dataset(shared_data))
    spec = pca.spectrum(sub)
    assert 280 <= spec["n_components_95"] <= 305
    _, variance_2d = pca.projection_2d(sub)
    assert 0.31 <= variance_2d <= 0.335
    # the leading eigenvalues are checked against the total variance computed apart
    assert spec["cumulative"][-1] <= 1.0 + 1e-6


def test_the_pca_leaves_every_distance_between_products(tiny_sub, monkeypatch):
    """The Gram route's matrix holds the distances the maps' quality figures need."""
    from core import manifold, neighbors

    assert len(tiny_sub.ids) <= pca.DISTANCES_UP_TO
    pca.spectrum(tiny_sub)
    assert pca._basis_meta.is_cached(tiny_sub)

    def no_product(*args, **kwargs):
        raise AssertionError("the distances come from the PCA's Gram matrix")

    with monkeypatch.context() as m:
        m.setattr(pca, "pairwise_distances", no_product)
        D = pca.distances(tiny_sub)
    X = tiny_sub.features()
    assert D.shape == (len(X), len(X)) and D.dtype == np.float32
    assert_allclose(D, neighbors.pairwise_distances(X), rtol=1e-4, atol=1e-3)
    assert not np.diagonal(D).any() and np.array_equal(D, D.T)
    # the maps' trustworthiness is measured against them
    assert_array_equal(manifold._reference_distances(tiny_sub), D)
    # above the size kept, a clear refusal, and the quality figures measure their own sample
    monkeypatch.setattr(pca, "DISTANCES_UP_TO", len(X) - 1)
    with pytest.raises(ValueError, match="at most"):
        pca.distances(tiny_sub)
    assert_allclose(manifold._reference_distances(tiny_sub), D, rtol=1e-4, atol=1e-3)
    assert_allclose(pca.gram_distances(np.array([[4.0, 2.0], [2.0, 5.0]])),
                    [[0, np.sqrt(5)], [np.sqrt(5), 0]], rtol=1e-6)

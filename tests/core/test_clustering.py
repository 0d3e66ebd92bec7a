"""K-means: the sweep's picks on known structure, silhouettes, regions, the contingency table, caching."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from core import cache, clustering, config
from core.neighbors import pairwise_distances


def blobs(n_per: int = 60, centers=((0, 0), (10, 0), (0, 10), (10, 10)), scale: float = 0.5, seed: int = 0):
    """Well-separated Gaussian blobs and their true labels."""
    rng = np.random.default_rng(seed)
    centers = np.asarray(centers, dtype=float)
    X = np.concatenate([c + scale * rng.standard_normal((n_per, centers.shape[1])) for c in centers])
    y = np.repeat(np.arange(len(centers)), n_per)
    return X, y


# ----------------------------------------------------------------------------
# Array-level math
# ----------------------------------------------------------------------------
def test_sweep_finds_four_blobs_by_elbow_and_silhouette():
    X, _ = blobs()
    out = clustering.sweep_k(X, (1, 10), random_state=0)
    assert out["k"] == list(range(1, 11))
    assert out["elbow_k"] == 4
    assert out["silhouette_k"] == 4
    assert "kneedle" in out["elbow_rule"]
    assert np.isnan(out["silhouette"][0])
    assert np.all(np.diff(out["inertia"]) <= 1e-9)  # more clusters never fit worse
    assert out["silhouette"][3] > 0.8
    assert out["silhouette_sampled"] is False


def test_sweep_in_higher_dimensions_finds_three_blobs():
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 8, size=(3, 10))
    X, _ = blobs(n_per=50, centers=centers, scale=0.5)
    out = clustering.sweep_k(X, (1, 8), random_state=0)
    assert out["elbow_k"] == 3
    assert out["silhouette_k"] == 3


def test_sweep_is_reproducible():
    X, _ = blobs(seed=1, scale=2.0)
    a = clustering.sweep_k(X, (1, 6), random_state=3)
    b = clustering.sweep_k(X, (1, 6), random_state=3)
    assert_allclose(a["inertia"], b["inertia"], rtol=0)
    assert_allclose(a["silhouette"], b["silhouette"], rtol=0)


def test_sweep_rejects_a_bad_range():
    X, _ = blobs()
    with pytest.raises(ValueError, match="k_range"):
        clustering.sweep_k(X, (0, 3))
    with pytest.raises(ValueError, match="k_range"):
        clustering.sweep_k(X, (5, 2))


def test_default_k_prefers_the_elbow_and_stays_in_the_pages_range():
    assert clustering.default_k({"elbow_k": 4, "silhouette_k": 6}) == 4
    assert clustering.default_k({"elbow_k": None, "silhouette_k": 6}) == 6
    assert clustering.default_k({"elbow_k": None, "silhouette_k": None}) == 3
    assert clustering.default_k({"elbow_k": 1}) == 2
    assert clustering.default_k({"elbow_k": 40}) == clustering.DEFAULT_K_RANGE[1]


def test_elbow_has_no_answer_for_a_straight_line():
    assert clustering.elbow([1, 2, 3, 4], [4.0, 3.0, 2.0, 1.0]) is None
    assert clustering.elbow([1, 2], [2.0, 1.0]) is None


def test_silhouette_is_sampled_above_the_limit():
    X, _ = blobs(n_per=40)
    labels = clustering.fit_kmeans(X, 4, 0)["labels"]
    full = clustering.mean_silhouette(X, labels, 0)
    sampled = clustering.mean_silhouette(X, labels, 0, sample_size=100)
    assert sampled == pytest.approx(full, abs=0.05)
    assert sampled != full
    assert np.isnan(clustering.mean_silhouette(X, np.zeros(len(X), int)))


def test_silhouette_values_equal_sklearn_with_a_singleton_and_unordered_labels():
    from sklearn.metrics import silhouette_samples

    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 5))
    labels = rng.choice([7, 2, 9], size=120)
    labels[17] = 5  # a cluster of one point scores 0
    D = pairwise_distances(X)
    ours = clustering.silhouette_values(D, labels)
    assert_allclose(ours, silhouette_samples(X, labels), atol=1e-5)
    assert ours[17] == 0.0
    assert clustering.mean_silhouette(X, labels) == pytest.approx(float(np.mean(ours)))


def test_fit_kmeans_recovers_the_blobs():
    X, y = blobs()
    fit = clustering.fit_kmeans(X, 4, random_state=0)
    assert fit["centers"].shape == (4, 2)
    assert fit["labels"].shape == (len(X),)
    # every true blob maps onto exactly one cluster
    table = pd.crosstab(y, fit["labels"]).to_numpy()
    assert (np.count_nonzero(table, axis=1) == 1).all()
    assert_allclose(np.sort(fit["centers"][:, 0]), [0, 0, 10, 10], atol=0.3)
    with pytest.raises(ValueError, match="between 1"):
        clustering.fit_kmeans(X, 0)


def test_silhouette_groups_are_sorted_per_cluster():
    X, _ = blobs(n_per=30, scale=1.5)
    labels = clustering.fit_kmeans(X, 3, 0)["labels"]
    out = clustering.silhouette_groups(X, labels)
    assert len(out["values"]) == 3
    assert sum(len(v) for v in out["values"]) == len(X) == out["n"]
    for c, values in enumerate(out["values"]):
        assert len(values) == np.sum(labels == c)
        assert np.all(np.diff(values) >= 0)
    assert out["mean"] == pytest.approx(np.concatenate(out["values"]).mean())
    sampled = clustering.silhouette_groups(X, labels, sample_size=50)
    assert sampled["n"] == 50


def test_regions_grid_matches_nearest_center():
    X, _ = blobs()
    fit = clustering.fit_kmeans(X, 4, 0)
    out = clustering.regions_grid(X, fit["centers"], grid=50)
    assert out["xx"].shape == (50,) and out["yy"].shape == (50,)
    assert out["Z"].shape == (50, 50)
    assert out["xx"][0] < X[:, 0].min() and out["xx"][-1] > X[:, 0].max()
    # Z[i, j] is the cluster at (xx[j], yy[i])
    i, j = 7, 41
    d = np.linalg.norm(fit["centers"] - [out["xx"][j], out["yy"][i]], axis=1)
    assert out["Z"][i, j] == np.argmin(d)
    assert set(np.unique(out["Z"])) == {0, 1, 2, 3}
    with pytest.raises(ValueError, match="2-D"):
        clustering.regions_grid(np.zeros((5, 3)), np.zeros((2, 3)))


def test_contingency_table_and_scores_on_known_clusters():
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    perfect = np.array([2, 2, 2, 0, 0, 1, 1, 1])
    out = clustering.contingency_table(perfect, labels)
    assert list(out["table"].columns) == list(config.CATEGORIES)
    assert out["table"].index.name == "cluster"
    assert out["table"].loc[2, "Accessories"] == 3
    assert out["table"].loc[0, "Apparel"] == 2
    assert out["table"]["Home"].sum() == 0
    assert out["table"].to_numpy().sum() == len(labels)
    assert out["ari"] == pytest.approx(1.0)
    assert out["nmi"] == pytest.approx(1.0)
    mixed = clustering.contingency_table(np.array([0, 1, 0, 1, 0, 1, 0, 1]), labels)
    assert mixed["ari"] < 0.1
    with pytest.raises(ValueError, match="length"):
        clustering.contingency_table(np.zeros(3, int), labels)


# ----------------------------------------------------------------------------
# Cached functions of a subsample
# ----------------------------------------------------------------------------
def test_subsample_functions_agree_and_are_served_from_the_cache(tiny_sub):
    sweep = clustering.kmeans_sweep(tiny_sub, "pca2", (1, 5))
    assert sweep["space"] == "pca2" and sweep["k"] == [1, 2, 3, 4, 5]
    fit = clustering.kmeans(tiny_sub, 3)
    n = len(tiny_sub.frame())
    assert fit["labels"].shape == (n,) and fit["centers"].shape == (3, 2)
    sil = clustering.silhouette_by_cluster(tiny_sub, 3)
    assert sil["k"] == 3 and sum(len(v) for v in sil["values"]) == n
    regions = clustering.decision_regions(tiny_sub, 3, grid=20)
    assert_allclose(regions["centers"], fit["centers"])
    cont = clustering.contingency(tiny_sub, 3)
    assert cont["table"].to_numpy().sum() == n
    assert_array_equal(cont["table"].sum(axis=0).to_numpy(),
                       np.bincount(tiny_sub.labels(), minlength=len(config.CATEGORIES)))
    for func, args in [(clustering.kmeans_sweep, (tiny_sub, "pca2", (1, 5))),
                       (clustering.kmeans, (tiny_sub, 3)),
                       (clustering.decision_regions, (tiny_sub, 3, "pca2", 20))]:
        assert func.is_cached(*args)
    # a second call is a cache hit: the uncached function is not run again
    calls = []
    original = clustering.fit_kmeans
    try:
        clustering.fit_kmeans = lambda *a, **k: calls.append(1) or original(*a, **k)
        again = clustering.kmeans_sweep(tiny_sub, "pca2", (1, 5))
        assert calls == []
        clustering.kmeans_sweep(tiny_sub, "pca2", (1, 4))  # other parameters: a new entry
        assert calls
    finally:
        clustering.fit_kmeans = original
    assert again["inertia"] == sweep["inertia"]


def test_pca_space_and_reproducibility(tiny_sub):
    a = clustering.kmeans(tiny_sub, 2, "pca5", random_state=1)
    assert a["centers"].shape == (2, 5)
    cache.clear_cache()
    b = clustering.kmeans(tiny_sub, 2, "pca5", random_state=1)
    assert_array_equal(a["labels"], b["labels"])
    assert_allclose(a["centers"], b["centers"], rtol=1e-6)
    with pytest.raises(ValueError, match="2-D"):
        clustering.decision_regions(tiny_sub, 2, "pca5")


def test_the_default_sweep_is_the_notebooks(tiny_sub):
    """Pages that call the sweep with its defaults read what the warm-up cached."""
    sweep = clustering.kmeans_sweep(tiny_sub, "pca2", (1, 10), 0)
    assert clustering.kmeans_sweep.is_cached(tiny_sub, random_state=0)
    assert 2 <= clustering.default_k(sweep) <= 10

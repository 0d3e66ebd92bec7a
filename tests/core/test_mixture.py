"""Gaussian mixtures: BIC on known counts, the chosen model is the one sampled, realism, caching."""
from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from core import mixture

MEANS = np.array([[0.0, 0.0], [8.0, 1.0], [2.0, 9.0]])
WEIGHTS = np.array([0.5, 0.3, 0.2])


def three_components(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D mixture of three Gaussians with different full covariances."""
    rng = np.random.default_rng(seed)
    covs = np.array([[[1.0, 0.6], [0.6, 1.0]], [[0.5, 0.0], [0.0, 2.0]], [[1.5, -0.7], [-0.7, 0.8]]])
    comp = rng.choice(3, size=n, p=WEIGHTS)
    X = np.array([rng.multivariate_normal(MEANS[c], covs[c]) for c in comp])
    return X, comp


def test_bic_picks_the_true_count():
    X, _ = three_components()
    out = mixture.bic_curve(X, (1, 8), random_state=0)
    assert out["n"] == list(range(1, 9))
    assert out["bic_k"] == 3
    assert out["bic"][2] == min(out["bic"])
    assert out["aic_k"] >= 3  # AIC penalises size less than BIC
    assert len(out["aic"]) == 8


def test_bic_over_explicit_counts():
    X, _ = three_components(300)
    out = mixture.bic_curve(X, counts=(1, 3, 6, 10_000))
    assert out["n"] == [1, 3, 6]
    assert out["bic_k"] == 3
    with pytest.raises(ValueError, match="n_range"):
        mixture.bic_curve(X, (3, 1))


def test_sizes_fitted_side_by_side_give_the_sequential_sweep_and_leave_blas_as_it_was(monkeypatch):
    from threadpoolctl import threadpool_info

    X, _ = three_components(300)
    before = [pool["num_threads"] for pool in threadpool_info()]
    monkeypatch.setattr(mixture, "n_threads", lambda: 2)
    side_by_side = mixture.bic_curve(X, (1, 6), random_state=0)
    monkeypatch.setattr(mixture, "n_threads", lambda: 1)
    one_by_one = mixture.bic_curve(X, (1, 6), random_state=0)
    assert side_by_side == one_by_one
    assert [pool["num_threads"] for pool in threadpool_info()] == before


def test_sampling_uses_the_chosen_model_not_the_last_of_the_sweep():
    X, _ = three_components()
    out = mixture.sample_points(X, 500, n_range=(1, 8), random_state=0)
    assert out["bic"]["bic_k"] == 3
    # the notebook sampled the sweep's last model (8 components here)
    assert out["n_components"] == 3
    assert set(np.unique(out["components"])) == {0, 1, 2}
    assert out["points"].shape == (500, 2)
    # the draws follow the chosen model's weights
    model = mixture.fit_gmm(X, 3, random_state=0)
    assert_allclose(np.bincount(out["components"], minlength=3) / 500, model.weights_, atol=0.06)
    given = mixture.sample_points(X, 10, n_components=2)
    assert given["n_components"] == 2 and given["bic"] is None


def test_draw_is_reproducible_and_follows_the_seed():
    X, _ = three_components(300)
    model = mixture.fit_gmm(X, 3, random_state=0)
    a, ca = mixture.draw(model, 50, random_state=1)
    b, cb = mixture.draw(model, 50, random_state=1)
    c, _ = mixture.draw(model, 50, random_state=2)
    assert_array_equal(a, b)
    assert_array_equal(ca, cb)
    assert not np.allclose(a, c)
    many, comp = mixture.draw(model, 20000, random_state=0)
    for j in range(3):
        assert_allclose(many[comp == j].mean(axis=0), model.means_[j], atol=0.1)
        assert_allclose(np.cov(many[comp == j].T), model.covariances_[j], atol=0.15)


def test_fit_is_reproducible():
    X, _ = three_components(300)
    a = mixture.model_params(mixture.fit_gmm(X, 3, random_state=5))
    b = mixture.model_params(mixture.fit_gmm(X, 3, random_state=5))
    for key in ("weights", "means", "covariances"):
        assert_allclose(a[key], b[key], rtol=1e-12)
    with pytest.raises(ValueError, match="n_components"):
        mixture.fit_gmm(X, 0)


def test_density_on_grid():
    X, _ = three_components(300)
    model = mixture.fit_gmm(X, 3, random_state=0)
    out = mixture.density_on_grid(model, X, grid=40)
    assert out["nll"].shape == (40, 40) and out["regions"].shape == (40, 40)
    assert out["xx"].shape == (40,) and out["yy"].shape == (40,)
    i, j = 10, 30
    point = np.array([[out["xx"][j], out["yy"][i]]])
    assert out["nll"][i, j] == pytest.approx(-model.score_samples(point)[0])
    assert out["regions"][i, j] == model.predict(point)[0]
    # the densest cell lies near the heaviest component's mean
    i, j = np.unravel_index(np.argmin(out["nll"]), out["nll"].shape)
    heaviest = model.means_[np.argmax(model.weights_)]
    assert np.hypot(out["xx"][j] - heaviest[0], out["yy"][i] - heaviest[1]) < 1.5
    assert_allclose(out["weights"].sum(), 1.0)


def nearest_real(generated, real, normalize=True):
    """The realism measure by comparing every pair: distance to the nearest real row."""
    if normalize:
        generated, real = mixture.normalize_rows(generated), mixture.normalize_rows(real)
    return np.linalg.norm(np.asarray(generated, float)[:, None] - np.asarray(real, float)[None],
                          axis=2).min(axis=1)


def test_normalize_rows_removes_brightness_and_contrast():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 16))
    assert_allclose(mixture.normalize_rows(3.0 * x + 2.0), mixture.normalize_rows(x), atol=1e-5)
    out = mixture.normalize_rows(x)
    assert_allclose(out.mean(axis=1), 0, atol=1e-6)
    assert_allclose(np.sqrt((out**2).mean(axis=1)), 1, rtol=1e-5)
    assert not mixture.normalize_rows(np.full((1, 16), 7.0)).any()  # a flat image stays flat


def test_realism_pass_matches_the_standardized_features(tiny_sub, monkeypatch):
    """The one-product pass gives the distances of comparing standardized rows directly."""
    from core import pca

    rng = np.random.default_rng(3)
    features = tiny_sub.features()
    queries = np.vstack([features[[4]] * 2.5 + 1.0,  # a contrast change of a real product
                         rng.standard_normal((5, features.shape[1])), features[[9]]]).astype(np.float32)
    monkeypatch.setattr(mixture, "_REAL_BLOCK", 7)  # several blocks, the last one short
    normed, raw = mixture._nearest_real(tiny_sub, queries)
    assert_allclose(normed, nearest_real(queries, features), rtol=1e-4, atol=5e-3)
    assert_allclose(raw, nearest_real(queries, features, normalize=False), rtol=1e-4, atol=5e-3)
    assert normed[0] == pytest.approx(0.0, abs=1e-2) and raw[0] > 1.0
    assert normed[-1] == pytest.approx(0.0, abs=1e-2) and raw[-1] == pytest.approx(0.0, abs=1e-2)
    # every real row's statistics are cached once, for every route and count
    assert mixture._real_row_stats(tiny_sub).shape == (len(tiny_sub.ids), 3)
    assert pca.raw_pixels(tiny_sub).shape[0] == len(tiny_sub.ids)


def test_higher_dimensional_route_is_more_realistic_on_generated_images():
    """Images from a few prototypes: a mixture on 2 PCA axes averages them, one on 12 does not."""
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    n_features, n_classes = 144, 6
    prototypes = rng.standard_normal((n_classes, n_features)) * 2.0
    labels = rng.integers(0, n_classes, 900)
    X = prototypes[labels] + 0.4 * rng.standard_normal((900, n_features))
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    results = {}
    for dims in (2, 12):
        pca = PCA(dims).fit(X)
        sample = mixture.sample_points(pca.transform(X), 64, n_range=(1, 8), random_state=0)
        images = pca.inverse_transform(sample["points"])
        results[dims] = nearest_real(images, X).mean()
    assert results[12] < 0.8 * results[2]


# ----------------------------------------------------------------------------
# Cached functions of a subsample
# ----------------------------------------------------------------------------
def test_subsample_sweep_fit_and_density(tiny_sub):
    n = len(tiny_sub.frame())
    sweep = mixture.bic_sweep(tiny_sub, "pca2", (1, 4))
    assert sweep["n"] == [1, 2, 3, 4] and sweep["space"] == "pca2"
    fit = mixture.fit(tiny_sub, 2)
    assert fit["labels"].shape == (n,)
    assert fit["means"].shape == (2, 2) and fit["covariances"].shape == (2, 2, 2)
    dens = mixture.density_grid(tiny_sub, 2, grid=30)
    assert_allclose(dens["means"], fit["means"])
    assert dens["nll"].shape == (30, 30)
    with pytest.raises(ValueError, match="2-D"):
        mixture.density_grid(tiny_sub, 2, "pca5")


@pytest.mark.parametrize("route, dims", [("2d", 2), ("pca", 4)])
def test_sample_images(tiny_sub, route, dims):
    out = mixture.sample_images(tiny_sub, 6, route, None, 4, 0)
    assert out["images"].shape == (6, 12, 12) and out["images"].dtype == np.uint8
    assert out["points"].shape == (6, dims)
    assert out["route"] == route and out["dims"] == dims
    # the sampled model is the one BIC chose
    assert out["n_components"] == out["bic"]["bic_k"]
    if route == "2d":
        assert out["bic"]["bic_k"] == mixture.bic_sweep(tiny_sub, "pca2", (1, 10), 0)["bic_k"]
    assert out["images"].std() > 0
    again = mixture.sample_images(tiny_sub, 6, route, None, 4, 0)
    assert_array_equal(out["images"], again["images"])
    assert mixture.sample_images.is_cached(tiny_sub, 6, route, None, 4, 0)
    real = mixture.realism(tiny_sub, 6, route, None, 4, 0)
    assert real["distances"].shape == (6,)
    assert real["mean_distance"] == pytest.approx(real["distances"].mean())
    assert real["mean_euclidean"] > 0
    given = mixture.sample_images(tiny_sub, 3, route, 2, 4, 0)
    assert given["n_components"] == 2 and given["bic"] is None


@pytest.mark.parametrize("route, tol", [("2d", 1e-3), ("pca", mixture.SAMPLE_TOL)])
def test_only_the_pca_route_fits_to_the_looser_tolerance(tiny_sub, monkeypatch, route, tol):
    """The notebook's 2-D mixtures keep scikit-learn's tolerance; the pca route's sweep stops sooner."""
    from sklearn.mixture import GaussianMixture

    seen = set()
    fit = GaussianMixture.fit

    def spy(self, X, y=None):
        seen.add(self.tol)
        return fit(self, X, y)

    monkeypatch.setattr(GaussianMixture, "fit", spy)
    mixture.sample_images(tiny_sub, 4, route, None, 4, 0)
    assert seen == {tol}
    if route == "pca":  # a count given: one fit of its own, to the same tolerance
        seen.clear()
        mixture.sample_images(tiny_sub, 4, route, 2, 4, 0)
        assert seen == {tol}


def test_a_looser_tolerance_stops_sooner_and_bic_still_finds_the_true_count():
    X, _ = three_components(900)
    strict = mixture.bic_curve(X, (1, 6), random_state=0)
    _, loose_models = mixture._sweep_fits(X, list(range(1, 7)), 0, tol=mixture.SAMPLE_TOL)
    loose = [float(loose_models[n].bic(X)) for n in range(1, 7)]
    assert int(np.argmin(loose)) + 1 == strict["bic_k"] == 3
    assert sum(m.n_iter_ for m in loose_models.values()) < sum(
        mixture.fit_gmm(X, n, 0).n_iter_ for n in range(1, 7))
    assert_allclose(loose, strict["bic"], rtol=0.01)


def test_sample_images_refuses_an_unknown_route(tiny_sub):
    with pytest.raises(ValueError, match="route"):
        mixture.sample_images(tiny_sub, 4, "3d")

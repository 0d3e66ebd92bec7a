"""What the pages call, on a catalogue pushed onto the Dask route: same answers, bounded memory.

``FASHION_DASK_MIN_ROWS`` makes a 60-product catalogue count as large, so
:mod:`core.pca`, :mod:`core.manifold`, :mod:`core.spaces` and
:mod:`core.clustering` take the route a 200,000-product one takes.
"""
from __future__ import annotations

import numpy as np
import pytest
from make_data import make_dataset
from numpy.testing import assert_allclose

from core import admission, clustering, manifold, pca, spaces
from core.dataset import open_dataset
from core.scale import basis, cluster
from core.subsample import Subsample

N = 60


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("scale-pages")
    make_dataset(path, n_good=N, damaged=False)
    return path


@pytest.fixture
def sub(folder):
    return Subsample(open_dataset(folder), fraction=1.0, image_size=12)


@pytest.fixture
def on_dask(monkeypatch, sub):
    for name in (cluster.DASK_ENV, cluster.SCHEDULER_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(cluster.MIN_ROWS_ENV, "10")

    def no_whole_matrix(self, progress=None):
        raise AssertionError("the Dask route must never build the whole feature matrix")

    monkeypatch.setattr(Subsample, "features", no_whole_matrix)
    assert basis.route(sub) == "local" and manifold.on_dask(sub)


@pytest.fixture
def in_memory(monkeypatch, sub, tmp_path):
    """The in-memory answers, computed in a cache of their own."""
    monkeypatch.setenv(cluster.DASK_ENV, "off")
    monkeypatch.setenv("FASHION_CACHE_DIR", str(tmp_path / "memory-cache"))
    out = {"spectrum": pca.spectrum(sub), "projection": pca.projection_2d(sub)[0],
           "reconstruct": pca.reconstruct(sub, [0, 5, 9], 6), "scale": pca.pixel_scale(sub)}
    monkeypatch.setenv("FASHION_CACHE_DIR", str(tmp_path / "dask-cache"))
    monkeypatch.delenv(cluster.DASK_ENV)
    return out


def test_pca_on_dask_gives_the_in_memory_answers(sub, in_memory, on_dask):
    spec = pca.spectrum(sub)
    assert "on the cluster" in spec["method"]
    assert spec["n_components_95"] == in_memory["spectrum"]["n_components_95"]
    assert_allclose(spec["explained_variance_ratio"][:20],
                    in_memory["spectrum"]["explained_variance_ratio"][:20], rtol=1e-4, atol=1e-6)
    assert_allclose(pca.projection_2d(sub)[0], in_memory["projection"], atol=1e-3)
    for a, b in zip(pca.pixel_scale(sub), in_memory["scale"]):
        assert_allclose(a, b, rtol=1e-5)
    rec = pca.reconstruct(sub, [0, 5, 9], 6)
    assert_allclose(rec["reconstructions"], in_memory["reconstruct"]["reconstructions"], atol=1e-3)
    assert rec["mean_error"] == pytest.approx(in_memory["reconstruct"]["mean_error"], rel=1e-4)


def test_scores_past_those_kept_are_refused_with_a_sentence(sub, on_dask, monkeypatch):
    monkeypatch.setattr(basis.pca, "N_SCORES", 8)
    assert pca.transform(sub, 8).shape == (N, 8)
    with pytest.raises(ValueError, match="keeps the scores of the first 8 components"):
        pca.transform(sub, 9)


@pytest.mark.parametrize("method, how", [("tsne", "openTSNE transform"),
                                         ("umap", "umap-learn transform")])
def test_tsne_and_umap_fit_a_sample_and_place_every_other_product(sub, on_dask, monkeypatch,
                                                                  method, how):
    monkeypatch.setattr(manifold, "FIT_SAMPLE", 35)
    emb = manifold.embed(sub, method, n_iter=100 if method == "tsne" else 50)
    assert emb.rows is None and emb.coords.shape == (N, 2)
    assert np.isfinite(emb.coords).all()
    assert f"fitted on 35 of {N} products" in emb.route and f"the other {N - 35} placed by {how}" in emb.route
    q = manifold.quality(sub, method, n_iter=100 if method == "tsne" else 50)
    assert q["trustworthiness"] > 0.6  # placed points land among their neighbours, not at random


def test_lle_and_mds_run_on_nested_samples_and_say_so(sub, on_dask, monkeypatch):
    monkeypatch.setattr(manifold, "SAMPLE_ONLY", {"lle": 40, "mds": 25})
    lle = manifold.embed(sub, "lle")
    mds = manifold.embed(sub, "mds", n_iter=50)
    assert lle.sample_only and len(lle.rows) == 40 and lle.coords.shape == (40, 2)
    assert mds.sample_only and len(mds.rows) == 25
    assert f"a sample of 25 of {N} products" in mds.route
    assert np.isin(mds.rows, lle.rows).all()  # nested: the comparison shares MDS's products
    tsne = manifold.embed(sub, "tsne", n_iter=100)
    rows = manifold.shared_rows([tsne, lle, mds])
    assert_allclose(rows, mds.rows)
    assert_allclose(manifold.coords_on(lle, rows), lle.coords[np.searchsorted(lle.rows, rows)])
    assert_allclose(manifold.coords_on(tsne, rows), tsne.coords[rows])
    with pytest.raises(ValueError, match="holds a sample of 40 products"):
        manifold.coords_on(lle, None)
    q = manifold.quality(sub, "lle")
    assert 0 <= q["trustworthiness"] <= 1
    with pytest.raises(ValueError, match=f"sample of 40 of {N} products.*choose PCA, t-SNE or UMAP"):
        spaces.space_matrix(sub, "embedding:lle")


def test_clustering_runs_on_the_scores_the_pages_use(sub, on_dask):
    sweep = clustering.kmeans_sweep(sub, "pca2", (2, 5))
    assert list(sweep["k"]) == [2, 3, 4, 5]
    fit = clustering.kmeans(sub, 3, "pca50")
    assert len(fit["labels"]) == N
    assert spaces.space_matrix(sub, "pca2").shape == (N, 2)


def test_admission_charges_the_bounded_cost_of_the_dask_route(sub, on_dask):
    what, cost, advice = pca._admit_basis(sub)
    assert "image size" in advice
    assert "on Dask (local)" in what
    assert cost == basis.memory_bytes(N, 144, "local")
    # 200,000 grayscale images at 100x100: the in-memory route's cost would be
    # refused on a 10 GB server, the Dask route's is a fraction of it.
    big = basis.memory_bytes(200_000, 10_000, "local")
    assert big < 5 * 2**30 < 10 * 2**30 < admission.pca_bytes(200_000, 10_000, 640)
    assert basis.memory_bytes(200_000, 10_000, "remote") < 200 * 2**20
    what, cost, _ = manifold._admit_embed(sub, "tsne", (("n_input_dims", 50),))
    assert "fitted on" in what


def test_the_whole_feature_matrix_is_refused_past_the_memory_budget(sub, monkeypatch):
    """What the in-memory route would build for 200,000 images: refused with a sentence, not allocated."""
    monkeypatch.setenv(admission.MEMORY_ENV, str(4 * N * 144 / 2**30 / 2))  # half of what it needs
    with pytest.raises(admission.OverBudget, match=f"features of {N} images at 12x12 would take"):
        sub.features()
    monkeypatch.setenv(admission.MEMORY_ENV, "1")
    assert sub.features().shape == (N, 144)

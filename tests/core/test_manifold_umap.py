"""UMAP on exact neighbours, with numba's compiled code kept on disk."""
from __future__ import annotations

import numpy as np
import pytest

from core import manifold

pytest.importorskip("umap", reason="umap-learn is not installed")


def test_umap_runs_on_exact_neighbours_and_separates_blobs(tmp_path, monkeypatch):
    monkeypatch.setenv("FASHION_CACHE_DIR", str(tmp_path))
    rng = np.random.default_rng(0)
    Y = np.r_[rng.normal(size=(60, 8)), rng.normal(size=(60, 8)) + 6].astype(np.float32)
    coords, route = manifold.umap_embed(Y, n_neighbors=10, n_iter=50)
    assert coords.shape == (120, 2) and "exact neighbours" in route
    assert manifold.trustworthiness(Y, coords, 5) > 0.85


def test_exact_knn_puts_each_row_first_in_its_own_list():
    Y = np.random.default_rng(1).normal(size=(30, 4)).astype(np.float32)
    Y[12:20] = Y[12]  # eight identical rows: all at distance 0 from each other
    idx, dist = manifold._exact_knn(Y, 5)
    assert idx.shape == (30, 5) and idx.dtype == np.int32 and dist.dtype == np.float32
    np.testing.assert_array_equal(idx[:, 0], np.arange(30))
    assert (np.diff(dist, axis=1) >= -1e-6).all()
    assert set(idx[15]) <= set(range(12, 20)) and not dist[15].any()
    # the nearest rows of comparing every pair (the copies tie among themselves)
    D = np.linalg.norm(Y[:, None] - Y[None], axis=2)
    np.testing.assert_allclose(dist, np.sort(D, axis=1)[:, :5], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.take_along_axis(D, idx.astype(int), 1), dist, rtol=1e-5, atol=1e-5)


def test_a_fitted_umap_places_new_points_through_the_exact_index():
    """No pynndescent index: the fitted neighbours and transform's queries are exact."""
    rng = np.random.default_rng(2)
    Y = np.r_[rng.normal(size=(80, 6)), rng.normal(size=(80, 6)) + 8].astype(np.float32)
    model = manifold.umap_model(Y[::2], n_neighbors=8, n_iter=30)
    assert isinstance(model._knn_search_index, manifold.ExactIndex)
    idx, dist = model._knn_search_index.query(Y[1::2], 3)
    D = np.linalg.norm(Y[1::2, None] - Y[None, ::2], axis=2)
    np.testing.assert_array_equal(idx, np.argsort(D, axis=1)[:, :3])
    np.testing.assert_allclose(dist, np.sort(D, axis=1)[:, :3], rtol=1e-5)
    placed = manifold.place(model, Y[1::2])
    # each new point lands among the fitted points of its own blob
    fitted = model.embedding_
    for blob in (slice(0, 40), slice(40, 80)):
        centre = fitted[blob].mean(axis=0)
        other = fitted[slice(40, 80) if blob.start == 0 else slice(0, 40)].mean(axis=0)
        near = np.linalg.norm(placed[blob] - centre, axis=1) < np.linalg.norm(placed[blob] - other, axis=1)
        assert near.all()


def test_umap_kernels_cache_to_disk():
    umap = manifold.import_umap()
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    import umap.umap_ as umap_module

    assert umap._fashion_cached
    jitted = [f for f in vars(umap_module).values() if isinstance(f, Dispatcher)]
    assert jitted and not any(isinstance(f._cache, NullCache) for f in jitted)


@pytest.mark.parametrize("method", ["lle", "umap"])
def test_a_large_map_is_fitted_on_a_sample_and_places_the_rest(tiny_sub, monkeypatch, method):
    n = len(tiny_sub.ids)
    size = n // 2
    monkeypatch.setitem(manifold.PLACE_ABOVE, method, size)
    kwargs = {"n_neighbors": 8}
    emb = manifold.embed(tiny_sub, method, n_input_dims=10, **kwargs)
    assert f"fitted on {size:,} of {n:,} products" in emb.route
    assert f"the other {n - size:,} placed by" in emb.route and "PCA-10" in emb.route
    assert emb.coords.shape == (n, 2) and np.isfinite(emb.coords).all()
    assert emb.rows is None  # every product is on the map
    # the fitted products keep their fitted positions: the sample is nested
    rows = manifold.nested_sample(n, size, 42)
    fitted = manifold.fit_and_place(method, manifold.pca.transform(tiny_sub, 10, 42), rows,
                                    {**manifold.DEFAULTS[method], **kwargs}, 42)[0]
    np.testing.assert_allclose(emb.coords[rows], fitted[rows], atol=1e-4)


def test_compile_names_every_kernel_group_and_leaves_them_on_disk(tmp_path, monkeypatch, capsys):
    """`python -m core compile --json`: every group compiled, numba's disk cache holds them."""
    import json
    from pathlib import Path

    import numba

    from core.__main__ import main

    monkeypatch.setenv("FASHION_CACHE_DIR", str(tmp_path))
    assert main(["compile", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["seconds"]) == {"MDS", "UMAP", "UMAP transform"}
    # numba's cache folder is fixed once per process (the first cache folder seen)
    indexes = {p.name for p in Path(numba.config.CACHE_DIR).rglob("*.nbi")}
    assert any("_guttman_py" in name for name in indexes)
    assert any("_place_py" in name for name in indexes)

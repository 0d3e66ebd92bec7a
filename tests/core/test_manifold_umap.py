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
    idx, dist = manifold._exact_knn(Y, 5, chunk=7)
    assert idx.shape == (30, 5) and idx.dtype == np.int32
    np.testing.assert_array_equal(idx[:, 0], np.arange(30))
    assert (np.diff(dist, axis=1) >= -1e-6).all()


def test_umap_kernels_cache_to_disk():
    umap = manifold.import_umap()
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    import umap.umap_ as umap_module

    assert umap._fashion_cached
    jitted = [f for f in vars(umap_module).values() if isinstance(f, Dispatcher)]
    assert jitted and not any(isinstance(f._cache, NullCache) for f in jitted)

"""core.neighbors: the one brute-force distance kernel agrees with scikit-learn."""
from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.metrics import pairwise_distances as sk_pairwise
from sklearn.neighbors import NearestNeighbors

from core.neighbors import kneighbors, pairwise_distances


@pytest.fixture
def points():
    rng = np.random.default_rng(0)
    return rng.normal(size=(1500, 12)), rng.normal(size=(25, 12))


@pytest.mark.parametrize("k,block", [(1, 2048), (8, 2048), (8, 333), (5, 1)])
def test_kneighbors_matches_scikit_learn(points, k, block):
    base, queries = points
    d, i = kneighbors(queries, base, k, block=block)
    ref_d, ref_i = NearestNeighbors(n_neighbors=k).fit(base).kneighbors(queries)
    assert d.shape == i.shape == (25, k)
    assert_allclose(d, ref_d, rtol=1e-4, atol=1e-4)
    assert_array_equal(i, ref_i)


def test_memory_mapped_base(points, tmp_path):
    base, queries = points
    mm = np.lib.format.open_memmap(tmp_path / "b.npy", mode="w+", dtype=np.float32, shape=base.shape)
    mm[:] = base
    d, i = kneighbors(queries, mm, 3, block=256)
    ref_d, ref_i = kneighbors(queries, base, 3)
    assert_allclose(d, ref_d, rtol=1e-5)
    assert_array_equal(i, ref_i)


def test_k_is_capped_and_empty_inputs(points):
    base, queries = points
    d, i = kneighbors(queries, base[:3], 8)
    assert d.shape == (25, 3) and sorted(i[0]) == [0, 1, 2]
    assert kneighbors(queries[:0], base, 4)[0].shape == (0, 4)
    assert kneighbors(queries, base[:0], 4)[0].shape == (25, 0)


def test_ties_keep_the_lower_index():
    base = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    d, i = kneighbors(np.zeros((1, 2)), base, 3, block=1)
    assert_array_equal(i[0], [0, 1, 2])
    assert_allclose(d[0], [1, 1, 1])


def test_pairwise_distances(points):
    base, queries = points
    assert_allclose(pairwise_distances(queries, base[:40]), sk_pairwise(queries, base[:40]),
                    rtol=1e-4, atol=1e-4)
    own = pairwise_distances(base[:50])
    assert_array_equal(np.diag(own), 0)
    assert own.dtype == np.float32 and (own >= 0).all()

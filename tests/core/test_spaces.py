"""core.spaces: descriptors, the points of a space, the shared lattice and thread limit."""
from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from threadpoolctl import threadpool_info

from core import pca, spaces


@pytest.mark.parametrize("space, expected", [
    ("pca2", ("pca", 2)), ("pca50", ("pca", 50)), ("PCA", ("pca", 50)),
    ("embedding:tsne", ("embedding", "tsne")), ("embedding:UMAP", ("embedding", "umap")),
])
def test_parse_space(space, expected):
    assert spaces.parse_space(space) == expected


@pytest.mark.parametrize("space", ["pca0", "tsne", "embedding:", "pcaX", ""])
def test_parse_space_rejects_with_the_accepted_forms(space):
    with pytest.raises(ValueError, match="pca2"):
        spaces.parse_space(space)


def test_space_dims():
    assert spaces.space_dims("pca2") == 2
    assert spaces.space_dims("pca50") == 50
    assert spaces.space_dims("embedding:mds") == 2
    assert all(spaces.parse_space(s) for s in spaces.SPACE_LABELS)
    assert spaces.DEFAULT_SPACE in spaces.SPACE_LABELS


def test_require_2d_names_what_needs_a_plane():
    spaces.require_2d("pca2", "contours")
    with pytest.raises(ValueError, match="contours need a 2-D space"):
        spaces.require_2d("pca3", "contours")


def test_space_matrix_is_the_pca_scores(tiny_sub):
    X = spaces.space_matrix(tiny_sub, "pca3", 0)
    assert X.dtype == np.float64 and X.shape == (len(tiny_sub.ids), 3)
    assert_allclose(X, pca.transform(tiny_sub, 3, 0))
    with pytest.raises(ValueError, match="2-D"):
        spaces.space_matrix(tiny_sub, "pca3", 0, plane="decision regions")


def test_unknown_embedding_is_refused(tiny_sub):
    with pytest.raises(ValueError, match="unknown embedding"):
        spaces.space_matrix(tiny_sub, "embedding:nope")


def test_sweep_in_space_tags_the_result_with_its_space(tiny_sub):
    seen = []

    def sweep(X, counts, random_state, progress=None):
        seen.append((X.shape, counts, random_state))
        return {"n": list(range(counts[0], counts[1] + 1))}

    out = spaces.sweep_in_space(sweep, tiny_sub, "pca2", [1, 3], 0)
    assert out == {"n": [1, 2, 3], "space": "pca2"}
    assert seen == [((len(tiny_sub.ids), 2), (1, 3), 0)]


def test_grid_points_follow_plotlys_heatmap_layout():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    xx, yy, points = spaces.grid_points(X, grid=7)
    assert xx.shape == yy.shape == (7,) and points.shape == (49, 2)
    assert xx[0] < X[:, 0].min() and xx[-1] > X[:, 0].max()
    i, j = 2, 5
    assert_allclose(points[i * 7 + j], [xx[j], yy[i]])
    with pytest.raises(ValueError, match="2-D"):
        spaces.grid_axes(np.zeros((5, 3)))


def test_small_fits_run_on_one_thread():
    with spaces.limit_threads(spaces.SINGLE_THREAD_BELOW - 1):
        assert all(lib["num_threads"] == 1 for lib in threadpool_info())


def test_sweep_counts_are_capped_at_the_number_of_points():
    assert spaces.sweep_counts((1, 10), 4, "k_range") == [1, 2, 3, 4]
    assert spaces.sweep_counts([2, 3], 100, "k_range") == [2, 3]
    for bad in ((0, 3), (5, 2)):
        with pytest.raises(ValueError, match="n_range must be"):
            spaces.sweep_counts(bad, 10, "n_range")

"""core.mds: SMACOF against scikit-learn's metric MDS, and the landmark route."""
from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.manifold import MDS

from core import manifold, mds
from core.neighbors import pairwise_distances
from test_manifold import noisy_plane


def test_smacof_reaches_the_stress_of_sklearn():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 8)) * np.array([4, 3, 2, 1, 1, 0.5, 0.5, 0.5])
    D = pairwise_distances(X)
    ours, stress, n_iter = mds.smacof(D, mds.classical_mds_start(X, D), max_iter=300)
    ref = MDS(n_components=2, n_init=4, max_iter=300, metric_mds=True, metric="precomputed",
              init="random", normalized_stress=False, eps=1e-6, random_state=0)
    ref.fit(D.astype(np.float64))
    assert stress <= ref.stress_ * 1.01
    # the returned stress is the stress of the returned configuration
    d = pairwise_distances(ours)
    assert stress == pytest.approx(((d - D) ** 2).sum() / 2, rel=1e-3)
    again = mds.smacof(D, mds.classical_mds_start(X, D), max_iter=300)
    assert_array_equal(ours, again[0])


def test_landmark_mds_route_for_many_points():
    X, _ = noisy_plane(n=600, dims=20)
    coords, route, extra = mds.mds(X, exact_max=300, landmarks=120, random_state=0)
    assert route.startswith("landmark") and extra["landmarks"] == 120
    assert coords.shape == (600, 2) and np.isfinite(coords).all()
    assert manifold.trustworthiness(X, coords) > 0.95
    same = mds.mds(X, exact_max=300, landmarks=120, random_state=0)[0]
    assert_array_equal(coords, same)

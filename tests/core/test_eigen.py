"""core.eigen: leading eigenpairs, orthonormal bases and the sign convention of every PCA."""
from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose
from sklearn.utils.extmath import svd_flip

from core import eigen


def test_top_eigh_matches_the_full_eigendecomposition():
    rng = np.random.default_rng(0)
    # a decaying spectrum, like images' (a flat one needs more iterations)
    Q, _ = np.linalg.qr(rng.standard_normal((300, 300)))
    A = (Q * (50 * 0.9 ** np.arange(300))) @ Q.T
    w, V = eigen.top_eigh(A, 20, oversample=40)
    ref = np.linalg.eigvalsh(A)[::-1][:20]
    assert_allclose(w, ref, rtol=1e-6)
    assert_allclose(V.T @ V, np.eye(20), atol=1e-8)
    assert_allclose(A @ V, V * w, atol=1e-4 * w[0])


def test_orthonormalize_spans_the_columns():
    rng = np.random.default_rng(0)
    Y = rng.standard_normal((200, 12)) @ np.diag(10.0 ** -np.arange(12) / 2)
    Q = eigen.orthonormalize(Y)
    assert_allclose(Q.T @ Q, np.eye(12), atol=1e-8)
    assert_allclose(Q @ (Q.T @ Y), Y, atol=1e-8)


def test_flip_signs_matches_scikit_learn_and_keeps_the_product():
    rng = np.random.default_rng(0)
    components = rng.standard_normal((5, 30))
    scores = rng.standard_normal((40, 5))
    before = scores @ components
    c, s = components.copy(), scores.copy()
    eigen.flip_signs(c, s)
    _, ref = svd_flip(np.ones((1, 5)), components.copy(), u_based_decision=False)
    assert_allclose(c, ref)
    assert (c[np.arange(5), np.abs(c).argmax(axis=1)] > 0).all()
    assert_allclose(s @ c, before)
    assert not np.allclose(c, components)  # some signs did change: the test can fail

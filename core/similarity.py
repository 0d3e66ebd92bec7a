"""Most similar products: a product's nearest neighbours in the subsample's PCA space.

Distances are Euclidean on the first 50 PCA scores of the subsample's
standardized pixels (the same reduced input the embeddings use). Fifty
components keep most of the structure that matters for "looks alike", and the
scores are cached on disk by :mod:`core.pca` as a memory map, so a query is one
brute-force pass of :func:`core.neighbors.kneighbors` over them: a couple of
milliseconds against 42k products, with no index to build or keep.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import config, pca
from .neighbors import kneighbors

#: Components of the PCA scores the neighbours are searched in.
N_COMPONENTS = 50


def space(sub, n_components: int = N_COMPONENTS, random_state: int = config.DEFAULT_RANDOM_STATE,
          progress=None) -> np.ndarray:
    """The matrix the neighbours are searched in: PCA scores of ``sub``.

    Parameters
    ----------
    sub : core.subsample.Subsample
    n_components : int, default 50
        Capped at ``n_samples - 1`` (the rank of a small subsample).
    random_state : int, default 42
    progress : callable, optional

    Returns
    -------
    numpy.ndarray of float32, shape (n_samples, n_components)
        A read-only view of the cached scores (see :func:`core.pca.fit`).
    """
    n = min(int(n_components), len(sub.ids) - 1)
    return pca.fit(sub, n, random_state, progress).scores


def nearest(sub, product_id: int, k: int = 8, *, n_components: int = N_COMPONENTS,
            random_state: int = config.DEFAULT_RANDOM_STATE, progress=None) -> pd.DataFrame:
    """The ``k`` products most similar to ``product_id`` in ``sub``.

    Parameters
    ----------
    sub : core.subsample.Subsample
    product_id : int
        A product of the subsample.
    k : int, default 8
        Neighbours returned (the product itself excluded).
    n_components : int, default 50
        PCA components of the search space.
    random_state : int, default 42
    progress : callable, optional
        Reported while the search space is computed the first time.

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` (int64) and ``distance`` (float), nearest first; of
        equally distant products, the earlier row of ``sub.frame()`` first.

    Raises
    ------
    KeyError
        When ``product_id`` is not in the subsample.
    """
    ids = np.asarray(sub.ids, dtype=np.int64)
    rows = np.flatnonzero(ids == int(product_id))
    if len(rows) == 0:
        raise KeyError(f"product {product_id} is not in this subsample")
    k = max(0, min(int(k), len(ids) - 1))
    if k == 0:
        return pd.DataFrame({"id": np.empty(0, np.int64), "distance": np.empty(0)})
    X = space(sub, n_components, random_state, progress)
    dist, idx = kneighbors(np.asarray(X[rows[:1]]), X, k + 1)
    dist, idx = dist[0], idx[0]
    keep = idx != rows[0]
    dist, idx = dist[keep][:k], idx[keep][:k]
    return pd.DataFrame({"id": ids[idx], "distance": dist.astype(float)})

"""Most similar products: nearest neighbours in the feature space.

Distances are Euclidean on the first 50 PCA scores of the subsample's
standardized pixels (the same reduced input the embeddings use). Fifty
components keep most of the structure that matters for "looks alike" while a
query against 42k products costs a couple of milliseconds; the full
10,000-dimensional features are used only when the PCA module is missing.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import pandas as pd

from . import config

#: Components of the PCA scores the neighbours are searched in.
N_COMPONENTS = 50
_INDEXES: "OrderedDict[tuple, tuple]" = OrderedDict()
_MAX_INDEXES = 4
_lock = threading.Lock()


def space(sub, n_components: int = N_COMPONENTS, random_state: int = config.DEFAULT_RANDOM_STATE,
          progress=None) -> np.ndarray:
    """The matrix the neighbours are searched in, shape ``(n_samples, d)``, float32.

    PCA scores (cached by :mod:`core.pca`) when available, else the
    standardized features.
    """
    try:
        from . import pca
    except ImportError:
        return np.asarray(sub.features(progress=progress), dtype=np.float32)
    n_max = min(int(n_components), len(sub.ids))
    return pca.transform(sub, n_max, random_state, progress)


def _index(sub, n_components: int, random_state: int, progress=None):
    from sklearn.neighbors import NearestNeighbors

    key = (sub.cache_key(), int(n_components), int(random_state))
    with _lock:
        hit = _INDEXES.get(key)
        if hit is not None:
            _INDEXES.move_to_end(key)
            return hit
    X = space(sub, n_components, random_state, progress)
    # Brute force on 50 dimensions answers one query over 42k rows in a few ms
    # and builds instantly; tree indexes gain nothing at this dimension.
    nn = NearestNeighbors(algorithm="brute").fit(X)
    entry = (nn, X, np.asarray(sub.ids, dtype=np.int64))
    with _lock:
        _INDEXES[key] = entry
        while len(_INDEXES) > _MAX_INDEXES:
            _INDEXES.popitem(last=False)
    return entry


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
        Columns ``id`` (int64) and ``distance`` (float), nearest first.

    Raises
    ------
    KeyError
        When ``product_id`` is not in the subsample.
    """
    nn, X, ids = _index(sub, n_components, random_state, progress)
    rows = np.flatnonzero(ids == int(product_id))
    if len(rows) == 0:
        raise KeyError(f"product {product_id} is not in this subsample")
    k = max(0, min(int(k), len(ids) - 1))
    if k == 0:
        return pd.DataFrame({"id": np.empty(0, np.int64), "distance": np.empty(0)})
    dist, idx = nn.kneighbors(X[rows[:1]], n_neighbors=k + 1)
    dist, idx = dist[0], idx[0]
    keep = idx != rows[0]
    dist, idx = dist[keep][:k], idx[keep][:k]
    return pd.DataFrame({"id": ids[idx], "distance": dist.astype(float)})


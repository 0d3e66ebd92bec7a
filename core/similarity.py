"""Most similar products: a product's nearest neighbours in the tagger's embedding, or in PCA space.

When a tagger is trained (:func:`core.classifier.predict.trained_embedding`),
distances are Euclidean between its unit-length embeddings: the trunk learnt
to tell articleType, colour and gender apart, so its neighbours share them far
more often than pixel neighbours do (see :func:`agreement`). Without one, the
fallback is the first 50 PCA scores of the subsample's standardized pixels
(the same reduced input the embeddings use). Either matrix is cached on disk
as a memory map, so a query is one brute-force pass of
:func:`core.neighbors.kneighbors`: a couple of milliseconds against 42k
products, with no index to build or keep.
"""
from __future__ import annotations

from typing import Optional

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


def model_space(sub, whole: bool = True) -> Optional[np.ndarray]:
    """The tagger's embedding of ``sub``'s rows, in their order, or None when no tagger is trained.

    ``whole``: prefer the tagger trained on the whole dataset (see
    :func:`core.classifier.predict.trained_embedding`); False takes the one
    trained on ``sub`` itself, as a benchmark of that setting needs.

    Returns
    -------
    numpy.ndarray of float32, shape (n_samples, n_dims), or None
    """
    from .classifier.predict import trained_embedding

    found = trained_embedding(sub, whole)
    if found is None:
        return None
    ids, emb = found
    position = pd.Series(np.arange(len(ids)), index=ids)
    return np.asarray(emb)[position.loc[np.asarray(sub.ids)].to_numpy()]


def agreement(X: np.ndarray, values: np.ndarray, queries: np.ndarray, k: int = 8) -> float:
    """Share of each query's ``k`` nearest rows (itself excluded) that share its value.

    The figure that compares similarity spaces: with ``values`` a label column
    (articleType), how often "similar" means "the same kind of product".

    Parameters
    ----------
    X : numpy.ndarray of shape (n_samples, n_features)
    values : numpy.ndarray of shape (n_samples,)
    queries : numpy.ndarray
        Row indices of the queries.
    k : int, default 8

    Returns
    -------
    float
    """
    values = np.asarray(values)
    queries = np.asarray(queries)
    _, idx = kneighbors(np.asarray(X[queries]), X, k + 1)
    same = []
    for q, row in zip(queries, idx):
        row = row[row != q][:k]
        same.append(np.mean(values[row] == values[q]))
    return float(np.mean(same)) if same else float("nan")


def nearest(sub, product_id: int, k: int = 8, *, n_components: int = N_COMPONENTS,
            random_state: int = config.DEFAULT_RANDOM_STATE, progress=None,
            use_model: bool = True) -> pd.DataFrame:
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
    use_model : bool, default True
        Search the tagger's embedding when one is trained (:func:`model_space`);
        False, or no tagger, searches the PCA scores.

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
    X = model_space(sub) if use_model else None
    if X is None:
        X = space(sub, n_components, random_state, progress)
    dist, idx = kneighbors(np.asarray(X[rows[:1]]), X, k + 1)
    dist, idx = dist[0], idx[0]
    keep = idx != rows[0]
    dist, idx = dist[keep][:k], idx[keep][:k]
    return pd.DataFrame({"id": ids[idx], "distance": dist.astype(float)})

"""A subsample's PCA basis through the feature store, for the pages of a large catalogue.

:mod:`core.pca` calls :func:`decompose_subsample` when
:func:`core.scale.cluster.choose_route` says a subsample is too large for one
process: the images are decoded into the store (:mod:`core.scale.store`) and
decomposed there (:mod:`core.scale.pca`), and only what the pages read comes
back: the components, every eigenvalue found and the first
:data:`core.scale.pca.N_SCORES` scores of every product, in the subsample's
row order. That is ``4 n 100`` bytes of scores (80 MB at 200,000 products)
where the in-memory route holds the whole ``4 n d`` float matrix (8 GB).

The Dask cluster is started for the call and shut down after it. A local one
runs as threads of this process (:func:`core.admission` charges what they
hold, :func:`memory_bytes`); with ``FASHION_DASK_SCHEDULER`` the work runs on
that cluster. The store and the PCA kept in it are shared with
``python -m core warm``: a catalogue warmed from the command line is not
decomposed again by the first page that opens it.
"""
from __future__ import annotations

import time
from typing import Optional

import numpy as np

from .. import config
from ..progress import ProgressFn, report, scaled
from . import cluster, pca, store

#: Local worker threads of the in-process cluster: each holds one partial
#: covariance (``8 d**2`` bytes) at a time.
LOCAL_THREADS = 2


def route(sub) -> str:
    """``"memory"``, ``"local"`` or ``"remote"`` for ``sub`` (:func:`core.scale.cluster.choose_route`)."""
    return cluster.choose_route(len(sub.ids))


def _connect(route_: str):
    if route_ == "remote":
        return cluster.connect("remote")
    # Threads of this process: nothing to spawn inside a web server, and the
    # memory the work takes is this process's, which admission can charge.
    return cluster.connect("local", n_workers=1, processes=False)


def _store_rows(sub) -> tuple[np.ndarray, np.ndarray]:
    """Store ids in row order, and the store row of each of ``sub``'s products."""
    import pandas as pd

    ids = store.catalogue_rows(sub.dataset, float(sub.fraction), int(sub.seed))["id"].to_numpy()
    where = pd.Index(ids).get_indexer(np.asarray(sub.ids))
    if (where < 0).any():
        raise ValueError(f"{int((where < 0).sum()):,} products of the subsample have no row in the "
                         "feature store; clear the cache (python -m core cache --clear) and retry")
    return ids, where


def open_store(sub, client=None, progress: Optional[ProgressFn] = None) -> store.FeatureStore:
    """The complete feature store of ``sub``, built on ``client`` when it is not yet.

    Parameters
    ----------
    sub : core.subsample.Subsample
    client : distributed.Client, optional
        Needed only when the store is incomplete; default: a cluster started here.
    progress : callable, optional

    Returns
    -------
    core.scale.store.FeatureStore
    """
    ids, _ = _store_rows(sub)
    st = store.open_store(sub.dataset, ids, sub.image_size, sub.color, sub.resample)
    if st.is_complete():
        return st
    if client is None:
        with _connect(route(sub)) as own:
            return store.build_store(own, sub.dataset, ids, sub.image_size, sub.color,
                                     sub.resample, progress=progress)
    return store.build_store(client, sub.dataset, ids, sub.image_size, sub.color, sub.resample,
                             progress=progress)


def pixel_scale(sub, progress: Optional[ProgressFn] = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel mean and standard deviation of ``sub``'s readable images, float32.

    The same figures as :func:`core.pca.pixel_scale`, merged from the store's
    chunk sums instead of read from the whole pixel matrix.
    """
    mean, std = open_store(sub, progress=progress).scale()
    return mean.astype(np.float32), std.astype(np.float32)


def decompose_subsample(sub, random_state: int = config.DEFAULT_RANDOM_STATE,
                        progress: Optional[ProgressFn] = None) -> dict:
    """PCA of ``sub``'s standardized pixels on a Dask cluster, as :func:`core.pca.decompose` reports it.

    Parameters
    ----------
    sub : core.subsample.Subsample
    random_state : int, default 42
    progress : callable, optional
        ``progress(fraction, message)``; the first message of each step names
        the Dask dashboard.

    Returns
    -------
    dict
        ``mean_`` (n_features,) float32, ``eigenvalues`` (every one found),
        ``components_`` (k, n_features) float32, ``scores`` (n_samples, m)
        float32 with ``m = min(k, N_SCORES)``, rows in ``sub.frame()``'s order,
        ``total_variance``, ``method``, ``n_samples``, ``seconds`` and
        ``route``.
    """
    t0 = time.perf_counter()
    _, where = _store_rows(sub)
    which = route(sub)
    with _connect(which if which != "memory" else "local") as client:
        report(progress, 0.0, f"{len(where):,} products on {cluster.describe(client)}")
        st = open_store(sub, client, progress=scaled(progress, 0.0, 0.4))
        res = pca.fit(client, st, random_state=random_state, progress=scaled(progress, 0.4, 0.95))
    valid = st.valid()
    if not valid[where].all():
        raise ValueError(f"{int((~valid[where]).sum()):,} images of the subsample could not be read "
                         "into the feature store; run `python -m core info` to see which")
    scores = pca.scores(st, rows=where)
    report(progress, 1.0, f"PCA on the cluster: {res.n_components_95} components for 95%")
    return {
        "mean_": np.asarray(res.mean_, dtype=np.float32),
        "eigenvalues": np.asarray(res.explained_variance_, dtype=np.float64),
        "components_": np.ascontiguousarray(res.components_, dtype=np.float32),
        "scores": np.ascontiguousarray(scores, dtype=np.float32),
        "total_variance": float(res.total_variance),
        "method": f"{res.method}; scores kept on {scores.shape[1]} components",
        "n_samples": len(where),
        "seconds": float(res.seconds) if res.seconds else time.perf_counter() - t0,
        "route": which,
    }


def memory_bytes(n_samples: int, n_features: int, route_: str = "local") -> int:
    """Peak bytes :func:`decompose_subsample` holds in this process.

    On the local route the cluster's threads run here: each of
    :data:`LOCAL_THREADS` accumulates a partial ``X^T X`` (float64,
    ``8 d**2``) while a sum of two finished ones holds three
    (:func:`core.scale.pca._covariance_route`); the eigen step holds the
    covariance, a centred copy and a float32 copy. Taken as
    ``(LOCAL_THREADS + 3) * 8 d**2`` plus one chunk of standardized rows per
    thread (measured at 200,000 x 10,000 on 2 cores: 5.4 GB peak resident
    for the whole process, which also held the catalogue's tables). On both routes the result comes back:
    ``4 n N_SCORES`` of scores and ``4 k d`` of components (``k`` at most
    :data:`core.admission.PCA_MAX_COMPONENTS`, doubled when 97% of the
    variance needs more).

    Parameters
    ----------
    n_samples, n_features : int
    route_ : {"local", "remote"}

    Returns
    -------
    int
        About 4.4 GB for 200,000 grayscale images at 100x100 on the local
        route (the in-memory route would need 8 GB for the features alone).
    """
    from .. import admission

    n, d = int(n_samples), int(n_features)
    out = 4 * n * pca.N_SCORES + 4 * 2 * admission.PCA_MAX_COMPONENTS * d
    if route_ == "remote":
        return out
    if d > pca.COVARIANCE_MAX_FEATURES:  # randomized route: blocks of rows and k columns
        work = LOCAL_THREADS * 4 * store.CHUNK_ROWS * (d + 2 * 720)
    else:
        work = (LOCAL_THREADS + 3) * 8 * d * d + LOCAL_THREADS * 2 * 4 * store.CHUNK_ROWS * d
    return work + out

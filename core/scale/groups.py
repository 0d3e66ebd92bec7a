"""k-means and the Gaussian mixture on the stored PCA scores, on the cluster.

k-means: the in-memory fit (:func:`core.clustering.fit_kmeans`, same settings)
on a sample of :data:`FIT_SAMPLE` rows gives the starting centres; Lloyd
iterations over every row then run as one task per chunk (each returns its
per-cluster sums and counts, so memory per task is one chunk of scores),
until the centres move less than scikit-learn's tolerance. When the catalogue
is no larger than the sample the start is already the in-memory result and
the iterations confirm it: the labels are the same.

Gaussian mixture: fitted (EM, full covariance, :func:`core.mixture.fit_gmm`)
on a sample of :data:`FIT_SAMPLE` rows of the 2-D PCA scores; every row is
then assigned, and the log-likelihood summed, in one task per chunk.

Labels are written to the store (``labels/kmeans-<k>``, ``labels/gmm-<n>``,
-1 where the image is unreadable).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .. import clustering, config, mixture, spaces
from ..progress import ProgressFn, report
from .progress import track
from .store import FeatureStore

#: Rows the starting k-means and the mixture are fitted on.
FIT_SAMPLE = 20_000
#: Lloyd iterations at most.
MAX_ITER = 100
#: scikit-learn's KMeans default: stop when centres move less than tol x mean variance.
TOL = 1e-4


def sample_rows(store: FeatureStore, size: int, random_state: int) -> np.ndarray:
    """Sorted store rows of a random sample of the readable rows (all when fewer)."""
    valid = np.flatnonzero(store.valid())
    if len(valid) <= size:
        return valid
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(valid, size, replace=False))


def _block(store: FeatureStore, i: int, dims: int):
    start, stop = store.bounds(i)
    x = np.asarray(store.group()["scores"][start:stop, :dims], dtype=np.float64)
    ok = ~np.isnan(x[:, 0])
    return x, ok


def _lloyd_task(store: FeatureStore, i: int, dims: int, centers: np.ndarray) -> tuple:
    x, ok = _block(store, i, dims)
    x = x[ok]
    k = len(centers)
    if not len(x):
        return np.zeros((k, dims)), np.zeros(k), 0.0
    labels = clustering.nearest_center(x, centers)
    sums = np.zeros((k, dims))
    np.add.at(sums, labels, x)
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    inertia = float(((x - centers[labels]) ** 2).sum())
    return sums, counts, inertia


def _label_task(store: FeatureStore, i: int, dims: int, name: str, centers=None, model=None):
    x, ok = _block(store, i, dims)
    out = np.full(len(x), -1, dtype=np.int16)
    loglik = 0.0
    if ok.any():
        if model is None:
            out[ok] = clustering.nearest_center(x[ok], centers)
        else:
            out[ok] = model.predict(x[ok])
            loglik = float(model.score_samples(x[ok]).sum())
    start, stop = store.bounds(i)
    store.group("r+")[name][start:stop] = out
    return loglik


def _labels_array(store: FeatureStore, name: str) -> str:
    g = store.group("r+")
    g.require_group("labels").create_array(name, shape=(store.n_rows,), chunks=(store.chunk_rows,),
                                           dtype="int16", fill_value=-1, overwrite=True)
    return f"labels/{name}"


def kmeans(client, store: FeatureStore, k: int, dims: int = spaces.DEFAULT_PCA_DIMS,
           random_state: int = config.DEFAULT_RANDOM_STATE, sample_size: int = FIT_SAMPLE,
           progress: Optional[ProgressFn] = None) -> dict:
    """k-means on the first ``dims`` PCA scores of every readable row.

    Returns
    -------
    dict
        ``labels`` (n_valid,) int64, ``centers`` (k, dims), ``inertia``,
        ``n_iter`` (Lloyd iterations over all rows), ``sample_size``,
        ``route``.
    """
    from .pca import scores

    # A small catalogue has fewer components than asked (rank n - 1): every
    # task must agree on the width of the centres.
    dims = int(min(dims, store.group()["scores"].shape[1]))
    rows = sample_rows(store, sample_size, random_state)
    start = clustering.fit_kmeans(scores(store, dims, rows), k, random_state)
    centers = np.asarray(start["centers"], dtype=np.float64)
    var = float(np.var(scores(store, dims, rows), axis=0).mean())
    inertia = float("nan")
    n_iter = 0
    for n_iter in range(1, MAX_ITER + 1):
        futs = [client.submit(_lloyd_task, store, i, dims, centers, pure=False)
                for i in range(store.n_chunks)]
        parts = track(client, futs, None, "k-means")
        sums = sum(p[0] for p in parts)
        counts = sum(p[1] for p in parts)
        inertia = sum(p[2] for p in parts)
        new = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centers)
        shift = float(((new - centers) ** 2).sum())
        centers = new
        report(progress, min(0.9, n_iter / 10), f"k-means k={k}: iteration {n_iter}")
        if shift <= TOL * var:
            break
    name = _labels_array(store, f"kmeans-{k}")
    futs = [client.submit(_label_task, store, i, dims, name, centers, pure=False)
            for i in range(store.n_chunks)]
    track(client, futs, None, "k-means labels")
    labels = np.asarray(store.group()[name][:])[store.valid()].astype(np.int64)
    report(progress, 1.0, f"k-means k={k}: done")
    return {"labels": labels, "centers": centers, "inertia": float(inertia), "n_iter": n_iter,
            "sample_size": int(len(rows)),
            "route": f"start from k-means on {len(rows):,} rows, then {n_iter} Lloyd "
                     f"iterations over all rows on the cluster"}


def gaussian_mixture(client, store: FeatureStore, n_components: int, dims: int = 2,
                     random_state: int = config.DEFAULT_RANDOM_STATE,
                     sample_size: int = FIT_SAMPLE, progress: Optional[ProgressFn] = None) -> dict:
    """A full-covariance mixture fitted on a sample of the ``dims``-D scores; every row assigned.

    Returns
    -------
    dict
        ``model`` (the fitted :class:`sklearn.mixture.GaussianMixture`),
        ``labels`` (n_valid,), ``mean_log_likelihood`` over every row,
        ``sample_size``, ``route``.
    """
    from .pca import scores

    rows = sample_rows(store, sample_size, random_state)
    report(progress, 0.0, f"Gaussian mixture ({n_components}) on {len(rows):,} sampled rows")
    model = mixture.fit_gmm(scores(store, dims, rows), n_components, random_state)
    name = _labels_array(store, f"gmm-{n_components}")
    model_f = client.scatter(model, broadcast=True)
    futs = [client.submit(_label_task, store, i, dims, name, None, model_f, pure=False)
            for i in range(store.n_chunks)]
    loglik = sum(track(client, futs, None, "mixture labels"))
    valid = store.valid()
    labels = np.asarray(store.group()[name][:])[valid].astype(np.int64)
    report(progress, 1.0, "Gaussian mixture: done")
    return {"model": model, "labels": labels,
            "mean_log_likelihood": loglik / max(1, int(valid.sum())),
            "sample_size": int(len(rows)),
            "route": f"EM on {len(rows):,} sampled rows, every row assigned on the cluster"}

"""PCA of a feature store on the cluster, with the error of what it estimates.

Two routes, by the width of the features:

``"covariance"`` (up to :data:`COVARIANCE_MAX_FEATURES` features, e.g. 100x100
    grayscale): one pass over the store. Each task reads a group of chunks,
    standardizes each block and accumulates ``X_b^T X_b`` (float32 products,
    float64 sums) with the column sums; the partial matrices are summed
    pairwise on the workers. The leading eigenpairs of the covariance come from
    :func:`core.eigen.top_eigh`, grown until they pass 97% of the trace, on a
    worker. The total variance is the exact trace.
``"randomized"`` (wider, e.g. colour): :func:`dask.array.linalg.svd_compressed`
    of the centred features (randomized SVD, two power iterations), whose
    d x d covariance would not fit one task. The total variance is exact
    (one pass of column sums of squares).

Honest errors: for every Ritz pair the residual ``||C v - w v||`` is
computed (one more pass on the randomized route); by the Bauer-Fike theorem for
symmetric matrices an eigenvalue of the covariance lies within it of ``w``.
``n_components_95_range`` is the component count for 95% when every
eigenvalue is moved by its bound down, and up: the true count lies in it if
the Ritz values are the leading eigenvalues in order (which the oversampling
of the subspace iteration is there to ensure).

Scores on the first :data:`N_SCORES` components are written to the store
(``scores``, one row per store row, NaN where the image is unreadable).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .. import admission, config, eigen
from ..progress import ProgressFn, report, scaled
from .progress import track
from .store import FeatureStore, read_rows

#: Widest features for the covariance route: a 12,000^2 float64 matrix is 1.15 GB
#: per partial sum, and a task holds at most three.
COVARIANCE_MAX_FEATURES = 12_000
#: Score columns written to the store: the 50 the maps and k-means read, the
#: 100 of MDS, with room.
N_SCORES = 100
#: Chunks per covariance task.
CHUNKS_PER_TASK = 4
PCA_VERSION = 1


@dataclass
class ScalePCA:
    """A PCA fitted on the cluster, in scikit-learn's vocabulary.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,), float32
        Mean of the standardized features (zero up to rounding).
    components_ : ndarray of shape (n_components, n_features), float32
    explained_variance_ : ndarray of shape (n_eigen,), float64
        Every eigenvalue found (``ddof=1``), decreasing.
    explained_variance_ratio_ : ndarray of shape (n_eigen,)
    eigenvalue_error_ : ndarray of shape (n_eigen,)
        Bound on each eigenvalue's error (residual norm).
    total_variance : float
    n_components_95 : int
    n_components_95_range : tuple of int
        ``(low, high)``: where the true count lies (see the module docstring).
    method : str
    n_samples : int
    seconds : float
    """

    mean_: np.ndarray
    components_: np.ndarray
    explained_variance_: np.ndarray
    explained_variance_ratio_: np.ndarray
    eigenvalue_error_: np.ndarray
    total_variance: float
    n_components_95: int
    n_components_95_range: tuple
    method: str
    n_samples: int
    seconds: float = 0.0

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Project standardized ``X`` of shape (n, n_features): (n, n_components)."""
        return (np.asarray(X, dtype=np.float32) - self.mean_) @ self.components_.T


def count_range(eigenvalues, errors, total: float, target: float = 0.95) -> tuple[int, int, int]:
    """Component count for ``target``, and its range under the eigenvalue errors.

    Returns
    -------
    (n, low, high) : int
        ``high`` is ``len(eigenvalues) + 1`` when even the lowered eigenvalues
        do not reach the target (more components would be needed to tell).
    """
    w = np.asarray(eigenvalues, dtype=np.float64)
    e = np.asarray(errors, dtype=np.float64)

    def count(values):
        cum = np.cumsum(values) / total
        hit = np.flatnonzero(cum >= target - 1e-12)
        return int(hit[0]) + 1 if len(hit) else len(values) + 1

    return count(w), count(w + e), count(np.clip(w - e, 0, None))


# ----------------------------------------------------------------------------
# Covariance route (tasks on the workers)
# ----------------------------------------------------------------------------
def _gram_task(store: FeatureStore, chunks: list, mean, std) -> tuple:
    """``X^T X`` (float64) and column sums of the standardized readable rows of ``chunks``."""
    from ..images import standardize

    g = store.group()
    d = store.n_features
    gram = np.zeros((d, d), dtype=np.float64)
    colsum = np.zeros(d, dtype=np.float64)
    n = 0
    for i in chunks:
        start, stop = store.bounds(i)
        ok = np.asarray(g["status"][start:stop]) == 0
        if not ok.any():
            continue
        block = standardize(np.asarray(g["pixels"][start:stop])[ok], scale=(mean, std))
        gram += block.T @ block
        colsum += block.sum(axis=0, dtype=np.float64)
        n += len(block)
    return gram, colsum, n


def _add(a: tuple, b: tuple) -> tuple:
    # a new matrix: a task's inputs are results other tasks may still read
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


def _eigen_task(part: tuple, k: int, random_state: int) -> dict:
    """Eigenpairs of the covariance until 97% of its trace, with residual bounds."""
    gram, colsum, n = part
    m = colsum / n
    cov = gram - n * np.outer(m, m)
    cov /= (n - 1)
    total = float(np.trace(cov))
    rank = min(n - 1, cov.shape[0])
    # float64 for small sides as core.pca does; float32 products above (4x faster)
    work = cov if cov.shape[0] <= eigen.FLOAT64_UP_TO else cov.astype(np.float32)
    k = int(min(k, rank))
    while True:
        w, V = eigen.top_eigh(work, k, random_state=random_state)
        if k >= rank or w.sum() >= 0.97 * total:
            break
        k = int(min(rank, 2 * k))
    del work
    V64 = V.astype(np.float64)
    residual = np.linalg.norm(cov @ V64 - V64 * w, axis=0)
    return {"w": np.clip(w, 0, None), "V": V.astype(np.float32), "residual": residual, "total": total,
            "mean": m.astype(np.float32), "n": int(n)}


def _covariance_route(client, store, random_state, progress):
    mean, std = store.scale()
    groups = [list(range(s, min(store.n_chunks, s + CHUNKS_PER_TASK)))
              for s in range(0, store.n_chunks, CHUNKS_PER_TASK)]
    d = store.n_features
    report(progress, 0.0, f"PCA: covariance {d}x{d}")
    # no name for the list: the only references to the partial sums are the ones
    # _sum_as_completed drops as it adds them
    total = _sum_as_completed(
        client, [client.submit(_gram_task, store, grp, mean, std, pure=False) for grp in groups],
        scaled(progress, 0.0, 0.7), f"PCA: covariance {d}x{d} over {store.n_rows:,} rows")
    report(progress, 0.75, "PCA: leading eigenpairs of the covariance")
    out = client.submit(_eigen_task, total, admission.PCA_MAX_COMPONENTS, random_state,
                        pure=False).result()
    detail = (f"covariance on the cluster: subspace iteration on Xᵀ X ({d}x{d}), "
              f"{len(out['w'])} eigenvalues")
    return out, detail


def _sum_as_completed(client, parts: list, progress, label: str):
    """The sum of ``parts`` (futures of :func:`_gram_task`), added on the workers as they finish.

    Two finished partial sums are added as soon as both exist and then
    released, so at any time the cluster holds about as many d x d matrices as
    tasks run at once, whatever the number of tasks, and none ever comes to
    this process (gathering them here would cost ``len(parts)`` x 8 d^2 bytes:
    25 GB at 200,000 rows of 100x100).

    Returns
    -------
    distributed.Future
        Of the total ``(gram, colsum, n)``.
    """
    from distributed import as_completed

    from .progress import dashboard_link

    n = len(parts)
    leaves = {f.key for f in parts}
    link = dashboard_link(client)
    report(progress, 0.0, f"{label}: 0/{n} tasks" + (f" (dashboard {link})" if link else ""))
    queue = as_completed(parts, loop=client.loop)
    parts.clear()
    waiting, done = None, 0
    try:
        for fut in queue:
            if fut.status != "finished":
                fut.result()  # raises the worker's error
            if fut.key in leaves:
                done += 1
                report(progress, done / n, f"{label}: {done}/{n} tasks")
            if waiting is None:
                waiting = fut
            else:
                # a new matrix: a task's inputs are results other tasks may still read;
                # ahead of the partials still queued (priority), or finished ones pile
                # up on the worker until every partial is done
                queue.add(client.submit(_add, waiting, fut, pure=False, priority=10))
                waiting = None
            del fut
        return waiting
    except BaseException:
        queue.clear()  # unreferenced, the scheduler forgets them
        if waiting is not None:
            client.cancel([waiting])
        raise


# ----------------------------------------------------------------------------
# Randomized route
# ----------------------------------------------------------------------------
def _randomized_route(client, store, k, random_state, progress):
    import dask.array as da

    from .store import features

    X = features(store)
    n, d = X.shape
    report(progress, 0.05, f"PCA: randomized SVD of {n:,} x {d}, {k} components")
    colsum, sqsum = client.compute([X.sum(axis=0, dtype=np.float64),
                                    (X.astype(np.float64) ** 2).sum(axis=0)], sync=True)
    m = colsum / n
    total = float((sqsum - n * m * m).sum() / (n - 1))
    Xc = X - m.astype(np.float32)
    u, s, v = da.linalg.svd_compressed(Xc, k, n_power_iter=2, seed=random_state, compute=True)
    report(progress, 0.6, "PCA: randomized SVD")
    s, V = client.compute([s, v], sync=True)
    w = s.astype(np.float64) ** 2 / (n - 1)
    Vt = V.T.astype(np.float32)
    report(progress, 0.8, "PCA: residuals of the Ritz pairs")
    CV = client.compute(Xc.T.dot(Xc.dot(Vt)).astype(np.float64) / (n - 1), sync=True)
    residual = np.linalg.norm(CV - Vt.astype(np.float64) * w, axis=0)
    detail = f"randomized SVD on the cluster (dask svd_compressed, {k} components, 2 power iterations)"
    return ({"w": w, "V": Vt, "residual": residual, "total": total,
             "mean": m.astype(np.float32), "n": int(n)}, detail)


# ----------------------------------------------------------------------------
# Scores
# ----------------------------------------------------------------------------
def _scores_task(store: FeatureStore, i: int, components, mean_) -> int:
    """Write chunk ``i``'s scores to the store (NaN rows where unreadable)."""
    from ..images import standardize

    g = store.group("r+")
    start, stop = store.bounds(i)
    ok = np.asarray(g["status"][start:stop]) == 0
    out = np.full((stop - start, components.shape[0]), np.nan, dtype=np.float32)
    if ok.any():
        mean, std = np.asarray(g["mean"][:]), np.asarray(g["std"][:])
        block = standardize(np.asarray(g["pixels"][start:stop])[ok], scale=(mean, std))
        out[ok] = (block - mean_) @ components.T
    g["scores"][start:stop] = out
    return i


def fit(client, store: FeatureStore, method: str = "auto",
        random_state: int = config.DEFAULT_RANDOM_STATE, n_randomized: int = 700,
        progress: Optional[ProgressFn] = None) -> ScalePCA:
    """PCA of the store's standardized features; writes the scores beside them.

    Parameters
    ----------
    client : distributed.Client
    store : FeatureStore
        Complete (see :func:`core.scale.store.build_store`).
    method : {"auto", "covariance", "randomized"}
        ``"auto"``: covariance up to :data:`COVARIANCE_MAX_FEATURES` features.
    random_state : int, default 42
    n_randomized : int, default 700
        Components of the randomized route (enough for 95% of the catalogue's
        variance at 100x100; the result says when it is not).
    progress : callable, optional

    Returns
    -------
    ScalePCA
        The components kept are those found (up to 97% of the variance);
        the store's ``scores`` hold the first :data:`N_SCORES`.

    Notes
    -----
    The result is kept in the store (``pca`` group) and returned from there
    when asked again with the same method and seed.
    """
    t0 = time.perf_counter()
    saved = load(store, method, random_state)
    if saved is not None:
        report(progress, 1.0, "PCA: stored")
        return saved
    route = method
    if method == "auto":
        route = "covariance" if store.n_features <= COVARIANCE_MAX_FEATURES else "randomized"
    if route == "covariance":
        out, detail = _covariance_route(client, store, random_state, scaled(progress, 0, 0.85))
    elif route == "randomized":
        out, detail = _randomized_route(client, store, int(n_randomized), random_state,
                                        scaled(progress, 0, 0.85))
    else:
        raise ValueError(f"unknown PCA route {method!r}; use auto, covariance or randomized")
    w, V, total = out["w"], out["V"], out["total"]
    found = float(w.sum())
    if total > 0 and found > total * (1 + 1e-4):
        raise ArithmeticError(f"PCA eigenvalues sum to {found:.6g}, more than the total "
                              f"variance {total:.6g}: the decomposition lost precision")
    components = np.ascontiguousarray(V.T, dtype=np.float32)
    scores_dummy = np.zeros((1, components.shape[0]), dtype=np.float32)
    eigen.flip_signs(components, scores_dummy)
    n95, low, high = count_range(w, out["residual"], total)
    result = ScalePCA(
        mean_=out["mean"], components_=components, explained_variance_=w,
        explained_variance_ratio_=w / total, eigenvalue_error_=out["residual"],
        total_variance=total, n_components_95=n95, n_components_95_range=(low, high),
        method=detail, n_samples=out["n"], seconds=0.0)
    g = store.group("r+")
    k = min(N_SCORES, components.shape[0])
    g.create_array("scores", shape=(store.n_rows, k), chunks=(store.chunk_rows, k),
                   dtype="float32", fill_value=np.nan, overwrite=True)
    comp_f = client.scatter(components[:k], broadcast=True)
    futures = [client.submit(_scores_task, store, i, comp_f, result.mean_, pure=False)
               for i in range(store.n_chunks)]
    track(client, futures, scaled(progress, 0.85, 1.0), f"PCA: scores on {k} components")
    result.seconds = time.perf_counter() - t0
    _save(store, result, method, random_state)
    report(progress, 1.0, f"PCA: {result.n_components_95} components for 95% "
                          f"(between {low} and {high})")
    return result


def _save(store: FeatureStore, res: ScalePCA, method: str, random_state: int) -> None:
    g = store.group("r+")
    p = g.require_group("pca")
    for name in ("mean_", "components_", "explained_variance_", "eigenvalue_error_"):
        p.create_array(name.rstrip("_"), data=np.asarray(getattr(res, name)), overwrite=True)
    p.attrs.update({"version": PCA_VERSION, "method_arg": method, "random_state": int(random_state),
                    "total_variance": res.total_variance, "n_components_95": res.n_components_95,
                    "n_components_95_range": list(res.n_components_95_range),
                    "method": res.method, "n_samples": res.n_samples, "seconds": res.seconds})


def load(store: FeatureStore, method: str = "auto",
         random_state: int = config.DEFAULT_RANDOM_STATE) -> Optional[ScalePCA]:
    """The PCA stored by :func:`fit` with these arguments, or None."""
    g = store.group()
    if "pca" not in g or "scores" not in g:
        return None
    p = g["pca"]
    a = dict(p.attrs)
    if (a.get("version") != PCA_VERSION or a.get("method_arg") != method
            or a.get("random_state") != int(random_state)):
        return None
    w = np.asarray(p["explained_variance"][:])
    return ScalePCA(
        mean_=np.asarray(p["mean"][:]), components_=np.asarray(p["components"][:]),
        explained_variance_=w, explained_variance_ratio_=w / a["total_variance"],
        eigenvalue_error_=np.asarray(p["eigenvalue_error"][:]),
        total_variance=float(a["total_variance"]), n_components_95=int(a["n_components_95"]),
        n_components_95_range=tuple(a["n_components_95_range"]), method=a["method"],
        n_samples=int(a["n_samples"]), seconds=float(a["seconds"]))


def scores(store: FeatureStore, n_components: Optional[int] = None, rows=None) -> np.ndarray:
    """Scores of the readable rows (or of chosen store ``rows``), float32.

    Parameters
    ----------
    store : FeatureStore
    n_components : int, optional
        Leading columns; default all stored.
    rows : array-like of int, optional
        Store rows; default every readable row, in store order.
    """
    arr = store.group()["scores"]
    k = arr.shape[1] if n_components is None else int(n_components)
    if rows is None:
        rows = np.flatnonzero(store.valid())
    rows = np.asarray(rows, dtype=np.int64)
    return np.asarray(arr.get_orthogonal_selection((rows, slice(0, k))), dtype=np.float32)


def reconstruct_rows(store: FeatureStore, res: ScalePCA, rows, n_components: int) -> np.ndarray:
    """Standardized reconstructions of chosen store rows from ``n_components`` (for the slider)."""
    X = read_rows(store, rows)
    k = int(n_components)
    return res.transform(X)[:, :k] @ res.components_[:k] + res.mean_

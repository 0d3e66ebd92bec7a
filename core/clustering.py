"""K-means on a 2-D projection, a 2-D embedding or a PCA space.

The notebook ran k-means on the PCA 2-D projection for k = 1..10, read the
elbow of the inertia curve and the mean silhouette, drew silhouette diagrams
for k = 2..5 and the decision regions with their centroids. This module does
the same for any input space, named by a small descriptor string:

``"pca2"``
    The PCA 2-D projection (the notebook's choice, the default).
``"pca<n>"``
    The first ``n`` principal components, e.g. ``"pca50"``.
``"embedding:<method>"``
    A 2-D embedding of :mod:`core.manifold` (``"embedding:tsne"``...).

Every function of a :class:`core.subsample.Subsample` is cached on disk, keyed on
the subsample, the space and every parameter; the array-level functions
(:func:`sweep_k`, :func:`fit_kmeans`, :func:`silhouette_groups`,
:func:`regions_grid`, :func:`contingency_table`, :func:`elbow`) hold the math
and work on any ``X`` of shape ``(n_samples, n_features)``.
"""
from __future__ import annotations

import re
from typing import Optional

import numpy as np
import pandas as pd

from . import cache, config
from .progress import ProgressFn, report, scaled

#: Points above which silhouettes are computed on a fixed random sample.
SILHOUETTE_SAMPLE = 5000
#: Name of the rule that picks the elbow of the inertia curve.
ELBOW_RULE = "kneedle (convex, decreasing)"
DEFAULT_SPACE = "pca2"
DEFAULT_K_RANGE = (1, 10)
#: PCA dimensions of ``"pca"`` without a number.
DEFAULT_PCA_DIMS = 50

# Chosen by measurement on the shared 10% subsample (k = 1..10, one thread, CPU
# seconds): in 2-D, k-means++ with 3 starts reaches the inertia of the
# notebook's ``init="random", n_init=10`` within 0.006% for every k in a quarter
# of the time (0.06 s against 0.25 s); in 50 dimensions it falls up to 1.4%
# short, so there the notebook's setting stays (0.66 s for the sweep).
_LOW_DIMS = 3
_INIT_LOW, _N_INIT_LOW = "k-means++", 3
_INIT_HIGH, _N_INIT_HIGH = "random", 10
#: Below this many points k-means runs on one thread (OpenMP and BLAS): the
#: work is a few milliseconds per fit and, on a loaded machine, spinning
#: threads that wait for a busy core cost ten times more than they save
#: (measured: the 2-D sweep took 9 s of wall time for 1.1 s of CPU).
_SINGLE_THREAD_BELOW = 20000


# ----------------------------------------------------------------------------
# Input spaces
# ----------------------------------------------------------------------------
def parse_space(space: str) -> tuple[str, object]:
    """Split a space descriptor into its kind and parameter.

    Parameters
    ----------
    space : str
        ``"pca2"``, ``"pca<n>"`` (``n >= 1``), ``"pca"`` (50 components) or
        ``"embedding:<method>"``.

    Returns
    -------
    tuple
        ``("pca", n)`` or ``("embedding", method)``.

    Raises
    ------
    ValueError
        For anything else, naming the accepted forms.
    """
    text = str(space).strip().lower()
    if text == "pca":
        return "pca", DEFAULT_PCA_DIMS
    match = re.fullmatch(r"pca(\d+)", text)
    if match and int(match.group(1)) >= 1:
        return "pca", int(match.group(1))
    if text.startswith("embedding:") and text.split(":", 1)[1]:
        return "embedding", text.split(":", 1)[1]
    raise ValueError(
        f"unknown input space {space!r}: use 'pca2', 'pca<n>' such as 'pca50', "
        "or 'embedding:<method>' such as 'embedding:tsne'"
    )


#: Input spaces offered by the pages, the notebook's first, with their labels.
SPACE_LABELS: dict[str, str] = {
    "pca2": "PCA 2-D (the notebook's)",
    "embedding:tsne": "t-SNE 2-D",
    "embedding:umap": "UMAP 2-D",
    "embedding:lle": "LLE 2-D",
    "embedding:mds": "MDS 2-D",
    "pca50": "PCA 50 components",
}


def space_dims(space: str) -> int:
    """Number of dimensions of a space descriptor (2 for embeddings)."""
    kind, arg = parse_space(space)
    return int(arg) if kind == "pca" else 2


def require_2d(space: str, what: str) -> None:
    """Raise ``ValueError`` naming ``what`` when ``space`` is not a plane."""
    if space_dims(space) != 2:
        raise ValueError(f"{what} need a 2-D space, got {space!r}; use 'pca2' or an embedding")


def space_matrix(sub, space: str = DEFAULT_SPACE, random_state: int = config.DEFAULT_RANDOM_STATE,
                 progress: Optional[ProgressFn] = None) -> np.ndarray:
    """The subsample's points in an input space.

    Parameters
    ----------
    sub : core.subsample.Subsample
    space : str, default "pca2"
        See :func:`parse_space`.
    random_state : int, default 42
        Seed of the embedding (and of PCA's randomized route on huge inputs).
    progress : callable, optional

    Returns
    -------
    numpy.ndarray
        ``X`` of shape ``(n_samples, n_dims)``, float64, rows in the
        subsample's order.
    """
    kind, arg = parse_space(space)
    if kind == "pca":
        from . import pca

        return np.asarray(pca.transform(sub, arg, random_state, progress=progress), dtype=np.float64)
    from . import manifold

    if arg not in manifold.METHODS:
        raise ValueError(f"unknown embedding {arg!r}: choose one of {', '.join(manifold.METHODS)}")
    emb = manifold.embed(sub, arg, random_state=random_state, progress=progress)
    return np.asarray(emb.coords, dtype=np.float64)


# ----------------------------------------------------------------------------
# Array-level math
# ----------------------------------------------------------------------------
def fit_kmeans(X: np.ndarray, k: int, random_state: int = config.DEFAULT_RANDOM_STATE) -> dict:
    """Fit k-means on ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    k : int
        Number of clusters, ``1 <= k <= n_samples``.
    random_state : int, default 42

    Returns
    -------
    dict
        ``labels`` (n_samples,) int64, ``centers`` (k, n_features),
        ``inertia`` (float).
    """
    from sklearn.cluster import KMeans

    from threadpoolctl import threadpool_limits

    X = np.asarray(X, dtype=np.float64)
    k = int(k)
    if not 1 <= k <= len(X):
        raise ValueError(f"k must be between 1 and the number of points ({len(X)}), got {k}")
    low = X.shape[1] <= _LOW_DIMS
    model = KMeans(n_clusters=k, init=_INIT_LOW if low else _INIT_HIGH,
                   n_init=_N_INIT_LOW if low else _N_INIT_HIGH, random_state=random_state)
    with threadpool_limits(limits=1 if len(X) < _SINGLE_THREAD_BELOW else None):
        model.fit(X)
    return {"labels": model.labels_.astype(np.int64), "centers": model.cluster_centers_,
            "inertia": float(model.inertia_)}


def mean_silhouette(X: np.ndarray, labels: np.ndarray, random_state: int = config.DEFAULT_RANDOM_STATE,
                    sample_size: int = SILHOUETTE_SAMPLE) -> float:
    """Mean silhouette, on a fixed random sample of ``sample_size`` above that size.

    Returns NaN when there are fewer than two clusters.
    """
    from sklearn.metrics import silhouette_score

    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return float("nan")
    size = sample_size if len(X) > sample_size else None
    return float(silhouette_score(X, labels, sample_size=size, random_state=random_state))


def elbow(ks, inertia) -> Optional[int]:
    """The elbow of a decreasing inertia curve by the kneedle rule.

    Parameters
    ----------
    ks : sequence of int
    inertia : sequence of float

    Returns
    -------
    int or None
        The k at the knee (:data:`ELBOW_RULE`), or None when the curve has no
        knee (fewer than three points, or a straight line).
    """
    from kneed import KneeLocator

    ks = np.asarray(ks, dtype=float)
    inertia = np.asarray(inertia, dtype=float)
    if len(ks) < 3 or not np.all(np.isfinite(inertia)) or np.ptp(inertia) == 0:
        return None
    knee = KneeLocator(ks, inertia, curve="convex", direction="decreasing").knee
    return None if knee is None else int(round(knee))


def sweep_k(X: np.ndarray, k_range=DEFAULT_K_RANGE, random_state: int = config.DEFAULT_RANDOM_STATE,
            progress: Optional[ProgressFn] = None) -> dict:
    """Inertia and mean silhouette of k-means for every k in a range.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    k_range : (int, int), default (1, 10)
        First and last k, both included.
    random_state : int, default 42
    progress : callable, optional

    Returns
    -------
    dict
        ``k`` (list of int), ``inertia`` (list of float), ``silhouette`` (list
        of float, NaN for k = 1), ``elbow_k`` and ``elbow_rule``,
        ``silhouette_k`` (the k of the best mean silhouette, None if no k >= 2),
        ``silhouette_sampled`` (True when computed on a sample).
    """
    lo, hi = int(k_range[0]), int(k_range[1])
    if lo < 1 or hi < lo:
        raise ValueError(f"k_range must be (first, last) with 1 <= first <= last, got {k_range}")
    hi = min(hi, len(X))
    ks = list(range(lo, hi + 1))
    inertia, silhouette = [], []
    for i, k in enumerate(ks):
        report(progress, i / len(ks), f"k-means k={k}")
        fit = fit_kmeans(X, k, random_state)
        inertia.append(fit["inertia"])
        silhouette.append(mean_silhouette(X, fit["labels"], random_state) if k >= 2 else float("nan"))
    report(progress, 1.0, "k-means sweep done")
    sil = np.asarray(silhouette)
    valid = np.isfinite(sil)
    return {
        "k": ks,
        "inertia": inertia,
        "silhouette": silhouette,
        "elbow_k": elbow(ks, inertia),
        "elbow_rule": ELBOW_RULE,
        "silhouette_k": int(np.asarray(ks)[valid][np.argmax(sil[valid])]) if valid.any() else None,
        "silhouette_sampled": len(X) > SILHOUETTE_SAMPLE,
    }


def silhouette_groups(X: np.ndarray, labels: np.ndarray, random_state: int = config.DEFAULT_RANDOM_STATE,
                      sample_size: int = SILHOUETTE_SAMPLE) -> dict:
    """Per-sample silhouette values grouped by cluster, for a silhouette diagram.

    Above ``sample_size`` points the values are computed on a fixed random
    sample (pairwise distances grow with the square of the count).

    Returns
    -------
    dict
        ``values``: list, one float array per cluster label ``0..k-1``, sorted
        ascending within the cluster (as scikit-learn's silhouette example
        draws them); ``mean`` (float); ``n`` (points used).
    """
    from sklearn.metrics import silhouette_samples

    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    k = int(labels.max()) + 1 if len(labels) else 0
    if len(X) > sample_size:
        idx = np.sort(np.random.default_rng(random_state).choice(len(X), sample_size, replace=False))
        X, labels = X[idx], labels[idx]
    if len(np.unique(labels)) < 2:
        values = np.zeros(len(labels))
    else:
        values = silhouette_samples(X, labels)
    groups = [np.sort(values[labels == c]) for c in range(k)]
    return {"values": groups, "mean": float(values.mean()) if len(values) else float("nan"),
            "n": int(len(values))}


def grid_axes(X: np.ndarray, grid: int = 200, margin: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Two 1-D axes spanning a 2-D point cloud with a relative margin."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"a grid needs 2-D points, got shape {X.shape}")
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = np.maximum((hi - lo) * margin, 1e-9)
    return (np.linspace(lo[0] - pad[0], hi[0] + pad[0], int(grid)),
            np.linspace(lo[1] - pad[1], hi[1] + pad[1], int(grid)))


def nearest_center(points: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Index of the nearest center for every point (k-means' predict)."""
    points = np.asarray(points, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    d2 = (np.einsum("ij,ij->i", points, points)[:, None] - 2 * points @ centers.T
          + np.einsum("ij,ij->i", centers, centers)[None, :])
    return np.argmin(d2, axis=1)


def regions_grid(X: np.ndarray, centers: np.ndarray, grid: int = 200) -> dict:
    """K-means decision regions of 2-D points on a regular grid.

    Returns
    -------
    dict
        ``xx`` (grid,) and ``yy`` (grid,) axes; ``Z`` (grid, grid) int labels
        with ``Z[i, j]`` the cluster at ``(xx[j], yy[i])`` (Plotly's heatmap
        layout); ``centers`` (k, 2).
    """
    xx, yy = grid_axes(X, grid)
    gx, gy = np.meshgrid(xx, yy)
    Z = nearest_center(np.column_stack([gx.ravel(), gy.ravel()]), centers).reshape(gx.shape)
    return {"xx": xx, "yy": yy, "Z": Z, "centers": np.asarray(centers, dtype=np.float64)}


def contingency_table(clusters: np.ndarray, labels: np.ndarray) -> dict:
    """Clusters against masterCategory, with ARI and NMI.

    Parameters
    ----------
    clusters : ndarray of shape (n_samples,)
        Cluster labels ``0..k-1``.
    labels : ndarray of shape (n_samples,)
        Category labels by :data:`core.config.LABELS`.

    Returns
    -------
    dict
        ``table``: DataFrame, one row per cluster (index ``cluster``), one
        column per category name in :data:`core.config.CATEGORIES` order, counts;
        ``ari`` and ``nmi`` (:func:`sklearn.metrics.adjusted_rand_score`,
        :func:`sklearn.metrics.normalized_mutual_info_score`).
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    clusters = np.asarray(clusters, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if clusters.shape != labels.shape:
        raise ValueError(f"clusters {clusters.shape} and labels {labels.shape} differ in length")
    k = int(clusters.max()) + 1 if len(clusters) else 0
    counts = np.zeros((k, len(config.CATEGORIES)), dtype=np.int64)
    np.add.at(counts, (clusters, labels), 1)
    table = pd.DataFrame(counts, columns=list(config.CATEGORIES),
                         index=pd.RangeIndex(k, name="cluster"))
    return {"table": table, "ari": float(adjusted_rand_score(labels, clusters)),
            "nmi": float(normalized_mutual_info_score(labels, clusters))}


# ----------------------------------------------------------------------------
# Cached results for a subsample
# ----------------------------------------------------------------------------
@cache.memoize("clustering.kmeans_sweep", version=1)
def kmeans_sweep(sub, space: str = DEFAULT_SPACE, k_range=DEFAULT_K_RANGE,
                 random_state: int = config.DEFAULT_RANDOM_STATE,
                 progress: Optional[ProgressFn] = None) -> dict:
    """Inertia and mean silhouette for k in ``k_range``, with the elbow and silhouette picks.

    Parameters
    ----------
    sub : core.subsample.Subsample
    space : str, default "pca2"
        Input space; see :func:`parse_space`.
    k_range : (int, int), default (1, 10)
        First and last k, both included (the notebook's 1..10).
    random_state : int, default 42
    progress : callable, optional

    Returns
    -------
    dict
        As :func:`sweep_k`, plus ``space``.
    """
    X = space_matrix(sub, space, random_state, progress=scaled(progress, 0.0, 0.3))
    out = sweep_k(X, tuple(k_range), random_state, progress=scaled(progress, 0.3, 1.0))
    out["space"] = space
    return out


@cache.memoize("clustering.kmeans", version=1)
def kmeans(sub, k: int, space: str = DEFAULT_SPACE, random_state: int = config.DEFAULT_RANDOM_STATE,
           progress: Optional[ProgressFn] = None) -> dict:
    """K-means with ``k`` clusters in an input space.

    Returns
    -------
    dict
        ``labels`` (n_samples,), ``centers`` (k, n_dims), ``inertia``.
    """
    X = space_matrix(sub, space, random_state, progress=progress)
    return fit_kmeans(X, k, random_state)


@cache.memoize("clustering.silhouette_by_cluster", version=1)
def silhouette_by_cluster(sub, k: int, space: str = DEFAULT_SPACE,
                          random_state: int = config.DEFAULT_RANDOM_STATE,
                          progress: Optional[ProgressFn] = None) -> dict:
    """Sorted per-sample silhouette values of each cluster, for the diagram of ``k``.

    Returns
    -------
    dict
        As :func:`silhouette_groups`, plus ``k``.
    """
    X = space_matrix(sub, space, random_state, progress=progress)
    out = silhouette_groups(X, kmeans(sub, k, space, random_state)["labels"], random_state)
    out["k"] = int(k)
    return out


@cache.memoize("clustering.decision_regions", version=1)
def decision_regions(sub, k: int, space: str = DEFAULT_SPACE, grid: int = 200,
                     random_state: int = config.DEFAULT_RANDOM_STATE,
                     progress: Optional[ProgressFn] = None) -> dict:
    """K-means decision regions on a ``grid`` x ``grid`` lattice, for 2-D spaces.

    Returns
    -------
    dict
        As :func:`regions_grid`.

    Raises
    ------
    ValueError
        When the space is not 2-D.
    """
    require_2d(space, "decision regions")
    X = space_matrix(sub, space, random_state, progress=progress)
    return regions_grid(X, kmeans(sub, k, space, random_state)["centers"], grid)


@cache.memoize("clustering.contingency", version=1)
def contingency(sub, k: int, space: str = DEFAULT_SPACE, random_state: int = config.DEFAULT_RANDOM_STATE,
                progress: Optional[ProgressFn] = None) -> dict:
    """Clusters of k-means against masterCategory, with ARI and NMI.

    Returns
    -------
    dict
        As :func:`contingency_table`: ``table`` (DataFrame cluster x category
        name), ``ari``, ``nmi``.
    """
    clusters = kmeans(sub, k, space, random_state, progress=progress)["labels"]
    return contingency_table(clusters, sub.labels())

"""K-means: how many clusters a space holds, and what they are.

The notebook ran k-means on the PCA 2-D projection for k = 1..10, read the
elbow of the inertia curve and the mean silhouette, drew silhouette diagrams
for k = 2..5 and the decision regions with their centroids. This module does
the same in any input space of :mod:`core.spaces` (``"pca2"``, ``"pca<n>"``,
``"embedding:<method>"``).

Every function of a :class:`core.subsample.Subsample` is cached on disk, keyed on
the subsample, the space and every parameter; the array-level functions
(:func:`sweep_k`, :func:`fit_kmeans`, :func:`silhouette_groups`,
:func:`regions_grid`, :func:`contingency_table`, :func:`elbow`) hold the math
and work on any ``X`` of shape ``(n_samples, n_features)``.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

from . import cache, config, spaces
from .neighbors import pairwise_distances, silhouette_values
from .progress import ProgressFn, report

#: Points above which silhouettes are computed on a fixed random sample.
SILHOUETTE_SAMPLE = 5000
#: Name of the rule that picks the elbow of the inertia curve.
ELBOW_RULE = "kneedle (convex, decreasing)"
#: First and last k of the sweep (the notebook's 1..10); the pages' k stays in 2..last.
DEFAULT_K_RANGE = (1, 10)
#: k values of the silhouette diagrams the clustering page offers side by side.
DIAGRAM_KS = (2, 3, 4, 5)

# Chosen by measurement on the shared 10% subsample (k = 1..10, one thread, CPU
# seconds): in 2-D, k-means++ with 3 starts reaches the inertia of the
# notebook's ``init="random", n_init=10`` within 0.006% for every k in a quarter
# of the time (0.06 s against 0.25 s); in 50 dimensions it falls up to 1.4%
# short, so there the notebook's setting stays (0.66 s for the sweep).
_LOW_DIMS = 3
_INIT_LOW, _N_INIT_LOW = "k-means++", 3
_INIT_HIGH, _N_INIT_HIGH = "random", 10


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

    X = np.asarray(X, dtype=np.float64)
    k = int(k)
    if not 1 <= k <= len(X):
        raise ValueError(f"k must be between 1 and the number of points ({len(X)}), got {k}")
    low = X.shape[1] <= _LOW_DIMS
    model = KMeans(n_clusters=k, init=_INIT_LOW if low else _INIT_HIGH,
                   n_init=_N_INIT_LOW if low else _N_INIT_HIGH, random_state=random_state)
    with spaces.limit_threads(len(X)):
        model.fit(X)
    return {"labels": model.labels_.astype(np.int64), "centers": model.cluster_centers_,
            "inertia": float(model.inertia_)}


def silhouette_sample(n_samples: int, random_state: int = config.DEFAULT_RANDOM_STATE,
                      sample_size: int = SILHOUETTE_SAMPLE) -> Optional[np.ndarray]:
    """The fixed random sample silhouettes are computed on above ``sample_size`` points (sorted), else None."""
    if n_samples <= sample_size:
        return None
    return np.sort(np.random.default_rng(random_state).choice(n_samples, sample_size, replace=False))


def mean_silhouette(X: np.ndarray, labels: np.ndarray, random_state: int = config.DEFAULT_RANDOM_STATE,
                    sample_size: int = SILHOUETTE_SAMPLE, D: Optional[np.ndarray] = None) -> float:
    """Mean silhouette, on the fixed random sample (:func:`silhouette_sample`) above ``sample_size``.

    ``D``: the sample's distance matrix, when the caller already has it.
    Returns NaN when there are fewer than two clusters.
    """
    labels = np.asarray(labels)
    idx = silhouette_sample(len(labels), random_state, sample_size)
    if idx is not None:
        labels = labels[idx]
    if len(np.unique(labels)) < 2:
        return float("nan")
    if D is None:
        D = pairwise_distances(X if idx is None else np.asarray(X)[idx])
    return float(silhouette_values(D, labels).mean())


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
        First and last k, both included; k above the number of points are
        skipped (:func:`core.spaces.sweep_counts`).
    random_state : int, default 42
        Seed of every k-means fit and of the silhouette sample.
    progress : callable, optional
        Told before each k.

    Returns
    -------
    dict
        ``k`` (list of int), ``inertia`` (list of float), ``silhouette`` (list
        of float, NaN for k = 1), ``elbow_k`` and ``elbow_rule``,
        ``silhouette_k`` (the k of the best mean silhouette, None if no k >= 2),
        ``silhouette_sampled`` (True when computed on a sample).
    """
    ks = spaces.sweep_counts(k_range, len(X), "k_range")
    idx = silhouette_sample(len(X), random_state)
    # one distance matrix (of the silhouette sample) serves every k
    D = pairwise_distances(X if idx is None else np.asarray(X)[idx]) if max(ks) >= 2 else None
    inertia, silhouette = [], []
    for i, k in enumerate(ks):
        report(progress, i / len(ks), f"k-means k={k}")
        fit = fit_kmeans(X, k, random_state)
        inertia.append(fit["inertia"])
        silhouette.append(mean_silhouette(X, fit["labels"], random_state, D=D) if k >= 2 else float("nan"))
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
    labels = np.asarray(labels)
    k = int(labels.max()) + 1 if len(labels) else 0
    idx = silhouette_sample(len(labels), random_state, sample_size)
    if idx is not None:
        X, labels = np.asarray(X)[idx], labels[idx]
    if len(np.unique(labels)) < 2:
        values = np.zeros(len(labels))
    else:
        values = silhouette_values(pairwise_distances(X), labels)
    groups = [np.sort(values[labels == c]) for c in range(k)]
    return {"values": groups, "mean": float(values.mean()) if len(values) else float("nan"),
            "n": int(len(values))}


def nearest_center(points: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Index of the nearest center for every point (k-means' predict)."""
    points = np.asarray(points, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    d2 = (np.einsum("ij,ij->i", points, points)[:, None] - 2 * points @ centers.T
          + np.einsum("ij,ij->i", centers, centers)[None, :])
    return np.argmin(d2, axis=1)


def regions_grid(X: np.ndarray, centers: np.ndarray, grid: int = spaces.GRID) -> dict:
    """K-means decision regions of 2-D points on a regular grid.

    Returns
    -------
    dict
        ``xx`` (grid,) and ``yy`` (grid,) axes; ``Z`` (grid, grid) int labels
        with ``Z[i, j]`` the cluster at ``(xx[j], yy[i])`` (Plotly's heatmap
        layout); ``centers`` (k, 2).
    """
    xx, yy, points = spaces.grid_points(X, grid)
    Z = nearest_center(points, centers).reshape(len(yy), len(xx))
    return {"xx": xx, "yy": yy, "Z": Z, "centers": np.asarray(centers, dtype=np.float64)}


def contingency_table(clusters: np.ndarray, labels: np.ndarray,
                      categories=config.CATEGORIES) -> dict:
    """Clusters against the primary label, with ARI and NMI.

    Parameters
    ----------
    clusters : ndarray of shape (n_samples,)
        Cluster labels ``0..k-1``.
    labels : ndarray of shape (n_samples,)
        Category labels, ``categories.index(name)``.
    categories : sequence of str, default the Kaggle layout's
        The primary label's categories in label order (a subsample's
        ``categories``).

    Returns
    -------
    dict
        ``table``: DataFrame, one row per cluster (index ``cluster``), one
        column per category name in ``categories`` order, counts;
        ``ari`` and ``nmi`` (:func:`sklearn.metrics.adjusted_rand_score`,
        :func:`sklearn.metrics.normalized_mutual_info_score`).
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    clusters = np.asarray(clusters, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if clusters.shape != labels.shape:
        raise ValueError(f"clusters {clusters.shape} and labels {labels.shape} differ in length")
    k = int(clusters.max()) + 1 if len(clusters) else 0
    counts = np.zeros((k, len(categories)), dtype=np.int64)
    np.add.at(counts, (clusters, labels), 1)
    table = pd.DataFrame(counts, columns=[str(c) for c in categories],
                         index=pd.RangeIndex(k, name="cluster"))
    return {"table": table, "ari": float(adjusted_rand_score(labels, clusters)),
            "nmi": float(normalized_mutual_info_score(labels, clusters))}


# ----------------------------------------------------------------------------
# Cached results for a subsample
# ----------------------------------------------------------------------------
@cache.memoize("clustering.kmeans_sweep", version=2)
def kmeans_sweep(sub, space: str = spaces.DEFAULT_SPACE, k_range=DEFAULT_K_RANGE,
                 random_state: int = config.DEFAULT_RANDOM_STATE,
                 progress: Optional[ProgressFn] = None) -> dict:
    """Inertia and mean silhouette for k in ``k_range``, with the elbow and silhouette picks.

    :func:`sweep_k` (k = 1..10 by default, the notebook's range) on the points
    of ``sub`` in ``space`` (:func:`core.spaces.space_matrix`); its result
    carries ``space`` as well.
    """
    return spaces.sweep_in_space(sweep_k, sub, space, k_range, random_state, progress, share=0.3)


def default_k(sweep: dict) -> int:
    """The k a sweep suggests: the elbow, else the best silhouette, else 3, within 2..10.

    Parameters
    ----------
    sweep : dict
        A result of :func:`sweep_k` or :func:`kmeans_sweep`.

    Returns
    -------
    int
        At least 2 (one cluster has no silhouette diagram) and at most the
        last k of :data:`DEFAULT_K_RANGE`.
    """
    k = int(sweep.get("elbow_k") or sweep.get("silhouette_k") or 3)
    return min(max(k, 2), DEFAULT_K_RANGE[1])


@cache.memoize("clustering.kmeans", version=1)
def kmeans(sub, k: int, space: str = spaces.DEFAULT_SPACE, random_state: int = config.DEFAULT_RANDOM_STATE,
           progress: Optional[ProgressFn] = None) -> dict:
    """K-means with ``k`` clusters in an input space: :func:`fit_kmeans` of its points.

    Every other function here reads its labels or centres, so one fit serves
    the diagrams, the regions and the table.
    """
    return fit_kmeans(spaces.space_matrix(sub, space, random_state, progress), k, random_state)


@cache.memoize("clustering.silhouette_by_cluster", version=2)
def silhouette_by_cluster(sub, k: int, space: str = spaces.DEFAULT_SPACE,
                          random_state: int = config.DEFAULT_RANDOM_STATE,
                          progress: Optional[ProgressFn] = None) -> dict:
    """Sorted per-sample silhouette values of each cluster, for the diagram of ``k``.

    Returns
    -------
    dict
        As :func:`silhouette_groups`, plus ``k``.
    """
    X = spaces.space_matrix(sub, space, random_state, progress)
    out = silhouette_groups(X, kmeans(sub, k, space, random_state)["labels"], random_state)
    out["k"] = int(k)
    return out


@cache.memoize("clustering.decision_regions", version=1)
def decision_regions(sub, k: int, space: str = spaces.DEFAULT_SPACE, grid: int = spaces.GRID,
                     random_state: int = config.DEFAULT_RANDOM_STATE,
                     progress: Optional[ProgressFn] = None) -> dict:
    """K-means decision regions of :func:`kmeans` on a ``grid`` x ``grid`` lattice.

    :func:`regions_grid` of the points; a space that is not a plane is
    refused with ``ValueError`` before anything is fitted.
    """
    X = spaces.space_matrix(sub, space, random_state, progress, plane="decision regions")
    return regions_grid(X, kmeans(sub, k, space, random_state)["centers"], grid)


@cache.memoize("clustering.contingency", version=1)
def contingency(sub, k: int, space: str = spaces.DEFAULT_SPACE, random_state: int = config.DEFAULT_RANDOM_STATE,
                progress: Optional[ProgressFn] = None) -> dict:
    """Clusters of :func:`kmeans` against the primary label: :func:`contingency_table`.

    ``table`` (DataFrame cluster x category name), ``ari`` and ``nmi``.
    """
    clusters = kmeans(sub, k, space, random_state, progress=progress)["labels"]
    return contingency_table(clusters, sub.labels(), sub.categories)

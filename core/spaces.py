"""Input spaces of k-means and the Gaussian mixtures: which points of a subsample they model.

A space is named by a small descriptor string, so that it can key a cache
entry, sit in a URL and label a widget:

``"pca2"``
    The PCA 2-D projection (the notebook's choice, the default).
``"pca<n>"``
    The first ``n`` principal components, e.g. ``"pca50"``.
``"embedding:<method>"``
    A 2-D embedding of :mod:`core.manifold` (``"embedding:tsne"``...).

:mod:`core.clustering` and :mod:`core.mixture` both take their points from
here, share the lattice their 2-D figures are drawn on, and fit on one thread
below the same size; neither imports the other.
"""
from __future__ import annotations

import re
from typing import Callable, Optional

import numpy as np

from . import config, manifold, pca
from .progress import ProgressFn, scaled

#: The space the pages open with and :func:`core.pipeline.warm` prepares.
DEFAULT_SPACE = "pca2"
#: PCA dimensions of ``"pca"`` without a number.
DEFAULT_PCA_DIMS = 50
#: Side of the lattice the decision regions and density contours are drawn on.
GRID = 200
#: Below this many points k-means and mixtures fit on one thread (OpenMP and
#: BLAS): each fit takes a few milliseconds and, on a loaded machine, threads
#: spinning while they wait for a busy core cost ten times more than they save
#: (measured: the 2-D k-means sweep took 9 s of wall time for 1.1 s of CPU).
SINGLE_THREAD_BELOW = 20000

#: Input spaces offered by the pages, the notebook's first, with their labels.
SPACE_LABELS: dict[str, str] = {
    "pca2": "PCA 2-D (the notebook's)",
    "embedding:tsne": "t-SNE 2-D",
    "embedding:umap": "UMAP 2-D",
    "embedding:lle": "LLE 2-D",
    "embedding:mds": "MDS 2-D",
    "pca50": "PCA 50 components",
}


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


def space_dims(space: str) -> int:
    """Number of dimensions of a space descriptor (2 for embeddings)."""
    kind, arg = parse_space(space)
    return int(arg) if kind == "pca" else 2


def require_2d(space: str, what: str) -> None:
    """Raise ``ValueError`` naming ``what`` when ``space`` is not a plane."""
    if space_dims(space) != 2:
        raise ValueError(f"{what} need a 2-D space, got {space!r}; use 'pca2' or an embedding")


def space_matrix(sub, space: str = DEFAULT_SPACE, random_state: int = config.DEFAULT_RANDOM_STATE,
                 progress: Optional[ProgressFn] = None, *, plane: Optional[str] = None) -> np.ndarray:
    """The subsample's points in an input space.

    Parameters
    ----------
    sub : core.subsample.Subsample
    space : str, default "pca2"
        See :func:`parse_space`.
    random_state : int, default 42
        Seed of the embedding (and of PCA's randomized route on huge inputs).
    progress : callable, optional
    plane : str, optional
        What needs a plane (``"density contours"``...): then a space that is
        not 2-D is refused before anything is computed.

    Returns
    -------
    numpy.ndarray
        ``X`` of shape ``(n_samples, n_dims)``, float64, rows in the
        subsample's order.

    Raises
    ------
    ValueError
        For an unknown space or embedding, or a space that is not 2-D when
        ``plane`` is given.
    """
    if plane is not None:
        require_2d(space, plane)
    kind, arg = parse_space(space)
    if kind == "pca":
        return np.asarray(pca.transform(sub, arg, random_state, progress=progress), dtype=np.float64)
    if arg not in manifold.METHODS:
        raise ValueError(f"unknown embedding {arg!r}: choose one of {', '.join(manifold.METHODS)}")
    emb = manifold.embed(sub, arg, random_state=random_state, progress=progress)
    if emb.rows is not None:
        raise ValueError(f"{manifold.DISPLAY_NAMES[arg]} is computed on a sample of "
                         f"{len(emb.rows):,} of {len(sub.ids):,} products at this catalogue size, "
                         "so it cannot place every product: choose PCA, t-SNE or UMAP as the "
                         "input space")
    return np.asarray(emb.coords, dtype=np.float64)


def sweep_in_space(sweep: Callable[..., dict], sub, space: str, counts, random_state: int,
                   progress: Optional[ProgressFn] = None, share: float = 0.2) -> dict:
    """Run an array-level sweep over model sizes on the subsample's points in ``space``.

    Parameters
    ----------
    sweep : callable
        ``sweep(X, counts, random_state, progress=...)`` returning a dict
        (:func:`core.clustering.sweep_k`, :func:`core.mixture.bic_curve`).
    sub : core.subsample.Subsample
    space : str
    counts : (int, int)
        First and last size, both included.
    random_state : int
    progress : callable, optional
    share : float, default 0.2
        Part of the progress bar given to computing the points.

    Returns
    -------
    dict
        The sweep's result, plus ``space``.
    """
    X = space_matrix(sub, space, random_state, progress=scaled(progress, 0.0, share))
    out = sweep(X, tuple(counts), random_state, progress=scaled(progress, share, 1.0))
    out["space"] = space
    return out


def sweep_counts(first_last, n_samples: int, name: str) -> list[int]:
    """The model sizes a sweep tries: ``first..last``, both included, at most ``n_samples``.

    Parameters
    ----------
    first_last : (int, int)
    n_samples : int
        Points the models are fitted on: no model has more clusters or
        components than points.
    name : str
        The argument's name, for the error message.

    Returns
    -------
    list of int

    Raises
    ------
    ValueError
        When ``first < 1`` or ``last < first``.
    """
    lo, hi = int(first_last[0]), int(first_last[1])
    if lo < 1 or hi < lo:
        raise ValueError(f"{name} must be (first, last) with 1 <= first <= last, got {first_last}")
    return list(range(lo, min(hi, int(n_samples)) + 1))


def limit_threads(n_samples: int):
    """A context in which a fit on ``n_samples`` points uses one thread, if it is small.

    See :data:`SINGLE_THREAD_BELOW`; larger fits keep every thread.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1 if n_samples < SINGLE_THREAD_BELOW else None)


def grid_axes(X: np.ndarray, grid: int = GRID, margin: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Two 1-D axes spanning a 2-D point cloud with a relative margin.

    Parameters
    ----------
    X : ndarray of shape (n_samples, 2)
    grid : int, default 200
        Points per axis.
    margin : float, default 0.05
        Padding on each side, as a share of the cloud's extent.

    Returns
    -------
    xx, yy : ndarray of shape (grid,)
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"a grid needs 2-D points, got shape {X.shape}")
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = np.maximum((hi - lo) * margin, 1e-9)
    return (np.linspace(lo[0] - pad[0], hi[0] + pad[0], int(grid)),
            np.linspace(lo[1] - pad[1], hi[1] + pad[1], int(grid)))


def grid_points(X: np.ndarray, grid: int = GRID) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lattice of :func:`grid_axes` as points, for a model to label.

    Returns
    -------
    xx, yy : ndarray of shape (grid,)
    points : ndarray of shape (grid * grid, 2)
        Row ``i * grid + j`` is ``(xx[j], yy[i])``, so a result of length
        ``grid * grid`` reshapes to ``(grid, grid)`` in Plotly's heatmap layout.
    """
    xx, yy = grid_axes(X, grid)
    gx, gy = np.meshgrid(xx, yy)
    return xx, yy, np.column_stack([gx.ravel(), gy.ravel()])

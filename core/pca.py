"""Principal component analysis of a subsample's standardized pixels, and the way back to pixels.

Everything here derives from one decomposition per subsample, cached on disk:
the explained-variance spectrum, the component count for any variance target,
the scores used as the reduced input of the other methods, the 2-D projection
and reconstructions for any number of components (sliced from the cached
basis, never refitted).

Which matrix is decomposed depends on the shape of ``X`` (n_samples by
n_features):

* ``"gram"``: when there are fewer samples than features (the notebook's 10%
  subsample: 4,208 images of 10,000 pixels), the eigenvectors of the small
  Gram matrix ``Xc Xc^T`` give the scores directly and the components by one
  product.
* ``"covariance"``: when there are more samples than features (the whole
  dataset: 42,072 x 10,000), the covariance ``Xc^T Xc`` is accumulated in row
  blocks; memory stays at a few ``n_features^2`` floats.
* ``"randomized"``: when both are too large for the memory budget, a randomized
  SVD of ``X`` itself.

The leading eigenpairs of the Gram or covariance matrix come from a block
subspace iteration (:func:`core.eigen.top_eigh`): matrix products only, where a full
``eigh`` or SVD spends a minute in matrix-vector-speed reductions on 2 cores.
On the shared 10% subsample the eigenvalues up to the 95% count agree with a
full ``eigvalsh`` to 1e-5 relative, so the count (292) is exact; components
carry scikit-learn's signs (largest loading positive). The cumulative ratio
divides by the total variance ``||Xc||^2 / (n - 1)``, computed apart, and the
eigenvalues found are checked not to exceed it. The spectrum stops at
:data:`MAX_STORED_COMPONENTS` (grown until it passes 97% of the variance).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from . import admission, cache, config, images
from .eigen import FLOAT64_UP_TO, flip_signs, top_eigh
from .neighbors import pairwise_distances
from .scale import basis as scale_basis
from .progress import ProgressFn, report, scaled

#: Share of the variance the pages and the CLI quote a component count for.
VARIANCE_TARGET = 0.95
#: Component counts are capped for the cached basis (reconstruction slider,
#: scores used as reduced input); more components are computed on request.
MAX_STORED_COMPONENTS = 640
#: The stored scores may use at most this many bytes (n_samples * k * 4).
_MAX_SCORES_BYTES = 512 * 2**20
#: Memory the Gram or covariance route may use for its square matrix.
DEFAULT_MEMORY_BUDGET = 4 * 2**30
#: Row block of the covariance accumulation.
_BLOCK_ROWS = 4096


@dataclass
class PCAResult:
    """A fitted PCA, in scikit-learn's vocabulary.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Per-feature mean subtracted before projecting.
    components_ : ndarray of shape (n_components, n_features)
        Principal axes, orthonormal rows, by decreasing variance.
    explained_variance_ : ndarray of shape (n_components,)
        Variance along each axis (eigenvalues of the covariance, ``ddof=1``).
    explained_variance_ratio_ : ndarray of shape (n_components,)
        Share of the total variance along each axis.
    scores : ndarray of shape (n_samples, n_components)
        The training samples projected on the axes (``transform(X)``).
    total_variance : float
        Sum of the per-feature variances of ``X``.
    method : str
        Which route computed it (see the module docstring).
    """

    mean_: np.ndarray
    components_: np.ndarray
    explained_variance_: np.ndarray
    explained_variance_ratio_: np.ndarray
    scores: np.ndarray
    total_variance: float = 0.0
    method: str = ""

    @property
    def n_components_(self) -> int:
        return int(self.components_.shape[0])

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Project ``X`` of shape (n, n_features) onto the components: (n, n_components)."""
        X = np.asarray(X, dtype=np.float32)
        return (X - self.mean_) @ self.components_.T

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Map scores ``Z`` of shape (n, n_components) back to feature space."""
        Z = np.asarray(Z, dtype=np.float32)
        return Z @ self.components_[: Z.shape[1]] + self.mean_


@dataclass
class Decomposition:
    """Every eigenvalue found and the leading components of one exact PCA.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    eigenvalues : ndarray of shape (n_eigen,)
        Explained variance of every component found, decreasing: at least
        :data:`MAX_STORED_COMPONENTS` of them, or the full rank
        (``min(n_samples - 1, n_features)``) when that is smaller.
    components_ : ndarray of shape (k, n_features)
    scores : ndarray of shape (n_samples, k)
    total_variance : float
        ``||X - mean||^2 / (n_samples - 1)``, computed independently of the
        eigenvalues.
    method : str
        ``"gram"``, ``"covariance"`` or ``"randomized"``, with detail.
    n_samples : int
    seconds : float
    """

    mean_: np.ndarray
    eigenvalues: np.ndarray
    components_: np.ndarray
    scores: np.ndarray
    total_variance: float
    method: str
    n_samples: int
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def to_result(self, n_components: Optional[int] = None) -> PCAResult:
        """The first ``n_components`` as a :class:`PCAResult` (views, no copies)."""
        k = self.components_.shape[0] if n_components is None else int(n_components)
        if k > self.components_.shape[0]:
            raise ValueError(f"only {self.components_.shape[0]} components were computed, "
                             f"{k} asked")
        ev = np.asarray(self.eigenvalues[:k], dtype=np.float64)
        return PCAResult(
            mean_=self.mean_,
            components_=self.components_[:k],
            explained_variance_=ev,
            explained_variance_ratio_=ev / self.total_variance,
            scores=self.scores[:, :k],
            total_variance=float(self.total_variance),
            method=self.method,
        )


# ----------------------------------------------------------------------------
# Array level: the math, callable on any matrix
# ----------------------------------------------------------------------------
def components_for_variance(explained_variance_ratio: np.ndarray, target: float = 0.95) -> int:
    """Smallest number of leading components whose ratios sum past ``target``.

    The same rule as scikit-learn's ``PCA(n_components=target)``.

    Parameters
    ----------
    explained_variance_ratio : ndarray of shape (n_components,)
        Decreasing ratios.
    target : float, default 0.95
        In (0, 1].

    Returns
    -------
    int
        At most ``len(explained_variance_ratio)``.
    """
    if not 0 < target <= 1:
        raise ValueError(f"variance target must be in (0, 1], got {target}")
    cumulative = np.cumsum(np.asarray(explained_variance_ratio, dtype=np.float64))
    n = int(np.searchsorted(cumulative, target, side="right")) + 1
    return min(n, len(cumulative))


def _choose_route(n_samples: int, n_features: int, memory_budget: int) -> str:
    small = min(n_samples, n_features)
    # The square matrix and a copy.
    if 2 * (8 if small <= FLOAT64_UP_TO else 4) * small**2 <= memory_budget:
        return "gram" if n_samples <= n_features else "covariance"
    return "randomized"


def _n_store(eigenvalues: np.ndarray, total: float, n_samples: int, cap: Optional[int]) -> int:
    if cap is not None:
        return int(min(cap, len(eigenvalues)))
    k99 = components_for_variance(eigenvalues / total, 0.99) if total > 0 else 1
    by_bytes = max(2, _MAX_SCORES_BYTES // max(1, 4 * n_samples))
    return int(max(1, min(len(eigenvalues), max(k99, 2), MAX_STORED_COMPONENTS, by_bytes)))


def _top_eigh_enough(A, k, n_components, rank, trace, random_state, progress):
    """:func:`top_eigh`, growing ``k`` until the eigenvalues pass 97% of the trace.

    With an explicit ``n_components`` the count is taken as given.
    """
    while True:
        w, V = top_eigh(A, k, random_state=random_state, progress=progress)
        if n_components is not None or k >= rank or w.sum() >= 0.97 * trace:
            return w, V
        k = min(rank, 2 * k)


def _covariance(X: np.ndarray, mean32: np.ndarray, double: bool, progress=None) -> np.ndarray:
    """``(X - mean)^T (X - mean)`` accumulated over row blocks.

    Row blocks keep the centred copy small. A general product is used even
    though the result is symmetric: this BLAS's ``syrk`` measured several
    times slower than ``gemm`` here. Float64 for small sides, float32 otherwise.
    """
    n, d = X.shape
    dtype = np.float64 if double else np.float32
    cov = np.zeros((d, d), dtype=dtype)
    for start in range(0, n, _BLOCK_ROWS):
        block = (np.asarray(X[start:start + _BLOCK_ROWS], dtype=np.float32) - mean32).astype(dtype)
        cov += block.T @ block
        report(progress, min(1.0, (start + len(block)) / n),
                      f"PCA: covariance {d}x{d} ({start + len(block)}/{n} rows)")
    return cov


def _k_wanted(n_components: Optional[int], rank: int) -> int:
    if n_components is not None:
        return int(min(n_components, rank))
    return int(min(rank, MAX_STORED_COMPONENTS))


def gram_distances(gram: np.ndarray) -> np.ndarray:
    """Euclidean distances between rows from their Gram matrix, float32.

    ``sqrt(G_ii + G_jj - 2 G_ij)``, clipped at 0 before the root, with an
    exact 0 diagonal: :func:`core.neighbors.pairwise_distances` without the
    matrix product, for a Gram matrix already computed.
    """
    diag = np.diagonal(gram).astype(np.float32)
    sq = diag[:, None] + diag[None, :]
    sq -= 2.0 * np.asarray(gram, dtype=np.float32)
    np.maximum(sq, 0, out=sq)
    np.fill_diagonal(sq, 0)
    return np.sqrt(sq, out=sq)


def decompose(
    X: np.ndarray,
    n_components: Optional[int] = None,
    *,
    method: str = "auto",
    random_state: int = config.DEFAULT_RANDOM_STATE,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    progress: Optional[ProgressFn] = None,
    on_gram: Optional[Callable[[np.ndarray], None]] = None,
) -> Decomposition:
    """PCA of ``X`` through the smaller of its Gram and covariance matrices.

    The leading eigenpairs come from :func:`top_eigh`; their sum is checked
    against the total variance computed independently.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data; centred here (a float32 copy for the Gram route).
    n_components : int, optional
        Components (and scores) to keep. By default, enough for 99% of the
        variance, capped at :data:`MAX_STORED_COMPONENTS` and by the memory
        of the scores.
    method : {"auto", "gram", "covariance", "randomized"}, default "auto"
        ``"auto"`` takes the Gram or covariance route when its square matrix
        fits ``memory_budget``, else a randomized SVD of ``X``.
    random_state : int, default 42
        Seed of the starting block of the subspace iteration.
    memory_budget : int, default 4 GiB
        Bytes the square matrix may use.
    progress : callable, optional
        ``progress(fraction, message)``.
    on_gram : callable, optional
        On the Gram route, called with the centred Gram matrix ``Xc Xcᵀ``
        (float32, read-only use) before it is decomposed: it holds every
        distance between two rows (:func:`gram_distances`).

    Returns
    -------
    Decomposition
        ``eigenvalues`` holds every eigenvalue that was computed (up to
        ``max(n_components, MAX_STORED_COMPONENTS)``); the rest of the spectrum is the
        difference to ``total_variance``.
    """
    t0 = time.perf_counter()
    X = np.asarray(X)
    n, d = X.shape
    if n < 2:
        raise ValueError(f"PCA needs at least 2 samples, got {n}")
    route = _choose_route(n, d, memory_budget) if method == "auto" else method
    mean = X.mean(axis=0, dtype=np.float64)
    mean32 = mean.astype(np.float32)
    rank = min(n - 1, d)
    k_eig = _k_wanted(None if n_components is None else max(n_components, MAX_STORED_COMPONENTS),
                      rank)

    if route in ("gram", "covariance"):
        if route == "gram":
            report(progress, 0.05, f"PCA: Gram matrix {n}x{n}")
            Xc = np.asarray(X, dtype=np.float32) - mean32
            square = Xc @ Xc.T
            if on_gram is not None:
                on_gram(square)
            if n <= FLOAT64_UP_TO:
                square = square.astype(np.float64)
            total = float(np.einsum("ij,ij->", Xc, Xc, dtype=np.float64)) / (n - 1)
            start = 0.3
        else:
            square = _covariance(X, mean32, d <= FLOAT64_UP_TO, scaled(progress, 0.0, 0.6))
            total = float(np.trace(square, dtype=np.float64)) / (n - 1)
            start = 0.6
        w, V = _top_eigh_enough(square, k_eig, n_components, rank, total * (n - 1),
                                random_state, scaled(progress, start, 0.85))
        del square
        w = np.clip(w, 0, None)
        eigenvalues = w / (n - 1)
        k = _n_store(eigenvalues, total, n, n_components)
        report(progress, 0.9, f"PCA: {k} components")
        if route == "gram":
            # V holds the left singular vectors: scores directly, components by one product.
            s = np.sqrt(w[:k])
            scores = (V[:, :k] * s).astype(np.float32)
            safe = np.where(s > 0, s, 1.0)
            components = np.ascontiguousarray((V[:, :k] / safe).T.astype(np.float32) @ Xc,
                                              dtype=np.float32)
            detail = f"gram: subspace iteration on X Xᵀ ({n}x{n})"
        else:
            components = np.ascontiguousarray(V[:, :k].T, dtype=np.float32)
            scores = np.empty((n, k), dtype=np.float32)
            for row in range(0, n, _BLOCK_ROWS):
                block = np.asarray(X[row:row + _BLOCK_ROWS], dtype=np.float32) - mean32
                scores[row:row + len(block)] = block @ components.T
            detail = f"covariance: subspace iteration on Xᵀ X ({d}x{d})"
        del V
        detail += f", {len(w)} eigenvalues, {k} components kept"
    elif route == "randomized":
        from sklearn.utils.extmath import randomized_svd

        k = int(n_components or min(MAX_STORED_COMPONENTS, rank))
        report(progress, 0.1, f"PCA: randomized SVD, {k} components")
        Xc = np.asarray(X, dtype=np.float32) - mean32
        total = float(np.einsum("ij,ij->", Xc, Xc, dtype=np.float64)) / (n - 1)
        U, s, Vt = randomized_svd(Xc, k, n_oversamples=20, n_iter=6, random_state=random_state)
        eigenvalues = s.astype(np.float64) ** 2 / (n - 1)
        scores = (U * s).astype(np.float32)
        components = np.ascontiguousarray(Vt, dtype=np.float32)
        detail = f"randomized: SVD of X, {k} leading components (6 power iterations)"
    else:
        raise ValueError(f"unknown PCA route {method!r}; use auto, gram, covariance or randomized")

    flip_signs(components, scores)
    found = float(eigenvalues.sum())
    if total > 0 and found > total * (1 + 1e-4):
        raise ArithmeticError(f"PCA eigenvalues sum to {found:.6g}, more than the total "
                              f"variance {total:.6g}: the decomposition lost precision")
    report(progress, 1.0, "PCA: done")
    return Decomposition(
        mean_=mean32, eigenvalues=eigenvalues, components_=components, scores=scores,
        total_variance=total, method=detail, n_samples=n, seconds=time.perf_counter() - t0,
        extra={"route": route, "eigenvalue_sum": found},
    )


def _spectrum_dict(dec: Decomposition) -> dict:
    ratio = np.asarray(dec.eigenvalues, dtype=np.float64) / dec.total_variance
    cumulative = np.cumsum(ratio)
    return {
        "explained_variance_ratio": ratio,
        "cumulative": cumulative,
        "n_components_95": components_for_variance(ratio, VARIANCE_TARGET),
        "total_variance": float(dec.total_variance),
        "method": dec.method,
        "seconds": float(dec.seconds),
        "n_stored": int(dec.components_.shape[0]),
    }


# ----------------------------------------------------------------------------
# Subsample level: cached
# ----------------------------------------------------------------------------
_ARRAYS = ("components", "scores")


def _array_name(kind: str) -> str:
    return f"pca.{kind}"


def _admit_basis(sub, n_store: Optional[int] = None, *args, **kwargs) -> tuple[str, int, str]:
    """What a cold decomposition of ``sub`` costs, for :mod:`core.admission`.

    On the Dask route (:func:`core.scale.basis.route`) the features never
    exist whole: the cost is what :func:`core.scale.basis.memory_bytes` says
    this process holds.
    """
    n, side = len(sub.ids), int(sub.image_size)
    d = side * side * (3 if sub.color else 1)
    k = MAX_STORED_COMPONENTS if n_store is None else int(n_store)
    kind = "colour" if sub.color else "grayscale"
    route = scale_basis.route(sub)
    if route != "memory":
        return (f"PCA of {n:,} {kind} images at {side}x{side} on Dask ({route})",
                scale_basis.memory_bytes(n, d, route),
                "Choose a smaller image size or grayscale in the sidebar.")
    return (f"PCA of {n:,} {kind} images at {side}x{side}", admission.pca_bytes(n, d, k),
            "Choose a smaller sample fraction, a smaller image size or grayscale in the sidebar.")


@cache.memoize("pca.basis", version=1, admit=_admit_basis)
def _basis_meta(sub, n_store: Optional[int] = None,
                random_state: int = config.DEFAULT_RANDOM_STATE, progress=None) -> dict:
    """Decompose ``sub``'s features once; big arrays go to memory-mapped files."""
    dec = _decompose_subsample(sub, n_store, random_state, progress)
    parts = (sub, n_store, random_state)
    cache.cached_array(_array_name("components"), 1, parts, lambda: dec.components_)
    cache.cached_array(_array_name("scores"), 1, parts, lambda: dec.scores)
    return {
        "mean_": dec.mean_, "eigenvalues": dec.eigenvalues, "total_variance": dec.total_variance,
        "method": dec.method, "n_samples": dec.n_samples, "seconds": dec.seconds,
        "n_stored": int(dec.components_.shape[0]),
    }


def _basis(sub, n_store: Optional[int] = None, random_state: int = config.DEFAULT_RANDOM_STATE,
           progress=None) -> Decomposition:
    meta = _basis_meta(sub, n_store, random_state, progress=progress)
    parts = (sub, n_store, random_state)
    arrays = {}
    for kind in _ARRAYS:
        # If a file was deleted behind the cache's back, recompute it.
        arrays[kind] = cache.cached_array(
            _array_name(kind), 1, parts,
            lambda kind=kind: getattr(_recompute(sub, n_store, random_state),
                                      "components_" if kind == "components" else "scores"))
    return Decomposition(
        mean_=meta["mean_"], eigenvalues=meta["eigenvalues"], components_=arrays["components"],
        scores=arrays["scores"], total_variance=meta["total_variance"], method=meta["method"],
        n_samples=meta["n_samples"], seconds=meta["seconds"],
    )


def _decompose_subsample(sub, n_store, random_state, progress=None) -> Decomposition:
    """:func:`decompose` of ``sub``'s features, or the same through the Dask feature store.

    Above :func:`core.scale.cluster.choose_route`'s size the features would
    not fit one process: the store-backed PCA (:mod:`core.scale.basis`) gives
    every eigenvalue found, the components and the first
    :data:`core.scale.pca.N_SCORES` scores of every product.
    """
    if scale_basis.route(sub) != "memory":
        parts = scale_basis.decompose_subsample(sub, random_state, progress=progress)
        return Decomposition(
            mean_=parts["mean_"], eigenvalues=parts["eigenvalues"],
            components_=parts["components_"], scores=parts["scores"],
            total_variance=parts["total_variance"], method=parts["method"],
            n_samples=parts["n_samples"], seconds=parts["seconds"],
            extra={"route": f"dask-{parts['route']}"})
    X = sub.features(progress=scaled(progress, 0.0, 0.3))

    def keep(gram: np.ndarray) -> None:
        # every distance between two products, for the maps' quality figures
        if len(gram) <= DISTANCES_UP_TO:
            cache.cached_array(*_distances_key(sub), lambda: gram_distances(gram))

    return decompose(X, n_store, random_state=random_state, progress=scaled(progress, 0.3, 1.0),
                     on_gram=keep)


#: Subsamples up to this many products keep the distances between every two
#: of them (:func:`distances`): 100 MB of float32 at this size.
DISTANCES_UP_TO = 5000


def _distances_key(sub) -> tuple:
    return ("pca.distances", 1, (sub,))


def distances(sub, progress: Optional[ProgressFn] = None) -> np.ndarray:
    """Euclidean distances between every two products' standardized features, float32 (n, n).

    Cached. The PCA of a subsample of at most :data:`DISTANCES_UP_TO`
    products goes through their Gram matrix (:func:`decompose`), which holds
    these distances, so it leaves them in the cache and nothing computes the
    same 4,208 x 4,208 x 10,000 product twice (about 1 s on 2 cores); without
    them they are computed here (:func:`core.neighbors.pairwise_distances`).
    """
    n = len(sub.ids)
    if n > DISTANCES_UP_TO:
        raise ValueError(f"distances of {n:,} products would take {4 * n * n / 1e9:.1f} GB; "
                         f"at most {DISTANCES_UP_TO:,} are kept")
    return cache.cached_array(*_distances_key(sub),
                              lambda: pairwise_distances(sub.features(progress=progress)))


def _recompute(sub, n_store, random_state) -> Decomposition:
    return _decompose_subsample(sub, n_store, random_state)


def _basis_for(sub, n_components: int, random_state: int, progress=None) -> Decomposition:
    """The default basis, or a bigger one when ``n_components`` exceeds it."""
    dec = _basis(sub, None, random_state, progress=progress)
    if n_components <= dec.components_.shape[0]:
        return dec
    limit = min(dec.n_samples - 1, dec.mean_.shape[0])
    if n_components > limit:
        raise ValueError(f"n_components={n_components} exceeds the rank limit {limit} "
                         f"(min(n_samples - 1, n_features))")
    return _basis(sub, int(n_components), random_state, progress=progress)


def spectrum(sub, progress: Optional[ProgressFn] = None) -> dict:
    """Explained-variance spectrum of a subsample's standardized features.

    Parameters
    ----------
    sub : core.subsample.Subsample
    progress : callable, optional

    Returns
    -------
    dict
        ``explained_variance_ratio`` (ndarray, the leading components: 640, or
        more until 97% of the variance, or the full rank when smaller),
        ``cumulative`` (its running sum),
        ``n_components_95`` (int), ``total_variance`` (float), ``method`` (the
        route, e.g. ``"gram: subspace iteration on X Xᵀ (4208x4208), ..."``) and
        ``seconds`` (of the cold decomposition).
    """
    return _spectrum_dict(_basis(sub, progress=progress))


def n_scores(sub, random_state: int = config.DEFAULT_RANDOM_STATE,
             progress: Optional[ProgressFn] = None) -> int:
    """How many leading components :func:`transform` can give scores for.

    Every stored component on the in-memory route; on the Dask route the
    first :data:`core.scale.pca.N_SCORES` (or fewer on a small catalogue).
    """
    return int(_basis(sub, None, random_state, progress=progress).scores.shape[1])


def n_components_for(sub, target: float = VARIANCE_TARGET) -> int:
    """Number of components that explain ``target`` of the variance of ``sub``."""
    return components_for_variance(spectrum(sub)["explained_variance_ratio"], target)


def fit(sub, n_components: int, random_state: int = config.DEFAULT_RANDOM_STATE,
        progress: Optional[ProgressFn] = None) -> PCAResult:
    """PCA of ``sub``'s features with ``n_components`` components.

    Sliced from the cached basis (one decomposition per subsample), so any
    ``n_components`` up to the stored count is instant.

    Parameters
    ----------
    sub : core.subsample.Subsample
    n_components : int
    random_state : int, default 42
        Seed of the subspace iteration's starting block.
    progress : callable, optional

    Returns
    -------
    PCAResult
        Arrays are read-only memory maps; copy before changing them.
    """
    n_components = int(n_components)
    if n_components < 1:
        raise ValueError(f"n_components must be at least 1, got {n_components}")
    return _basis_for(sub, n_components, random_state, progress).to_result(n_components)


def transform(sub, n_components: int, random_state: int = config.DEFAULT_RANDOM_STATE,
              progress: Optional[ProgressFn] = None) -> np.ndarray:
    """Scores of ``sub`` on its first ``n_components`` axes.

    Returns
    -------
    ndarray of shape (n_samples, n_components), float32
        A fresh C-contiguous copy (the reduced input of the embeddings).
    """
    scores = fit(sub, n_components, random_state, progress).scores
    if scores.shape[1] < int(n_components):
        raise ValueError(f"this catalogue is decomposed on Dask, which keeps the scores of the "
                         f"first {scores.shape[1]} components; ask for at most that many")
    return np.ascontiguousarray(scores, dtype=np.float32)


def projection_2d(sub, random_state: int = config.DEFAULT_RANDOM_STATE,
                  progress: Optional[ProgressFn] = None) -> tuple[np.ndarray, float]:
    """The notebook's ``PCA(2)`` projection.

    Returns
    -------
    coords : ndarray of shape (n_samples, 2), float32
    variance_2d : float
        Share of the total variance the two axes explain, as a fraction
        (the notebook printed 32.26%, i.e. 0.3226).
    """
    res = fit(sub, 2, random_state, progress)
    return (np.ascontiguousarray(res.scores, dtype=np.float32),
            float(res.explained_variance_ratio_.sum()))


def raw_pixels(sub, rows=None, progress: Optional[ProgressFn] = None) -> np.ndarray:
    """The subsample's raw uint8 pixels, the matrix its features standardize.

    Parameters
    ----------
    sub : core.subsample.Subsample
    rows : array-like of int, optional
        Row positions in ``sub.frame()``; default all (then a read-only
        memory map of the subsample's matrix, :func:`core.images.pixels`,
        never loaded whole).
    progress : callable, optional

    Returns
    -------
    numpy.ndarray of uint8, shape (n_rows, n_features)
    """
    ids = np.asarray(sub.ids)
    settings = (sub.image_size, sub.color, sub.resample)
    if rows is not None and scale_basis.route(sub) != "memory":
        # A catalogue read through Dask never has one matrix of every product:
        # only the chosen rows are decoded.
        return np.asarray(images.pixels(sub.dataset, ids[np.asarray(rows)], *settings, progress=progress))
    matrix = images.pixels(sub.dataset, ids, *settings, progress=progress)
    return matrix if rows is None else np.asarray(matrix[np.asarray(rows)])


@cache.memoize("pca.pixel_scale", version=1)
def pixel_scale(sub) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel mean and standard deviation of the raw pixels (undo standardization), float32.

    :func:`core.images.column_scale` of :func:`raw_pixels`: the statistics the
    features were standardized with, cached so that mapping scores back to
    pixels never reads the whole matrix.
    """
    if scale_basis.route(sub) != "memory":
        return scale_basis.pixel_scale(sub)
    mean, std = images.column_scale(raw_pixels(sub))
    return mean.astype(np.float32), std.astype(np.float32)


def image_shape(sub) -> tuple[int, ...]:
    """Shape of one of ``sub``'s images: ``(size, size)``, or ``(size, size, 3)`` in colour."""
    side = int(sub.image_size)
    return (side, side, 3) if sub.color else (side, side)


def to_pixels(sub, features) -> np.ndarray:
    """Standardized feature rows of ``sub`` back to displayable images.

    Parameters
    ----------
    sub : core.subsample.Subsample
        Whose :func:`pixel_scale` undoes the standardization.
    features : array-like of shape (n, n_features)
        Standardized rows (reconstructions, generated images...).

    Returns
    -------
    numpy.ndarray of uint8, shape ``(n, *image_shape(sub))``
        Rounded and clipped to 0..255.
    """
    mean, std = (np.asarray(a, dtype=np.float64) for a in pixel_scale(sub))
    pixels = np.asarray(features, dtype=np.float64) * std + mean
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8).reshape((len(pixels),) + image_shape(sub))


def reconstruct(sub, indices, n_components: int, random_state: int = config.DEFAULT_RANDOM_STATE,
                progress: Optional[ProgressFn] = None) -> dict:
    """Reconstruct chosen images from their first ``n_components`` scores.

    Fast enough for a slider: the scores and components are sliced from the
    cached basis; nothing is refitted.

    Parameters
    ----------
    sub : core.subsample.Subsample
    indices : sequence of int
        Row positions in ``sub.frame()``.
    n_components : int
    random_state : int, default 42

    Returns
    -------
    dict
        ``originals`` and ``reconstructions``: standardized values, shaped as
        images ``(len(indices), size, size)`` (``(..., 3)`` in colour);
        ``originals_pixels`` and ``reconstructions_pixels``: the same in pixel
        space, uint8; ``errors``: mean squared error per image (standardized
        units); ``mean_error``: the same averaged over the whole subsample
        (exact, from the discarded eigenvalues); ``variance_retained``;
        ``n_components``.
    """
    idx = np.asarray(indices, dtype=np.int64).ravel()
    dec = _basis_for(sub, int(n_components), random_state, progress)
    k = int(n_components)
    if idx.size and (idx.min() < 0 or idx.max() >= dec.n_samples):
        raise IndexError(f"indices must be in [0, {dec.n_samples}), got {idx.min()}..{idx.max()}")
    # Only the chosen rows are read: the slider never touches the whole matrix.
    raw = raw_pixels(sub, idx)
    originals = images.standardize(raw, pixel_scale(sub))
    # Projected here rather than read from the stored scores: the Dask route
    # keeps fewer score columns than components.
    comps = np.asarray(dec.components_[:k])
    recon = ((originals - dec.mean_) @ comps.T) @ comps + dec.mean_
    errors = ((originals - recon) ** 2).mean(axis=1)
    n, d = dec.n_samples, dec.mean_.shape[0]
    residual = float(np.sum(dec.eigenvalues[k:])) + max(
        0.0, dec.total_variance - float(np.sum(dec.eigenvalues)))
    mean_error = residual * (n - 1) / (n * d)
    shape = image_shape(sub)
    return {
        "originals": originals.reshape((-1,) + shape),
        "reconstructions": recon.astype(np.float32).reshape((-1,) + shape),
        "originals_pixels": np.asarray(raw, dtype=np.uint8).reshape((-1,) + shape),
        "reconstructions_pixels": to_pixels(sub, recon),
        "errors": errors.astype(np.float64),
        "mean_error": float(mean_error),
        "variance_retained": float(np.sum(dec.eigenvalues[:k]) / dec.total_variance),
        "n_components": k,
    }

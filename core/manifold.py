"""Two-dimensional embeddings of a subsample (PCA, t-SNE, LLE, MDS, UMAP) and their quality figures.

Five methods: the notebook's PCA, t-SNE, LLE and metric MDS, plus UMAP. The
non-linear ones run on the subsample's leading PCA scores (:func:`core.pca.transform`),
which keeps the neighbourhoods they care about and costs a fraction of the
10,000-pixel input. Every method is measured the same way by :func:`evaluate`,
so methods, and the notebook's own scikit-learn calls, compare on equal terms:

* trustworthiness (k=10) against the standardized feature matrix, on a fixed
  random sample of 5,000 points above that size;
* 5-fold cross-validated k-NN (k=10) accuracy of masterCategory on the 2-D
  coordinates;
* silhouette of the true labels on the 2-D coordinates (sampled above 5,000).

Metric MDS is stress majorization (SMACOF), compiled, in :mod:`core.mds`.

A subsample too large for one process (:func:`core.scale.cluster.choose_route`
says Dask) takes its PCA scores from the feature store (:mod:`core.scale.basis`)
and is mapped by sample: t-SNE and UMAP are fitted on :data:`FIT_SAMPLE`
products and place every other one with their own out-of-sample transform
(:func:`place`); LLE and MDS, which have none worth its cost, run on a sample
of :data:`SAMPLE_ONLY` products only and say so (``Embedding.rows``).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from . import admission, cache, config, images, pca
from .compiled import cache_compiled, n_threads, numba_cache
from .mds import mds
from .scale import cluster as scale_cluster
from .scale.pca import N_SCORES
from .neighbors import pairwise_distances, silhouette_values
from .progress import ProgressFn, report, scaled

METHODS: tuple[str, ...] = ("pca", "tsne", "lle", "mds", "umap")
DISPLAY_NAMES: dict[str, str] = {
    "pca": "PCA",
    "tsne": "t-SNE",
    "lle": "LLE",
    "mds": "MDS",
    "umap": "UMAP",
}
#: Parameters each method uses, with their defaults. ``n_input_dims`` is the
#: number of PCA components fed to the method (``None``: the full features).
DEFAULTS: dict[str, dict] = {
    "pca": {},
    # early exaggeration (EARLY_EXAGGERATION_ITER) then 250: on the shared data the
    # trustworthiness is that of openTSNE's 250 + 500 (at 4,208 products with
    # BH_THETA 0.9697 against 0.9695; at 42,072 0.9655 both) in half the time or
    # less (FFT's later iterations cost more as the map spreads: 39 s against
    # 92 s at 42k).
    "tsne": {"n_input_dims": 50, "perplexity": 30.0, "n_iter": 250},
    # LLE is sensitive to its input: 5 neighbours (scikit-learn's default, the
    # notebook's) on 300 components (95% of the variance) keep the notebook's
    # trustworthiness; 15 neighbours on 50 components lose about 0.1 of it.
    "lle": {"n_input_dims": 300, "n_neighbors": 5},
    # MDS on the same 300 components (shared with LLE, computed once): its
    # trustworthiness is 0.848 against 0.846 on 100 and the notebook's 0.852 on
    # all 10,000 pixels (at 4,208 products).
    "mds": {"n_input_dims": 300, "n_iter": 300},
    "umap": {"n_input_dims": 50, "n_neighbors": 15, "n_iter": None},
}
#: Products t-SNE and UMAP are fitted on when a catalogue goes to Dask; the
#: others are placed by the fitted model. t-SNE's FFT gradient on 20,000
#: points takes about a minute on 2 cores and keeps the catalogue's clusters.
FIT_SAMPLE = 20_000
#: In one process too, above these sizes UMAP and LLE are fitted on a nested
#: sample of that many products and place the others with their own transform
#: (umap-learn's ``transform``, scikit-learn LLE's barycentric ``transform``).
#: Measured on all 42,072 catalogue products (2 cores): UMAP 10 s against
#: 61 s fitted whole, trustworthiness 0.9515 against 0.9511; LLE 6 s against
#: 70 s, 0.8461 against 0.8396 (the whole fit is no better).
PLACE_ABOVE = {"umap": FIT_SAMPLE, "lle": 10_000}
#: Products LLE and MDS are computed on when a catalogue goes to Dask (nested:
#: MDS's sample is part of LLE's); they place no others.
SAMPLE_ONLY = {"lle": 5000, "mds": 3000}
#: Products placed per call of a fitted model's transform (bounds its memory).
PLACE_BLOCK = 20_000
#: Quality figures are computed on at most this many points where sampling is needed.
QUALITY_SAMPLE = 5000
QUALITY_NEIGHBORS = 10


@dataclass
class Embedding:
    """A 2-D embedding of a subsample.

    Attributes
    ----------
    coords : ndarray of shape (n_samples, 2), float32
        Rows in the order of ``sub.frame()``.
    method : str
        One of :data:`METHODS`.
    params : dict
        The parameters that produced it (only those the method uses).
    seconds : float
        Wall time of the cold computation (the PCA it starts from included
        when that was not cached yet).
    route : str
        What ran, e.g. ``"openTSNE BH, 2 threads, on PCA-50"``.
    extra : dict
        Method-specific figures (MDS stress and iterations...).
    rows : ndarray of int or None
        ``None`` when ``coords`` has one row per product; for a method run on
        a sample only (LLE and MDS of a catalogue on Dask), the sorted
        positions in ``sub.frame()`` of the products ``coords`` holds.
    """

    coords: np.ndarray
    method: str
    params: dict
    seconds: float
    route: str
    extra: dict = field(default_factory=dict)
    rows: Optional[np.ndarray] = None

    @property
    def sample_only(self) -> bool:
        """Whether the map holds a sample of the products, not all of them."""
        return self.rows is not None


# ----------------------------------------------------------------------------
# Parameters
# ----------------------------------------------------------------------------
def method_params(method: str, *, n_input_dims=..., perplexity=..., n_neighbors=...,
                  n_iter=...) -> dict:
    """The parameters ``method`` uses: its defaults, overridden by those given.

    Parameters that ``method`` does not use are dropped, so two calls that
    differ only in them share one cached result.
    """
    if method not in METHODS:
        raise ValueError(f"unknown embedding method {method!r}; choose one of {', '.join(METHODS)}")
    given = {"n_input_dims": n_input_dims, "perplexity": perplexity,
             "n_neighbors": n_neighbors, "n_iter": n_iter}
    params = dict(DEFAULTS[method])
    for name, value in given.items():
        if name in params and value is not ...:
            params[name] = value
    if params.get("n_input_dims") is not None:
        params["n_input_dims"] = int(params["n_input_dims"])
        if params["n_input_dims"] < 2:
            raise ValueError(f"n_input_dims must be at least 2 (or None), got {params['n_input_dims']}")
    if "perplexity" in params:
        params["perplexity"] = float(params["perplexity"])
        if params["perplexity"] <= 0:
            raise ValueError(f"perplexity must be positive, got {params['perplexity']}")
    if params.get("n_neighbors") is not None:
        params["n_neighbors"] = int(params["n_neighbors"])
        if params["n_neighbors"] < 2:
            raise ValueError(f"n_neighbors must be at least 2, got {params['n_neighbors']}")
    if params.get("n_iter") is not None:
        params["n_iter"] = int(params["n_iter"])
        if params["n_iter"] < 1:
            raise ValueError(f"n_iter must be positive, got {params['n_iter']}")
    return params


def _input(sub, n_input_dims: Optional[int], random_state: int, progress=None) -> tuple[np.ndarray, str]:
    if n_input_dims is None:
        return np.asarray(sub.features(progress=progress), dtype=np.float32), "on the full features"
    n = len(sub.ids)
    dims = int(min(n_input_dims, n - 1))
    return pca.transform(sub, dims, random_state, progress=progress), f"on PCA-{dims}"


# ----------------------------------------------------------------------------
# Array level: the methods
# ----------------------------------------------------------------------------
#: Barnes-Hut's opening angle below 10,000 points, 1.0 instead of openTSNE's
#: 0.5: at 4,208 products and 250 + 250 iterations, 3.9 s and trustworthiness
#: 0.9697 (0.8: 6.2 s, 0.9701; openTSNE's 0.5 with 250 + 500: 11.9 s, 0.9695).
BH_THETA = 1.0


#: t-SNE's early-exaggeration iterations, 150 instead of openTSNE's 250, at
#: every size. With 250 later iterations, 4,208 products (Barnes-Hut), seed 42:
#: 2.5 s and trustworthiness 0.9698 (250: 3.6 s, 0.9697; 125: 0.9683); seed 7:
#: 0.9704 against 0.9685. 42,072 products (FFT): 29.5 s and 0.9652 against
#: 37.9 s and 0.9651, in the same run.
EARLY_EXAGGERATION_ITER = 150


def _tsne_estimator(n: int, perplexity: float, n_iter: int, random_state: int,
                    n_jobs: Optional[int], **kwargs):
    """openTSNE's TSNE as every t-SNE here runs it (see :func:`tsne`)."""
    from openTSNE import TSNE

    gradient = "fft" if n >= 10000 else "bh"
    return TSNE(
        n_components=2, perplexity=float(min(perplexity, max(1.0, (n - 1) / 3.0))),
        n_iter=int(n_iter), early_exaggeration_iter=EARLY_EXAGGERATION_ITER, initialization="pca",
        metric="euclidean",
        n_jobs=n_jobs or (1 if n < 1500 else n_threads()), random_state=random_state,
        # Exact neighbours (a blocked brute-force search) rather than openTSNE's
        # Annoy index: the same affinities, faster at every size measured
        # (4,208 products: 0.2 s against 1.5 s; 42,072: 6.0 s against 12.9 s).
        neighbors="exact",
        negative_gradient_method=gradient, theta=BH_THETA, verbose=False, **kwargs)


def tsne(Y: np.ndarray, *, perplexity: float = 30.0, n_iter: int = 250,
         random_state: int = config.DEFAULT_RANDOM_STATE, n_jobs: Optional[int] = None,
         progress: Optional[ProgressFn] = None) -> tuple[np.ndarray, str]:
    """t-SNE with openTSNE: early exaggeration (:data:`EARLY_EXAGGERATION_ITER`), then ``n_iter``.

    ``n_iter=850`` makes scikit-learn's 1,000 iterations in all. Barnes-Hut
    (opening angle :data:`BH_THETA`) below 10,000 points, FFT-accelerated
    interpolation above (openTSNE's rule), PCA initialization.

    Returns
    -------
    coords : ndarray of shape (n_samples, 2), float32
    route : str
    """
    total = EARLY_EXAGGERATION_ITER + int(n_iter)
    state = {"done": 0}

    def callback(iteration, error, embedding):
        state["done"] += 50
        report(progress, state["done"] / total, f"t-SNE iteration {min(state['done'], total)}/{total}")
        return False

    model = _tsne_estimator(len(Y), perplexity, n_iter, random_state, n_jobs,
                            callbacks=callback, callbacks_every_iters=50)
    coords = np.asarray(model.fit(np.ascontiguousarray(Y, dtype=np.float64)), dtype=np.float32)
    name = "FFT" if model.negative_gradient_method == "fft" else f"Barnes-Hut (angle {BH_THETA:g})"
    return coords, (f"openTSNE {name}, exact neighbours, {model.n_jobs} threads, "
                    f"perplexity {model.perplexity:g}, "
                    f"{total} iterations")


def lle_model(Y: np.ndarray, *, n_neighbors: int = 5, random_state: int = config.DEFAULT_RANDOM_STATE,
              n_jobs: Optional[int] = None):
    """A fitted standard LLE (scikit-learn) of ``Y``: ``embedding_``, and ``transform`` for others."""
    from sklearn.manifold import LocallyLinearEmbedding

    model = LocallyLinearEmbedding(n_neighbors=int(min(n_neighbors, len(Y) - 1)), n_components=2,
                                   random_state=random_state, n_jobs=n_jobs or n_threads())
    return model.fit(np.asarray(Y, dtype=np.float64))


def lle(Y: np.ndarray, *, n_neighbors: int = 5, random_state: int = config.DEFAULT_RANDOM_STATE,
        n_jobs: Optional[int] = None) -> tuple[np.ndarray, str]:
    """Standard locally linear embedding (scikit-learn), ``n_neighbors`` neighbours."""
    model = lle_model(Y, n_neighbors=n_neighbors, random_state=random_state, n_jobs=n_jobs)
    return (np.asarray(model.embedding_, dtype=np.float32),
            f"scikit-learn LLE, {model.n_neighbors} neighbours, {model.n_jobs} threads")


def import_umap():
    """Import umap-learn without TensorFlow, with its kernels cached on disk.

    ``umap/__init__`` tries to load its parametric variant, which imports
    TensorFlow (seconds and hundreds of MB) when it is installed; plain UMAP
    never uses it. While importing, TensorFlow is made unimportable unless
    something else loaded it already. Call it before unpickling a fitted
    UMAP too (a Dask worker does), so numba's kernels come from the disk cache.

    Returns
    -------
    module
        The ``umap`` package.
    """
    import importlib
    import sys

    numba_cache()
    if "umap" in sys.modules or "tensorflow" in sys.modules:
        import umap
    else:
        sys.modules["tensorflow"] = None  # makes `import tensorflow` raise ImportError
        try:
            import umap
        finally:
            del sys.modules["tensorflow"]
    if not getattr(umap, "_fashion_cached", False):
        names = ("umap.umap_", "umap.layouts", "umap.utils", "umap.distances", "umap.sparse",
                 "umap.spectral", "pynndescent.pynndescent_", "pynndescent.utils",
                 "pynndescent.distances", "pynndescent.rp_trees", "pynndescent.sparse",
                 "pynndescent.graph_utils")
        mods = [importlib.import_module(n) for n in names if importlib.util.find_spec(n)]
        cache_compiled(mods)
        umap._fashion_cached = True
    return umap


def compile_kernels(progress: Optional[ProgressFn] = None) -> dict[str, float]:
    """Compile every numba kernel the maps use into the disk cache; seconds per group.

    Runs each on a few generated points: metric MDS (both routes) and UMAP
    (its layout and spectral start; its transform, which maps above
    :data:`PLACE_ABOVE` use). A later process loads them from the cache
    instead of compiling. No UMAP here builds pynndescent's index, whose
    search numba cannot cache (:class:`ExactIndex`).
    """
    numba_cache()
    rng = np.random.default_rng(0)
    Y = rng.standard_normal((200, 8)).astype(np.float32)
    seconds = {}
    steps = [
        ("MDS", lambda: mds(Y[:60], n_iter=5, landmarks=20, exact_max=40)),
        ("UMAP", lambda: umap_embed(Y, n_neighbors=5, n_iter=10)),
        # fitted on a sample and placing the others (large maps)
        ("UMAP transform", lambda: place(
            umap_model(Y[:150], n_neighbors=5, n_iter=10), Y[150:])),
    ]
    for i, (name, run) in enumerate(steps):
        report(progress, i / len(steps), f"compiling the {name} kernels")
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run()
        seconds[name] = round(time.perf_counter() - t0, 2)
    report(progress, 1.0, "kernels compiled")
    return seconds


#: UMAP's optimization epochs up to 10,000 points, where umap-learn would run
#: 500 (it runs 200 above). At 4,208 products: 300 epochs, 2.97 s and
#: trustworthiness 0.9506; 500, 4.67 s and 0.9521; 200, 2.11 s and 0.9479.
UMAP_SMALL_EPOCHS = 300


def _umap_epochs(n: int, n_iter: Optional[int]) -> Optional[int]:
    """Epochs of a UMAP fit of ``n`` points: ``n_iter`` when given, else the defaults above."""
    if n_iter:
        return int(n_iter)
    return UMAP_SMALL_EPOCHS if n <= 10_000 else None


def umap_embed(Y: np.ndarray, *, n_neighbors: int = 15, n_iter: Optional[int] = None,
               random_state: int = config.DEFAULT_RANDOM_STATE) -> tuple[np.ndarray, str]:
    """UMAP (umap-learn) on exact neighbours, seeded, hence single-threaded and reproducible.

    The coordinates of :func:`umap_model`.
    """
    model = umap_model(Y, n_neighbors=n_neighbors, n_iter=n_iter, random_state=random_state)
    return (np.asarray(model.embedding_, dtype=np.float32),
            f"umap-learn on exact neighbours, {model.n_neighbors} neighbours, seeded (1 thread)")


def tsne_model(Y: np.ndarray, *, perplexity: float = 30.0, n_iter: int = 250,
               random_state: int = config.DEFAULT_RANDOM_STATE, n_jobs: Optional[int] = None):
    """A fitted openTSNE embedding of ``Y``, kept to place other points (:func:`place`).

    :func:`tsne`'s settings (PCA initialization, :data:`EARLY_EXAGGERATION_ITER`,
    Barnes-Hut below 10,000 points, FFT above).

    Parameters
    ----------
    Y : ndarray of shape (n_samples, n_dims)
    perplexity : float, default 30
    n_iter : int, default 250
    random_state : int, default 42
    n_jobs : int, optional
        Default: the CPUs this process may use.

    Returns
    -------
    openTSNE.TSNEEmbedding
        An ndarray of shape (n_samples, 2) with the affinities that
        ``transform`` needs.
    """
    return _tsne_estimator(len(Y), perplexity, n_iter, random_state, n_jobs or n_threads()).fit(
        np.ascontiguousarray(Y, dtype=np.float64))


class ExactIndex:
    """Exact nearest neighbours in the shape of umap-learn's search index.

    umap-learn's ``transform`` asks its fitted neighbour index for each new
    point's neighbours (``query``); that index is pynndescent's, whose search
    numba compiles again in every process (about 17 s before a process's first
    UMAP above :data:`PLACE_ABOVE`), because it takes a function argument that
    numba cannot cache. This one answers the same question exactly, with
    scikit-learn's brute-force search (:func:`_exact_knn`), and is handed to
    UMAP with the fitted neighbours (``precomputed_knn``), so no approximate
    index is ever built.
    """

    _angular_trees = False  # read by umap-learn's transform

    def __init__(self, Y: np.ndarray):
        from sklearn.neighbors import NearestNeighbors

        self._nn = NearestNeighbors(algorithm="brute").fit(np.asarray(Y, dtype=np.float64))

    def query(self, X: np.ndarray, k: int, epsilon: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Indices (int32) and distances (float32) of each row's ``k`` nearest fitted rows."""
        dist, idx = self._nn.kneighbors(np.asarray(X, dtype=np.float64), int(k))
        return idx.astype(np.int32), dist.astype(np.float32)


def umap_model(Y: np.ndarray, *, n_neighbors: int = 15, n_iter: Optional[int] = None,
               random_state: int = config.DEFAULT_RANDOM_STATE):
    """A fitted ``umap.UMAP`` of ``Y``, kept to place other points (:func:`place`).

    Fitted on exact neighbours (:func:`_exact_knn`), with an
    :class:`ExactIndex` for ``transform`` to place others by: pynndescent's
    nn_descent takes a function argument, which numba cannot cache, so it
    compiled again in every process (about 28 s of a 37 s first UMAP at 4,200
    points); the exact search takes under a second there.

    Returns
    -------
    umap.UMAP
        ``embedding_`` holds the fitted coordinates.
    """
    import logging

    logging.getLogger("numba").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # umap-learn warns the index is not pynndescent's
        umap = import_umap()
        n_neighbors = int(min(n_neighbors, len(Y) - 1))
        index = ExactIndex(Y)
        knn_i, knn_d = _exact_knn(Y, n_neighbors, index)
        model = umap.UMAP(n_neighbors=n_neighbors, n_components=2,
                          n_epochs=_umap_epochs(len(Y), n_iter), random_state=random_state, n_jobs=1,
                          precomputed_knn=(knn_i, knn_d, index))
        model.fit(np.asarray(Y, dtype=np.float32))
    return model


def place(model, Y: np.ndarray, *, block: int = PLACE_BLOCK,
          progress: Optional[ProgressFn] = None) -> np.ndarray:
    """Positions of new points ``Y`` on a fitted t-SNE, UMAP or LLE map.

    openTSNE's ``TSNEEmbedding.transform`` (each point starts at the median
    of its neighbours in the fitted map, then is optimized against the fixed
    map), umap-learn's ``UMAP.transform`` or scikit-learn LLE's (barycentric
    weights of the point's neighbours), in blocks of ``block`` rows so
    memory stays bounded however many points there are.

    Parameters
    ----------
    model : openTSNE.TSNEEmbedding, umap.UMAP or LocallyLinearEmbedding
        From :func:`tsne_model`, :func:`umap_model` or :func:`lle_model`.
    Y : ndarray of shape (n_samples, n_dims)
        In the space the model was fitted in.
    block : int, default PLACE_BLOCK
    progress : callable, optional

    Returns
    -------
    ndarray of shape (n_samples, 2), float32
    """
    out = np.empty((len(Y), 2), dtype=np.float32)
    # each in the float type it was fitted in: LLE's neighbour search on
    # float32 queries against its float64 index took 13.8 s instead of 4.6 s
    # for 32,072 products
    dtype = np.float32 if type(model).__module__.startswith("umap") else np.float64
    for start in range(0, len(Y), int(block)):
        part = Y[start:start + int(block)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = model.transform(np.ascontiguousarray(part, dtype=dtype))
        out[start:start + len(part)] = np.asarray(got, dtype=np.float32)
        report(progress, (start + len(part)) / len(Y),
               f"placed {start + len(part):,}/{len(Y):,} products on the fitted map")
    return out


def nested_sample(n_samples: int, size: int, random_state: int = 0) -> np.ndarray:
    """Sorted positions of a random sample of ``size`` of ``n_samples`` (all when fewer).

    The first ``size`` of one seeded permutation: for one seed a smaller
    sample is part of a larger one, so maps on samples of different sizes
    share their smallest sample's products.
    """
    if n_samples <= size:
        return np.arange(n_samples)
    order = np.random.default_rng(random_state).permutation(n_samples)
    return np.sort(order[:int(size)])


def _exact_knn(Y: np.ndarray, n_neighbors: int, index: Optional[ExactIndex] = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``n_neighbors`` nearest rows, itself first (UMAP's convention).

    scikit-learn's brute-force search (chunked matrix products and a heap per
    row, on every core), in float64: 0.05 s at 4,208 PCA-50 rows and 1.0 s at
    20,000, against 0.9 s and 9.5 s for :func:`core.neighbors.kneighbors`,
    which is built for a small query set against a large base. ``index``: an
    :class:`ExactIndex` of ``Y`` already built.

    Returns int32 indices and float32 Euclidean distances, shape (n_samples, n_neighbors).
    """
    k = int(n_neighbors)
    idx, dist = (index or ExactIndex(Y)).query(Y, k)
    rows = np.arange(len(Y))
    # An exact duplicate ties with the row itself at distance 0: put the row first.
    for r in np.flatnonzero(idx[:, 0] != rows):
        keep = idx[r] != r
        idx[r] = np.concatenate([[r], idx[r][keep]])[:k]
        dist[r] = np.concatenate([[0.0], dist[r][keep]])[:k]
    return idx, dist


# ----------------------------------------------------------------------------
# Quality
# ----------------------------------------------------------------------------
def trustworthiness(X: np.ndarray, coords: np.ndarray, n_neighbors: int = 10, *,
                    X_distances: Optional[np.ndarray] = None) -> float:
    """Trustworthiness of an embedding, as ``sklearn.manifold.trustworthiness``.

    How far the embedding's ``n_neighbors`` nearest neighbours of each point
    are from being its neighbours in ``X`` (1: all of them are).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Ignored when ``X_distances`` is given.
    coords : ndarray of shape (n_samples, n_components)
    n_neighbors : int, default 10
    X_distances : ndarray of shape (n_samples, n_samples), optional
        Precomputed distances in the input space (any monotone transform of
        Euclidean distances gives the same ranks).

    Returns
    -------
    float
    """
    from sklearn.neighbors import NearestNeighbors

    coords = np.asarray(coords, dtype=np.float64)
    n = len(coords)
    k = int(n_neighbors)
    if not k < n / 2:
        raise ValueError(f"n_neighbors ({k}) should be less than n_samples / 2 ({n / 2})")
    if X_distances is None:
        X_distances = pairwise_distances(X)
    neighbors = NearestNeighbors(n_neighbors=k).fit(coords).kneighbors(return_distance=False)
    penalty = 0.0
    block = max(1, 2_000_000 // (k * n))
    for start in range(0, n, block):
        rows = np.arange(start, min(n, start + block))
        D = np.asarray(X_distances[rows], dtype=np.float32)
        D[np.arange(len(rows)), rows] = -np.inf  # self is closest of all
        thr = np.take_along_axis(D, neighbors[rows], axis=1)
        # rank of j among i's neighbours in X, 1 for the nearest (self excluded)
        ranks = (D[:, None, :] < thr[:, :, None]).sum(axis=2)
        excess = ranks - k
        penalty += float(excess[excess > 0].sum())
    return float(1.0 - penalty * (2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))))


def knn_accuracy(coords: np.ndarray, labels: np.ndarray, n_neighbors: int = 10,
                 n_splits: int = 5) -> float:
    """Mean 5-fold (stratified, unshuffled) cross-validated k-NN accuracy on ``coords``."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    with warnings.catch_warnings():
        # the tiny classes (Home: one row in the whole dataset) have fewer members than folds
        warnings.simplefilter("ignore", UserWarning)
        scores = cross_val_score(KNeighborsClassifier(n_neighbors=n_neighbors),
                                 np.asarray(coords, dtype=np.float64), np.asarray(labels),
                                 cv=StratifiedKFold(n_splits=n_splits))
    return float(np.mean(scores))


def evaluate(X: Optional[np.ndarray], coords: np.ndarray, labels: np.ndarray, *,
             n_neighbors: int = QUALITY_NEIGHBORS, sample_size: int = QUALITY_SAMPLE,
             random_state: int = 0, X_distances: Optional[np.ndarray] = None,
             sample: Optional[np.ndarray] = None) -> dict:
    """Quality figures of any 2-D embedding, all measured the same way.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features) or None
        The standardized features (needed unless ``X_distances`` is given).
    coords : ndarray of shape (n_samples, 2)
    labels : ndarray of shape (n_samples,)
        masterCategory labels.
    n_neighbors : int, default 10
    sample_size : int, default 5000
        Trustworthiness and silhouette use a fixed random sample of this
        many points when there are more.
    random_state : int, default 0
        Seed of the sample.
    X_distances : ndarray, optional
        Distances in ``X`` between the sampled points (see :func:`sample_indices`).
    sample : ndarray of int, optional
        The sample the distances belong to; by default :func:`sample_indices`.

    Returns
    -------
    dict
        ``trustworthiness``, ``knn_accuracy``, ``silhouette``.
    """
    coords = np.asarray(coords, dtype=np.float64)
    labels = np.asarray(labels)
    n = len(coords)
    idx = sample_indices(n, sample_size, random_state) if sample is None else np.asarray(sample)
    if X_distances is None:
        X_distances = pairwise_distances(np.asarray(X)[idx])
    out = {
        "trustworthiness": trustworthiness(None, coords[idx], n_neighbors, X_distances=X_distances),
        "knn_accuracy": knn_accuracy(coords, labels, n_neighbors),
    }
    if len(np.unique(labels[idx])) >= 2:
        # as sklearn.metrics.silhouette_score, from one exact distance matrix
        # (0.03 s against 0.31 s at 4,208 points)
        from scipy.spatial.distance import cdist

        out["silhouette"] = float(silhouette_values(cdist(coords[idx], coords[idx]), labels[idx]).mean())
    else:
        out["silhouette"] = float("nan")
    return out


def sample_indices(n_samples: int, sample_size: int = QUALITY_SAMPLE, random_state: int = 0) -> np.ndarray:
    """The fixed sample the quality figures use: all points, or ``sample_size`` of them, sorted."""
    if n_samples <= sample_size:
        return np.arange(n_samples)
    return np.sort(np.random.default_rng(random_state).choice(n_samples, sample_size, replace=False))


def _features_of(sub, rows, progress=None) -> np.ndarray:
    """Standardized features of chosen rows, without the whole matrix on the Dask route."""
    if on_dask(sub):
        return images.standardize(pca.raw_pixels(sub, rows, progress=progress), pca.pixel_scale(sub))
    return np.asarray(sub.features(progress=progress)[rows])


def _reference_distances(sub, progress=None) -> np.ndarray:
    """Cached distances of the quality sample in the standardized feature space.

    When the sample is every product, those the subsample's PCA left
    (:func:`core.pca.distances`).
    """
    n = len(sub.ids)
    idx = sample_indices(n)
    if len(idx) == n and n <= pca.DISTANCES_UP_TO and not on_dask(sub):
        return pca.distances(sub, progress=progress)

    def compute():
        return pairwise_distances(_features_of(sub, idx, progress))

    return cache.cached_array("manifold.reference_distances", 1,
                              (sub, QUALITY_SAMPLE, 0), compute)


def evaluate_subsample(sub, coords: np.ndarray, progress: Optional[ProgressFn] = None) -> dict:
    """:func:`evaluate` of any coordinates of ``sub`` (e.g. a scikit-learn call's).

    Uses the cached reference distances of ``sub``, so measuring several
    embeddings of one subsample computes them once.
    """
    coords = np.asarray(coords)
    if coords.shape != (len(sub.ids), 2):
        raise ValueError(f"coords must have shape ({len(sub.ids)}, 2), got {coords.shape}")
    D = _reference_distances(sub, progress)
    return evaluate(None, coords, sub.labels(), X_distances=D,
                    sample=sample_indices(len(coords)))


# ----------------------------------------------------------------------------
# Subsample level: cached
# ----------------------------------------------------------------------------
def on_dask(sub) -> bool:
    """Whether ``sub`` is too large for one process (:func:`core.scale.cluster.choose_route`)."""
    return scale_cluster.choose_route(len(sub.ids)) != "memory"


def _admit_embed(sub, method: str, params: tuple, *args, **kwargs) -> tuple[str, int, str]:
    """What a cold embedding costs, for :mod:`core.admission`.

    On the Dask route a method fits a bounded sample (:data:`FIT_SAMPLE`,
    :data:`SAMPLE_ONLY`) and places the others in blocks of
    :data:`PLACE_BLOCK`; the scores of every product it reads are ``4 n d``.
    """
    n = len(sub.ids)
    dims = dict(params).get("n_input_dims") or 2
    if on_dask(sub) and method != "pca":
        dims = min(int(dims), N_SCORES)
        fit = min(n, SAMPLE_ONLY.get(method, FIT_SAMPLE))
        cost = admission.embedding_bytes(fit, dims, method) + 4 * n * dims + 8 * n
        if method not in SAMPLE_ONLY:
            cost += admission.embedding_bytes(min(n, PLACE_BLOCK), dims, method)
        return (f"{DISPLAY_NAMES[method]} of {n:,} images (fitted on {fit:,})", cost,
                "Choose a smaller image size in the sidebar.")
    return (f"{DISPLAY_NAMES[method]} of {n:,} images", admission.embedding_bytes(n, int(dims), method),
            "Choose a smaller sample fraction in the sidebar.")


def _embed_by_sample(sub, method: str, p: dict, random_state: int, progress=None) -> Embedding:
    """:func:`embed` of a subsample on the Dask route: fitted on a sample (see the module notes)."""
    t0 = time.perf_counter()
    n = len(sub.ids)
    kept = pca.n_scores(sub, random_state, progress=scaled(progress, 0.0, 0.3))
    dims = int(min(p.get("n_input_dims") or N_SCORES, kept, n - 1))
    Y = pca.transform(sub, dims, random_state)
    rest = scaled(progress, 0.3, 1.0)
    name = DISPLAY_NAMES[method]
    extra: dict = {}
    if method in SAMPLE_ONLY:
        rows = nested_sample(n, SAMPLE_ONLY[method], random_state)
        report(progress, 0.3, f"{name} on a sample of {len(rows):,} of {n:,} products, PCA-{dims}")
        if method == "lle":
            coords, route = lle(Y[rows], n_neighbors=p["n_neighbors"], random_state=random_state)
        else:
            coords, route, extra = mds(Y[rows], n_iter=p["n_iter"], random_state=random_state,
                                       progress=rest)
        sample_only = len(rows) < n
        where = f"a sample of {len(rows):,} of {n:,} products" if sample_only else "every product"
        report(progress, 1.0, f"{name} done")
        return Embedding(coords=np.ascontiguousarray(coords, dtype=np.float32), method=method,
                         params=p, seconds=time.perf_counter() - t0,
                         route=f"{route}, on PCA-{dims} of {where}", extra=extra,
                         rows=rows if sample_only else None)
    rows = nested_sample(n, FIT_SAMPLE, random_state)
    report(progress, 0.3, f"{name}: fitting on {len(rows):,} of {n:,} products, PCA-{dims}")
    coords, route = fit_and_place(method, Y, rows, p, random_state, progress=scaled(progress, 0.3, 1.0))
    report(progress, 1.0, f"{name} done")
    return Embedding(coords=coords, method=method, params=p, seconds=time.perf_counter() - t0,
                     route=f"{route}, on PCA-{dims}")


def fit_and_place(method: str, Y: np.ndarray, rows: np.ndarray, p: dict, random_state: int,
                  progress: Optional[ProgressFn] = None) -> tuple[np.ndarray, str]:
    """Fit ``method`` ("tsne", "umap" or "lle") on ``Y[rows]`` and place every other row.

    Returns the coordinates of every row of ``Y`` (the fitted ones keep
    their fitted positions) and the route in words.
    """
    n = len(Y)
    name = DISPLAY_NAMES[method]
    if method == "tsne":
        model = tsne_model(Y[rows], perplexity=p["perplexity"], n_iter=p["n_iter"],
                           random_state=random_state)
        fitted, how = np.asarray(model, dtype=np.float32), "openTSNE transform"
    elif method == "umap":
        model = umap_model(Y[rows], n_neighbors=p["n_neighbors"], n_iter=p["n_iter"],
                           random_state=random_state)
        fitted, how = np.asarray(model.embedding_, dtype=np.float32), "umap-learn transform"
    elif method == "lle":
        model = lle_model(Y[rows], n_neighbors=p["n_neighbors"], random_state=random_state)
        fitted, how = np.asarray(model.embedding_, dtype=np.float32), "LLE's barycentric transform"
    else:
        raise ValueError(f"{name} has no out-of-sample transform")
    report(progress, 0.6, f"{name}: placing the other {n - len(rows):,} products")
    coords = np.empty((n, 2), dtype=np.float32)
    coords[rows] = fitted
    others = np.setdiff1d(np.arange(n), rows, assume_unique=True)
    if len(others):
        coords[others] = place(model, Y[others], progress=scaled(progress, 0.6, 1.0))
    return coords, (f"{name} fitted on {len(rows):,} of {n:,} products; "
                    f"the other {len(others):,} placed by {how}")


def shared_rows(embeddings) -> Optional[np.ndarray]:
    """The products every one of ``embeddings`` holds: ``None`` when each holds them all.

    Parameters
    ----------
    embeddings : iterable of Embedding
        Of one subsample.

    Returns
    -------
    ndarray of int or None
        Sorted positions in ``sub.frame()``; with :func:`nested_sample`'s
        samples, those of the smallest sample.
    """
    rows = None
    for emb in embeddings:
        if emb.rows is not None:
            rows = emb.rows if rows is None else np.intersect1d(rows, emb.rows)
    return rows


def coords_on(emb: Embedding, rows: Optional[np.ndarray]) -> np.ndarray:
    """``emb``'s coordinates of the products at ``rows`` (every product when ``None``).

    Raises
    ------
    ValueError
        When ``emb`` holds a sample that misses some of ``rows``.
    """
    coords = np.asarray(emb.coords)
    if rows is None:
        if emb.rows is not None:
            raise ValueError(f"{DISPLAY_NAMES[emb.method]} holds a sample of {len(emb.rows):,} "
                             "products, not all of them")
        return coords
    rows = np.asarray(rows)
    if emb.rows is None:
        return coords[rows]
    pos = np.searchsorted(emb.rows, rows)
    if (pos >= len(emb.rows)).any() or not np.array_equal(emb.rows[np.minimum(pos, len(emb.rows) - 1)], rows):
        raise ValueError(f"{DISPLAY_NAMES[emb.method]}'s sample misses some of the products asked for")
    return coords[pos]


@cache.memoize("manifold.embed", version=4, admit=_admit_embed)
def _embed(sub, method: str, params: tuple, random_state: int, progress=None) -> Embedding:
    p = dict(params)
    if method != "pca" and on_dask(sub):
        return _embed_by_sample(sub, method, p, random_state, progress)
    t0 = time.perf_counter()
    extra: dict = {}
    if method == "pca":
        coords, var2 = pca.projection_2d(sub, random_state, progress=progress)
        route = "PCA: first two principal components"
        extra["variance_2d"] = var2
    else:
        step = scaled(progress, 0.0, 0.3)
        Y, where = _input(sub, p.get("n_input_dims"), random_state, step)
        rest = scaled(progress, 0.3, 1.0)
        report(progress, 0.3, f"{DISPLAY_NAMES[method]} {where}")
        if len(Y) > PLACE_ABOVE.get(method, len(Y)):
            rows = nested_sample(len(Y), PLACE_ABOVE[method], random_state)
            coords, route = fit_and_place(method, Y, rows, p, random_state, progress=rest)
        elif method == "tsne":
            coords, route = tsne(Y, perplexity=p["perplexity"], n_iter=p["n_iter"],
                                 random_state=random_state, progress=rest)
        elif method == "lle":
            coords, route = lle(Y, n_neighbors=p["n_neighbors"], random_state=random_state)
        elif method == "mds":
            coords, route, extra = mds(Y, n_iter=p["n_iter"], random_state=random_state,
                                       progress=rest)
        else:
            coords, route = umap_embed(Y, n_neighbors=p["n_neighbors"], n_iter=p["n_iter"],
                                       random_state=random_state)
        route = f"{route}, {where}"
    report(progress, 1.0, f"{DISPLAY_NAMES[method]} done")
    return Embedding(coords=np.ascontiguousarray(coords, dtype=np.float32), method=method,
                     params=p, seconds=time.perf_counter() - t0, route=route, extra=extra)


def _embed_args(sub, method, n_input_dims, perplexity, n_neighbors, n_iter, random_state):
    params = method_params(method, n_input_dims=n_input_dims, perplexity=perplexity,
                           n_neighbors=n_neighbors, n_iter=n_iter)
    return sub, method, tuple(sorted(params.items())), int(random_state)


def embed(sub, method: str, *, n_input_dims=..., perplexity=..., n_neighbors=..., n_iter=...,
          random_state: int = config.DEFAULT_RANDOM_STATE,
          progress: Optional[ProgressFn] = None) -> Embedding:
    """2-D embedding of a subsample by one of :data:`METHODS`, cached.

    Parameters
    ----------
    sub : core.subsample.Subsample
    method : {"pca", "tsne", "lle", "mds", "umap"}
    n_input_dims : int or None, optional
        PCA components fed to the method (``None``: the full standardized
        features). Default per method in :data:`DEFAULTS` (50 for t-SNE and
        UMAP, 100 for MDS, 300 for LLE).
    perplexity : float, optional
        t-SNE only; default 30.
    n_neighbors : int, optional
        LLE (default 5, scikit-learn's) and UMAP (default 15).
    n_iter : int, optional
        t-SNE iterations after early exaggeration (default 250),
        MDS's maximum SMACOF iterations (300), UMAP's epochs (its own default).
    random_state : int, default 42
    progress : callable, optional

    Returns
    -------
    Embedding

    Notes
    -----
    Parameters a method does not use are ignored (and do not split the
    cache). ``embed.is_cached(sub, method, ...)`` tells whether a call would
    be served from the cache.
    """
    args = _embed_args(sub, method, n_input_dims, perplexity, n_neighbors, n_iter, random_state)
    return _embed(*args, progress=progress)


def _embed_is_cached(sub, method, *, n_input_dims=..., perplexity=..., n_neighbors=...,
                     n_iter=..., random_state=config.DEFAULT_RANDOM_STATE, **_ignored) -> bool:
    return _embed.is_cached(*_embed_args(sub, method, n_input_dims, perplexity, n_neighbors,
                                         n_iter, random_state))


embed.is_cached = _embed_is_cached


@cache.memoize("manifold.quality", version=2)
def _quality(sub, method: str, params: tuple, random_state: int, progress=None) -> dict:
    emb = _embed(sub, method, params, random_state, progress=scaled(progress, 0, 0.8))
    if emb.rows is not None:  # a sample-only map: measured on its own products
        X = _features_of(sub, emb.rows, scaled(progress, 0.8, 0.9))
        out = evaluate(X, emb.coords, sub.labels()[emb.rows])
        out["seconds"] = float(emb.seconds)
        return out
    out = evaluate_subsample(sub, emb.coords, progress=scaled(progress, 0.8, 1.0))
    out["seconds"] = float(emb.seconds)
    return out


def quality(sub, method: str, *, n_input_dims=..., perplexity=..., n_neighbors=..., n_iter=...,
            random_state: int = config.DEFAULT_RANDOM_STATE,
            progress: Optional[ProgressFn] = None) -> dict:
    """Quality figures of :func:`embed`'s result for the same arguments, cached.

    Returns
    -------
    dict
        ``trustworthiness`` (k=10, against the standardized features, on a
        fixed sample of 5,000 above that size), ``knn_accuracy`` (5-fold
        k-NN, k=10, masterCategory), ``silhouette`` (true labels, same
        sample), ``seconds`` (the embedding's cold time).
    """
    args = _embed_args(sub, method, n_input_dims, perplexity, n_neighbors, n_iter, random_state)
    return _quality(*args, progress=progress)

"""2-D maps of a catalogue too large to embed whole: fit on a sample, place the rest.

t-SNE and UMAP are fitted on a random sample of :data:`MAP_SAMPLE` rows of the
PCA-50 scores (the in-memory route's input, :data:`core.manifold.DEFAULTS`),
then every other row is placed by the method's own out-of-sample transform
(openTSNE's ``TSNEEmbedding.transform``, umap-learn's ``UMAP.transform``),
one task per chunk of the store on the workers; the sampled rows keep their
fitted positions. The fitted model is sent to each worker once.

PCA's map is the first two scores of every row. LLE and MDS have no
out-of-sample transform worth its cost: above :data:`SAMPLE_ONLY` rows they
are fitted on a sample only, and the result says so (``sample_only``), so a
page can show "a sample of N products".

Why 20,000: t-SNE's FFT gradient on 20,000 points takes about a minute on 2
cores and keeps the catalogue's clusters; the transform then costs per row,
in parallel.
"""
from __future__ import annotations

import time
import warnings
from typing import Optional

import numpy as np

from .. import config, manifold, mds
from ..progress import ProgressFn, report, scaled
from .groups import sample_rows
from .progress import track
from .store import FeatureStore, read_rows

#: Rows t-SNE and UMAP are fitted on (the pages' sample size, one home).
MAP_SAMPLE = manifold.FIT_SAMPLE
#: Rows LLE and MDS are fitted on; above this they are sample-only.
SAMPLE_ONLY = manifold.SAMPLE_ONLY
#: Rows trustworthiness is measured on (as core.manifold).
QUALITY_SAMPLE = manifold.QUALITY_SAMPLE


def _fit_tsne(Y: np.ndarray, random_state: int):
    p = manifold.DEFAULTS["tsne"]
    return manifold.tsne_model(Y, perplexity=p["perplexity"], n_iter=p["n_iter"],
                               random_state=random_state)


def _fit_umap(Y: np.ndarray, random_state: int):
    p = manifold.DEFAULTS["umap"]
    return manifold.umap_model(Y, n_neighbors=p["n_neighbors"], n_iter=p["n_iter"],
                               random_state=random_state)


def _transform_task(store: FeatureStore, i: int, dims: int, method: str, payload: bytes,
                    name: str) -> int:
    import pickle

    model = pickle.loads(payload)
    start, stop = store.bounds(i)
    g = store.group("r+")
    x = np.asarray(g["scores"][start:stop, :dims], dtype=np.float32)
    ok = ~np.isnan(x[:, 0])
    out = np.full((stop - start, 2), np.nan, dtype=np.float32)
    if ok.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method == "tsne":
                out[ok] = np.asarray(model.transform(np.ascontiguousarray(x[ok], dtype=np.float64)),
                                     dtype=np.float32)
            else:
                manifold.import_umap()
                out[ok] = np.asarray(model.transform(x[ok]), dtype=np.float32)
    g[name][start:stop] = out
    return int(ok.sum())


def embed(client, store: FeatureStore, method: str, *, sample_size: Optional[int] = None,
          random_state: int = config.DEFAULT_RANDOM_STATE,
          progress: Optional[ProgressFn] = None) -> dict:
    """A 2-D map of the catalogue by ``method``.

    Parameters
    ----------
    client : distributed.Client
    store : FeatureStore
        With PCA scores (:func:`core.scale.pca.fit`).
    method : {"pca", "tsne", "umap", "lle", "mds"}
    sample_size : int, optional
        Rows fitted; default :data:`MAP_SAMPLE` (t-SNE, UMAP) or
        :data:`SAMPLE_ONLY` (LLE, MDS).
    random_state : int, default 42
    progress : callable, optional

    Returns
    -------
    dict
        ``coords`` (n, 2) float32 and ``rows`` (their store rows): every
        readable row, or the sample alone when ``sample_only``;
        ``sample_only`` (bool), ``n_fitted`` (rows the method was fitted on),
        ``sample_rows`` (those rows), ``route``, ``seconds``.
    """
    from .pca import scores

    t0 = time.perf_counter()
    valid_rows = np.flatnonzero(store.valid())
    if method == "pca":
        coords = scores(store, 2)
        return {"coords": coords, "rows": valid_rows, "sample_only": False,
                "n_fitted": len(valid_rows), "sample_rows": valid_rows,
                "route": "PCA: first two components of every row",
                "seconds": time.perf_counter() - t0}
    if method in SAMPLE_ONLY:
        size = int(sample_size or SAMPLE_ONLY[method])
        rows = sample_rows(store, size, random_state)
        dims = manifold.DEFAULTS[method]["n_input_dims"]
        stored = store.group()["scores"].shape[1]
        report(progress, 0.05, f"{manifold.DISPLAY_NAMES[method]} on a sample of {len(rows):,}")
        if dims <= stored:
            Y = scores(store, dims, rows)
        else:  # LLE's 300 components: project the sample's own features
            from .pca import load

            res = load(store)
            Y = res.transform(read_rows(store, rows))[:, :dims]
        if method == "lle":
            coords, route = manifold.lle(Y, n_neighbors=manifold.DEFAULTS["lle"]["n_neighbors"],
                                         random_state=random_state)
        else:
            coords, route, _ = mds.mds(Y, n_iter=manifold.DEFAULTS["mds"]["n_iter"],
                                            random_state=random_state,
                                            progress=scaled(progress, 0.1, 1.0))
        sample_only = len(rows) < len(valid_rows)
        note = (f"a sample of {len(rows):,} of {len(valid_rows):,} products" if sample_only
                else f"all {len(rows):,} products")
        report(progress, 1.0, f"{manifold.DISPLAY_NAMES[method]} done ({note})")
        return {"coords": np.asarray(coords, dtype=np.float32), "rows": rows,
                "sample_only": sample_only, "n_fitted": len(rows), "sample_rows": rows,
                "route": f"{route}, on PCA-{Y.shape[1]} of {note}",
                "seconds": time.perf_counter() - t0}
    if method not in ("tsne", "umap"):
        raise ValueError(f"unknown map {method!r}; choose one of {', '.join(manifold.METHODS)}")
    dims = int(min(manifold.DEFAULTS[method]["n_input_dims"], store.group()["scores"].shape[1]))
    rows = sample_rows(store, int(sample_size or MAP_SAMPLE), random_state)
    Y = scores(store, dims, rows)
    name = manifold.DISPLAY_NAMES[method]
    report(progress, 0.0, f"{name}: fitting on {len(rows):,} sampled rows")
    model = _fit_tsne(Y, random_state) if method == "tsne" else _fit_umap(Y, random_state)
    fitted = np.asarray(model if method == "tsne" else model.embedding_, dtype=np.float32)
    g = store.group("r+")
    path = f"maps/{method}"
    g.require_group("maps").create_array(method, shape=(store.n_rows, 2),
                                         chunks=(store.chunk_rows, 2), dtype="float32",
                                         fill_value=np.nan, overwrite=True)
    todo = [i for i in range(store.n_chunks)
            if not np.isin(np.arange(*store.bounds(i)), rows).all()]
    import pickle

    # Pickled whole: Dask's array serializer would send openTSNE's TSNEEmbedding,
    # an ndarray subclass, as a plain array without its affinities.
    model_f = client.scatter(pickle.dumps(model), broadcast=True)
    futs = [client.submit(_transform_task, store, i, dims, method, model_f, path, pure=False)
            for i in todo]
    track(client, futs, scaled(progress, 0.5, 1.0), f"{name}: placing the other rows")
    arr = store.group("r+")[path]
    arr.set_orthogonal_selection((rows, slice(None)), fitted)
    coords = np.asarray(arr.get_orthogonal_selection((valid_rows, slice(None))))
    report(progress, 1.0, f"{name} done")
    how = "openTSNE transform" if method == "tsne" else "umap-learn transform"
    return {"coords": coords, "rows": valid_rows, "sample_only": False, "n_fitted": len(rows),
            "sample_rows": rows,
            "route": f"{name} fitted on {len(rows):,} sampled rows (PCA-{dims}); the other "
                     f"{len(valid_rows) - len(rows):,} placed by {how} on the cluster",
            "seconds": time.perf_counter() - t0}


def _trust_task(store: FeatureStore, rows, coords, n_neighbors: int) -> float:
    X = read_rows(store, rows)
    return manifold.trustworthiness(X, coords, n_neighbors)


def trustworthiness(client, store: FeatureStore, result: dict, sample_size: int = QUALITY_SAMPLE,
                    random_state: int = 0) -> float:
    """Trustworthiness (k=10) of a map against the standardized features, on a sample.

    The sample is drawn from the rows the map covers; the distances are
    computed on a worker.
    """
    rows = np.asarray(result["rows"])
    pick = manifold.sample_indices(len(rows), sample_size, random_state)
    return float(client.submit(_trust_task, store, rows[pick], np.asarray(result["coords"])[pick],
                               manifold.QUALITY_NEIGHBORS, pure=False).result())

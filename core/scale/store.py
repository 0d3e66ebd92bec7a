"""The chunked feature store: decoded pixels on disk, standardized when read.

One Zarr group per catalogue and image setting, written once by
:func:`build_store` as a Dask task per chunk of rows, and read as a
:class:`dask.array.Array` by :func:`features`:

``pixels``  uint8 ``(n_rows, n_features)``, chunks of :data:`CHUNK_ROWS` rows
            (rows of ``core.images.decode(...).ravel()``; zeros where the
            image is unreadable);
``status``  int8 ``(n_rows,)``: 0 readable, 1 missing file, 2 unreadable;
``sums``, ``sumsq``  float64 ``(n_chunks, n_features)``: each chunk's column
            sums over its readable rows (exact: integers below 2**53);
``done``    uint8 ``(n_chunks,)``: 1 once a chunk's rows, status and sums are
            all written: the chunk is never decoded again;
``mean``, ``std``  float64 ``(n_features,)``: written when every chunk is done.

A killed run continues from the chunks marked done. Standardization is
blockwise when the features are read (:func:`core.images.standardize` per
block, with the stored mean and standard deviation), so the float matrix
never exists whole anywhere.

Where the store lives: ``$FASHION_DASK_STORE`` (a folder or an fsspec URL all
workers can write), else ``<cache>/scale``.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from .. import cache, config, images
from ..progress import ProgressFn, report
from .progress import track

STORE_ENV = "FASHION_DASK_STORE"
IMAGES_ENV = "FASHION_DASK_IMAGES"
#: Rows per chunk: 20 MB of uint8 pixels at 100x100, 80 MB once standardized
#: to float32, the largest block any task holds.
CHUNK_ROWS = 2000
STORE_VERSION = 1

READABLE, MISSING, UNREADABLE = 0, 1, 2


# ----------------------------------------------------------------------------
# Which rows
# ----------------------------------------------------------------------------
def catalogue_rows(dataset, fraction: float = 1.0, seed: int = config.DEFAULT_SAMPLE_SEED) -> pd.DataFrame:
    """The subsample's rows with an image file, in :class:`core.subsample.Subsample`'s order.

    The same selection as ``Subsample.frame()`` except that readability is
    not checked here (that needs every image decoded, which is the store's
    job): rows whose image turns out unreadable are flagged in the store's
    ``status`` and left out of the features.

    Returns
    -------
    pandas.DataFrame
        The styles columns and ``label``.
    """
    from ..styles import clean_styles, load_styles
    from ..subsample import Subsample

    styles, _ = load_styles(dataset)
    clean, _ = clean_styles(styles, dataset.catalogue)
    sampled = clean.sample(frac=1, random_state=seed).sample(frac=fraction, random_state=seed)
    names = images.listing(dataset)
    has = np.fromiter((image_relpath(dataset, i) in names for i in sampled["id"]), bool, len(sampled))
    out = sampled[has].copy()
    mapping = {name: i for i, name in enumerate(Subsample(dataset).categories)}
    out["label"] = out[dataset.catalogue.primary].map(mapping).astype("int64")
    return out.reset_index(drop=True)


def image_relpath(dataset, product_id: int) -> str:
    """Where the catalogue keeps a product's image, relative to the dataset's root, with ``/``."""
    return Path(os.path.relpath(dataset.image_path(int(product_id)), dataset.root)).as_posix()


# ----------------------------------------------------------------------------
# Locations
# ----------------------------------------------------------------------------
def store_root() -> str:
    """``$FASHION_DASK_STORE``, else the ``scale`` folder of the cache."""
    return os.environ.get(STORE_ENV, "").strip() or str(config.cache_dir() / "scale")


def images_root(dataset) -> str:
    """Where workers read the images: ``$FASHION_DASK_IMAGES`` or the dataset's folder."""
    return os.environ.get(IMAGES_ENV, "").strip() or str(dataset.root)


def _join(root: str, name: str) -> str:
    return f"{root.rstrip('/')}/{name}" if "://" in root else os.path.join(root, name)


@dataclass(frozen=True)
class FeatureStore:
    """Where a catalogue's decoded pixels are stored and their shape.

    Attributes
    ----------
    url : str
        The Zarr group (folder or fsspec URL).
    n_rows, n_features, chunk_rows : int
    image_shape : tuple
        ``(size, size)`` or ``(size, size, 3)``.
    """

    url: str
    n_rows: int
    n_features: int
    chunk_rows: int
    image_shape: tuple

    @property
    def n_chunks(self) -> int:
        return -(-self.n_rows // self.chunk_rows)

    def bounds(self, i: int) -> tuple[int, int]:
        """Rows ``[start, stop)`` of chunk ``i``."""
        return i * self.chunk_rows, min(self.n_rows, (i + 1) * self.chunk_rows)

    def group(self, mode: str = "r"):
        import zarr

        return zarr.open_group(store=self.url, mode=mode)

    def ids(self) -> np.ndarray:
        return np.asarray(self.group()["ids"][:], dtype=np.int64)

    def status(self) -> np.ndarray:
        return np.asarray(self.group()["status"][:], dtype=np.int8)

    def valid(self) -> np.ndarray:
        """Boolean ``(n_rows,)``: rows with a readable image."""
        return self.status() == READABLE

    def is_complete(self) -> bool:
        return bool(self.group().attrs.get("complete", False))

    def scale(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel mean and standard deviation of the readable rows (float64)."""
        g = self.group()
        return np.asarray(g["mean"][:]), np.asarray(g["std"][:])

    def disk_bytes(self) -> int:
        """Bytes the store takes (local folders only; 0 for a URL)."""
        if "://" in self.url:
            return 0
        total = 0
        for folder, _, names in os.walk(self.url):
            for name in names:
                try:
                    total += os.path.getsize(os.path.join(folder, name))
                except OSError:
                    pass
        return total


def _url_for(parts: tuple) -> str:
    key = cache.make_key("scale.store", STORE_VERSION, *parts)
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:24]
    return _join(store_root(), f"features-{digest}.zarr")


def open_store(dataset, ids, image_size: int = config.DEFAULT_IMAGE_SIZE, color: bool = False,
               resample: str = "bicubic", chunk_rows: int = CHUNK_ROWS,
               url: Optional[str] = None) -> FeatureStore:
    """The store of ``ids``' images at these settings, created empty if absent.

    Parameters
    ----------
    dataset : core.dataset.Dataset
    ids : array-like of int
        Product ids, in the order of the rows.
    image_size, color, resample
        As for :func:`core.images.decode`.
    chunk_rows : int, default CHUNK_ROWS
    url : str, optional
        Explicit location; default under :func:`store_root`, named after a
        hash of the dataset fingerprint, the ids and the settings.

    Returns
    -------
    FeatureStore
    """
    import zarr

    if resample not in images.RESAMPLE_FILTERS:
        raise ValueError(f"unknown resample filter {resample!r}; use one of "
                         f"{', '.join(images.RESAMPLE_FILTERS)}")
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    if len(ids) == 0:
        raise ValueError("no rows to store")
    shape = (image_size, image_size, 3) if color else (image_size, image_size)
    d = int(np.prod(shape))
    ids_digest = hashlib.sha256(ids.tobytes()).hexdigest()[:20]
    url = url or _url_for((dataset, ids_digest, int(image_size), bool(color), str(resample),
                           int(chunk_rows)))
    store = FeatureStore(url=url, n_rows=len(ids), n_features=d, chunk_rows=int(chunk_rows),
                         image_shape=shape)
    g = zarr.open_group(store=url, mode="a")
    if "done" in g and g.attrs.get("version") == STORE_VERSION:
        if not np.array_equal(np.asarray(g["ids"][:]), ids):
            raise ValueError(f"the store at {url} holds other rows; remove it and run again")
        return store
    n, c, k = len(ids), int(chunk_rows), store.n_chunks
    g.create_array("ids", data=ids, chunks=(max(1, min(n, 1 << 20)),), overwrite=True)
    g.create_array("pixels", shape=(n, d), chunks=(c, d), dtype="uint8", fill_value=0,
                   overwrite=True)
    g.create_array("status", shape=(n,), chunks=(c,), dtype="int8", fill_value=-1, overwrite=True)
    for name in ("sums", "sumsq"):
        g.create_array(name, shape=(k, d), chunks=(1, d), dtype="float64", fill_value=0.0,
                       overwrite=True)
    # written last: its presence means the arrays above exist
    g.create_array("done", shape=(k,), chunks=(1,), dtype="uint8", fill_value=0, overwrite=True)
    g.attrs.update({"version": STORE_VERSION, "image_shape": list(shape),
                    "resample": str(resample), "complete": False})
    return store


# ----------------------------------------------------------------------------
# Writing (runs on the workers)
# ----------------------------------------------------------------------------
def _read_bytes(root: str, relpath: str) -> bytes:
    path = _join(root, relpath)
    if "://" in root:
        import fsspec

        with fsspec.open(path, "rb") as fh:
            return fh.read()
    with open(path, "rb") as fh:
        return fh.read()


def decode_chunk(store: FeatureStore, i: int, root: str, resample: str, paths: Sequence[str],
                 fit: str = "stretch") -> tuple[int, int]:
    """Decode chunk ``i`` of the store and write its pixels, status and sums, then mark it done.

    Runs on a worker; everything it needs comes in its arguments: ``paths``
    are the chunk's images relative to ``root`` and ``fit`` the catalogue's
    way to a square (:func:`core.images.decode`).

    Returns
    -------
    (i, n_readable)
    """
    import cv2

    cv2.setNumThreads(1)
    g = store.group("r+")
    start, stop = store.bounds(i)
    ids = np.asarray(g["ids"][start:stop], dtype=np.int64)
    size, color = store.image_shape[0], len(store.image_shape) == 3
    block = np.zeros((len(ids), store.n_features), dtype=np.uint8)
    status = np.full(len(ids), READABLE, dtype=np.int8)
    for r, (pid, rel) in enumerate(zip(ids, paths)):
        try:
            bgr = images.decode_bytes(_read_bytes(root, rel), rel.rsplit("/", 1)[-1])
        except FileNotFoundError:
            status[r] = MISSING
            continue
        except (images.UnreadableImage, OSError):
            status[r] = UNREADABLE
            continue
        block[r] = images.from_bgr(bgr, size, color, resample, fit).reshape(-1)
    ok = block[status == READABLE]
    g["pixels"][start:stop] = block
    g["status"][start:stop] = status
    # float64 sums of uint8 are exact integers: the merged mean and std do not
    # depend on how the rows were chunked
    g["sums"][i] = ok.sum(axis=0, dtype=np.float64)
    wide = ok.astype(np.float64)
    g["sumsq"][i] = np.einsum("ij,ij->j", wide, wide)
    g["done"][i] = 1
    return i, int(len(ok))


def merge_scale(n: int, total: np.ndarray, sq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation from column sums, as :func:`core.images.column_scale`.

    ``std`` is 1 where a feature is constant, so dividing by it is safe.
    """
    n = max(int(n), 1)
    mean = np.asarray(total, dtype=np.float64) / n
    var = np.maximum(np.asarray(sq, dtype=np.float64) / n - mean * mean, 0.0)
    std = np.sqrt(var)
    std[std == 0] = 1.0
    return mean, std


def _column_sums(store: FeatureStore, chunks: list) -> tuple[np.ndarray, np.ndarray]:
    g = store.group()
    total = np.zeros(store.n_features)
    sq = np.zeros(store.n_features)
    for i in chunks:
        total += g["sums"][i]
        sq += g["sumsq"][i]
    return total, sq


def build_store(client, dataset, ids, image_size: int = config.DEFAULT_IMAGE_SIZE,
                color: bool = False, resample: str = "bicubic", chunk_rows: int = CHUNK_ROWS,
                url: Optional[str] = None, progress: Optional[ProgressFn] = None) -> FeatureStore:
    """Decode ``ids``' images into the store on the cluster; resume where a run stopped.

    Parameters
    ----------
    client : distributed.Client
    dataset : core.dataset.Dataset
    ids : array-like of int
    image_size, color, resample, chunk_rows, url
        As for :func:`open_store`.
    progress : callable, optional
        ``progress(fraction, message)``; the first message holds the dashboard link.

    Returns
    -------
    FeatureStore
        Complete: every chunk decoded, ``mean`` and ``std`` written.

    Notes
    -----
    One task per chunk not yet marked done; at most one chunk of pixels and
    its sums live in a task. The column sums are merged in groups on the
    workers, so the client receives two vectors of ``n_features``.
    """
    store = open_store(dataset, ids, image_size, color, resample, chunk_rows, url)
    if store.is_complete():
        report(progress, 1.0, f"features of {store.n_rows:,} images already stored")
        return store
    done = np.asarray(store.group()["done"][:])
    todo = [int(i) for i in np.flatnonzero(done == 0)]
    root = images_root(dataset)
    all_ids = np.asarray(store.group()["ids"][:], dtype=np.int64)
    fit = dataset.catalogue.fit

    def chunk_paths(i: int) -> list[str]:
        start, stop = store.bounds(i)
        return [image_relpath(dataset, pid) for pid in all_ids[start:stop]]

    futures = [client.submit(decode_chunk, store, i, root, resample, chunk_paths(i), fit, pure=False)
               for i in todo]
    resumed = f", resuming: {store.n_chunks - len(todo)} of {store.n_chunks} chunks stored" \
        if len(todo) < store.n_chunks else ""
    track(client, futures, progress, f"decoding {store.n_rows:,} images{resumed}")
    groups = np.array_split(np.arange(store.n_chunks), max(1, min(store.n_chunks, 64)))
    parts = client.gather([client.submit(_column_sums, store, [int(i) for i in grp], pure=False)
                           for grp in groups])
    total = sum(p[0] for p in parts)
    sq = sum(p[1] for p in parts)
    n_valid = int(np.count_nonzero(store.valid()))
    mean, std = merge_scale(n_valid, total, sq)
    g = store.group("r+")
    g.create_array("mean", data=mean, overwrite=True)
    g.create_array("std", data=std, overwrite=True)
    g.attrs.update({"complete": True, "n_valid": n_valid})
    report(progress, 1.0, f"{n_valid:,} images decoded and stored")
    return store


# ----------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------
def _standardize_block(block, mean, std):
    return images.standardize(block, scale=(mean, std))


def pixels(store: FeatureStore):
    """The raw uint8 pixels of the readable rows, ``(n_valid, n_features)``, lazily."""
    import dask.array as da
    import zarr

    x = da.from_zarr(zarr.open_array(store=store.url, path="pixels", mode="r"))
    valid = store.valid()
    return x if valid.all() else x[valid]


def features(store: FeatureStore):
    """The standardized float32 features ``X`` of the readable rows, lazily.

    Returns
    -------
    dask.array.Array of shape (n_valid, n_features), float32
        Chunks of at most ``store.chunk_rows`` rows; each block is standardized
        by :func:`core.images.standardize` when computed.
    """
    import dask.array as da

    mean, std = store.scale()
    x = pixels(store)
    m = da.from_array(mean, chunks=-1)
    s = da.from_array(std, chunks=-1)
    return da.blockwise(_standardize_block, "ij", x, "ij", m, "j", s, "j", dtype=np.float32)


def read_rows(store: FeatureStore, rows) -> np.ndarray:
    """Standardized features of chosen store rows, ``(len(rows), n_features)`` float32."""
    import zarr

    rows = np.asarray(rows, dtype=np.int64)
    arr = zarr.open_array(store=store.url, path="pixels", mode="r")
    return images.standardize(arr.get_orthogonal_selection((rows, slice(None))),
                              scale=store.scale())

"""Decoding product images into feature matrices and thumbnails.

The notebook's route, kept as the default: OpenCV reads the file and converts it
to grayscale, then Pillow resizes it to 100x100 with its default (bicubic)
filter; the pixels are flattened and standardized per pixel. The filter matters:
OpenCV's default linear resize changes how many PCA components reach 95%.

One parallel pass (:func:`scan`) decodes every image of a dataset once and
records which files are readable, and why the others are not. The pixel
matrix of a subsample (its products, at its size, colour and filter) is a
second pass over just those images (:func:`pixels`), cached as a
memory-mapped ``.npy`` file.

What counts as readable: a non-empty file that OpenCV (or, failing that,
Pillow) decodes completely. A JPEG whose end-of-image marker is missing is
*truncated* and unreadable, even though OpenCV would silently decode its top
part and leave the rest grey. PNG, GIF or WebP files under a ``.jpg`` name,
grayscale, palette, CMYK and 16-bit images and images of an odd size are
readable: they are converted to 8-bit RGB or gray and resized like the others,
and :func:`scan` lists them under ``converted``.

Images of any size and aspect ratio take the same route. How one is fitted to
the analysis square is the catalogue's ``fit`` (:data:`core.catalogue.FITS`):
the Kaggle layout keeps the notebook's plain resize (``"stretch"``: its 60x80
photos become 100x100, as the notebook's features were), every other catalogue
is *letterboxed*: the image is padded to a square with white
(:data:`core.uploads.BACKGROUND`, the background of catalogue photos; gray 255
in grayscale), centred, then resized, so a wide photo is not squashed.
Where each item's file is comes from the dataset's description
(:meth:`core.dataset.Dataset.image_path`).
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Iterable, Optional

import cv2
import numpy as np
from PIL import Image

from . import cache, files, uploads
from .progress import report, scaled

logger = logging.getLogger(__name__)

PIL_FILTERS = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
    "lanczos": Image.Resampling.LANCZOS,
}
#: Resize filters accepted by :func:`decode`; ``"area"`` is OpenCV's INTER_AREA.
RESAMPLE_FILTERS: tuple[str, ...] = (*PIL_FILTERS, "area")

#: The shape of a Kaggle catalogue photo, ``(height, width)``; others are "odd size"
#: (noted for the Kaggle layout only: other catalogues have no native shape).
NATIVE_SHAPE = (80, 60)

#: Below this many files one process decodes faster than starting workers.
_PARALLEL_MIN = 3000
_CHUNK = 500
_SCAN_VERSION = 3
_PIXELS_VERSION = 3
class UnreadableImage(ValueError):
    """An image file that cannot be decoded; ``reason`` says why in a few words."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.reason = reason


# ----------------------------------------------------------------------------
# One file
# ----------------------------------------------------------------------------
def decode_bytes(data: bytes, name: str) -> np.ndarray:
    """Decode an encoded catalogue image through the one gate, as OpenCV reads it.

    :func:`core.uploads.decode_catalogue` applies the same limits to catalogue
    files as to uploads; its refusal is re-raised with the short reason the
    dataset summary counts (``"empty file"``, ``"truncated"``, ``"too large"``...).
    Takes bytes rather than a path so that a Dask worker can decode what it
    read from any file system.

    Parameters
    ----------
    data : bytes
        The file's contents (JPEG, PNG, WebP or GIF).
    name : str
        The file's name, for the error message.

    Returns
    -------
    numpy.ndarray
        BGR uint8 of shape ``(h, w, 3)``.

    Raises
    ------
    UnreadableImage
        When the bytes are empty, truncated, corrupt, too large or not an image.
    """
    try:
        return uploads.decode_catalogue(data, name)
    except uploads.UploadError as exc:
        raise UnreadableImage(name, exc.reason) from None


def read_bgr(path: os.PathLike | str) -> np.ndarray:
    """Decode an image file as OpenCV does, to BGR uint8 of shape ``(h, w, 3)``.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    UnreadableImage
        When it is empty, truncated, corrupt or not an image (``.reason``).
    """
    path = Path(path)
    return decode_bytes(path.read_bytes(), path.name)


def _resize(img: np.ndarray, image_size: int, resample: str) -> np.ndarray:
    if resample == "area":
        return cv2.resize(img, (image_size, image_size), interpolation=cv2.INTER_AREA)
    try:
        flt = PIL_FILTERS[resample]
    except KeyError:
        raise ValueError(f"unknown resample filter {resample!r}; use one of "
                         f"{', '.join(RESAMPLE_FILTERS)}") from None
    return np.asarray(Image.fromarray(img).resize((image_size, image_size), flt))


def _pad_square(img: np.ndarray) -> np.ndarray:
    """``img`` centred on a white square as wide as its longer side (the letterbox)."""
    h, w = img.shape[:2]
    if h == w:
        return img
    side = max(h, w)
    if img.ndim == 3:
        canvas = np.empty((side, side, img.shape[2]), np.uint8)
        canvas[:] = np.asarray(uploads.BACKGROUND, np.uint8)
    else:
        r, g, b = uploads.BACKGROUND
        canvas = np.full((side, side), round(0.299 * r + 0.587 * g + 0.114 * b), np.uint8)
    top, left = (side - h) // 2, (side - w) // 2
    canvas[top:top + h, left:left + w] = img
    return canvas


def from_bgr(bgr: np.ndarray, image_size: int, color: bool, resample: str,
             fit: str = "stretch") -> np.ndarray:
    """A decoded image as the analysis square: grey or RGB, fitted, resized.

    The second half of :func:`decode`, for images already decoded by
    :func:`decode_bytes` or :func:`read_bgr`.

    Parameters
    ----------
    bgr : numpy.ndarray
        BGR uint8 of shape ``(h, w, 3)``.
    image_size : int
        Side of the square output.
    color : bool
        RGB instead of grayscale.
    resample : {"bicubic", "bilinear", "nearest", "lanczos", "area"}
        Resize filter.
    fit : {"stretch", "letterbox"}, default "stretch"
        Plain resize, or white padding to a square first.

    Returns
    -------
    numpy.ndarray
        uint8 of shape ``(image_size, image_size)`` or ``(image_size, image_size, 3)``.
    """
    img = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB if color else cv2.COLOR_BGR2GRAY)
    if fit == "letterbox":
        img = _pad_square(img)
    elif fit != "stretch":
        raise ValueError(f"unknown fit {fit!r}; use 'stretch' or 'letterbox'")
    return _resize(img, image_size, resample)


def decode(path: Path, image_size: int = 100, color: bool = False, resample: str = "bicubic",
           fit: str = "stretch") -> np.ndarray:
    """Decode one image file the notebook's way.

    OpenCV reads the file (any orientation, mode or size) and converts it to
    grayscale (or RGB), then it is fitted to a square (see the module's notes
    on ``fit``).

    Parameters
    ----------
    path : path-like
    image_size : int, default 100
        Side of the square output.
    color : bool, default False
        RGB instead of grayscale.
    resample : {"bicubic", "bilinear", "nearest", "lanczos", "area"}
        Resize filter; ``"bicubic"`` is Pillow's default, the notebook's.
    fit : {"stretch", "letterbox"}, default "stretch"
        Plain resize (the notebook's), or white padding to a square first.

    Returns
    -------
    numpy.ndarray
        uint8 array of shape ``(image_size, image_size)`` (grayscale) or
        ``(image_size, image_size, 3)`` (RGB).

    Raises
    ------
    ValueError
        When the file cannot be decoded (:class:`UnreadableImage`, whose
        ``reason`` says why), or the filter is unknown.
    FileNotFoundError
        When the file does not exist.
    """
    return from_bgr(read_bgr(path), image_size, color, resample, fit)


def features_from_rgb(rgb, image_size: int = 100, color: bool = False,
                      resample: str = "bicubic", fit: str = "stretch") -> np.ndarray:
    """Feature rows of images already decoded to RGB, through the same route as :func:`decode`.

    For images that never were a file of the dataset (an upload, say) and
    must land in the same feature space: the colour conversion and the resize
    are :func:`decode`'s own, so a photo gives the same row either way.

    Parameters
    ----------
    rgb : array-like of uint8, shape (n, h, w, 3)
    image_size, color, resample, fit
        As for :func:`decode`; a subsample's are ``sub.image_size``... and
        ``sub.dataset.catalogue.fit``.

    Returns
    -------
    numpy.ndarray of uint8, shape (n, image_size**2), or (n, 3 * image_size**2) for colour
        Rows of ``decode(...).ravel()``, as :func:`pixels` returns them.
    """
    rgb = np.asarray(rgb, dtype=np.uint8)
    out = np.empty((len(rgb), image_size * image_size * (3 if color else 1)), dtype=np.uint8)
    for i, img in enumerate(rgb):
        bgr = np.ascontiguousarray(img[:, :, ::-1])
        out[i] = from_bgr(bgr, image_size, color, resample, fit).reshape(-1)
    return out


def load_rgb(dataset, product_id: int) -> np.ndarray:
    """A product's image at its own size, RGB uint8 of shape ``(h, w, 3)``.

    Raises
    ------
    FileNotFoundError, UnreadableImage
        When the product has no image, or an unreadable one.
    """
    return np.ascontiguousarray(read_bgr(dataset.image_path(product_id))[:, :, ::-1])


# ----------------------------------------------------------------------------
# The pass over many files (runs in worker processes)
# ----------------------------------------------------------------------------
def _decode_rows(paths: list, ids: np.ndarray, start: int, out_path: Optional[str],
                 image_size: int, color: bool, resample: str, inspect: bool, fit: str) -> tuple:
    """Decode the files ``paths`` of ``ids`` into rows ``start:start+len(ids)`` of ``out_path``.

    Returns ``(start, n_done, {id: reason} of unreadable files, {note: [ids]})``.
    Unreadable rows are left as zeros. Runs in a worker process.
    """
    cv2.setNumThreads(1)
    out = np.load(out_path, mmap_mode="r+") if out_path else None
    failed: dict[int, str] = {}
    notes: dict[str, list] = {}
    try:
        for i, (pid, path) in enumerate(zip(ids, paths)):
            pid = int(pid)
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
                bgr = decode_bytes(data, os.path.basename(path))
            except UnreadableImage as exc:
                failed[pid] = exc.reason
                continue
            except FileNotFoundError:
                failed[pid] = "missing file"
                continue
            except OSError as exc:
                failed[pid] = f"cannot be read ({exc.strerror or exc})"
                continue
            if inspect:
                for note in uploads.conversion_notes(data, NATIVE_SHAPE):
                    # Only the Kaggle layout has a native shape; other catalogues' sizes all vary.
                    if fit == "stretch" or note != "odd size":
                        notes.setdefault(note, []).append(pid)
            if out is not None:
                out[start + i] = from_bgr(bgr, image_size, color, resample, fit).reshape(-1)
    finally:
        if out is not None:
            out.flush()
            del out
    return start, len(ids), failed, notes


def _n_jobs(n_jobs: Optional[int]) -> int:
    if n_jobs is not None and n_jobs > 0:
        return int(n_jobs)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def _decode_pass(dataset, ids: np.ndarray, out_path: Optional[Path], image_size: int,
                 color: bool, resample: str, inspect: bool, progress=None,
                 n_jobs: Optional[int] = None) -> tuple[dict, dict]:
    """Decode every id, in parallel when there are many; fill ``out_path`` if given."""
    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids)
    width = image_size * image_size * (3 if color else 1)
    if out_path is not None:
        out = np.lib.format.open_memmap(out_path, mode="w+", dtype=np.uint8, shape=(n, width))
        del out
    jobs = _n_jobs(n_jobs) if n >= _PARALLEL_MIN else 1
    chunk = max(1, min(_CHUNK, -(-n // (4 * jobs))))
    paths = [str(dataset.image_path(pid)) for pid in ids]
    tasks = [(paths[s:s + chunk], ids[s:s + chunk], s, str(out_path) if out_path else None,
              image_size, color, resample, inspect, dataset.catalogue.fit) for s in range(0, n, chunk)]
    failed: dict[int, str] = {}
    notes: dict[str, list] = {}
    done = 0
    what = "checking and decoding images" if inspect else "decoding images"
    report(progress, 0.0, f"{what} ({n:,}, {jobs} process{'es' if jobs > 1 else ''})")
    finished: set[int] = set()

    def collect(results) -> None:
        nonlocal done
        for start, n_done, f, nt in results:
            finished.add(start)
            failed.update(f)
            for k, v in nt.items():
                notes.setdefault(k, []).extend(v)
            done += n_done
            report(progress, done / max(n, 1), f"{what}: {done:,}/{n:,}")

    if jobs > 1:
        from joblib import Parallel, delayed

        try:
            collect(Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered",
                             batch_size=1)(delayed(_decode_rows)(*t) for t in tasks))
        except (OSError, RuntimeError, ImportError) as exc:
            # A pool that cannot start or loses a worker (a container without
            # /dev/shm, memory pressure) must not make the data unusable.
            logger.warning("parallel decoding failed (%s); finishing in this process", exc)
    collect(_decode_rows(*t) for t in tasks if t[2] not in finished)
    return failed, {k: sorted(v) for k, v in sorted(notes.items())}


def relative_path(dataset, product_id: int) -> str:
    """An item's image path relative to the dataset's root, as :func:`listing` names files ("" if none)."""
    if dataset.images is not None:
        return dataset.images.get(int(product_id), "")
    return dataset.catalogue.image_pattern.format(id=int(product_id))


def listing(dataset) -> set:
    """Image files of the dataset's image folders, as paths relative to its root.

    One directory read per folder that holds a described image, instead of a
    stat per row; files there that no row names are listed too.
    """
    from .catalogue import IMAGE_EXTENSIONS

    if dataset.images is None:
        folders = {dataset.images_dir.relative_to(dataset.root).as_posix()}
    else:
        folders = {Path(rel).parent.as_posix() for rel in dataset.images.values()}
    names = set()
    for folder in sorted(folders):
        prefix = "" if folder in ("", ".") else folder + "/"
        try:
            with os.scandir(dataset.root / folder) as it:
                for e in it:
                    if e.is_file() and (dataset.images is None
                                        or e.name.lower().endswith(IMAGE_EXTENSIONS)):
                        names.add(prefix + e.name)
        except OSError:
            continue
    return names


@cache.memoize("images.scan", version=_SCAN_VERSION)
def scan(dataset, progress=None, n_jobs=None) -> dict:
    """Which rows have a readable image, and why the others do not.

    Decodes every image of the rows of ``styles.csv`` once, in parallel, and
    keeps nothing of it but the verdict: the pixel matrices are built by
    :func:`pixels` for the products a subsample holds, so a 10% subsample
    resizes its own 4,208 images rather than all 42,072 (resizing is two
    thirds of a decode: 0.09 of 0.13 ms per image).

    Parameters
    ----------
    dataset : core.dataset.Dataset
        Its rows and image paths come from its description.
    progress : callable, optional
        ``progress(fraction, message)``.
    n_jobs : int, optional
        Worker processes; default: the CPUs this process may use (at most 8).

    Returns
    -------
    dict
        ``readable``: sorted int64 ids with a readable image; ``missing``:
        sorted ids of rows without an image file; ``unreadable``: id to
        reason (``"empty file"``, ``"truncated"``, ``"not an image"``,
        ``"corrupt"``...); ``converted``: note (``"png"``, ``"grayscale"``,
        ``"cmyk"``, ``"odd size"``...) to the sorted ids of readable images
        that needed it; ``files``: sorted int64 ids with a file.
    """
    from .styles import load_styles

    styles, _ = load_styles(dataset)
    ids = np.unique(styles["id"].to_numpy(dtype=np.int64))
    names = listing(dataset)
    has_file = np.fromiter((relative_path(dataset, pid) in names for pid in ids), dtype=bool,
                           count=len(ids))
    files, missing = ids[has_file], ids[~has_file]
    failed, notes = _decode_pass(dataset, files, None, 0, False, "bicubic", True, progress, n_jobs)
    bad = np.array(sorted(failed), dtype=np.int64)
    readable = files[~np.isin(files, bad)]
    report(progress, 1.0, f"{len(readable):,} readable images")
    return {
        "readable": readable,
        "missing": [int(i) for i in missing],
        "unreadable": {int(k): failed[k] for k in sorted(failed)},
        "converted": notes,
        "files": files,
    }


def pixels(dataset, ids: np.ndarray, image_size: int = 100, color: bool = False,
           resample: str = "bicubic", progress=None, n_jobs=None) -> np.ndarray:
    """Raw uint8 pixels of the readable images ``ids``, in the order given.

    The matrix of exactly these ids, decoded once (in parallel) and cached on
    disk per id list and image settings; a subsample reads its own matrix
    (:func:`core.pca.raw_pixels`) and slices rows from it, so a 10% sample
    never decodes the other 90%.

    Parameters
    ----------
    dataset : core.dataset.Dataset
    ids : array-like of int
        Product ids, all with a readable image (see :func:`scan`).
    image_size, color, resample
        As for :func:`decode`.
    progress : callable, optional
    n_jobs : int, optional
        Worker processes for a cold pass.

    Returns
    -------
    numpy.ndarray
        uint8, shape ``(len(ids), image_size**2)`` or ``(len(ids), 3 * image_size**2)``
        for colour (rows of ``decode(...).ravel()``): a read-only memory map,
        never loaded whole.

    Raises
    ------
    ValueError
        When an id has no readable image.
    """
    if resample not in RESAMPLE_FILTERS:
        raise ValueError(f"unknown resample filter {resample!r}; use one of "
                         f"{', '.join(RESAMPLE_FILTERS)}")
    order = np.asarray(ids, dtype=np.int64).reshape(-1)
    readable = scan(dataset, progress=scaled(progress, 0.0, 0.5), n_jobs=n_jobs)["readable"]
    ok = np.isin(order, readable)
    if not ok.all():
        bad = order[~ok][:5].tolist()
        raise ValueError(f"{int((~ok).sum())} ids have no readable image (e.g. {bad}); "
                         "select rows through Subsample or images.scan()['readable']")
    width = image_size * image_size * (3 if color else 1)
    if not len(order):
        return np.zeros((0, width), dtype=np.uint8)

    def build(tmp: Path) -> None:
        _decode_pass(dataset, order, tmp, image_size, color, resample, False,
                     scaled(progress, 0.5, 1.0), n_jobs)

    digest = hashlib.blake2b(order.tobytes(), digest_size=16).hexdigest()
    path = cache.cached_file("images.pixels", _PIXELS_VERSION,
                             (dataset, int(image_size), bool(color), str(resample), digest), build, ".npy")
    return np.load(path, mmap_mode="r")


def column_scale(x) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and standard deviation, accumulated over blocks of rows.

    The one standardization kernel of the project: :func:`standardize` applies
    it, and whoever must undo standardization (PCA reconstructions, sampled
    mixture images) or apply it to new rows reads it here.

    For uint8 pixels the block sums are exact in float32 (256 rows of 255
    squared stay below 2**24), which makes this several times faster than a
    float64 pass; other inputs take two float64 passes. The input may be
    memory-mapped: it is never copied whole.

    Parameters
    ----------
    x : array-like of shape (n_samples, n_features)

    Returns
    -------
    mean, std : numpy.ndarray of float64, shape (n_features,)
        ``std`` is 1 where a feature is constant, so dividing by it is safe.
    """
    if not hasattr(x, "shape"):
        x = np.asarray(x)
    if len(x.shape) != 2:
        raise ValueError(f"expected a 2-D array (n_samples, n_features), got shape {x.shape}")
    n, d = x.shape
    total = np.zeros(d, dtype=np.float64)
    sq = np.zeros(d, dtype=np.float64)
    if n == 0:
        return total, np.ones(d, dtype=np.float64)
    if x.dtype == np.uint8:
        step = 256
        for s in range(0, n, step):
            block = np.asarray(x[s:s + step], dtype=np.float32)
            total += block.sum(axis=0)
            sq += np.einsum("ij,ij->j", block, block)
        mean = total / n
        var = np.maximum(sq / n - mean * mean, 0.0)
    else:
        step = max(1, (1 << 22) // max(1, d))
        for s in range(0, n, step):
            total += np.asarray(x[s:s + step]).sum(axis=0, dtype=np.float64)
        mean = total / n
        for s in range(0, n, step):
            block = np.asarray(x[s:s + step], dtype=np.float64) - mean
            sq += np.einsum("ij,ij->j", block, block)
        var = sq / n
    std = np.sqrt(var)
    std[std == 0] = 1.0
    return mean, std


def standardize(x, scale: Optional[tuple[np.ndarray, np.ndarray]] = None) -> np.ndarray:
    """Per-feature zero mean, unit variance (as ``StandardScaler``), float32.

    Parameters
    ----------
    x : array-like of shape (n_samples, n_features)
        May be memory-mapped; processed in blocks of rows, so the whole
        matrix never exists as float64.
    scale : (mean, std), optional
        Statistics to apply (for new rows); default :func:`column_scale` of ``x``.
        Constant features are centred and left unscaled.

    Returns
    -------
    numpy.ndarray of float32, shape (n_samples, n_features)
    """
    if not hasattr(x, "shape"):
        x = np.asarray(x)
    if len(x.shape) != 2:
        raise ValueError(f"expected a 2-D array (n_samples, n_features), got shape {x.shape}")
    n, d = x.shape
    if n == 0:
        return np.zeros(x.shape, dtype=np.float32)
    mean, std = column_scale(x) if scale is None else scale
    out = np.empty(x.shape, dtype=np.float32)
    mean32 = np.asarray(mean, dtype=np.float32)
    inv32 = (1.0 / np.asarray(std, dtype=np.float64)).astype(np.float32)
    step = max(1, (1 << 22) // max(1, d))
    for s in range(0, n, step):
        np.subtract(x[s:s + step], mean32, out=out[s:s + step], dtype=np.float32)
        out[s:s + step] *= inv32
    return out


# ----------------------------------------------------------------------------
# Thumbnails for the browser
# ----------------------------------------------------------------------------
#: Longest side of a thumbnail; larger photos are shrunk to it, keeping their aspect ratio.
THUMB_MAX_SIDE = 240


def _browser_safe(data: bytes) -> bool:
    """A plain RGB or gray JPEG, small enough for a thumbnail, that every browser shows as is."""
    if uploads.sniff(data) != "JPEG" or not uploads.is_complete(data, "JPEG"):
        return False
    header = uploads.jpeg_header(data)
    return header is not None and header[0] in ("RGB", "L") and max(header[1]) <= THUMB_MAX_SIDE


def export_thumbnails(dataset, ids: Iterable[int], dest_dir: os.PathLike | str,
                      progress=None) -> Path:
    """Write ``<id>.jpg`` files a browser can show, for the readable ``ids``.

    Plain JPEGs of at most :data:`THUMB_MAX_SIDE` pixels a side are copied;
    anything else (PNG or WebP, CMYK, 16-bit, a large photo...) is decoded,
    shrunk to fit :data:`THUMB_MAX_SIDE` with its aspect ratio kept (never
    padded or cropped), and re-encoded as an RGB JPEG. Files are real files,
    not links (Streamlit's static serving refuses links that leave its
    folder), written atomically; those already present are left alone, and
    ids without a readable image are skipped.

    Parameters
    ----------
    dataset : core.dataset.Dataset
    ids : iterable of int
    dest_dir : path-like
        Created if needed.
    progress : callable, optional

    Returns
    -------
    pathlib.Path
        ``dest_dir``.
    """
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    present = {e.name for e in os.scandir(dest) if e.is_file()}
    todo = [int(i) for i in dict.fromkeys(int(i) for i in ids) if f"{int(i)}.jpg" not in present]
    for k, pid in enumerate(todo):
        src = dataset.image_path(pid)
        try:
            data = src.read_bytes()
            with files.atomic_path(dest / f"{pid}.jpg") as tmp:
                if _browser_safe(data):
                    tmp.write_bytes(data)
                else:
                    rgb = decode_bytes(data, src.name)[:, :, ::-1]
                    img = Image.fromarray(np.ascontiguousarray(rgb))
                    img.thumbnail((THUMB_MAX_SIDE, THUMB_MAX_SIDE), Image.Resampling.LANCZOS)
                    img.save(tmp, format="JPEG", quality=90)
        except (OSError, UnreadableImage):
            pass  # no thumbnail: the hover card shows the product's text alone
        if k % 500 == 0:
            report(progress, k / len(todo), f"writing thumbnails: {k:,}/{len(todo):,}")
    report(progress, 1.0, f"{len(todo):,} thumbnails written")
    return dest

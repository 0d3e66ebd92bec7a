"""Decoding product images into feature matrices and thumbnails.

The notebook's route, kept as the default: OpenCV reads the file and converts it
to grayscale, then Pillow resizes it to 100x100 with its default (bicubic)
filter; the pixels are flattened and standardized per pixel. The filter matters:
OpenCV's default linear resize changes how many PCA components reach 95%.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import cv2
import numpy as np
from PIL import Image

from . import cache, config

_PIL_FILTERS = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
    "lanczos": Image.Resampling.LANCZOS,
}


def decode(path: Path, image_size: int = 100, color: bool = False, resample: str = "bicubic") -> np.ndarray:
    """Decode one image file the notebook's way.

    Returns
    -------
    numpy.ndarray
        uint8 array of shape ``(image_size, image_size)`` (grayscale) or
        ``(image_size, image_size, 3)`` (RGB).

    Raises
    ------
    ValueError
        When the file cannot be decoded.
    """
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{path.name}: not a readable image")
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB if color else cv2.COLOR_BGR2GRAY)
    if resample == "area":
        return cv2.resize(img, (image_size, image_size), interpolation=cv2.INTER_AREA)
    return np.asarray(Image.fromarray(img).resize((image_size, image_size), _PIL_FILTERS[resample]))


@cache.memoize("images.scan", version=1)
def scan(dataset, progress=None) -> dict:
    """Which rows have a readable image.

    Returns
    -------
    dict
        ``readable``: sorted int64 ids; ``missing``: ids in styles.csv without a
        file; ``unreadable``: id to reason.
    """
    from .data import load_styles

    styles, _ = load_styles(dataset)
    readable, missing, unreadable = [], [], {}
    for i, pid in enumerate(styles["id"].to_numpy()):
        path = dataset.image_path(pid)
        if not path.exists():
            missing.append(int(pid))
            continue
        if cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is None:
            unreadable[int(pid)] = "not an image"
        else:
            readable.append(int(pid))
    return {"readable": np.array(sorted(readable), dtype=np.int64), "missing": missing,
            "unreadable": unreadable}


def pixels(dataset, ids: np.ndarray, image_size: int = 100, color: bool = False,
           resample: str = "bicubic", progress=None) -> np.ndarray:
    """Raw uint8 pixels of the readable images ``ids``, shape ``(n, features)``."""
    order = np.asarray(ids, dtype=np.int64)
    all_ids = scan(dataset)["readable"]

    def compute():
        out = np.empty((len(all_ids), image_size * image_size * (3 if color else 1)), np.uint8)
        for i, pid in enumerate(all_ids):
            out[i] = decode(dataset.image_path(pid), image_size, color, resample).ravel()
            if i % 500 == 0:
                config.report(progress, i / len(all_ids), "decoding images")
        return out

    matrix = cache.cached_array("images.pixels", 1,
                                (dataset, image_size, color, resample), compute)
    return np.asarray(matrix[np.searchsorted(all_ids, order)])


def standardize(x: np.ndarray) -> np.ndarray:
    """Per-feature zero mean, unit variance (as ``StandardScaler``), float32."""
    x = np.asarray(x, dtype=np.float32)
    mean = x.mean(axis=0, dtype=np.float64)
    std = x.std(axis=0, dtype=np.float64)
    std[std == 0] = 1.0
    return ((x - mean) / std).astype(np.float32)


def features(sub, progress=None) -> np.ndarray:
    """Standardized feature matrix of a :class:`core.data.Subsample`."""
    return standardize(pixels(sub.dataset, sub.ids, sub.image_size, sub.color, sub.resample,
                              progress=progress))

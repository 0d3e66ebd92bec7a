"""Product thumbnails as real files under ``static/``, served by Streamlit's static serving.

The hover card and the galleries load one small JPEG per product from
``app/static/thumbs/<dataset fingerprint>/<id>.jpg`` instead of carrying images
inside figures. The files are derived data: git-ignored, written by the app
itself when missing (the folder must be writable by the app's user), and
keyed by the dataset's fingerprint so another dataset never shows stale
pictures. Static serving refuses symlinks that leave ``static/``, so these are
copies, not links.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Iterable

import numpy as np

from core import config, files, images
from core.dataset import Dataset

#: Folder Streamlit serves at ``app/static/`` (beside ``app.py``).
STATIC_DIR = config.REPO_ROOT / "static"
THUMBS_DIR = STATIC_DIR / "thumbs"
_URL_PREFIX = "app/static/thumbs"

# Ids known to exist on disk, per fingerprint, so a rerun does not stat
# thousands of files.
_known: dict[str, set[int]] = {}
_lock = threading.Lock()


def thumbs_dir(dataset: Dataset) -> Path:
    """Folder of a dataset's thumbnails (not created here)."""
    return THUMBS_DIR / dataset.fingerprint


def thumb_base(dataset: Dataset) -> str:
    """URL prefix of a dataset's thumbnails, relative to the app's page, ending in ``/``."""
    return f"{_URL_PREFIX}/{dataset.fingerprint}/"


def thumb_url(dataset: Dataset, product_id: int) -> str:
    """URL of one product's thumbnail, relative to the app's page."""
    return f"{thumb_base(dataset)}{int(product_id)}.jpg"


def thumb_path(dataset: Dataset, product_id: int) -> Path:
    """File of one product's thumbnail (which may not exist yet)."""
    return thumbs_dir(dataset) / f"{int(product_id)}.jpg"


def _existing(folder: Path) -> set[int]:
    found: set[int] = set()
    if folder.is_dir():
        with os.scandir(folder) as it:
            for entry in it:
                stem, dot, ext = entry.name.partition(".")
                if ext == "jpg" and stem.isdigit():
                    found.add(int(stem))
    return found


def missing(dataset: Dataset, ids: Iterable[int]) -> list[int]:
    """Ids among ``ids`` whose thumbnail file is not known to exist yet."""
    fp = dataset.fingerprint
    folder = thumbs_dir(dataset)
    wanted = np.unique(np.asarray(ids if isinstance(ids, np.ndarray) else list(ids),
                                  dtype=np.int64))
    with _lock:
        known = _known.get(fp)
        if known is None or not folder.is_dir():
            known = _existing(folder)
            _known[fp] = known
        return [int(i) for i in wanted if int(i) not in known]


def ensure_thumbnails(dataset: Dataset, ids: Iterable[int], progress=None) -> int:
    """Make sure the thumbnails of ``ids`` exist as files under ``static/thumbs``.

    The files are written by :func:`core.images.export_thumbnails` (JPEGs
    copied, anything else re-encoded, atomically).

    Parameters
    ----------
    dataset : core.dataset.Dataset
    ids : iterable of int
        Product ids; those without a readable image are skipped.
    progress : callable, optional
        ``progress(fraction, message)`` while files are written.

    Returns
    -------
    int
        Number of thumbnails that were missing before the call.
    """
    todo = missing(dataset, ids)
    if not todo:
        return 0
    folder = thumbs_dir(dataset)
    prune_old(dataset)
    images.export_thumbnails(dataset, todo, folder, progress=progress)
    with _lock:
        _known[dataset.fingerprint] = _existing(folder)
    return len(todo)


_pruned: set[str] = set()


def prune_old(dataset: Dataset) -> list[str]:
    """Remove the thumbnail folders of other data (older fingerprints), once per process.

    A folder modified within the last day is kept: another server process may
    still serve the data it belongs to. Leftover temporary files of a crashed
    export in the current folder go too.
    """
    with _lock:
        if dataset.fingerprint in _pruned:
            return []
        _pruned.add(dataset.fingerprint)
    removed = files.prune_folders(THUMBS_DIR, keep={dataset.fingerprint})
    files.prune_temporaries(thumbs_dir(dataset))
    return removed


def forget() -> None:
    """Drop the in-memory list of existing thumbnails (after the folder was cleared)."""
    with _lock:
        _known.clear()

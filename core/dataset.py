"""Which dataset folder: finding, fingerprinting and downloading a catalogue in the Kaggle layout.

A dataset folder holds ``styles.csv`` and ``images/<id>.jpg`` (or the same
layout one level down, as the Kaggle archive nests it). The folder is chosen by
:func:`resolve_dataset`: an explicit argument, else ``$FASHION_DATA_DIR``, else
a copy fetched earlier by ``python -m core download``, else the generated demo
set. The choice is server-side configuration only. Reading ``styles.csv`` lives
in :mod:`core.styles`, the images in :mod:`core.images`.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import config, demo, files
from .progress import report


class DatasetError(ValueError):
    """A dataset folder that cannot be used, with a message a person can act on."""


@dataclass(frozen=True)
class Dataset:
    """A dataset folder and its fingerprint.

    Attributes
    ----------
    root : pathlib.Path
        Folder holding ``styles.csv`` and ``images/``.
    kind : str
        Where it came from: ``"argument"``, ``"env"``, ``"downloaded"`` or
        ``"demo"``.
    fingerprint : str
        Hash of the file list, sizes, mtimes and the content of ``styles.csv``;
        part of every cache key derived from this dataset.
    """

    root: Path
    kind: str
    fingerprint: str

    @property
    def is_demo(self) -> bool:
        """True for the generated, synthetic demo set."""
        return self.kind == "demo"

    @property
    def styles_path(self) -> Path:
        return self.root / "styles.csv"

    @property
    def images_dir(self) -> Path:
        return self.root / "images"

    def image_path(self, product_id: int) -> Path:
        """Path of a product's image (which may not exist)."""
        return self.images_dir / f"{int(product_id)}.jpg"

    def cache_key(self) -> tuple:
        return ("dataset", self.fingerprint)

    def describe(self) -> str:
        """One line for people: what data this is and where it came from."""
        if self.is_demo:
            return "Demo set: synthetic product images generated locally (not real data)"
        origin = {"argument": "given with --data", "env": f"${config.DATA_ENV}",
                  "downloaded": "downloaded copy"}.get(self.kind, self.kind)
        return f"{self.root.name} ({origin})"


def layout_root(folder: Path) -> Optional[Path]:
    """The folder itself, or its single child, that holds the Kaggle layout."""
    if (folder / "styles.csv").is_file() and (folder / "images").is_dir():
        return folder
    if folder.is_dir():
        for child in sorted(folder.iterdir()):
            if child.is_dir() and (child / "styles.csv").is_file() and (child / "images").is_dir():
                return child
    return None


def fingerprint(root: os.PathLike | str) -> str:
    """Fingerprint of a dataset folder.

    Hashes the sorted image file list with sizes and mtimes, and the bytes of
    ``styles.csv``. Any added, removed, resized or touched file changes it.
    """
    root = Path(root)
    h = hashlib.sha256()
    h.update((root / "styles.csv").read_bytes())
    entries = []
    with os.scandir(root / "images") as it:
        for entry in it:
            if entry.is_file():
                st = entry.stat()
                entries.append(f"{entry.name}\0{st.st_size}\0{st.st_mtime_ns}")
    entries.sort()
    h.update("\n".join(entries).encode())
    return h.hexdigest()[:20]


def open_dataset(folder: os.PathLike | str, kind: str = "argument") -> Dataset:
    """Open a dataset folder (or its parent, when the layout is one level down).

    Raises
    ------
    DatasetError
        When the folder or its ``styles.csv`` / ``images/`` is missing.
    """
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise DatasetError(f"dataset folder {folder} does not exist")
    root = layout_root(folder)
    if root is None:
        raise DatasetError(
            f"{folder} does not hold the Kaggle layout: expected styles.csv and an images/ "
            "folder there or one level down"
        )
    return Dataset(root=root.resolve(), kind=kind, fingerprint=fingerprint(root))


def downloaded_dir(cache_directory=None) -> Path:
    """Where ``python -m core download`` puts the real dataset."""
    return config.cache_dir(cache_directory) / "data" / "fashion-small"


def resolve_dataset(data_dir: Optional[os.PathLike | str] = None, progress=None) -> Dataset:
    """The dataset to use: argument, ``$FASHION_DATA_DIR``, downloaded copy, demo.

    Parameters
    ----------
    data_dir : path-like, optional
        Explicit folder (the CLI's ``--data``).
    progress : callable, optional
        Progress callback, used when the demo set has to be generated.
    """
    if data_dir is not None and str(data_dir) != "":
        return open_dataset(data_dir, "argument")
    env = os.environ.get(config.DATA_ENV)
    if env:
        try:
            return open_dataset(env, "env")
        except DatasetError as exc:
            raise DatasetError(f"${config.DATA_ENV}: {exc}") from None
    downloaded = downloaded_dir()
    if layout_root(downloaded) is not None:
        return open_dataset(downloaded, "downloaded")
    root = demo.ensure_demo(demo.demo_dir(), progress=progress)
    return open_dataset(root, "demo")


# ----------------------------------------------------------------------------
# Fetching the real data
# ----------------------------------------------------------------------------
KAGGLE_HANDLE = "paramaggarwal/fashion-product-images-small"


def download(progress=None, dest: Optional[os.PathLike | str] = None) -> Path:
    """Fetch the real dataset from Kaggle into the cache, where :func:`resolve_dataset` finds it.

    Uses ``kagglehub`` (public datasets need no login), then copies the files
    into :func:`downloaded_dir` atomically (a partial copy is never seen).

    Parameters
    ----------
    progress : callable, optional
    dest : path-like, optional
        Target folder; default :func:`downloaded_dir`.

    Returns
    -------
    pathlib.Path
        The dataset folder.

    Raises
    ------
    DatasetError
        One line saying what failed (usually: no network) and how else to
        provide the data.
    """
    dest = Path(dest) if dest is not None else downloaded_dir()
    if layout_root(dest) is not None:
        report(progress, 1.0, f"already downloaded: {dest}")
        return dest
    report(progress, 0.0, f"downloading {KAGGLE_HANDLE} from Kaggle (about 600 MB)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fetch_dir = files.temporary_name(dest.parent / f"{dest.name}.download")
    try:
        try:
            import kagglehub

            try:  # straight into our folder, not also into kagglehub's own cache
                fetched = Path(kagglehub.dataset_download(KAGGLE_HANDLE, output_dir=str(fetch_dir)))
            except TypeError:  # an older kagglehub without output_dir
                fetched = Path(kagglehub.dataset_download(KAGGLE_HANDLE))
        except Exception as exc:  # kagglehub raises many kinds; all mean the same to a user
            text = str(exc).strip()
            detail = text.splitlines()[0] if text else type(exc).__name__
            raise DatasetError(
                f"could not download {KAGGLE_HANDLE} ({detail[:160]}); downloading needs the "
                f"network to reach kaggle.com. Without it, copy the dataset to a folder and pass "
                f"it with --data DIR or set {config.DATA_ENV}, or run without data to use the "
                f"demo set"
            ) from None
        root = layout_root(fetched)
        if root is None:
            raise DatasetError(f"the downloaded files at {fetched} do not hold styles.csv and images/")
        report(progress, 0.8, f"moving into {dest}")
        inside = fetch_dir.resolve()
        try:
            with files.atomic_path(dest) as tmp:
                if inside in root.resolve().parents or root.resolve() == inside:
                    shutil.move(root, tmp)  # a rename: both lie in the cache folder
                else:
                    tmp.mkdir()
                    shutil.copy2(root / "styles.csv", tmp / "styles.csv")
                    shutil.copytree(root / "images", tmp / "images")
        except OSError:
            if layout_root(dest) is None:  # not another process's finished copy
                raise
    finally:
        shutil.rmtree(fetch_dir, ignore_errors=True)
    report(progress, 1.0, f"dataset ready at {dest}")
    return dest

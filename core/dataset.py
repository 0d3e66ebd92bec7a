"""Which dataset folder: finding, describing and fingerprinting a catalogue, and downloading Kaggle's.

A dataset is a folder and the :class:`core.catalogue.Catalogue` that describes
it: the Kaggle layout (``styles.csv`` and ``images/<id>.jpg``, or the same one
level down, as the Kaggle archive nests it), a folder of class folders, or a
table described by ``catalogue.toml``, flags or environment variables. The
folder is chosen by :func:`resolve_dataset`: an explicit argument, else
``$FASHION_DATA_DIR``, else a copy fetched earlier by ``python -m core
download``, else the generated demo set. The choice is server-side
configuration only. Reading the table lives in :mod:`core.styles`, the images
in :mod:`core.images`.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

from . import catalogue, config, demo, files
from .catalogue import Catalogue, CatalogueError, DatasetError  # noqa: F401  (re-exported)
from .progress import report


@dataclass(frozen=True)
class Dataset:
    """A dataset folder, its description and its fingerprint.

    Attributes
    ----------
    root : pathlib.Path
        Folder the table's and the images' paths are relative to.
    kind : str
        Where it came from: ``"argument"``, ``"env"``, ``"downloaded"`` or
        ``"demo"``.
    fingerprint : str
        Hash of the table, the description and the image files (names, sizes,
        mtimes); part of every cache key derived from this dataset.
    catalogue : Catalogue
        What the columns mean and where the images are.
    images : mapping of int to str, optional
        Item id to its image path relative to ``root``, for descriptions whose
        paths are not a pattern of the id alone.
    """

    root: Path
    kind: str
    fingerprint: str
    catalogue: Catalogue = catalogue.KAGGLE
    images: Optional[Mapping[int, str]] = field(default=None, compare=False, repr=False)

    @property
    def is_demo(self) -> bool:
        """True for the generated, synthetic demo set."""
        return self.kind == "demo"

    @property
    def styles_path(self) -> Path:
        """The table file (None for a folder of class folders)."""
        return self.root / self.catalogue.table if self.catalogue.table else None

    @property
    def images_dir(self) -> Path:
        """The folder holding every image (at any depth below it)."""
        pattern = self.catalogue.image_pattern
        if pattern and self.images is None:
            static = pattern.split("{", 1)[0]
            return self.root / static.rsplit("/", 1)[0] if "/" in static else self.root
        return self.root

    def image_path(self, product_id: int) -> Path:
        """Path of an item's image (which may not exist), as the description places it."""
        if self.images is not None:
            rel = self.images.get(int(product_id))
            return self.root / rel if rel is not None else self.root / ".no-image" / str(int(product_id))
        return self.root / self.catalogue.image_pattern.format(id=int(product_id))

    def cache_key(self) -> tuple:
        return ("dataset", self.fingerprint)

    def describe(self) -> str:
        """One line for people: what data this is and where it came from."""
        if self.is_demo:
            return "Demo set: synthetic product images generated locally (not real data)"
        origin = {"argument": "given with --data", "env": f"${config.DATA_ENV}",
                  "downloaded": "downloaded copy"}.get(self.kind, self.kind)
        what = "" if self.catalogue == catalogue.KAGGLE else f", {self.catalogue.source}"
        return f"{self.root.name} ({origin}{what})"


def layout_root(folder: Path) -> Optional[Path]:
    """The folder itself, or its single child, that holds the Kaggle layout."""
    return catalogue._kaggle_root(Path(folder))


def fingerprint(root: os.PathLike | str) -> str:
    """Fingerprint of a dataset folder in the Kaggle layout.

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


def _described_fingerprint(root: Path, cat: Catalogue, images: Mapping[int, str]) -> str:
    """Fingerprint of a described catalogue: the description, its table and its image files."""
    h = hashlib.sha256(repr(cat.cache_key()).encode())
    for name in (cat.table, catalogue.DESCRIPTION_FILE):
        if name and (root / name).is_file():
            h.update(name.encode() + b"\0" + (root / name).read_bytes())
    entries = []
    for rel in sorted(set(images.values())):
        try:
            st = os.stat(root / rel)
            entries.append(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}")
        except OSError:
            entries.append(f"{rel}\0-")
    h.update("\n".join(entries).encode())
    return h.hexdigest()[:20]


def open_dataset(folder: os.PathLike | str, kind: str = "argument",
                 description: Optional[Mapping] = None) -> Dataset:
    """Open a catalogue: recognise or read its description, check it, fingerprint it.

    Parameters
    ----------
    folder : path-like
        A folder (or the table file) holding a catalogue; see
        :func:`core.catalogue.describe`.
    kind : str
        Where it came from (see :class:`Dataset`).
    description : mapping, optional
        Description fields from flags or the environment (keys of
        :data:`core.catalogue.ENV`).

    Raises
    ------
    DatasetError
        When the folder is missing, holds nothing recognisable, or its
        description does not fit the table (:class:`CatalogueError`, naming
        the file and the column, with the fix).
    """
    root, cat = catalogue.describe(folder, description)
    if cat.kind == "kaggle":
        if cat == catalogue.KAGGLE:
            fp = fingerprint(root)
        else:  # the Kaggle files, other label columns: other labels, other results
            fp = hashlib.sha256((fingerprint(root) + repr(cat.cache_key())).encode()).hexdigest()[:20]
        return Dataset(root=root, kind=kind, fingerprint=fp, catalogue=cat)
    _, images = catalogue.load_table(root, cat)
    return Dataset(root=root, kind=kind, fingerprint=_described_fingerprint(root, cat, images),
                   catalogue=cat, images=images)


def downloaded_dir(cache_directory=None) -> Path:
    """Where ``python -m core download`` puts the real dataset."""
    return config.cache_dir(cache_directory) / "data" / "fashion-small"


def resolve_dataset(data_dir: Optional[os.PathLike | str] = None, progress=None,
                    description: Optional[Mapping] = None) -> Dataset:
    """The dataset to use: argument, ``$FASHION_DATA_DIR``, downloaded copy, demo.

    Parameters
    ----------
    data_dir : path-like, optional
        Explicit folder or table file (the CLI's ``--data``).
    progress : callable, optional
        Progress callback, used when the demo set has to be generated.
    description : mapping, optional
        Description fields given as flags; they win over the environment's
        (:func:`core.catalogue.from_env`), which win over ``catalogue.toml``.
    """
    fields = {**catalogue.from_env(), **{k: v for k, v in dict(description or {}).items() if v}}
    if data_dir is not None and str(data_dir) != "":
        return open_dataset(data_dir, "argument", fields)
    env = os.environ.get(config.DATA_ENV)
    if env:
        try:
            return open_dataset(env, "env", fields)
        except DatasetError as exc:
            raise type(exc)(f"${config.DATA_ENV}: {exc}") from None
    downloaded = downloaded_dir()
    if layout_root(downloaded) is not None:
        return open_dataset(downloaded, "downloaded", fields)
    root = demo.ensure_demo(demo.demo_dir(), progress=progress)
    return open_dataset(root, "demo", fields)


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

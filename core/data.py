"""Finding, loading and subsampling a dataset in the Kaggle layout.

A dataset folder holds ``styles.csv`` and ``images/<id>.jpg`` (or the same
layout one level down, as the Kaggle archive nests it). The folder is chosen by
:func:`resolve_dataset`: an explicit argument, else ``$FASHION_DATA_DIR``, else
a copy fetched earlier by ``python -m core download``, else the generated demo
set. The choice is server-side configuration only.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from . import cache, config


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


def _layout_root(folder: Path) -> Optional[Path]:
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
    root = _layout_root(folder)
    if root is None:
        raise DatasetError(
            f"{folder} does not hold the Kaggle layout: expected styles.csv and an images/ "
            "folder there or one level down"
        )
    return Dataset(root=root.resolve(), kind=kind, fingerprint=fingerprint(root))


def downloaded_dir(cache_directory=None) -> Path:
    """Where ``python -m core download`` puts the real dataset."""
    return config.cache_dir(cache_directory) / "data" / "fashion-small"


def demo_dir(cache_directory=None) -> Path:
    """Where the generated demo set lives."""
    return config.cache_dir(cache_directory) / "data" / "demo"


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
    if _layout_root(downloaded) is not None:
        return open_dataset(downloaded, "downloaded")
    from . import demo

    root = demo.ensure_demo(demo_dir(), progress=progress)
    return open_dataset(root, "demo")


# ----------------------------------------------------------------------------
# styles.csv
# ----------------------------------------------------------------------------
@dataclass
class StylesReport:
    """What reading ``styles.csv`` found.

    Attributes
    ----------
    rows_read : int
        Data lines in the file.
    recovered : list of int
        Ids of rows whose name held unquoted commas, rejoined.
    dropped : dict
        Reason to list of ``(line_number, raw id)`` of dropped lines.
    """

    rows_read: int = 0
    recovered: list = field(default_factory=list)
    dropped: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "rows_read": self.rows_read,
            "recovered": len(self.recovered),
            "recovered_ids": list(self.recovered),
            "dropped": {k: len(v) for k, v in self.dropped.items()},
            "dropped_lines": {k: v for k, v in self.dropped.items()},
        }


def read_styles(path: os.PathLike | str) -> tuple[pd.DataFrame, StylesReport]:
    """Read a Kaggle ``styles.csv``, recovering what a plain ``read_csv`` loses.

    Returns
    -------
    styles : pandas.DataFrame
        One row per unique numeric id, columns :data:`core.config.STYLE_COLUMNS`,
        ``id`` as int64; missing fields are NaN (the null filter of
        :meth:`Subsample.frame` drops them later, and counts them).
    report : StylesReport
    """
    df = pd.read_csv(path)
    report = StylesReport(rows_read=len(df))
    df = df[list(config.STYLE_COLUMNS)]
    df["id"] = df["id"].astype("int64")
    return df, report


@cache.memoize("data.styles", version=1)
def load_styles(dataset: Dataset) -> tuple[pd.DataFrame, dict]:
    """Cached :func:`read_styles` of a dataset: the frame and the report as a dict."""
    df, report = read_styles(dataset.styles_path)
    return df, report.as_dict()


# ----------------------------------------------------------------------------
# The notebook's preparation
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Subsample:
    """The notebook's prepared subsample and the image settings of its features.

    The frame is: rows with any null dropped, then
    ``df.sample(frac=1, random_state=seed).sample(frac=fraction, random_state=seed)``,
    then rows with a readable image kept.

    Parameters
    ----------
    dataset : Dataset
    fraction : float, default 0.1
        Share of the cleaned rows; 1.0 takes everything.
    seed : int, default 42
        ``random_state`` of both ``sample`` calls.
    image_size : int, default 100
        Side of the square the images are resized to.
    color : bool, default False
        RGB instead of the notebook's grayscale.
    resample : {"bicubic", "bilinear", "nearest", "lanczos", "area"}
        Resize filter; ``"bicubic"`` is Pillow's default, the notebook's route.
    """

    dataset: Dataset
    fraction: float = config.DEFAULT_FRACTION
    seed: int = config.DEFAULT_SAMPLE_SEED
    image_size: int = config.DEFAULT_IMAGE_SIZE
    color: bool = False
    resample: str = "bicubic"

    def __post_init__(self):
        if not 0 < float(self.fraction) <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction}")

    def cache_key(self) -> tuple:
        return ("subsample", self.dataset.cache_key(), float(self.fraction), int(self.seed),
                int(self.image_size), bool(self.color), str(self.resample))

    def rows_key(self) -> tuple:
        """Key of the row selection alone (no image settings)."""
        return ("rows", self.dataset.cache_key(), float(self.fraction), int(self.seed))

    def frame(self) -> pd.DataFrame:
        """The subsample's rows, in the notebook's order, with a ``label`` column."""
        return _frame(self.dataset, float(self.fraction), int(self.seed))

    @property
    def ids(self) -> np.ndarray:
        return self.frame()["id"].to_numpy()

    def labels(self) -> np.ndarray:
        """Labels by the fixed mapping of :data:`core.config.LABELS`."""
        return self.frame()["label"].to_numpy()

    def features(self, progress=None) -> np.ndarray:
        """Standardized feature matrix ``X`` of shape ``(n_samples, n_features)``, float32."""
        from . import images

        return images.features(self, progress=progress)


@cache.memoize("data.frame", version=1)
def _frame(dataset: Dataset, fraction: float, seed: int) -> pd.DataFrame:
    from . import images

    styles, _ = load_styles(dataset)
    clean = styles.dropna()
    sampled = clean.sample(frac=1, random_state=seed).sample(frac=fraction, random_state=seed)
    readable = images.scan(dataset)["readable"]
    out = sampled[sampled["id"].isin(readable)].copy()
    out["label"] = out["masterCategory"].map(config.LABELS).astype("int64")
    return out.reset_index(drop=True)

"""The notebook's prepared subsample: which rows, in which order, and their feature matrix.

Data flows one way: :mod:`core.dataset` (which folder) → :mod:`core.styles`
(the table) → :mod:`core.images` (which images read, their pixels) → here →
the analysis modules, which take a :class:`Subsample`.

What the rows mean comes from the dataset's description
(:class:`core.catalogue.Catalogue`): :attr:`Subsample.label_columns`, the
primary label's :attr:`Subsample.categories` and :meth:`Subsample.labels`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import admission, cache, catalogue, config, images
from .dataset import Dataset
from .styles import clean_styles, load_styles


@dataclass(frozen=True)
class Subsample:
    """The notebook's prepared subsample and the image settings of its features.

    The frame is: the rows :func:`clean_styles` keeps (the Kaggle layout:
    no null and a known category; any other catalogue: an id, an image path
    and every label present), then
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
        """The subsample's rows, in the notebook's order, with a ``label`` column.

        ``frame.attrs`` names the description's ``label_columns``, the primary
        label's ``categories`` and the ``name_column``, so a figure given only
        the frame colours and names items as every page does.
        """
        out = _frame(self.dataset, float(self.fraction), int(self.seed))
        out.attrs.update(label_columns=self.label_columns, categories=self.categories,
                         name_column=self.dataset.catalogue.name_column)
        return out

    @property
    def ids(self) -> np.ndarray:
        return self.frame()["id"].to_numpy()

    @property
    def label_columns(self) -> tuple[str, ...]:
        """The catalogue's label columns, the primary one (maps' colours, the classifier's answer) first."""
        return self.dataset.catalogue.label_columns

    @property
    def categories(self) -> tuple[str, ...]:
        """Values of the primary label column in label order: ``categories[labels()[i]]`` names row i.

        Fixed by the catalogue, not by the subsample (see
        :func:`core.catalogue.label_order`): the Kaggle layout keeps the
        notebook's mapping, any other catalogue its sorted distinct values.
        """
        return _categories(self.dataset)

    def labels(self) -> np.ndarray:
        """Primary labels as integers, ``categories.index(value)`` of each row."""
        return self.frame()["label"].to_numpy()

    def features(self, progress=None) -> np.ndarray:
        """Standardized feature matrix ``X`` of shape ``(n_samples, n_features)``, float32.

        Rows in the subsample's order; see :func:`core.images.standardize`.

        Raises
        ------
        core.admission.OverBudget
            When the matrix alone would not fit this server's memory budget
            (a large catalogue at full size): refused before any pixel is
            read, with what to change. The pages' analyses read such a
            catalogue through the Dask feature store instead (:mod:`core.scale`).
        """
        side = int(self.image_size)
        need = 4 * len(self.ids) * side * side * (3 if self.color else 1)
        budget = admission.memory_budget()
        if need > budget:
            raise admission.OverBudget(
                f"The standardized features of {len(self.ids):,} images at {side}x{side} would "
                f"take {admission.format_gb(need)} GB, more than this server's memory budget "
                f"({admission.format_gb(budget)} GB, {admission.MEMORY_ENV}): choose a smaller "
                "sample fraction or image size in the sidebar.")
        return images.standardize(images.pixels(self.dataset, self.ids, self.image_size, self.color,
                                                self.resample, progress=progress))


@cache.memoize("data.categories", version=1)
def _categories(dataset: Dataset) -> tuple[str, ...]:
    styles, _ = load_styles(dataset)
    clean, _ = clean_styles(styles, dataset.catalogue)
    return catalogue.label_order(dataset.catalogue, clean[dataset.catalogue.primary].tolist())


@cache.memoize("data.frame", version=2)
def _frame(dataset: Dataset, fraction: float, seed: int) -> pd.DataFrame:
    styles, _ = load_styles(dataset)
    clean, _ = clean_styles(styles, dataset.catalogue)
    sampled = clean.sample(frac=1, random_state=seed).sample(frac=fraction, random_state=seed)
    readable = images.scan(dataset)["readable"]
    out = sampled[sampled["id"].isin(readable)].copy()
    mapping = {name: i for i, name in enumerate(_categories(dataset))}
    out["label"] = out[dataset.catalogue.primary].map(mapping).astype("int64")
    return out.reset_index(drop=True)

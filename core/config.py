"""Constants and locations shared by every module of :mod:`core`.

Nothing here touches the disk on import; folders are resolved when asked for.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

REPO_ROOT = Path(__file__).resolve().parent.parent

#: The seven masterCategory names with the notebook's fixed label mapping, for
#: the Kaggle layout only (other catalogues map their sorted distinct values,
#: see :func:`core.catalogue.label_order`). The order is the label:
#: Accessories is 0, Apparel 1, ... Home 6, whatever a subsample happens to hold.
CATEGORIES: tuple[str, ...] = (
    "Accessories",
    "Apparel",
    "Footwear",
    "Personal Care",
    "Free Items",
    "Sporting Goods",
    "Home",
)
LABELS: dict[str, int] = {name: i for i, name in enumerate(CATEGORIES)}

#: Colours of named groups (the primary label's categories in label order,
#: other columns' most frequent values), colour-blind safe: the Okabe-Ito
#: palette while it lasts (its black left out: it reads as the highlight
#: ring), then Paul Tol's "muted" scheme. Label ``i`` of the primary column
#: takes ``PALETTE[i]`` on every page; the Kaggle layout's seven categories
#: thus keep their colours.
PALETTE: tuple[str, ...] = (
    # Okabe-Ito
    "#E69F00", "#0072B2", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442",
    # Paul Tol, muted
    "#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99", "#999933",
    "#AA4499",
)
#: At most this many groups are named in a legend: past it, the first
#: ``MAX_NAMED_GROUPS - 1`` are named and the rest gathered as "Other (m
#: values)" in :data:`OTHER_COLOR`.
MAX_NAMED_GROUPS = len(PALETTE)
#: Colour of the "Other" group (and of values outside a catalogue's categories).
OTHER_COLOR = "#BBBBBB"


def category_colors(categories) -> dict[str, str]:
    """Colour of each category, by its position: ``PALETTE[i]`` for label ``i``, grey past the palette.

    Parameters
    ----------
    categories : sequence of str
        A primary label column's values in label order.

    Returns
    -------
    dict
        Category name to ``#RRGGBB``.
    """
    return {str(c): PALETTE[i] if i < len(PALETTE) else OTHER_COLOR for i, c in enumerate(categories)}


#: The Kaggle categories' colours (the Okabe-Ito palette in label order).
CATEGORY_COLORS: dict[str, str] = category_colors(CATEGORIES)

#: Columns of the Kaggle ``styles.csv``, in file order (its tolerant reader
#: and the demo set use them).
STYLE_COLUMNS: tuple[str, ...] = (
    "id",
    "gender",
    "masterCategory",
    "subCategory",
    "articleType",
    "baseColour",
    "season",
    "year",
    "usage",
    "productDisplayName",
)

#: Label columns of the Kaggle catalogue, the primary one first: what maps are
#: coloured by and what the classifier tags a photo with.
LABEL_COLUMNS: tuple[str, ...] = ("masterCategory", "subCategory", "articleType", "gender",
                                  "baseColour")

#: The notebook's defaults.
DEFAULT_FRACTION = 0.1
DEFAULT_SAMPLE_SEED = 42
DEFAULT_RANDOM_STATE = 42
DEFAULT_IMAGE_SIZE = 100

DATA_ENV = "FASHION_DATA_DIR"
CACHE_ENV = "FASHION_CACHE_DIR"

DATASET_SOURCE = "Kaggle: Fashion Product Images (Small), paramaggarwal/fashion-product-images-small"
DATASET_URL = "https://www.kaggle.com/datasets/paramaggarwal/fashion-product-images-small"
DATASET_LICENSE = "MIT (as published on Kaggle by Param Aggarwal)"

def cache_dir(directory: Optional[os.PathLike | str] = None) -> Path:
    """Folder of the disk cache.

    Parameters
    ----------
    directory : path-like, optional
        Explicit folder. When omitted, ``$FASHION_CACHE_DIR`` is used, else the
        repository's ``cache/``.

    Returns
    -------
    pathlib.Path
        The folder (not created here).
    """
    if directory is not None:
        return Path(directory).expanduser().resolve()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return REPO_ROOT / "cache"


# ----------------------------------------------------------------------------
# Disk cache limits (used by core.cache)
# ----------------------------------------------------------------------------
#: Environment variable with the disk cache's size limit, in gigabytes (10**9
#: bytes, decimals allowed). Past it the least recently stored entries and the
#: least recently used files are evicted.
CACHE_GB_ENV = "FASHION_CACHE_GB"
#: Size limit of the disk cache when ``$FASHION_CACHE_GB`` is not set.
DEFAULT_CACHE_GB = 20.0

"""What a catalogue is: its description (table, id, images, name, labels), how it is recognised and checked.

A catalogue is a table (CSV, TSV or Parquet) with one row per item and a
folder of images. Its :class:`Catalogue` description says which column is the
id, where each row's image is (a path column relative to the table, or a
pattern such as ``images/{id}.jpg``), which column names the item, and which
columns are labels, the first being the *primary* one: it colours the maps and
is what the classifier answers first.

The description comes from, in order of precedence: command-line flags,
environment variables (:data:`ENV`), a ``catalogue.toml`` beside the table,
and recognition of two layouts that need no description at all:

* the Kaggle layout, ``styles.csv`` and ``images/<id>.jpg`` (:data:`KAGGLE`),
  read by the tolerant reader of :mod:`core.styles` as the notebook did;
* a folder of class folders, ``root/<label>/<file>`` (any depth below the
  class folder): one row per image file, labelled by its class folder.

:func:`load_table` reads a described table and checks it before any work:
a missing column, an id column with duplicates, an image pattern that matches
no file, a label column with a single value or with a different value in every
row each raise :class:`CatalogueError` naming the file and the column, with
the fix.
"""
from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Mapping, Optional

import numpy as np
import pandas as pd

from . import config


class DatasetError(ValueError):
    """A dataset folder or description that cannot be used, with a message a person can act on."""


class CatalogueError(DatasetError):
    """A catalogue description that does not fit its table or its images."""


#: File name of the description beside the table.
DESCRIPTION_FILE = "catalogue.toml"
#: Table formats by file extension.
TABLE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet"}
#: Image files a folder catalogue picks up (any case).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif")
#: Environment variables of the description, by field of :class:`Catalogue`.
ENV = {
    "table": "FASHION_TABLE",
    "id_column": "FASHION_ID_COLUMN",
    "image_column": "FASHION_IMAGE_COLUMN",
    "image_pattern": "FASHION_IMAGE_PATTERN",
    "name_column": "FASHION_NAME_COLUMN",
    "label_columns": "FASHION_LABEL_COLUMNS",
}
#: Column names the subsample uses for itself; a catalogue column may not take them.
RESERVED = ("label",)
#: Name of the label column of a folder catalogue.
FOLDER_LABEL = "class"
#: The two ways of fitting an image into the analysis square: ``"stretch"``
#: (the notebook's resize, kept for the Kaggle layout so its results do not
#: change) and ``"letterbox"`` (aspect kept, padded with white, every other
#: catalogue; see :func:`core.images.decode`).
FITS = ("stretch", "letterbox")


@dataclass(frozen=True)
class Catalogue:
    """How to read a catalogue: its table, id, images, name and label columns.

    Attributes
    ----------
    kind : {"kaggle", "folders", "table"}
        The Kaggle layout, a folder of class folders, or a described table.
    table : str or None
        The table's path relative to the dataset root (None for folders).
    id_column : str
        Unique id of a row. Whole numbers are used as they are; other ids are
        numbered in table order and kept as they are in their own column.
    image_column : str or None
        Column holding each image's path, relative to the table's folder.
    image_pattern : str or None
        Image path relative to the table's folder, with ``{column}`` fields
        filled from the row (``{id}`` is the id column's value).
    name_column : str or None
        What an item is called on hover cards and in galleries.
    label_columns : tuple of str
        Categorical columns, the primary one first.
    fit : {"stretch", "letterbox"}
        How images are fitted to the analysis square (see :data:`FITS`).
    source : str
        Where the description came from, for people.
    """

    kind: str
    table: Optional[str]
    id_column: str
    image_column: Optional[str]
    image_pattern: Optional[str]
    name_column: Optional[str]
    label_columns: tuple[str, ...]
    fit: str = "letterbox"
    source: str = "recognised"

    @property
    def primary(self) -> str:
        """The primary label column: maps' colours, the classifier's first answer."""
        return self.label_columns[0]

    @property
    def search_columns(self) -> tuple[str, ...]:
        """Columns the highlight filter searches: the labels, then the name."""
        return self.label_columns + ((self.name_column,) if self.name_column else ())

    @property
    def hover_fields(self) -> tuple[str, ...]:
        """Fields a hover card lists under the item's name: the labels."""
        return self.label_columns

    def cache_key(self) -> tuple:
        return ("catalogue",) + tuple(str(v) for v in dataclasses.astuple(self)[:-1])

    def roles(self) -> dict:
        """Column name to its role, for ``python -m core catalogue check``."""
        out = {self.id_column: "id"}
        if self.image_column:
            out[self.image_column] = "image path"
        if self.name_column:
            out[self.name_column] = "name"
        for i, col in enumerate(self.label_columns):
            out[col] = "primary label" if i == 0 else "label"
        return out


#: The Kaggle layout: the notebook's columns, recognised with no description.
KAGGLE = Catalogue(kind="kaggle", table="styles.csv", id_column="id", image_column=None,
                   image_pattern="images/{id}.jpg", name_column="productDisplayName",
                   label_columns=config.LABEL_COLUMNS, fit="stretch", source="Kaggle layout")


# ----------------------------------------------------------------------------
# Finding the description
# ----------------------------------------------------------------------------
def _kaggle_root(folder: Path) -> Optional[Path]:
    """The folder itself, or its single child, that holds the Kaggle layout."""
    def holds(f: Path) -> bool:
        return (f / "styles.csv").is_file() and (f / "images").is_dir()

    if holds(folder):
        return folder
    if folder.is_dir():
        for child in sorted(folder.iterdir()):
            if child.is_dir() and holds(child):
                return child
    return None


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")


def _class_folders(folder: Path) -> list[Path]:
    """Sub-folders of ``folder`` that hold image files (at any depth), when there are two or more."""
    if not folder.is_dir() or any(p.suffix.lower() in TABLE_FORMATS for p in folder.iterdir()
                                  if p.is_file() and p.name != DESCRIPTION_FILE):
        return []
    found = []
    for child in sorted(folder.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            if any(_is_image(n) for _, _, names in os.walk(child) for n in names):
                found.append(child)
    return found if len(found) >= 2 else []


def _split_labels(value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    return tuple(str(v).strip() for v in value if str(v).strip())


def _read_toml(path: Path) -> dict:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"{path.name} is not valid TOML ({exc}); see the README's "
                             "'Your own catalogue' for an example") from None
    unknown = sorted(set(data) - set(ENV))
    if unknown:
        raise CatalogueError(f"{path.name}: unknown key(s) {', '.join(unknown)}; the keys are "
                             f"{', '.join(ENV)}")
    return data


def from_env(env: Optional[Mapping[str, str]] = None) -> dict:
    """The description fields set by environment variables (:data:`ENV`)."""
    env = os.environ if env is None else env
    return {field: env[var] for field, var in ENV.items() if env.get(var)}


def describe(path: os.PathLike | str, overrides: Optional[Mapping] = None) -> tuple[Path, Catalogue]:
    """Find the root and the description of the catalogue at ``path``.

    Parameters
    ----------
    path : path-like
        A folder (holding the table, a ``catalogue.toml``, the Kaggle layout
        or class folders), or the table file itself.
    overrides : mapping, optional
        Description fields given by flags or environment variables (keys of
        :data:`ENV`); they win over ``catalogue.toml`` and recognition.

    Returns
    -------
    root : pathlib.Path
        The folder the table's and images' paths are relative to.
    catalogue : Catalogue

    Raises
    ------
    DatasetError
        When nothing is recognised and nothing describes the folder.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise DatasetError(f"dataset folder {path} does not exist")
    fields = {k: v for k, v in dict(overrides or {}).items() if v not in (None, "", ())}
    source = "flags or environment" if fields else "recognised"
    root = path.parent if path.is_file() else path
    if path.is_file():
        fields.setdefault("table", path.name)
    toml = root / DESCRIPTION_FILE
    if toml.is_file():
        fields = {**_read_toml(toml), **fields}
        source = DESCRIPTION_FILE + (" and flags or environment" if overrides else "")
    if "label_columns" in fields:
        fields["label_columns"] = _split_labels(fields["label_columns"])
    if "table" not in fields:
        kaggle = _kaggle_root(root)
        if kaggle is not None:  # its files are fixed; only the labels and the name may be chosen
            chosen = {k: v for k, v in fields.items() if k in ("label_columns", "name_column")}
            return kaggle.resolve(), dataclasses.replace(KAGGLE, **chosen, source=(
                KAGGLE.source if not chosen else f"Kaggle layout, {source}"))
        if _class_folders(root):
            labels = fields.pop("label_columns", (FOLDER_LABEL,))
            return root.resolve(), Catalogue(
                kind="folders", table=None, id_column="id", image_column="path",
                image_pattern=None, name_column="name", label_columns=labels[:1] or (FOLDER_LABEL,),
                source="folder of class folders")
        raise DatasetError(
            f"{path} holds no catalogue the app recognises: expected styles.csv and images/ (the "
            f"Kaggle layout), one folder of images per class, or a table described by "
            f"{DESCRIPTION_FILE} (or the --table/--id-column/--image-pattern/--label-columns "
            f"flags, or ${ENV['table']}...); see the README's 'Your own catalogue'")
    missing = [f for f in ("id_column", "label_columns") if not fields.get(f)]
    if not fields.get("image_column") and not fields.get("image_pattern"):
        missing.append("image_column or image_pattern")
    if missing:
        raise CatalogueError(f"{root / fields['table']}: the description lacks {', '.join(missing)}; "
                             f"set it in {DESCRIPTION_FILE} beside the table (or with flags or "
                             f"{', '.join(ENV[m] for m in missing if m in ENV)})")
    if fields.get("image_column") and fields.get("image_pattern"):
        raise CatalogueError(f"{root / fields['table']}: give either an image column or an image "
                             "pattern, not both")
    if Path(fields["table"]).suffix.lower() not in TABLE_FORMATS:
        raise CatalogueError(f"{fields['table']}: unknown table format; use a .csv, .tsv or .parquet file")
    return root.resolve(), Catalogue(
        kind="table", table=str(fields["table"]), id_column=str(fields["id_column"]),
        image_column=fields.get("image_column"), image_pattern=fields.get("image_pattern"),
        name_column=fields.get("name_column"), label_columns=tuple(fields["label_columns"]),
        fit="letterbox", source=source)


# ----------------------------------------------------------------------------
# Reading and checking a described table
# ----------------------------------------------------------------------------
def _text(value) -> Optional[str]:
    """A cell as text: whole floats without ``.0`` (a Parquet int column with gaps), None when missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def read_raw(path: Path) -> pd.DataFrame:
    """A table file as text columns (missing values None), whatever its format."""
    fmt = TABLE_FORMATS.get(path.suffix.lower())
    if not path.is_file():
        raise CatalogueError(f"table {path.name} not found in {path.parent}; check the 'table' "
                             f"of the description")
    if fmt == "parquet":
        df = pd.read_parquet(path)
        return pd.DataFrame({str(c): [_text(v) for v in df[c].tolist()] for c in df.columns})
    try:
        df = pd.read_csv(path, sep="\t" if fmt == "tsv" else ",", dtype=str, keep_default_na=True,
                         encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"{path.name} cannot be read as {fmt.upper()}: {exc}") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df.astype(object).where(df.notna(), None)


def _where(table: str, i: int, parquet: bool) -> str:
    return f"row {i + 1}" if parquet else f"line {i + 2}"


def _fields(pattern: str) -> list[str]:
    return re.findall(r"{([^{}]+)}", pattern)


def _safe_relative(value: str) -> Optional[str]:
    """A path relative to the table's folder in POSIX form, or None when it would leave it."""
    text = str(value).strip().replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    p = PurePosixPath(text)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        return None
    return p.as_posix()


def check_table(raw: pd.DataFrame, cat: Catalogue, root: Path) -> None:
    """Raise :class:`CatalogueError` when the description does not fit the table.

    Checks, in order: every described column exists (and none is reserved);
    the id column has no duplicates; every label column has more than one
    value and is not different in every row. The image files are checked by
    :func:`load_table`.
    """
    table = cat.table or ""
    where = Path(table).name
    cols = list(raw.columns)
    roles = [(cat.id_column, "id column", "--id-column"), (cat.image_column, "image column", "--image-column"),
             (cat.name_column, "name column", "--name-column")]
    roles += [(c, "label column", "--label-columns") for c in cat.label_columns]
    if cat.image_pattern:
        roles += [(c, "image pattern field", "--image-pattern") for c in _fields(cat.image_pattern)
                  if c != "id"]
    for col, role, flag in roles:
        if col and col not in cols:
            raise CatalogueError(f"{where}: no column '{col}' (the {role}); its columns are "
                                 f"{', '.join(cols)}. Fix {flag} or '{flag[2:].replace('-', '_')}' "
                                 f"in {DESCRIPTION_FILE}")
        if col in RESERVED:
            raise CatalogueError(f"{where}: column '{col}' (the {role}) has a name the app uses for "
                                 "itself; rename the column in the table")
    parquet = TABLE_FORMATS.get(Path(table).suffix.lower()) == "parquet"
    ids = raw[cat.id_column]
    if ids.isna().any():
        i = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise CatalogueError(f"{where}: the id column '{cat.id_column}' is empty on "
                             f"{_where(table, i, parquet)}; every row needs an id: fill it or drop the row")
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        first = ids[dup].iloc[0]
        at = [_where(table, int(i), parquet) for i in np.flatnonzero((ids == first).to_numpy())[:3]]
        raise CatalogueError(f"{where}: the id column '{cat.id_column}' has {int(ids.duplicated().sum())} "
                             f"duplicated value(s), e.g. '{first}' on {' and '.join(at)}; ids must be "
                             "unique: de-duplicate the table or choose another --id-column")
    for col in cat.label_columns:
        values = raw[col].dropna()
        n = values.nunique()
        if n <= 1:
            shown = f"'{values.iloc[0]}'" if len(values) else "nothing"
            raise CatalogueError(f"{where}: the label column '{col}' holds a single value ({shown}) "
                                 "in every row, so it cannot tell rows apart: drop it from "
                                 "--label-columns or choose another column")
        if n == len(values) and len(values) > 2:
            raise CatalogueError(f"{where}: the label column '{col}' has a different value in every "
                                 f"row ({n:,} values): it looks like an id or a name, not a category. "
                                 "Drop it from --label-columns (use it as --name-column if it names "
                                 "the items)")


def _image_paths(raw: pd.DataFrame, cat: Catalogue, root: Path) -> list[Optional[str]]:
    if cat.image_column:
        return [None if v is None else _safe_relative(v) for v in raw[cat.image_column].tolist()]
    records = raw.to_dict("records")
    out = []
    for rec in records:
        values = {**rec, "id": rec[cat.id_column]}
        try:
            out.append(_safe_relative(cat.image_pattern.format(**values)))
        except (KeyError, IndexError, ValueError):
            out.append(None)
    return out


def _folder_table(root: Path) -> pd.DataFrame:
    rows = []
    for folder in _class_folders(root):
        for dirpath, dirnames, names in os.walk(folder):
            dirnames.sort()
            for name in sorted(names):
                if _is_image(name):
                    rel = (Path(dirpath) / name).relative_to(root).as_posix()
                    rows.append({"path": rel, "name": Path(name).stem, FOLDER_LABEL: folder.name})
    rows.sort(key=lambda r: r["path"])
    frame = pd.DataFrame(rows, columns=["path", "name", FOLDER_LABEL])
    frame.insert(0, "id", np.arange(len(frame), dtype=np.int64))
    return frame


def load_table(root: os.PathLike | str, cat: Catalogue) -> tuple[pd.DataFrame, dict]:
    """Read and check a described table (or list a folder catalogue).

    Parameters
    ----------
    root : path-like
        The folder of the table.
    cat : Catalogue
        A ``"table"`` or ``"folders"`` description (the Kaggle layout is read
        by :func:`core.styles.read_styles`).

    Returns
    -------
    frame : pandas.DataFrame
        One row per item in table order: ``id`` (int64; the id column itself
        when it holds whole numbers, else the row number, the original ids
        kept in their own column) and every column of the table as text
        (None where missing).
    images : dict
        ``id`` to the image's path relative to ``root`` (rows whose path is
        absolute or leaves ``root`` have none).

    Raises
    ------
    CatalogueError
        See :func:`check_table`; also when no row's image exists.
    """
    root = Path(root)
    if cat.kind == "folders":
        frame = _folder_table(root)
        return frame, dict(zip(frame["id"].tolist(), frame["path"].tolist()))
    raw = read_raw(root / cat.table)
    check_table(raw, cat, root)
    paths = _image_paths(raw, cat, root)
    ids = raw[cat.id_column]
    numeric = ids.str.fullmatch(r"\s*\d{1,18}\s*").all()
    frame = raw.copy()
    if numeric:
        key = ids.astype("int64").to_numpy()
        if cat.id_column != "id":
            frame = frame.drop(columns=["id"], errors="ignore")
    else:
        key = np.arange(len(raw), dtype=np.int64)
        if cat.id_column == "id":
            frame = frame.rename(columns={"id": "catalogue_id"})
        else:
            frame = frame.drop(columns=["id"], errors="ignore")
    if "id" in frame.columns:
        frame = frame.drop(columns=["id"])
    frame.insert(0, "id", key)
    images = {int(k): p for k, p in zip(key, paths) if p is not None}
    if not any((root / p).is_file() for p in images.values()):
        what = (f"the image pattern '{cat.image_pattern}'" if cat.image_pattern
                else f"the image column '{cat.image_column}'")
        example = next(iter(images.values()), "(no usable path)")
        raise CatalogueError(f"{cat.table}: {what} matches no file under {root.name} (the first row "
                             f"gives '{example}'); paths are relative to the table's folder: fix "
                             f"--image-pattern / --image-column or '{'image_pattern' if cat.image_pattern else 'image_column'}' "
                             f"in {DESCRIPTION_FILE}")
    return frame.reset_index(drop=True), images


# ----------------------------------------------------------------------------
# Label order
# ----------------------------------------------------------------------------
def _natural(value: str):
    try:
        return (0, float(value), value)
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


def label_order(cat: Catalogue, values) -> tuple[str, ...]:
    """Values of the primary label column in label order: label ``i`` is ``order[i]``.

    The Kaggle layout with masterCategory as the primary column keeps the
    notebook's fixed mapping (:data:`core.config.CATEGORIES`: Accessories 0,
    Apparel 1, ... Home 6). Any other catalogue maps the sorted distinct
    values: numbers in numeric order first (so digits are 0..9, not 0, 1, 10),
    then text in alphabetical order.
    """
    if cat.kind == "kaggle" and cat.primary == KAGGLE.primary:
        return config.CATEGORIES
    distinct = {str(v) for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))}
    return tuple(sorted(distinct, key=_natural))

"""Finding, loading and subsampling a dataset in the Kaggle layout.

A dataset folder holds ``styles.csv`` and ``images/<id>.jpg`` (or the same
layout one level down, as the Kaggle archive nests it). The folder is chosen by
:func:`resolve_dataset`: an explicit argument, else ``$FASHION_DATA_DIR``, else
a copy fetched earlier by ``python -m core download``, else the generated demo
set. The choice is server-side configuration only.
"""
from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
import threading
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
#: Tokens read as missing, exactly as ``pandas.read_csv`` reads them by default
#: (the real file writes some missing values as ``NA``), so the null filter
#: drops the same rows as the notebook's.
_NA_TOKENS = frozenset({
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
})
_ID_RE = re.compile(r"^\s*(\d+)(?:\.0*)?\s*$")
_LINE_RE = re.compile(r"\r\n|\r|\n")


@dataclass
class StylesReport:
    """What reading ``styles.csv`` found.

    Line numbers count from 1 for the header line, as an editor shows them.

    Attributes
    ----------
    rows_read : int
        Non-blank data lines in the file.
    recovered : list of int
        Ids of rows whose product name held unquoted commas, rejoined.
    recovered_lines : list of int
        Their line numbers.
    dropped : dict
        Reason (``"non-numeric id"``, ``"duplicate id"``) to a list of
        ``(line_number, raw id)`` of dropped lines.
    repaired : dict
        Reason (``"stray quote"``, ``"missing fields"``, ``"non-numeric year"``,
        ``"category spelling"``) to ``(line_number, id)`` of rows kept after a
        repair; rows with missing fields keep NaN there and the null filter of
        :func:`clean_styles` drops them later.
    flagged : dict
        ``"unknown masterCategory"`` to ``(line_number, id)``: rows kept here,
        left out by :func:`clean_styles`.
    notes : list of str
        File-level findings: byte-order mark, CRLF line endings, encoding,
        blank lines.
    """

    rows_read: int = 0
    recovered: list = field(default_factory=list)
    recovered_lines: list = field(default_factory=list)
    dropped: dict = field(default_factory=dict)
    repaired: dict = field(default_factory=dict)
    flagged: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-friendly summary: counts, and the ids and line numbers behind them."""
        def rows(d):
            return {k: [{"line": ln, "id": i} for ln, i in v] for k, v in d.items()}

        return {
            "rows_read": self.rows_read,
            "recovered": len(self.recovered),
            "recovered_ids": list(self.recovered),
            "recovered_lines": list(self.recovered_lines),
            "dropped": {k: len(v) for k, v in self.dropped.items()},
            "dropped_lines": rows(self.dropped),
            "repaired": {k: len(v) for k, v in self.repaired.items()},
            "repaired_lines": rows(self.repaired),
            "flagged": {k: len(v) for k, v in self.flagged.items()},
            "flagged_lines": rows(self.flagged),
            "notes": list(self.notes),
        }


def _decode_text(raw: bytes, report: StylesReport) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        report.notes.append("byte-order mark removed")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheet exports are often Windows-1252; latin-1 never fails.
        try:
            text = raw.decode("cp1252")
            report.notes.append("not UTF-8: read as Windows-1252")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
            report.notes.append("not UTF-8: read as Latin-1")
    if "\r\n" in text:
        report.notes.append("CRLF line endings")
    return text.lstrip("\ufeff")


def _split_fields(line: str) -> tuple[list[str], bool]:
    """Fields of one line, and whether it held an unbalanced (stray) quote.

    Each physical line is one record: a stray opening quote must not swallow
    the lines after it, as a CSV reader in quoted mode would.
    """
    if '"' not in line:
        return line.split(","), False
    if line.count('"') % 2:
        # An unbalanced quote: no field can be trusted to be quoted; split on
        # every comma and let the name rejoin below.
        return [f.strip('"') if f.count('"') == 1 and (f.startswith('"') or f.endswith('"'))
                else f for f in line.split(",")], True
    return next(csv.reader([line], strict=False)), False


def read_styles(path: os.PathLike | str) -> tuple[pd.DataFrame, StylesReport]:
    """Read a Kaggle ``styles.csv``, recovering what a plain ``read_csv`` loses.

    Defects handled, each counted in the report with ids and line numbers:

    * a product name with unquoted commas (the Kaggle original has such rows;
      ``pandas.read_csv`` stops at them): the extra fields are joined back
      into the name;
    * a byte-order mark, CRLF or CR line endings, a non-UTF-8 encoding;
    * stray (unbalanced) quotes: the line is split on its commas, one line
      per record;
    * too few fields: kept, the missing ones NaN (dropped later by the null
      filter of :func:`clean_styles`, and counted there);
    * ids that are not whole numbers: dropped; duplicated ids: the first
      kept;
    * a non-numeric year: NaN; a masterCategory in another case or with
      spaces around it: spelled as :data:`core.config.CATEGORIES` spells it;
      an unknown masterCategory: kept and flagged.

    Missing values are read as ``pandas.read_csv`` reads them (empty, ``NA``,
    ``null``...), so a clean file gives exactly ``pd.read_csv``'s frame.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    styles : pandas.DataFrame
        One row per unique numeric id, in file order, columns
        :data:`core.config.STYLE_COLUMNS`; ``id`` int64, ``year`` float64,
        the others strings with NaN where missing.
    report : StylesReport

    Raises
    ------
    DatasetError
        When the file has no header naming the expected columns.
    """
    path = Path(path)
    report = StylesReport()
    text = _decode_text(path.read_bytes(), report)
    lines = _LINE_RE.split(text)
    header_at = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if header_at is None:
        raise DatasetError(f"{path} is empty; expected a header line "
                           f"'{','.join(config.STYLE_COLUMNS)}' and one line per product")
    header = [h.strip().strip('"').strip() for h in next(csv.reader([lines[header_at]]))]
    lower = {h.lower(): i for i, h in enumerate(header)}
    absent = [c for c in config.STYLE_COLUMNS if c.lower() not in lower]
    if absent:
        raise DatasetError(f"{path.name} lacks the column(s) {', '.join(absent)}; its first line "
                           f"should be '{','.join(config.STYLE_COLUMNS)}'")
    width = len(header)
    col_at = {c: lower[c.lower()] for c in config.STYLE_COLUMNS}
    name_at = col_at["productDisplayName"]
    id_at, year_at, cat_at = col_at["id"], col_at["year"], col_at["masterCategory"]
    canonical = {c.lower(): c for c in config.CATEGORIES}

    columns: dict[str, list] = {c: [] for c in config.STYLE_COLUMNS}
    seen: set[int] = set()
    blank = 0
    for i in range(header_at + 1, len(lines)):
        line = lines[i]
        lineno = i + 1
        if not line.strip():
            if i < len(lines) - 1:
                blank += 1
            continue
        report.rows_read += 1
        fields, stray = _split_fields(line)
        joined = len(fields) > width
        if joined:  # the name held unquoted commas: its pieces are rejoined
            extra = len(fields) - width
            fields = (fields[:name_at] + [",".join(fields[name_at:name_at + extra + 1])]
                      + fields[name_at + extra + 1:])
        raw_id = fields[id_at].strip().strip('"') if id_at < len(fields) else ""
        m = _ID_RE.match(raw_id)
        if m is None:
            report.dropped.setdefault("non-numeric id", []).append((lineno, raw_id))
            continue
        pid = int(m.group(1))
        if pid in seen:
            report.dropped.setdefault("duplicate id", []).append((lineno, raw_id))
            continue
        seen.add(pid)
        if stray:
            report.repaired.setdefault("stray quote", []).append((lineno, pid))
        if joined:
            report.recovered.append(pid)
            report.recovered_lines.append(lineno)
        elif len(fields) < width:
            report.repaired.setdefault("missing fields", []).append((lineno, pid))
            fields = fields + [""] * (width - len(fields))
        for col in config.STYLE_COLUMNS:
            columns[col].append(fields[col_at[col]])
        columns["id"][-1] = pid
        year = fields[year_at].strip()
        if year in _NA_TOKENS:
            columns["year"][-1] = np.nan
        else:
            try:
                columns["year"][-1] = float(year)
            except ValueError:
                columns["year"][-1] = np.nan
                report.repaired.setdefault("non-numeric year", []).append((lineno, pid))
        cat = fields[cat_at]
        if cat not in _NA_TOKENS and cat not in config.LABELS:
            fixed = canonical.get(cat.strip().lower())
            if fixed is not None:
                columns["masterCategory"][-1] = fixed
                report.repaired.setdefault("category spelling", []).append((lineno, pid))
            else:
                report.flagged.setdefault("unknown masterCategory", []).append((lineno, pid))
    if blank:
        report.notes.append(f"{blank} blank line(s) skipped")

    data = {}
    for col in config.STYLE_COLUMNS:
        if col == "id":
            data[col] = np.asarray(columns[col], dtype=np.int64)
        elif col == "year":
            data[col] = np.asarray(columns[col], dtype=np.float64)
        else:
            values = [np.nan if v in _NA_TOKENS else v for v in columns[col]]
            data[col] = pd.array(values, dtype="str") if values else pd.array([], dtype="str")
    return pd.DataFrame(data, columns=list(config.STYLE_COLUMNS)), report


def clean_styles(styles: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The notebook's cleaning: drop rows with any null; also rows of no known class.

    Parameters
    ----------
    styles : pandas.DataFrame
        As returned by :func:`read_styles`.

    Returns
    -------
    clean : pandas.DataFrame
        The rows kept, in the same order and with the same index.
    counts : dict
        ``rows_before``, ``rows_after``, ``dropped_null`` (rows with any
        null), ``dropped_unknown_category`` (rows whose masterCategory is none
        of :data:`core.config.CATEGORIES`), ``nulls_before`` and
        ``nulls_after`` (missing values per column, the notebook's
        ``df.isnull().sum()``).
    """
    nulls_before = {c: int(v) for c, v in styles.isnull().sum().items()}
    notnull = styles.dropna()
    clean = notnull[notnull["masterCategory"].isin(list(config.LABELS))]
    return clean, {
        "rows_before": int(len(styles)),
        "rows_after": int(len(clean)),
        "dropped_null": int(len(styles) - len(notnull)),
        "dropped_unknown_category": int(len(notnull) - len(clean)),
        "nulls_before": nulls_before,
        "nulls_after": {c: int(v) for c, v in clean.isnull().sum().items()},
    }


@cache.memoize("data.styles", version=2)
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

    The frame is: rows with any null dropped (and rows of no known
    masterCategory, see :func:`clean_styles`), then
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


@cache.memoize("data.frame", version=2)
def _frame(dataset: Dataset, fraction: float, seed: int) -> pd.DataFrame:
    from . import images

    styles, _ = load_styles(dataset)
    clean, _ = clean_styles(styles)
    sampled = clean.sample(frac=1, random_state=seed).sample(frac=fraction, random_state=seed)
    readable = images.scan(dataset)["readable"]
    out = sampled[sampled["id"].isin(readable)].copy()
    out["label"] = out["masterCategory"].map(config.LABELS).astype("int64")
    return out.reset_index(drop=True)


# ----------------------------------------------------------------------------
# What a dataset holds
# ----------------------------------------------------------------------------
def dataset_info(dataset: Dataset, progress=None) -> dict:
    """Everything loading and cleaning found, for ``python -m core info`` and the Overview.

    The first call reads every image once (:func:`core.images.scan`, in
    parallel, cached); later calls are served from the cache.

    Parameters
    ----------
    dataset : Dataset
    progress : callable, optional
        ``progress(fraction, message)``.

    Returns
    -------
    dict
        JSON-friendly. Headline figures at the top level: ``rows`` (rows
        read from styles.csv), ``rows_kept`` (unique numeric ids),
        ``readable_images``, ``rows_without_image``, ``unreadable_images``,
        ``clean_rows`` (kept by the null filter), ``clean_rows_with_image``
        (the pool the subsample is drawn from, before its fraction); then
        ``source`` (kind, root folder name, is_demo, description),
        ``styles`` (the :class:`StylesReport` as a dict), ``images``
        (files found, readable, missing and unreadable with file names and
        reasons, converted images by kind), ``cleaning`` (see
        :func:`clean_styles`) and ``classes`` (products per masterCategory
        among the rows read, the clean rows, and the clean rows with an
        image).
    """
    from . import images

    config.report(progress, 0.0, "reading styles.csv")
    styles, styles_report = load_styles(dataset)
    scan = images.scan(dataset, progress=config.scaled(progress, 0.05, 0.95))
    config.report(progress, 0.96, "counting")
    clean, cleaning = clean_styles(styles)
    names = images._listing(dataset)
    jpgs = [n for n in names if n.lower().endswith(".jpg")]
    referenced = {f"{int(i)}.jpg" for i in styles["id"].to_numpy()}
    with_image = clean[clean["id"].isin(scan["readable"])]

    def counts(frame: pd.DataFrame) -> dict:
        vc = frame["masterCategory"].value_counts()
        out = {c: int(vc.get(c, 0)) for c in config.CATEGORIES}
        out.update({str(k): int(v) for k, v in vc.items() if k not in out})
        return out

    unreadable = scan["unreadable"]
    reasons: dict[str, int] = {}
    for r in unreadable.values():
        reasons[r] = reasons.get(r, 0) + 1
    info = {
        "rows": int(styles_report["rows_read"]),
        "rows_kept": int(len(styles)),
        "readable_images": int(len(scan["readable"])),
        "rows_without_image": int(len(scan["missing"])),
        "unreadable_images": int(len(unreadable)),
        "clean_rows": cleaning["rows_after"],
        "clean_rows_with_image": int(len(with_image)),
        "source": {
            "kind": dataset.kind,
            "root": dataset.root.name,
            "is_demo": dataset.is_demo,
            "description": dataset.describe(),
            "fingerprint": dataset.fingerprint,
            "origin": "synthetic, generated by core.demo" if dataset.is_demo else config.DATASET_SOURCE,
        },
        "styles": styles_report,  # a dict (load_styles)
        "images": {
            "files_found": len(jpgs),
            "files_without_row": len([n for n in jpgs if n not in referenced]),
            "readable": int(len(scan["readable"])),
            "missing": int(len(scan["missing"])),
            "missing_ids": [int(i) for i in scan["missing"]],
            "unreadable": int(len(unreadable)),
            "unreadable_reasons": reasons,
            "unreadable_files": {f"{pid}.jpg": why for pid, why in unreadable.items()},
            "converted": {k: len(v) for k, v in scan["converted"].items()},
            "converted_ids": {k: [int(i) for i in v] for k, v in scan["converted"].items()},
        },
        "cleaning": cleaning,
        "classes": {
            "all_rows": counts(styles),
            "clean_rows": counts(clean),
            "clean_rows_with_image": counts(with_image),
        },
    }
    config.report(progress, 1.0, "done")
    return info


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
    if _layout_root(dest) is not None:
        config.report(progress, 1.0, f"already downloaded: {dest}")
        return dest
    config.report(progress, 0.0, f"downloading {KAGGLE_HANDLE} from Kaggle (about 600 MB)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}.{threading.get_ident()}"
    fetch_dir = dest.parent / f".{dest.name}.{tag}.download"
    tmp = dest.parent / f".{dest.name}.{tag}.tmp"
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
        root = _layout_root(fetched)
        if root is None:
            raise DatasetError(f"the downloaded files at {fetched} do not hold styles.csv and images/")
        config.report(progress, 0.8, f"moving into {dest}")
        inside = fetch_dir.resolve()
        if inside in root.resolve().parents or root.resolve() == inside:
            os.replace(root, tmp)
        else:
            tmp.mkdir()
            shutil.copy2(root / "styles.csv", tmp / "styles.csv")
            shutil.copytree(root / "images", tmp / "images")
        try:
            os.replace(tmp, dest)
        except OSError:
            if _layout_root(dest) is None:
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(fetch_dir, ignore_errors=True)
    config.report(progress, 1.0, f"dataset ready at {dest}")
    return dest

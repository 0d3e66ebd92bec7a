"""Reading a catalogue's table: Kaggle's ``styles.csv`` tolerantly, any described table, and the cleaning.

The real file has unquoted commas in product names and ``NA`` tokens; generated
and damaged copies add byte-order marks, mixed line endings, stray quotes and
bad ids. :func:`read_styles` recovers what it can and reports every recovery
and drop in a :class:`StylesReport`; :func:`clean_styles` applies the notebook's
null filter. A catalogue in another layout is read and checked by
:func:`core.catalogue.load_table`; :func:`load_styles` picks the reader from
the dataset's description, and :func:`clean_styles` drops the rows that lack
an id, an image path or a label.
"""
from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import cache, catalogue, config
from .catalogue import Catalogue, DatasetError


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


def clean_styles(styles: pd.DataFrame, description: Catalogue = catalogue.KAGGLE) -> tuple[pd.DataFrame, dict]:
    """Drop the rows the analysis cannot use.

    The Kaggle layout keeps the notebook's cleaning: drop rows with any null,
    and rows of no known masterCategory. Any other catalogue drops the rows
    with a missing id, image path or label (its other columns may be sparse).

    Parameters
    ----------
    styles : pandas.DataFrame
        As returned by :func:`load_styles`.
    description : Catalogue, default the Kaggle layout

    Returns
    -------
    clean : pandas.DataFrame
        The rows kept, in the same order and with the same index.
    counts : dict
        ``rows_before``, ``rows_after``, ``dropped_null`` (rows with a
        null where it matters), ``dropped_unknown_category`` (Kaggle layout:
        rows whose masterCategory is none of :data:`core.config.CATEGORIES`;
        else 0), ``nulls_before`` and ``nulls_after`` (missing values per
        column, the notebook's ``df.isnull().sum()``).
    """
    nulls_before = {c: int(v) for c, v in styles.isnull().sum().items()}
    if description.kind == "kaggle":
        notnull = styles.dropna()
        clean = notnull[notnull[catalogue.KAGGLE.primary].isin(list(config.LABELS))]
    else:
        needed = ["id", *description.label_columns]
        if description.image_column:
            needed.append(description.image_column)
        notnull = styles.dropna(subset=[c for c in needed if c in styles.columns])
        clean = notnull
    return clean, {
        "rows_before": int(len(styles)),
        "rows_after": int(len(clean)),
        "dropped_null": int(len(styles) - len(notnull)),
        "dropped_unknown_category": int(len(notnull) - len(clean)),
        "nulls_before": nulls_before,
        "nulls_after": {c: int(v) for c, v in clean.isnull().sum().items()},
    }


@cache.memoize("data.styles", version=3)
def load_styles(dataset) -> tuple[pd.DataFrame, dict]:
    """The dataset's table and what reading it found, cached.

    The Kaggle layout goes through :func:`read_styles` (its report as a
    dict); any other catalogue through :func:`core.catalogue.load_table`,
    which refuses a table its description does not fit, so its report has
    nothing to recover: only ``rows_read``. The frame's ``attrs`` name the
    description's ``label_columns`` and ``name_column``, which figures read.
    """
    cat = dataset.catalogue
    if cat.kind == "kaggle":
        df, report = read_styles(dataset.styles_path)
    else:
        df, _ = catalogue.load_table(dataset.root, cat)
        report = StylesReport(rows_read=len(df))
    df.attrs.update(label_columns=cat.label_columns, name_column=cat.name_column)
    return df, report.as_dict()

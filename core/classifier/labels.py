"""What each head of the tagger answers: one label mapping per attribute, rare values grouped.

The catalogue labels every product with several attributes
(:attr:`core.subsample.Subsample.label_columns`, the primary one first). The
primary attribute keeps the subsample's fixed mapping
(:attr:`~core.subsample.Subsample.categories`, the notebook's order); every
other attribute gets its values ordered by their count in the training part,
and a value seen fewer than :data:`MIN_COUNT` times there is grouped as
:data:`OTHER`: a head cannot learn a value from a handful of photos, and a
value the training part never shows (it may appear in the validation part)
cannot be answered at all. Grouped values are listed in
:attr:`Attribute.grouped`, so a report says what "other" holds instead of
dropping those products silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

#: The name of the grouped rare values of an attribute.
OTHER = "other"
#: A value needs at least this many products in the training part to get a
#: class of its own; rarer ones are grouped as :data:`OTHER`. Ten photos is
#: about the least a head learns anything from, and it keeps the validation
#: figures of a class from resting on one or two products.
MIN_COUNT = 10


@dataclass(frozen=True)
class Attribute:
    """One label column and its classes, in label order.

    Attributes
    ----------
    column : str
        The catalogue's column, e.g. ``"articleType"``.
    classes : tuple of str
        Class names in label order: ``classes[code]`` names a code. :data:`OTHER`
        is last when some values were grouped.
    grouped : dict
        Value to its count in the training part, for the values grouped as
        :data:`OTHER`.
    primary : bool
        The primary attribute (its mapping is the subsample's, never grouped).
    """

    column: str
    classes: tuple
    grouped: dict = field(default_factory=dict)
    primary: bool = False

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def encode(self, values: Sequence) -> np.ndarray:
        """Codes of ``values``: a grouped or unknown value becomes :data:`OTHER`'s code.

        Of the primary attribute, an unknown value is an error (the subsample's
        cleaning keeps only known ones).
        """
        index = {name: i for i, name in enumerate(self.classes)}
        other = index.get(OTHER)
        out = np.empty(len(values), np.int64)
        for i, v in enumerate(values):
            code = index.get(str(v), other)
            if code is None:
                raise ValueError(f"{self.column}: {v!r} is none of its {self.n_classes} classes")
            out[i] = code
        return out

    def to_dict(self) -> dict:
        return {"column": self.column, "classes": list(self.classes),
                "grouped": dict(self.grouped), "primary": self.primary}

    @classmethod
    def from_dict(cls, d: dict) -> "Attribute":
        return cls(d["column"], tuple(d["classes"]), dict(d.get("grouped", {})), bool(d.get("primary")))


def attributes(frame: pd.DataFrame, columns: Sequence[str], primary_classes: Sequence[str],
               train_rows: np.ndarray, min_count: int = MIN_COUNT) -> list[Attribute]:
    """The label mapping of every attribute, learnt from the training part.

    Parameters
    ----------
    frame : pandas.DataFrame
        The subsample's rows (:meth:`core.subsample.Subsample.frame`).
    columns : sequence of str
        Label columns, the primary one first (:attr:`~core.subsample.Subsample.label_columns`).
    primary_classes : sequence of str
        The primary column's values in label order (:attr:`~core.subsample.Subsample.categories`).
    train_rows : numpy.ndarray
        Row indices of the training part (fit and tuning slice): the counts
        come from there only, so the validation part decides nothing.
    min_count : int, default :data:`MIN_COUNT`

    Returns
    -------
    list of Attribute
        In the order of ``columns``. A column absent from ``frame`` is left out.
    """
    out = [Attribute(columns[0], tuple(primary_classes), {}, True)]
    for column in columns[1:]:
        if column not in frame.columns:
            continue
        counts = frame[column].iloc[np.asarray(train_rows)].astype(str).value_counts()
        # most frequent first; ties by name, so the order does not depend on row order
        counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
        kept = [v for v, n in counts.items() if n >= min_count and v != OTHER]
        grouped = {v: int(n) for v, n in counts.items() if v not in kept}
        unseen = set(frame[column].astype(str)) - set(counts.index)
        classes = tuple(kept) + ((OTHER,) if grouped or unseen or not kept else ())
        out.append(Attribute(column, classes, grouped))
    return out


def encode_all(frame: pd.DataFrame, attrs: Sequence[Attribute], primary_codes: np.ndarray) -> list[np.ndarray]:
    """Codes of every row for every attribute; the primary's are the subsample's own labels."""
    return [np.asarray(primary_codes, np.int64) if a.primary else a.encode(frame[a.column].astype(str).tolist())
            for a in attrs]

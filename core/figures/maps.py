"""The product map as typed binary buffers, made for a million points.

A Plotly figure of 42,000 points costs seconds to serialise to JSON, parse and
hand to the browser again on every rerun. The map scatter instead sends three
binary buffers, each a pure function of its inputs and named by its content
hash, so a browser fetches each one once and reruns that change nothing
resend nothing:

* **products** (once per subsample): product ids and the dictionary-coded
  hover fields as small integers, with the names and field values in the
  header;
* **points** (once per embedding): float32 ``x`` and ``y`` and, when points
  repeat products (a replicated map), the uint32 row of each point's product;
* **style** (once per colouring and highlight): the colour group of each
  point (uint8, or uint16 past 255 groups) and the highlight mask.

A buffer is ``b"FMAP"``, a little-endian uint32 header length, a UTF-8 JSON
header, then the arrays, each at an 8-byte-aligned offset so the browser can
view them as typed arrays without copying. Nothing here draws: the browser
builds a WebGL trace per colour group from the arrays, or above
:data:`DENSITY_THRESHOLD` points a density image with nearest-point hover.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .products import HOVER_FIELDS, categories_for, coded_fields, color_groups, product_names

__all__ = ["MapBuffers", "map_buffers", "pack", "unpack", "products_buffer", "points_buffer",
           "style_buffer", "DENSITY_THRESHOLD", "MAGIC"]

MAGIC = b"FMAP"
#: Above this many points the browser draws a density image instead of WebGL
#: markers (measured in ``bench/bench_dashboard.py``: software WebGL in headless
#: chromium draws 300,000 markers in about a second, a million in several).
DENSITY_THRESHOLD = 300_000
_ALIGN = 8


def pack(header: dict, arrays: dict[str, np.ndarray]) -> bytes:
    """Serialise a JSON header and named 1-D arrays into one buffer.

    Parameters
    ----------
    header : dict
        JSON-serialisable; stored under ``"meta"``.
    arrays : dict of str to ndarray
        1-D arrays of float32, uint8, uint16, uint32 or int32, written
        little-endian at 8-byte-aligned offsets.

    Returns
    -------
    bytes
    """
    layout, blobs, offset = {}, [], 0
    for name, arr in arrays.items():
        a = np.ascontiguousarray(arr).ravel()
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        if a.dtype.kind not in "fui" or a.dtype.itemsize > 4:
            raise TypeError(f"array {name!r} has dtype {a.dtype}; use 32 bits or fewer")
        layout[name] = {"dtype": a.dtype.kind + str(a.dtype.itemsize), "offset": offset,
                        "length": int(a.size)}
        raw = a.tobytes()
        pad = (-len(raw)) % _ALIGN
        blobs.append(raw + b"\0" * pad)
        offset += len(raw) + pad
    head = json.dumps({"meta": header, "arrays": layout}, separators=(",", ":")).encode()
    # The arrays start after magic + length + header, padded to the alignment.
    head += b" " * ((-(len(head) + 8)) % _ALIGN)
    return MAGIC + np.uint32(len(head)).astype("<u4").tobytes() + head + b"".join(blobs)


def unpack(buf: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """Inverse of :func:`pack`: ``(header, arrays)``."""
    if buf[:4] != MAGIC:
        raise ValueError("not a map buffer")
    n = int(np.frombuffer(buf, "<u4", 1, 4)[0])
    head = json.loads(buf[8:8 + n])
    start = 8 + n
    arrays = {name: np.frombuffer(buf, np.dtype("<" + spec["dtype"]), spec["length"],
                                  start + spec["offset"])
              for name, spec in head["arrays"].items()}
    return head["meta"], arrays


def _small_codes(codes: np.ndarray, n_values: int) -> np.ndarray:
    return codes.astype(np.uint8 if n_values <= 256 else np.uint16)


def products_buffer(frame: pd.DataFrame, fields=HOVER_FIELDS) -> bytes:
    """The product table: uint32 ids, names and dictionary-coded hover fields.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per product with ``id``, the name column (``frame.attrs["name_column"]``) and the
        ``fields`` present (absent ones are skipped).
    fields : sequence of str

    Returns
    -------
    bytes
        Header ``{"names": [...], "fields": [...], "values": {field: [...]}}``;
        arrays ``id`` and ``f:<field>`` (codes into ``values[field]``).
    """
    header = {"names": product_names(frame), "fields": [], "values": {}}
    arrays = {"id": frame["id"].to_numpy(dtype=np.int64).astype(np.uint32)}
    for field, values, codes in coded_fields(frame, fields):
        header["fields"].append(field)
        header["values"][field] = values
        arrays[f"f:{field}"] = _small_codes(codes, len(values))
    return pack(header, arrays)


def points_buffer(coords, rows=None) -> bytes:
    """Point positions as float32, and each point's product row when points repeat products.

    Parameters
    ----------
    coords : array-like of shape (n_points, 2)
    rows : array-like of shape (n_points,), optional
        Row of the product table each point shows; by default point ``i`` is
        product ``i``.

    Returns
    -------
    bytes
        Header ``{"n", "bounds": [xmin, xmax, ymin, ymax]}``; arrays ``x``,
        ``y`` and, with ``rows``, ``row``.
    """
    xy = np.asarray(coords, dtype=np.float32)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"coords must have shape (n_points, 2), got {xy.shape}")
    if not np.isfinite(xy).all():
        raise ValueError("coords hold NaN or infinite values; the map cannot place those points")
    bounds = ([float(xy[:, 0].min()), float(xy[:, 0].max()), float(xy[:, 1].min()),
               float(xy[:, 1].max())] if len(xy) else [0.0, 1.0, 0.0, 1.0])
    arrays = {"x": xy[:, 0], "y": xy[:, 1]}
    if rows is not None:
        r = np.asarray(rows)
        if r.shape != (len(xy),):
            raise ValueError(f"rows has shape {r.shape} for {len(xy)} points")
        arrays["row"] = r.astype(np.uint32)
    return pack({"n": int(len(xy)), "bounds": bounds}, arrays)


def style_buffer(values, color_by: str, highlight=None, rows=None,
                 categories=None) -> tuple[bytes, list[dict]]:
    """Each point's colour group, and the highlight mask.

    Parameters
    ----------
    values : array-like of shape (n_products,)
        The column the points are coloured by, one value per product.
    color_by : str
        Its name, the legend's title.
    highlight : array-like of bool, shape (n_points,), optional
    rows : array-like of int, shape (n_points,), optional
        Product row of each point; by default point ``i`` is product ``i``.
    categories : sequence of str, optional
        The column's values in label order, for the fixed colours of the
        primary label (see :func:`core.figures.color_groups`).

    Returns
    -------
    (bytes, list of dict)
        The buffer (arrays ``group`` and, with a highlight, ``match``) and the
        legend: ``{"name", "color", "count"}`` per group (count of points), in
        legend order.
    """
    vals = np.asarray(values, dtype=object)
    # Groups are found once per product; a replicated map only indexes them.
    groups = color_groups(vals, categories)
    group = np.zeros(len(vals), dtype=np.int64)
    for g, (_name, _colour, idx) in enumerate(groups):
        group[idx] = g
    if rows is not None:
        group = group[np.asarray(rows, dtype=np.int64)]
    counts = np.bincount(group, minlength=len(groups))
    legend = [{"name": str(name), "color": colour, "count": int(counts[g])}
              for g, (name, colour, _idx) in enumerate(groups)]
    arrays = {"group": _small_codes(group, len(groups))}
    n_match = 0
    if highlight is not None:
        mask = np.asarray(highlight, dtype=bool)
        if mask.shape != (len(group),):
            raise ValueError(f"highlight mask has {mask.size} entries for {len(group)} points")
        if mask.any():
            arrays["match"] = mask.astype(np.uint8)
            n_match = int(mask.sum())
    return pack({"title": color_by, "groups": legend, "matches": n_match}, arrays), legend


def _digest(buf: bytes) -> str:
    return hashlib.sha1(buf).hexdigest()[:20]


@dataclass(frozen=True)
class MapBuffers:
    """The three buffers of a map and their content hashes.

    Attributes
    ----------
    products, points, style : bytes
    keys : dict of str to str
        Content hash of each buffer (the file name it is served under).
    legend : list of dict
        ``{"name", "color", "count"}`` per colour group.
    n_points : int
    """

    products: bytes
    points: bytes
    style: bytes
    keys: dict
    legend: list
    n_points: int

    @property
    def revision(self) -> str:
        """One hash for the whole map: unchanged means nothing to redraw."""
        return "-".join(self.keys[k] for k in ("products", "points", "style"))

    @property
    def nbytes(self) -> int:
        return len(self.products) + len(self.points) + len(self.style)


def map_buffers(coords, frame: pd.DataFrame, color_by: str, *, highlight=None, rows=None,
                fields=HOVER_FIELDS) -> MapBuffers:
    """Everything the browser needs to draw, colour and describe a product map.

    Parameters
    ----------
    coords : array-like of shape (n_points, 2)
    frame : pandas.DataFrame
        The products, one row each, with ``id``, the name column,
        ``color_by`` and the hover ``fields``.
    color_by : str
        Column of ``frame`` that colours and names the legend groups.
    highlight : array-like of bool, shape (n_points,), optional
        Points ringed on top of the others.
    rows : array-like of int, shape (n_points,), optional
        Row of ``frame`` each point shows; by default point ``i`` is row ``i``
        (then ``len(frame)`` must equal ``n_points``).
    fields : sequence of str
        Columns the hover card lists.

    Returns
    -------
    MapBuffers
    """
    if color_by not in frame.columns:
        raise ValueError(f"cannot colour by {color_by!r}: the frame has no such column")
    n = len(np.asarray(coords))
    if rows is None and n != len(frame):
        raise ValueError(f"coords has {n} rows but frame has {len(frame)}")
    if rows is not None:
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) and (rows.min() < 0 or rows.max() >= len(frame)):
            raise ValueError(f"rows must index the {len(frame)} products")
    products = products_buffer(frame, fields)
    points = points_buffer(coords, rows)
    style, legend = style_buffer(frame[color_by].to_numpy(), color_by, highlight, rows,
                                 categories_for(frame, color_by, None))
    keys = {"products": _digest(products), "points": _digest(points), "style": _digest(style)}
    return MapBuffers(products, points, style, keys, legend, n)

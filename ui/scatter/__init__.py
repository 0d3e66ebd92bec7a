"""The image-hover scatter: a product map or Plotly figure whose points show their product on hover.

:func:`map_scatter` draws a category-coloured product map at any size: the
points, colours and product table travel as binary buffers
(:mod:`core.figures.maps`) written once under ``static/maps/`` and named by
their content hash, so the browser fetches each once and a rerun sends only
their names. :func:`hover_scatter` draws any other Plotly figure (thumbnail
views, grids) sent as JSON.

Plotly's own hover labels cannot show images, so this Streamlit Components v2
element draws the figure itself with plotly.js's "gl2d" partial bundle of the
same release as the ``plotly`` package's full one (``vendor/``, a third of its
size: the browser parses and runs it three times sooner), copied into
``static/vendor/`` and loaded from Streamlit's static serving (the app works
offline). On ``plotly_hover`` the browser swaps
an ``<img>`` to the product's thumbnail (a real file under ``static/thumbs``,
loaded lazily) and fills the name and categories from data sent once with the
figure: no Streamlit rerun. Box or lasso selection and clicks are the only
events sent back to Python.

The element is mounted without a shadow root (``isolate_styles=False``):
plotly.js injects its stylesheet into the document head, which a shadow root
would not see (the modebar would be unstyled). Its own CSS classes are
prefixed ``fhs-`` to stay out of the page's way.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import figures, files
from core.dataset import Dataset
from core.figures import maps
from ui import thumbs
from ui.text import plain

_HERE = Path(__file__).resolve().parent
VENDOR_DIR = thumbs.STATIC_DIR / "vendor"
#: Where map buffers are written, served at ``app/static/maps/``.
MAPS_DIR = thumbs.STATIC_DIR / "maps"
#: plotly.js's own "gl2d" partial bundle (scatter and scattergl traces and the core),
#: vendored unchanged from the npm package of the plotly.js release inside the
#: ``plotly`` Python package (see vendor/README.md).
PLOTLY_BUNDLE = _HERE / "vendor" / "plotly-gl2d-4.1.1.min.js"
PLOTLY_FILE = PLOTLY_BUNDLE.name
#: When that plotly.js release was published (npm), 2026-09-14 19:27:49 UTC.
PLOTLY_RELEASED = 1789414069

_HTML = """
<div class="fhs-root">
  <div class="fhs-plot"></div>
  <div class="fhs-card" hidden>
    <img class="fhs-img" alt="product thumbnail" decoding="async" />
    <div class="fhs-text">
      <div class="fhs-name"></div>
      <div class="fhs-fields"></div>
      <div class="fhs-id"></div>
    </div>
  </div>
  <div class="fhs-status"></div>
</div>
"""

_LOADER = (_HERE / "plotly_loader.js").read_text(encoding="utf-8")

_component = st.components.v2.component(
    "fashion.hover_scatter",
    html=_HTML,
    css=(_HERE / "hover.css").read_text(encoding="utf-8"),
    js=_LOADER + (_HERE / "hover.js").read_text(encoding="utf-8"),
    isolate_styles=False,
)

_preloader = st.components.v2.component(
    "fashion.plotly_preload",
    js=_LOADER + (_HERE / "preload.js").read_text(encoding="utf-8"),
)


def ensure_plotly_js() -> str:
    """Copy the vendored plotly.js bundle into ``static/vendor`` if absent.

    Returns
    -------
    str
        Its URL relative to the app's page.
    """
    target = VENDOR_DIR / PLOTLY_FILE
    if not target.is_file():
        VENDOR_DIR.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=VENDOR_DIR, prefix=".tmp-", suffix=".js")
        os.close(fd)
        try:
            shutil.copyfile(PLOTLY_BUNDLE, tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    # Streamlit's static serving sends no Cache-Control, so browsers cache a
    # file for a tenth of its age since its Last-Modified (RFC 9111, 4.2.2):
    # dated at the release it holds (true: the name carries the version), a new
    # tab takes plotly.js from the cache for days instead of fetching 1.5 MB.
    try:
        if target.stat().st_mtime != PLOTLY_RELEASED:
            os.utime(target, (PLOTLY_RELEASED, PLOTLY_RELEASED))
    except OSError:
        pass  # read-only static folder: the file still serves, revalidated more often
    return f"app/static/vendor/{PLOTLY_FILE}"


def preload_plotly() -> None:
    """Start loading plotly.js in the browser now, before the page's slow work.

    A page with a scatter calls this first: the browser, idle while the server
    computes, fetches and parses plotly.js in the meantime instead of after
    the scatter arrives (in a new tab that parse is most of the first draw).
    Draws nothing visible (an empty element at the end of the sidebar); costs
    nothing when plotly.js is already loaded.
    """
    try:
        src = ensure_plotly_js()
    except OSError:
        return  # the scatter itself says what is wrong
    with st.sidebar:
        _preloader(key="fashion_plotly_preload", data={"plotly_src": src}, height="content")


def payload(fig: go.Figure, frame: pd.DataFrame, dataset: Dataset, *, height: int = 560,
            uirevision: str = "keep", fields=figures.HOVER_FIELDS) -> dict:
    """The JSON the component receives: figure, product table, thumbnail location.

    Only products that appear in the figure are described.
    """
    ids = figures.figure_ids(fig)
    rows = frame[frame["id"].isin(ids)]
    fig_json = fig.to_json()
    revision = hashlib.sha1(fig_json.encode()).hexdigest()[:16] + f"-{len(rows)}-{height}"
    return {
        "figure": json.loads(fig_json),
        "products": figures.hover_table(rows, fields),
        "thumb_base": thumbs.thumb_base(dataset),
        "plotly_src": ensure_plotly_js(),
        "height": int(height),
        "revision": revision,
        "uirevision": uirevision,
    }


def _noop() -> None:
    pass


def hover_scatter(fig: go.Figure, frame: pd.DataFrame, dataset: Dataset, *, key: str,
                  height: int = 560, fields=figures.HOVER_FIELDS) -> dict:
    """Draw ``fig`` with the image-hover card; return what the person selected or clicked.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        Point traces must hold product ids in ``customdata`` (the figures of
        :mod:`core.figures` do).
    frame : pandas.DataFrame
        The products, with ``id``, the name column (``frame.attrs["name_column"]``) and the category
        columns.
    dataset : core.dataset.Dataset
        Whose thumbnails to show; missing thumbnail files are written first.
    key : str
        Widget key; the selection is kept per key.
    height : int, default 560
        Plot height in pixels.
    fields : sequence of str
        Columns of ``frame`` the hover card lists under the name.

    Returns
    -------
    dict
        ``selected_ids``: list of int, the ids inside the last box or lasso
        selection (empty after a double click); ``clicked_id``: the id of the
        point clicked in this run, else None.
    """
    ids = figures.figure_ids(fig)
    try:
        thumbs.ensure_thumbnails(dataset, ids)
        data = payload(fig, frame, dataset, height=height, uirevision=key, fields=fields)
    except OSError as exc:
        st.error(f"The scatter needs to write files under {thumbs.STATIC_DIR.name}/ beside app.py "
                 f"(thumbnails and the local copy of plotly.js) and could not: {plain(exc)}. Make that "
                 "folder writable by the user running the app, then reload.")
        st.plotly_chart(fig, key=f"{key}_fallback")
        return {"selected_ids": [], "clicked_id": None}
    return _mount(key, data, height)


#: A map file unused this long is removed (once per process, on the first map drawn).
MAP_MAX_AGE_S = 7 * 86400
#: Its modification time is refreshed when used, at most this often.
_TOUCH_EVERY_S = 3600
_pruned: list[bool] = []


#: gzip level of map files: written once per content, read by every visit.
_GZIP_LEVEL = 6


def _publish(data: bytes, key: str) -> str:
    """Write a map buffer, gzipped, under :data:`MAPS_DIR` once; return its URL.

    The file is compressed here, once, and served as ``application/gzip``,
    which Streamlit's gzip middleware leaves alone: otherwise the server
    compresses every fetch again at level 9 (half a second of CPU for a
    million points) before the first byte leaves. The browser inflates it
    with ``DecompressionStream``.

    A file already there is only touched, so its age says when it was last
    used, and files no map has used for :data:`MAP_MAX_AGE_S` are pruned: maps
    of other settings and data would otherwise pile up forever.
    """
    if not _pruned:
        _pruned.append(True)
        files.prune_temporaries(MAPS_DIR, max_age_s=MAP_MAX_AGE_S,
                                match=lambda name: name.endswith((".bin", ".bin.gz"))
                                or files.is_temporary(name))
    name = f"{key}.bin.gz"
    path = MAPS_DIR / name
    if not path.is_file():
        MAPS_DIR.mkdir(parents=True, exist_ok=True)
        # mtime=0: the same buffer always gives the same bytes.
        files.atomic_write_bytes(path, gzip.compress(data, compresslevel=_GZIP_LEVEL, mtime=0))
    else:
        try:
            if time.time() - path.stat().st_mtime > _TOUCH_EVERY_S:
                os.utime(path)
        except OSError:
            pass  # read-only static folder: the file still serves
    return f"app/static/maps/{name}"


def map_payload(buffers: maps.MapBuffers, dataset: Dataset, *, height: int = 560,
                uirevision: str = "keep", title: str | None = None,
                density_threshold: int = maps.DENSITY_THRESHOLD) -> dict:
    """The small JSON the component receives for a map: where its buffers are, and how to draw.

    The buffers themselves are written to static files named by their hashes
    (once); this dict is all a rerun sends.
    """
    return {
        "map": {
            "products": _publish(buffers.products, buffers.keys["products"]),
            "points": _publish(buffers.points, buffers.keys["points"]),
            "style": _publish(buffers.style, buffers.keys["style"]),
            "density_threshold": int(density_threshold),
        },
        "title": title,
        "thumb_base": thumbs.thumb_base(dataset),
        "plotly_src": ensure_plotly_js(),
        "height": int(height),
        "revision": f"{buffers.revision}-{height}-{title}",
        "uirevision": uirevision,
    }


def map_scatter(coords, frame: pd.DataFrame, dataset: Dataset, *, key: str,
                color_by: str, highlight=None, rows=None, title: str | None = None,
                height: int = 560, fields=figures.HOVER_FIELDS,
                density_threshold: int = maps.DENSITY_THRESHOLD) -> dict:
    """Draw a category-coloured product map with the image-hover card; return the selection.

    Up to ``density_threshold`` points are WebGL markers, one trace per colour
    group; above it the browser draws a density image (redrawn on zoom) under
    an even sample of markers. Hover, click and box/lasso selection find the
    nearest of all points in the browser, at any size.

    Parameters
    ----------
    coords : array-like of shape (n_points, 2)
    frame : pandas.DataFrame
        The products, one row each, with ``id``, the name column,
        ``color_by`` and ``fields``.
    dataset : core.dataset.Dataset
        Whose thumbnails to show; missing thumbnail files are written first.
    key : str
        Widget key; the selection is kept per key.
    color_by : str
        Column of ``frame`` naming and colouring the legend groups.
    highlight : array-like of bool, shape (n_points,), optional
        Points ringed on top, in a legend entry ``"Matches (k)"``.
    rows : array-like of int, shape (n_points,), optional
        Row of ``frame`` each point shows, when points repeat products.
    title : str, optional
    height : int, default 560
    fields : sequence of str
        Columns of ``frame`` the hover card lists under the name.
    density_threshold : int
        Most points drawn as markers.

    Returns
    -------
    dict
        ``selected_ids`` (list of int, unique product ids inside the last box
        or lasso), ``clicked_id`` (int or None) and ``payload_bytes`` (size of
        the three buffers).
    """
    buffers = maps.map_buffers(coords, frame, color_by, highlight=highlight, rows=rows,
                               fields=fields)
    try:
        thumbs.ensure_thumbnails(dataset, frame["id"].to_numpy())
        data = map_payload(buffers, dataset, height=height, uirevision=key, title=title,
                           density_threshold=density_threshold)
    except OSError as exc:
        st.error(f"The scatter needs to write files under {thumbs.STATIC_DIR.name}/ beside app.py "
                 f"(thumbnails, map data and the local copy of plotly.js) and could not: "
                 f"{plain(exc)}. Make that folder writable by the user running the app, then reload.")
        return {"selected_ids": [], "clicked_id": None, "payload_bytes": 0}
    result = _mount(key, data, height)
    result["payload_bytes"] = buffers.nbytes
    return result


def _mount(key: str, data: dict, height: int) -> dict:
    result = _component(
        key=key, data=data, default={"selected": []}, height=height + 10,
        on_selected_change=_noop, on_clicked_change=_noop,
    )
    selected = result.get("selected") or []
    clicked = result.get("clicked")
    return {
        "selected_ids": [int(i) for i in selected],
        "clicked_id": None if clicked is None else int(clicked),
    }

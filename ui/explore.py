"""The reusable product scatter of every page: colour, highlight, hover, select, pin.

:func:`explore_scatter` draws, in order: a "colour by" selector and a
highlight filter, the image-hover scatter (:mod:`ui.scatter`), then a gallery
of the products inside a box or lasso selection with their category
breakdown, and a detail card for the last clicked product with its most
similar products (:func:`core.similarity.nearest`). The columns it colours
by, searches, names items with and lists on the card come from the
catalogue's description (:class:`core.catalogue.Catalogue`).
"""
from __future__ import annotations

from typing import Mapping, Optional

import numpy as np
import pandas as pd
import streamlit as st

from core import figures, similarity
from ui import progress, thumbs
from ui.scatter import map_scatter
from ui.text import plain

#: Products shown in the selection gallery (the breakdown counts them all).
GALLERY_MAX = 40
#: Products shown beside a pinned one.
N_SIMILAR = 8
#: Longest highlight query (a longer one in a link is cut to this).
QUERY_MAX = 100


def match(frame: pd.DataFrame, query: str, columns) -> np.ndarray:
    """Rows matching a highlight query, as a boolean mask.

    A query equal (ignoring case) to a value of one of ``columns`` selects
    those rows (a category); otherwise it is looked for as a substring of
    every one of ``columns``.

    Parameters
    ----------
    frame : pandas.DataFrame
    query : str
    columns : sequence of str
        The searched columns: the description's ``search_columns`` (label
        columns, then the name).
    """
    q = (query or "").strip().lower()
    if not q:
        return np.zeros(len(frame), dtype=bool)
    columns = [c for c in columns if c in frame.columns]
    exact = np.zeros(len(frame), dtype=bool)
    for col in columns:
        exact |= frame[col].astype(str).str.lower().to_numpy() == q
    if exact.any():
        return exact
    found = np.zeros(len(frame), dtype=bool)
    for col in columns:
        found |= frame[col].astype(str).str.lower().str.contains(q, regex=False).to_numpy()
    return found


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a year read as float because the column had blanks
    return str(value)


def _gallery(sub, ids, *, width: int = 90, captions=None, n_cols: int = 8) -> None:
    """Thumbnails of products with captions (plain text: product names come from a CSV)."""
    paths, caps = [], []
    for i, pid in enumerate(ids):
        path = thumbs.thumb_path(sub.dataset, pid)
        if path.is_file():
            paths.append(str(path))
            caps.append(plain(captions[i]) if captions is not None else str(pid))
    if not paths:
        st.caption("No images for these products.")
        return
    for start in range(0, len(paths), n_cols):
        cols = st.columns(n_cols)
        for col, path, cap in zip(cols, paths[start:start + n_cols], caps[start:start + n_cols]):
            col.image(path, caption=cap, width=width)


def _names(sub, rows: pd.DataFrame) -> list[str]:
    """Each row's display name (its id when the catalogue names none)."""
    col = sub.dataset.catalogue.name_column
    values = rows[col] if col in rows.columns else rows["id"]
    return [str(n) for n in values]


def _selection(sub, frame: pd.DataFrame, ids: list[int], key: str) -> None:
    rows = frame[frame["id"].isin(ids)]
    st.markdown(f"**Selection: {len(rows):,} products**")
    if rows.empty:
        return
    primary = sub.label_columns[0]
    fig = figures.class_counts(rows[primary].value_counts(), title=None, order=sub.categories,
                               label=primary)
    fig.update_layout(height=220, margin=dict(l=10, r=10, t=10, b=10))
    st.plotly_chart(fig, key=f"{key}_breakdown", config={"displayModeBar": False})
    st.caption(f"How to read this: products per {plain(primary)} inside the box or lasso; "
               "a pure region holds one colour.")
    shown = rows.head(GALLERY_MAX)
    _gallery(sub, shown["id"].tolist(), captions=[n[:28] for n in _names(sub, shown)], n_cols=5)
    if len(rows) > GALLERY_MAX:
        st.caption(f"Showing {GALLERY_MAX} of {len(rows):,}; draw a smaller box to see the rest.")


def _detail(sub, frame: pd.DataFrame, pid: int, key: str, random_state: int) -> None:
    row = frame[frame["id"] == pid]
    st.markdown(f"**Pinned product** · id {int(pid)}")
    if st.button("Unpin", key=f"{key}_unpin", icon=":material/close:"):
        st.session_state.pop(f"{key}_pinned", None)
        st.rerun()
    if row.empty:
        st.caption(f"Product {pid} is not in the current subsample.")
        return
    r = row.iloc[0]
    left, right = st.columns([1, 2])
    path = thumbs.thumb_path(sub.dataset, pid)
    if path.is_file():
        left.image(str(path), width=180)
    cat = sub.dataset.catalogue
    first = ["id", *([cat.name_column] if cat.name_column else []), *cat.label_columns]
    fields = [c for c in dict.fromkeys(first + list(row.columns))
              if c in row.columns and c != "label"]
    right.dataframe(pd.DataFrame({"field": fields, "value": [_text(r[c]) for c in fields]}),
                    hide_index=True, width="stretch")
    st.markdown("**Most similar products** (nearest in the first 50 PCA components of the pixels)")
    try:
        with st.spinner("Finding similar products..."):
            near = similarity.nearest(sub, int(pid), N_SIMILAR, random_state=random_state)
    except Exception as exc:  # the card must not take the page down
        st.caption(f"Similar products are unavailable: {plain(exc)}")
        return
    names = _names(sub, frame.set_index("id", drop=False).reindex(near["id"]))
    _gallery(sub, near["id"].tolist(), n_cols=4, width=90,
             captions=[f"{n[:22]} (d={d:.0f})" for n, d in zip(names, near["distance"])])


def explore_scatter(sub, coords, frame: pd.DataFrame, *, key: str, title: Optional[str] = None,
                    color_by: Optional[str] = None,
                    extra_hover: Optional[Mapping[str, object]] = None,
                    random_state: int = 42, height: int = 560) -> dict:
    """Draw the interactive product scatter with its filter, gallery and detail card.

    Parameters
    ----------
    sub : core.subsample.Subsample
    coords : array-like of shape (n_samples, 2)
        Positions, in the order of ``frame``.
    frame : pandas.DataFrame
        The subsample's rows (``sub.frame()``), one per point.
    key : str
        Prefix of the widget keys; one per scatter on a page.
    title : str, optional
    color_by : str, optional
        Initial "colour by" column (the primary label by default).
    extra_hover : mapping of str to array-like, optional
        Extra per-point columns (a cluster label...) shown in the hover card
        and offered in "colour by".
    random_state : int, default 42
        Seed of the PCA behind "most similar".
    height : int, default 560

    Returns
    -------
    dict
        ``selected_ids`` (list of int) and ``clicked_id`` (int or None).
    """
    frame = frame.reset_index(drop=True)
    extra = dict(extra_hover or {})
    for name, values in extra.items():
        frame[name] = np.asarray(values).astype(str)
    cat = sub.dataset.catalogue
    frame.attrs.update(label_columns=sub.label_columns, categories=sub.categories,
                       name_column=cat.name_column)
    options = [c for c in sub.label_columns if c in frame.columns] + list(extra)
    default = color_by if color_by in options else options[0]
    ckey, qkey = f"{key}_color", f"{key}_q"
    c1, c2 = st.columns([1, 2])
    colour = c1.selectbox("Colour by", options, index=options.index(default), key=ckey,
                          bind="query-params")
    query = c2.text_input("Highlight", key=qkey, bind="query-params", max_chars=QUERY_MAX,
                          placeholder=f"a value of {', '.join(cat.search_columns[:3])}, or part of one")
    query = (query or "")[:QUERY_MAX]
    mask = match(frame, query, cat.search_columns)
    if query and not mask.any():
        c2.caption(f"No product matches “{plain(query)}”.")
    elif query:
        c2.caption(f"{int(mask.sum()):,} products match, ringed in black.")

    todo = thumbs.missing(sub.dataset, frame["id"].to_numpy())
    if len(todo) > 200:
        with progress.task(f"Writing {len(todo):,} thumbnails (first view only)") as cb:
            thumbs.ensure_thumbnails(sub.dataset, todo, progress=cb)

    hover_fields = tuple(cat.hover_fields) + tuple(extra)
    result = map_scatter(coords, frame, sub.dataset, key=key, color_by=colour,
                         highlight=mask if mask.any() else None, title=title, height=height,
                         fields=hover_fields)
    st.caption("How to read this: each dot is a product; hover for its picture, click to pin it, "
               "drag a box (or lasso from the toolbar) to list the products inside; click legend "
               "entries to hide or show a category; double-click the plot to clear the selection.")

    pkey = f"{key}_pinned"
    if result["clicked_id"] is not None:
        st.session_state[pkey] = result["clicked_id"]
    left, right = st.columns(2, gap="large")
    with left:
        if result["selected_ids"]:
            _selection(sub, frame, result["selected_ids"], key)
        else:
            st.caption("Draw a box or lasso on the scatter to list the products inside it.")
    with right:
        pinned = st.session_state.get(pkey)
        if pinned is not None:
            _detail(sub, frame, int(pinned), key, random_state)
        else:
            st.caption("Click a point to pin its product here, with its most similar products.")
    return result

"""Overview: where the data comes from, what cleaning found, what the subsample holds."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core import config, figures, summary
from ui import progress, state
from ui.text import plain

settings = state.current()
ds, sub = settings.dataset, settings.sub
cat = ds.catalogue
primary = sub.label_columns[0]

st.title("Catalogue overview")

# --- Data source ---------------------------------------------------------------
if ds.is_demo:
    st.warning(
        "**Demo set: synthetic images.** These products are generated locally so the app works "
        f"with no download. Set `{config.DATA_ENV}` to a copy of the Kaggle dataset "
        "(or run `python -m core download`) to explore the real catalogue.",
        icon=":material/science:")
else:
    st.success(f"**Data:** {plain(ds.describe())}", icon=":material/folder_open:")
if cat.kind == "kaggle":
    st.markdown(f"**Source:** [{config.DATASET_SOURCE}]({config.DATASET_URL}) · "
                f"**Licence:** {config.DATASET_LICENSE}")
roles = " · ".join(f"`{plain(col)}`: {role}" for col, role in cat.roles().items())
st.markdown(f"**Columns** ({plain(cat.source)}): {roles}")

info = progress.run(summary.dataset_info, ds,
                    label=f"Reading {cat.table or 'the class folders'} and checking every image")
frame = progress.run(sub.frame, label="Preparing the subsample")
report, cleaning, imgs = info["styles"], info["cleaning"], info["images"]

c1, c2, c3, c4, c5, c6 = st.columns(6)
c1.metric("Rows read", f"{info['rows']:,}")
c2.metric("Rows recovered", f"{report['recovered']:,}",
          help="Rows whose product name held unquoted commas, rejoined instead of lost.")
c3.metric("Rows dropped (defects)", f"{sum(report['dropped'].values()):,}",
          help="; ".join(f"{k}: {v}" for k, v in report["dropped"].items()) or "none")
c4.metric("Rows with a null", f"{cleaning['dropped_null']:,}",
          help="Dropped by the notebook's dropna()"
               + (f"; {cleaning['dropped_unknown_category']} more of no known category"
                  if cleaning.get("dropped_unknown_category") else "") + ".")
c5.metric("Images missing / bad", f"{imgs['missing']:,} / {imgs['unreadable']:,}",
          help="Rows without an image file / files that do not decode; both are left out.")
c6.metric("Subsample", f"{len(frame):,}",
          help=f"{sub.fraction:.0%} of the {cleaning['rows_after']:,} clean rows (seed {sub.seed}), "
               "keeping rows with a readable image.")
if report["dropped"] or report["recovered"]:
    with st.expander("What the reader fixed or dropped"):
        st.json({"recovered_ids": report["recovered_ids"][:50], "dropped_lines": report["dropped_lines"]},
                expanded=False)
if imgs["unreadable"] or any(imgs.get("converted", {}).values()):
    with st.expander("Unusual image files"):
        st.json({"unreadable": imgs["unreadable_files"], "converted": imgs.get("converted", {})},
                expanded=False)

# --- Cleaning --------------------------------------------------------------------
left, right = st.columns(2)
with left:
    st.plotly_chart(figures.null_counts(cleaning["nulls_before"], cleaning["nulls_after"]), key="nulls")
    st.caption(f"How to read this: missing values per column of {plain(cat.table or 'the listing')} "
               "before and after cleaning; "
               + ("every row with any missing field is dropped (the notebook's `dropna()`)."
                  if cat.kind == "kaggle" else "rows without an id, an image or a label are dropped."))

# --- Class counts ----------------------------------------------------------------
with right:
    scope = st.segmented_control("Count", ["subsample", "all clean rows"], default="subsample",
                                 key="counts", bind="query-params", required=True)
    counted = (frame[primary].value_counts() if scope == "subsample"
               else pd.Series(info["classes"]["clean_rows"]))
    st.plotly_chart(figures.class_counts(counted[counted > 0], title=f"Items per {primary} ({scope})",
                                         order=sub.categories, label=primary), key="classes")
    st.caption(f"How to read this: items per value of {plain(primary)}, the primary label (log "
               "scale when the classes are very unequal); where one class dominates and others "
               "are tiny, accuracy alone says little about the small ones.")

# --- Gallery ----------------------------------------------------------------------
st.subheader("Sample products per category")
per_row = st.slider("Products per category", 4, 12, 8, key="per_cat", bind="query-params")
rng = np.random.default_rng(settings.random_state)
caption_col = cat.name_column if cat.name_column in frame.columns else "id"
for name in sub.categories:
    rows = frame[frame[primary] == name]
    if rows.empty:
        continue
    pick = rows.iloc[np.sort(rng.choice(len(rows), size=min(per_row, len(rows)), replace=False))]
    st.markdown(f"**{plain(name)}** · {len(rows):,} in the subsample")
    cols = st.columns(per_row)
    for col, (_, row) in zip(cols, pick.iterrows()):
        col.image(str(ds.image_path(row["id"])), caption=plain(str(row[caption_col])[:30]),
                  width="stretch")

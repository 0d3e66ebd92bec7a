"""Embeddings: the subsample in two dimensions by PCA, t-SNE, LLE, MDS or UMAP."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core import clustering, figures, manifold
from ui import progress, state, thumbs
from ui.explore import explore_scatter
from ui.scatter import hover_scatter, preload_plotly
from ui.text import plain

LABELS = dict(manifold.DISPLAY_NAMES)
VIEWS = ["Scatter", "Thumbnails", "Thumbnails + categories", "Compare methods", "Export"]
#: Widgets for the parameters a method uses (its defaults come from core.manifold).
_INPUT_DIMS = [10, 20, 30, 50, 100, 200]

settings = state.current()
preload_plotly()
sub = settings.sub
full = frame = sub.frame()

st.title("Embeddings")
st.caption(f"{len(frame):,} products of the subsample placed in two dimensions so that "
           "similar pictures land close together.")

methods = [m for m in manifold.METHODS if m in LABELS]
top = st.columns([2, 3])
method = top[0].segmented_control("Method", methods, default="tsne" if "tsne" in methods else methods[0],
                                  format_func=LABELS.get, key="emb_method", bind="query-params",
                                  required=True)
defaults = manifold.DEFAULTS.get(method, {})
params: dict = {}
with top[1].popover("Parameters", icon=":material/tune:", disabled=not defaults):
    if "perplexity" in defaults:
        params["perplexity"] = float(st.slider(
            "Perplexity", 5, 100, int(defaults["perplexity"]), key=f"emb_{method}_perplexity",
            bind="query-params", help="Roughly how many neighbours each point keeps close."))
    if "n_neighbors" in defaults:
        params["n_neighbors"] = st.slider(
            "Neighbours", 5, 100, int(defaults["n_neighbors"]), key=f"emb_{method}_neighbors",
            bind="query-params", help="Size of the neighbourhood the method preserves.")
    if defaults.get("n_iter") is not None:
        params["n_iter"] = st.slider(
            "Iterations", 50, 2000, int(defaults["n_iter"]), step=50, key=f"emb_{method}_iter",
            bind="query-params",
            help="t-SNE: iterations after early exaggeration; MDS: the most SMACOF iterations.")
    if defaults.get("n_input_dims") is not None:
        d0 = int(defaults["n_input_dims"])
        params["n_input_dims"] = st.select_slider(
            "Input dimensions", sorted(set(_INPUT_DIMS) | {d0}), d0, key=f"emb_{method}_input",
            bind="query-params", help="How many leading PCA components the method starts from.")
shown = manifold.method_params(method, **params)
top[1].caption(", ".join(f"{k} = {v}" for k, v in shown.items() if v is not None)
               or "PCA has no parameters.")


def embed(m: str, p: dict):
    return progress.run(manifold.embed, sub, m, random_state=settings.random_state, **p,
                        label=f"Computing the {LABELS[m]} embedding of {len(frame):,} products")


emb = embed(method, params)
coords = np.asarray(emb.coords)
if emb.rows is not None:  # LLE and MDS of a large catalogue: a sample only
    frame = full.iloc[emb.rows].reset_index(drop=True)
    st.info(f"{LABELS[method]} of a sample of {len(frame):,} products: at {len(full):,} products "
            "this method runs on a sample, and the map shows that sample.")
st.caption(f"{LABELS[method]}: {emb.seconds:.1f} s to compute" + (f", route: {emb.route}" if emb.route else "")
           + ". Axes have no units: only the neighbourhoods mean something.")

tabs = st.tabs(VIEWS, key="emb_view", bind="query-params", on_change="rerun")
title = f"{LABELS[method]} of {len(frame):,} products"

if tabs[0].open:
    with tabs[0]:
        explore_scatter(sub, coords, frame, key=f"emb_{method}", title=title,
                        random_state=settings.random_state)

for i, with_categories in ((1, False), (2, True)):
    if tabs[i].open:
        with tabs[i]:
            n_img = st.slider("Thumbnails", 30, 400, 150, step=10, key=f"emb_nthumbs{i}",
                              help="How many pictures are drawn; they are spread so they do not pile up.")
            thumbs.ensure_thumbnails(sub.dataset, frame["id"].to_numpy())
            fig = figures.thumbnail_scatter(
                coords, frame, lambda pid: thumbs.thumb_url(sub.dataset, pid),
                categories=with_categories, max_images=n_img, title=title, hover_names=False)
            hover_scatter(fig, frame, sub.dataset, key=f"emb_thumbs{i}_{method}", height=680)
            st.caption("How to read this: pictures are drawn at their products' positions, one per "
                       "area; similar-looking products should sit together"
                       + (", and a frame's colour is the product's category." if with_categories
                          else "."))

if tabs[3].open:
    with tabs[3]:
        st.markdown("Every method on the same subsample with its default parameters, and quality "
                    "figures measured the same way for all.")
        cached = {m: bool(manifold.embed.is_cached(sub, m, random_state=settings.random_state))
                  for m in methods}
        cold = [m for m in methods if not cached[m]]
        run_all = True
        if cold:
            run_all = st.button(f"Compute {', '.join(LABELS[m] for m in cold)} (default parameters)",
                                key="emb_compute_all", type="primary")
        if run_all:
            embs, rows = {}, []
            for m in methods:
                e = embs[m] = embed(m, {})
                q = progress.run(manifold.quality, sub, m, random_state=settings.random_state,
                                 label=f"Measuring the quality of {LABELS[m]}")
                rows.append({"method": LABELS[m], "trustworthiness": q["trustworthiness"],
                             "kNN accuracy": q["knn_accuracy"], "silhouette": q["silhouette"],
                             "seconds": q.get("seconds", e.seconds)})
            table = pd.DataFrame(rows)
            st.plotly_chart(figures.quality_bars(table), key="emb_quality")
            st.caption("How to read this: trustworthiness (0-1) says how far the 10 nearest "
                       "neighbours in 2-D were neighbours in the pixels; kNN accuracy is how often "
                       f"the 10 nearest 2-D neighbours vote the right {plain(sub.label_columns[0])} (5-fold); "
                       "silhouette (-1 to 1) says how well the categories separate. Higher is "
                       "better for all three.")
            st.dataframe(table.style.format({"trustworthiness": "{:.3f}", "kNN accuracy": "{:.1%}",
                                             "silhouette": "{:.3f}", "seconds": "{:.1f}"}),
                         hide_index=True)
            best = table.loc[table["trustworthiness"].idxmax(), "method"]
            best_knn = table.loc[table["kNN accuracy"].idxmax(), "method"]
            st.markdown(f"Measured here: **{best}** keeps neighbourhoods best (trustworthiness), "
                        f"**{best_knn}** separates the categories best (kNN accuracy).")
            # Where some methods ran on a sample, every panel shows the products all share.
            shared = manifold.shared_rows(embs.values())
            grid_frame = full if shared is None else full.iloc[shared].reset_index(drop=True)
            grid = figures.embedding_grid(
                {LABELS[m]: manifold.coords_on(embs[m], shared) for m in methods}, grid_frame)
            hover_scatter(grid, grid_frame, sub.dataset, key="emb_grid",
                          height=int(grid.layout.height or 640))
            st.caption("How to read this: the same products in every panel, coloured by "
                       f"{plain(sub.label_columns[0])}; click a legend entry to hide a category in "
                       "all panels."
                       + ("" if shared is None else f" The {len(grid_frame):,} products shown are "
                          "the sample every method was computed on."))
        else:
            st.caption("Methods not yet computed for these settings are computed once, then "
                       "served from the cache.")

if tabs[4].open:
    with tabs[4]:
        # The k the clustering page opens with: core's pick from the default sweep,
        # the one the warm-up caches.
        sweep = progress.run(clustering.kmeans_sweep, sub, random_state=settings.random_state,
                             label="Choosing the number of clusters")
        k = st.slider("Clusters (k-means on this embedding)", 2, 15, clustering.default_k(sweep),
                      key="emb_k", bind="query-params")
        labels = clustering.fit_kmeans(coords, k, random_state=settings.random_state)["labels"]
        described = [sub.dataset.catalogue.name_column, *sub.label_columns]
        out = frame[["id", *[c for c in dict.fromkeys(described) if c in frame.columns]]].copy()
        out.insert(1, "x", coords[:, 0])
        out.insert(2, "y", coords[:, 1])
        out["cluster"] = np.asarray(labels, dtype=int)
        out["method"] = LABELS[method]
        st.dataframe(out.head(200), hide_index=True)
        st.download_button("Download CSV", out.to_csv(index=False).encode(),
                           file_name=f"embedding_{method}_k{k}.csv", mime="text/csv",
                           key="emb_download", icon=":material/download:")
        st.caption(f"{len(out):,} rows: the {LABELS[method]} coordinates, the k-means cluster "
                   f"(k = {k}, seed {settings.random_state}) and the categories of every product.")

"""PCA: how many components the images need, what they keep, and the 2-D map."""
from __future__ import annotations

import streamlit as st

from core import figures, pca
from ui import progress, state
from ui.explore import explore_scatter
from ui.scatter import preload_plotly

settings = state.current()
preload_plotly()
sub = settings.sub

st.title("Principal component analysis")
st.caption(f"{sub.image_size}x{sub.image_size} {'colour' if sub.color else 'grayscale'} pixels, "
           "standardized per pixel, as the notebook prepared them.")

spec = progress.run(pca.spectrum, sub, label="Decomposing the feature matrix")
frame = progress.run(sub.frame, label="Preparing the subsample")
cumulative = spec["cumulative"]
n95 = int(spec["n_components_95"])

# --- Variance ------------------------------------------------------------------
left, right = st.columns([3, 1])
with left:
    st.plotly_chart(figures.variance_curve(cumulative, pca.VARIANCE_TARGET, n95), key="variance")
    st.caption("How to read this: the share of the pixel variance kept by the first n components; "
               f"{n95} components keep {pca.VARIANCE_TARGET:.0%} of it (dashed line), out of "
               f"{sub.image_size ** 2 * (3 if sub.color else 1):,} pixel features.")
with right:
    st.metric(f"Components for {pca.VARIANCE_TARGET:.0%} of the variance", f"{n95}")
    st.metric("Images", f"{len(frame):,}")
    if spec.get("seconds") is not None:
        st.metric("Decomposition", f"{spec['seconds']:.1f} s", help=str(spec.get("method", "")))

# --- Reconstructions -----------------------------------------------------------
st.subheader("Reconstructions")
max_n = int(spec["n_stored"])  # never more than the stored basis holds: no new decomposition
n = st.slider("Components", 1, max_n, min(n95, max_n), key="n_components", bind="query-params",
              help="Reconstruct images from their first n principal components.")
start = st.number_input("First product (row of the subsample)", 0, max(0, len(frame) - 10), 0, step=10,
                        key="first", bind="query-params")
indices = tuple(range(int(start), min(int(start) + 10, len(frame))))
rec = progress.run(pca.reconstruct, sub, indices, int(n), settings.random_state,
                   label="Reconstructing images")
titles = [str(frame[sub.label_columns[0]].iloc[i]) for i in indices]
titles += [f"MSE {e:.2f}" for e in rec["errors"]]
fig = figures.image_grid(list(rec["originals_pixels"]) + list(rec["reconstructions_pixels"]), n_cols=10,
                         titles=titles, row_titles=["original", f"{n} components"],
                         title=f"10 products and their reconstruction from {n} components", tile_px=120)
st.plotly_chart(fig, key="reconstructions")
c1, c2, c3 = st.columns(3)
c1.metric("Variance kept", f"{rec['variance_retained']:.2%}")
c2.metric("Mean squared error (these 10)", f"{rec['errors'].mean():.3f}")
c3.metric("Mean squared error (whole subsample)", f"{rec['mean_error']:.3f}")
st.caption("How to read this: top row the products, bottom row what n components rebuild; the error is "
           "the mean squared difference in standardized pixel units (0 = perfect, 1 = as far as "
           "predicting the average image).")

# --- 2-D projection --------------------------------------------------------------
st.subheader("The 2-D projection")
coords, variance_2d = progress.run(pca.projection_2d, sub, settings.random_state,
                                   label="Projecting on two components")
st.metric("Variance explained by two components", f"{variance_2d:.2%}")
title = f"PCA 2-D projection ({variance_2d:.1%} of the variance)"
explore_scatter(sub, coords, frame, key="pca2d", title=title)
st.caption("How to read this: each point is a product placed by its first two principal components; "
           "products of a category that sit together look alike in raw pixels. Two components keep "
           "only a third of the variance, so categories overlap.")

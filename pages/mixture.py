"""Gaussian mixture: how many components, the density they model, and new products drawn from it."""
from __future__ import annotations

import streamlit as st

from core import figures, mixture, spaces
from ui import progress, state

settings = state.current()
sub, rs = settings.sub, settings.random_state

#: 2-D input spaces only: the density contours need a plane.
SPACES = {space: label for space, label in spaces.SPACE_LABELS.items() if spaces.space_dims(space) == 2}
FIRST_N, LAST_N = mixture.DEFAULT_N_RANGE
ROUTE_NAMES = {"2d": "The notebook's route: a mixture on PCA 2-D",
               "pca": f"A mixture on {mixture.DEFAULT_SAMPLE_DIMS} PCA components"}

st.title("Gaussian mixture")
space = st.selectbox("Input space", list(SPACES), format_func=SPACES.get, key="gm_space",
                     bind="query-params", help="Plane the mixture models (full covariances, as the notebook).")
frame = progress.run(sub.frame, label="Preparing the subsample")

# --- How many components ----------------------------------------------------------
sweep = progress.run(mixture.bic_sweep, sub, space, mixture.DEFAULT_N_RANGE, rs,
                     label=f"Mixtures of {FIRST_N}..{LAST_N} components")
n = st.slider("Components", FIRST_N, LAST_N, int(sweep["bic_k"]), key="components", bind="query-params",
              help=f"Mixture size for the density below; BIC picks {sweep['bic_k']}.")
left, right = st.columns([2, 3], gap="medium")
with left:
    st.plotly_chart(figures.information_criteria(sweep["n"], sweep["bic"], sweep["aic"], sweep["bic_k"]),
                    key="bic")
    st.caption("How to read this: BIC and AIC trade the fit (likelihood) against the number of "
               "parameters; lower is better, and BIC, which penalises size more, picks the circled count.")

# --- Density ---------------------------------------------------------------------------
with right:
    dens = progress.run(mixture.density_grid, sub, n, space, spaces.GRID, rs,
                        label=f"Density of {n} components")
    X = progress.run(spaces.space_matrix, sub, space, rs, label="Loading the points")
    st.plotly_chart(figures.density_contours(dens["xx"], dens["yy"], dens["nll"], means=dens["means"],
                                             regions=dens["regions"], coords=X,
                                             categories=frame[sub.label_columns[0]].to_numpy(),
                                             order=sub.categories,
                                             ids=frame["id"].to_numpy(), weights=dens["weights"],
                                             title=f"Density of {n} Gaussian components on {SPACES[space]}"),
                    key="density")
    st.caption("How to read this: contours of the negative log-likelihood on a log scale (yellow = dense, purple = empty), dashed "
               "lines split the plane by most likely component, crosses mark the means with their weights.")

# --- Generated products ----------------------------------------------------------------
st.subheader("New products drawn from the mixture")
st.caption("Points are drawn from the BIC-chosen mixture and turned into images by the PCA inverse "
           "transform. The notebook's route keeps two components (a third of the variance), so its "
           "images are blurry averages; a mixture on more components keeps more detail.")
count = st.select_slider("Images per route", sorted({8, 16, 24, 32, mixture.N_GENERATED}),
                         mixture.N_GENERATED, key="n_new", bind="query-params")
ready = all(mixture.realism.is_cached(sub, count, route, None, mixture.DEFAULT_SAMPLE_DIMS, rs)
            for route in mixture.ROUTES)

def _generate() -> None:
    st.session_state["gm_generate"] = True


st.button("Generate new products", type="primary", icon=":material/auto_awesome:", on_click=_generate)
if ready or st.session_state.get("gm_generate"):
    cols = st.columns(2)
    for col, route in zip(cols, mixture.ROUTES):
        with col:
            gen = progress.run(mixture.sample_images, sub, count, route, None, mixture.DEFAULT_SAMPLE_DIMS, rs,
                               label=f"Generating new products. {ROUTE_NAMES[route]}")
            real = progress.run(mixture.realism, sub, count, route, None, mixture.DEFAULT_SAMPLE_DIMS, rs,
                                label="Measuring the distance to real products")
            st.markdown(f"**{ROUTE_NAMES[route]}** ({gen['n_components']} Gaussian components, chosen by BIC)")
            st.metric("Mean distance to the nearest real image", f"{real['mean_distance']:.1f}",
                      help="Distance to the closest real image after normalising each image's contrast "
                           "(zero mean, unit RMS), so blur is not rewarded; lower = more like a real "
                           f"product. Plain Euclidean: {real['mean_euclidean']:.1f}.")
            st.plotly_chart(figures.image_grid(list(gen["images"]), n_cols=8,
                                               titles=[f"{d:.0f}" for d in real["distances"]],
                                               tile_px=85),
                            key=f"gen_{route}")
    st.caption("How to read this: each tile is a generated product; its number is the distance to the "
               "closest real image of the subsample (lower = more realistic).")

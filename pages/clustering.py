"""Clustering: k-means on a projection or an embedding, how many clusters, and what they mean."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core import clustering, figures, manifold, spaces
from ui import progress, state

settings = state.current()
sub, rs = settings.sub, settings.random_state

SPACES = spaces.SPACE_LABELS
METHOD_NAMES = manifold.DISPLAY_NAMES
FIRST_K, LAST_K = clustering.DEFAULT_K_RANGE

st.title("K-means clustering")
space = st.selectbox("Input space", list(SPACES), format_func=SPACES.get, key="space",
                     bind="query-params",
                     help="Where k-means runs. The notebook clustered the PCA 2-D projection; "
                          "embeddings separate categories better; 50 PCA components keep more detail.")
frame = progress.run(sub.frame, label="Preparing the subsample")
primary = sub.label_columns[0]

# --- How many clusters ----------------------------------------------------------
sweep = progress.run(clustering.kmeans_sweep, sub, space, clustering.DEFAULT_K_RANGE, rs,
                     label=f"K-means for k = {FIRST_K}..{LAST_K}")
left, right = st.columns(2)
with left:
    st.plotly_chart(figures.elbow_curve(sweep["k"], sweep["inertia"], sweep["elbow_k"],
                                        rule=sweep.get("elbow_rule")), key="elbow")
    st.caption("How to read this: inertia (squared distance of points to their centroid) always "
               "falls as k grows; the elbow, where it stops falling fast, is a natural k "
               f"(picked by the {sweep.get('elbow_rule', 'kneedle')} rule).")
with right:
    st.plotly_chart(figures.silhouette_curve(sweep["k"], sweep["silhouette"], sweep["silhouette_k"]),
                    key="silhouette")
    st.caption("How to read this: the silhouette compares each point's distance to its own cluster "
               "with the nearest other one, from -1 (wrong cluster) to 1 (well separated); higher is "
               "better" + (" (on a fixed sample of 5,000 points)" if sweep.get("silhouette_sampled") else "")
               + ".")

k = st.slider("k (clusters)", 2, LAST_K, clustering.default_k(sweep), key="k", bind="query-params",
              help="Number of clusters for the diagrams, the regions and the table below.")

# --- Silhouette diagrams ----------------------------------------------------------
st.subheader("Silhouette diagram")
DIAGRAMS = f"k = {clustering.DIAGRAM_KS[0]}..{clustering.DIAGRAM_KS[-1]}"
view = st.segmented_control("Show", ["chosen k", DIAGRAMS], default="chosen k", required=True,
                            key="sil_view", bind="query-params")
ks = [k] if view == "chosen k" else list(clustering.DIAGRAM_KS)
cols = st.columns(min(2, len(ks)))
for i, kk in enumerate(ks):
    sil = progress.run(clustering.silhouette_by_cluster, sub, kk, space, rs,
                       label=f"Silhouettes for k = {kk}")
    with cols[i % len(cols)]:
        st.plotly_chart(figures.silhouette_diagram(sil["values"], sil["mean"]), key=f"sil_{kk}")
st.caption("How to read this: one band per cluster, each point's silhouette sorted; wide bands "
           "reaching right of the dashed mean are solid clusters, bands left of 0 hold points closer "
           "to another cluster.")

# --- Regions and the table ---------------------------------------------------------
fit = progress.run(clustering.kmeans, sub, k, space, rs, label=f"K-means with k = {k}")
if spaces.space_dims(space) == 2:
    st.subheader("Decision regions")
    regions = progress.run(clustering.decision_regions, sub, k, space, spaces.GRID, rs,
                           label="Decision regions")
    X = progress.run(spaces.space_matrix, sub, space, rs, label="Loading the points")
    st.plotly_chart(figures.decision_regions(regions["xx"], regions["yy"], regions["Z"], regions["centers"],
                                             X, frame[primary].to_numpy(), frame["id"].to_numpy(),
                                             title=f"K-means regions, k = {k}, on {SPACES[space]}",
                                             order=sub.categories),
                    key="regions")
    st.caption("How to read this: the background colour is the cluster k-means assigns to that "
               "place, crosses are centroids, and the points carry their true category: a region "
               "filled with one colour of points is a cluster that matches a category.")

st.subheader("Clusters against categories")
cont = progress.run(clustering.contingency, sub, k, space, rs, label="Comparing with the categories")
c1, c2, c3 = st.columns([1, 1, 4])
c1.metric("ARI", f"{cont['ari']:.3f}", help="Adjusted Rand index: 0 = chance agreement, 1 = identical.")
c2.metric("NMI", f"{cont['nmi']:.3f}", help="Normalized mutual information: 0 = independent, 1 = identical.")
st.plotly_chart(figures.contingency_heatmap(cont["table"], title=f"Clusters against {primary}",
                                            label=primary), key="contingency")
st.caption("How to read this: products of each category (columns) in each cluster (rows). ARI and NMI "
           "score the agreement between clusters and categories: 0 is chance, 1 is a perfect match.")

labels_csv = pd.DataFrame({"id": frame["id"], primary: frame[primary],
                           "cluster": fit["labels"]}).to_csv(index=False)
st.download_button("Download cluster labels (CSV)", labels_csv,
                   file_name=f"clusters_k{k}_{space.replace(':', '-')}.csv", mime="text/csv")

# --- The clusters on every embedding ------------------------------------------------
st.subheader("The clusters on every embedding")
methods = list(manifold.METHODS)
ready = all(manifold.embed.is_cached(sub, m, random_state=rs) for m in methods)
draw = ready or st.toggle("Draw them (computes the embeddings not cached yet)", key="multiples",
                          bind="query-params")
if draw:
    embs = {m: progress.run(manifold.embed, sub, m, random_state=rs,
                            label=f"Embedding with {METHOD_NAMES.get(m, m)}") for m in methods}
    # Where some methods ran on a sample, every panel shows the products all share.
    shared = manifold.shared_rows(embs.values())
    panels = {METHOD_NAMES.get(m, m): manifold.coords_on(e, shared) for m, e in embs.items()}
    shown = fit["labels"] if shared is None else fit["labels"][shared]
    if shared is not None:
        st.caption(f"A sample of {len(shared):,} products: at this catalogue size some methods "
                   "run on a sample only.")
    st.plotly_chart(figures.cluster_small_multiples(panels, shown,
                                                    title=f"k = {k} clusters of {SPACES[space]} "
                                                          "on every embedding"),
                    key="multiples_fig")
    st.caption("How to read this: the same cluster labels coloured on each 2-D embedding; a "
               "cluster that stays in one piece everywhere is structure the methods agree on. "
               "Clicking a legend entry toggles that cluster in every panel.")

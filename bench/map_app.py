"""A product map of any size on its own page, for the map benchmark and the browser test.

Run with ``streamlit run bench/map_app.py`` from the repository root (the
project's ``.streamlit/config.toml`` turns static serving on). Query
parameters:

* ``n``: points on the map (default 200,000);
* ``source``: ``generated`` (default) places each point in a blob of its
  product's masterCategory; ``pca`` takes the subsample's 2-D PCA map
  (computed or read from the cache) and replicates it with jitter;
* ``fraction``: subsample of the dataset whose products the points show
  (default 0.1);
* ``threshold``: most points drawn as markers before the density image.

Points repeat the subsample's products in turn, so hovering any point shows a
real product with its thumbnail. The dataset is the app's
(``$FASHION_DATA_DIR``, else the demo set).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402
import streamlit as st  # noqa: E402

from core import pca  # noqa: E402
from core.dataset import resolve_dataset  # noqa: E402
from core.figures import maps  # noqa: E402
from core.subsample import Subsample  # noqa: E402
from ui import scatter, thumbs  # noqa: E402

# Streamlit serves the static/ folder beside the script it runs: this one's.
thumbs.STATIC_DIR = HERE / "static"
thumbs.THUMBS_DIR = thumbs.STATIC_DIR / "thumbs"
scatter.VENDOR_DIR = thumbs.STATIC_DIR / "vendor"
scatter.MAPS_DIR = thumbs.STATIC_DIR / "maps"


def _int(name: str, default: int) -> int:
    try:
        return int(float(st.query_params.get(name, default)))
    except ValueError:
        return default


@st.cache_resource
def _subsample(fraction: float) -> Subsample:
    return Subsample(resolve_dataset(), fraction=fraction)


@st.cache_data(max_entries=4)
def _map(n: int, source: str, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    sub = _subsample(fraction)
    frame = sub.frame()
    rng = np.random.default_rng(0)
    rows = np.arange(n) % len(frame)
    if source == "pca":
        base = np.asarray(pca.projection_2d(sub)[0], dtype=np.float64)
        span = np.ptp(base, axis=0)
        coords = base[rows] + rng.normal(scale=0.004, size=(n, 2)) * span
    else:
        _, codes = np.unique(frame["masterCategory"].astype(str), return_inverse=True)
        centres = rng.normal(scale=6.0, size=(codes.max() + 1, 2))
        coords = centres[codes[rows]] + rng.normal(size=(n, 2))
    return coords.astype(np.float32), rows


st.set_page_config(page_title="Product map", layout="wide")
scatter.preload_plotly()  # as the app's pages with a map do
n = max(1, _int("n", 200_000))
source = st.query_params.get("source", "generated")
fraction = float(st.query_params.get("fraction", 0.1))
threshold = _int("threshold", maps.DENSITY_THRESHOLD)
sub = _subsample(fraction)
frame = sub.frame()
coords, rows = _map(n, source, fraction)
t0 = time.perf_counter()
result = scatter.map_scatter(coords, frame, sub.dataset, key="map", color_by="masterCategory",
                             rows=rows, title=f"{n:,} points", density_threshold=threshold)
st.caption(f"server: {time.perf_counter() - t0:.3f} s; buffers {result['payload_bytes']:,} bytes")
st.markdown(f"**Selected: {len(result['selected_ids']):,}**")
st.text("ids: " + " ".join(str(i) for i in result["selected_ids"][:20]))
st.text(f"clicked: {result['clicked_id']}")

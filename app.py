"""Fashion Product Images explorer: the frame and router of the dashboard.

Run with ``streamlit run app.py``. The dataset is server configuration:
``$FASHION_DATA_DIR`` (a folder in the Kaggle layout), else a copy fetched by
``python -m core download``, else a generated demo set.
"""
from __future__ import annotations

import streamlit as st

from ui import state
from ui.text import plain

st.set_page_config(
    page_title="Fashion Product Images explorer",
    page_icon=":material/checkroom:",
    layout="wide",
)

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("pages/pca.py", title="PCA", icon=":material/stacked_line_chart:"),
    st.Page("pages/embeddings.py", title="Embeddings", icon=":material/scatter_plot:"),
    st.Page("pages/clustering.py", title="Clustering", icon=":material/bubble_chart:"),
    st.Page("pages/mixture.py", title="Gaussian mixture", icon=":material/blur_on:"),
    st.Page("pages/classifier.py", title="Classifier", icon=":material/category:"),
]

page = st.navigation(PAGES, position="sidebar")
settings = state.sidebar()
if settings is None:
    st.stop()
with state.frame():
    try:
        page.run()
    except Exception as exc:  # st.rerun / st.stop are BaseExceptions and pass through
        st.error(f"This page could not be drawn: {plain(exc)}\n\nTry other settings in the "
                 "sidebar; if the problem stays, the details below say where it happened.",
                 icon=":material/error:")
        with st.expander("Details"):
            st.exception(exc)

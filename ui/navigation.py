"""The dashboard's pages: one list, used by the frame and by a deep link's first visit."""
from __future__ import annotations

import streamlit as st

#: (file, title, icon); the first is the default page, served at the app's root.
PAGES: tuple[tuple[str, str, str], ...] = (
    ("pages/overview.py", "Overview", ":material/dashboard:"),
    ("pages/pca.py", "PCA", ":material/stacked_line_chart:"),
    ("pages/embeddings.py", "Embeddings", ":material/scatter_plot:"),
    ("pages/clustering.py", "Clustering", ":material/bubble_chart:"),
    ("pages/mixture.py", "Gaussian mixture", ":material/blur_on:"),
    ("pages/classifier.py", "Classifier", ":material/category:"),
)


def pages() -> list:
    """The ``st.Page`` objects of :data:`PAGES`, the first one the default.

    Every registration of the pages goes through here, so a page has the same
    URL path whoever registers it (a page registered without ``default`` would
    take the root path and leave its own link unresolved).
    """
    return [st.Page(path, title=title, icon=icon, default=i == 0)
            for i, (path, title, icon) in enumerate(PAGES)]

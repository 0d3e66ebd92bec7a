"""Pure computation for the fashion catalogue explorer.

``core`` loads the dataset, prepares the notebook's feature matrix, runs every
analysis step and the classifier, and caches each result on disk. It never
imports Streamlit: the app's pages only render what it returns.
"""
__version__ = "0.1.0"

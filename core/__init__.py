"""Pure computation for the fashion catalogue explorer.

``core`` loads the dataset, prepares the notebook's feature matrix, runs every
analysis step and the classifier, and caches each result on disk. It never
imports Streamlit: the app's pages only render what it returns.
"""
import os

__version__ = "0.1.0"

# numpy asks the kernel for transparent huge pages for every array of 4 MB or
# more. Where the kernel compacts memory to find them when a page is first
# touched (transparent_hugepage/defrag "madvise", the default of common
# distributions), every fresh large array pays for it: a first 164 MB array
# took 0.35 s against 0.07 s without, and the cold 10% warm 30.1 s against
# 26.0 s on 2 cores. numpy reads this when it is first imported (so the CLI
# and the worker processes get it here; the Dockerfile sets it for the
# server); an explicit setting wins.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

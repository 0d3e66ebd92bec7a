"""Figures as values: pure functions from arrays and frames to Plotly figures.

Every function returns a :class:`plotly.graph_objects.Figure` and touches
neither files nor Streamlit, so it is unit-tested on ``fig.data`` and
``fig.layout``. Categories are named in legends and coloured by their label
(:func:`core.config.category_colors`) on every page.

One module per kind of figure; their public names are re-exported here:

* :mod:`core.figures.products`: scatters of products (the image-hover maps), the hover table;
* :mod:`core.figures.analysis`: overview, PCA, clustering and mixture figures;
* :mod:`core.figures.model`: a trained model's curves, confusion matrix and upload map.
"""
from .analysis import *  # noqa: F401,F403
from .model import *  # noqa: F401,F403
from .products import *  # noqa: F401,F403

"""Figures as values: pure functions from arrays and frames to Plotly figures.

Every function returns a :class:`plotly.graph_objects.Figure` and touches
neither files nor Streamlit, so it is unit-tested on ``fig.data`` and
``fig.layout``. Categories are named in legends and coloured with
:data:`core.config.CATEGORY_COLORS` on every page. Point traces carry the
product id in ``customdata`` so the image-hover component can map a point to
its product.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from . import config

# ----------------------------------------------------------------------------
# Scatters of products (used with the image-hover component)
# ----------------------------------------------------------------------------


# ----------------------------------------------------------------------------
# Analysis figures (PCA, clustering, mixtures, overview)
# ----------------------------------------------------------------------------

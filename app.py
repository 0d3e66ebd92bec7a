"""Fashion Product Images explorer: the frame and router of the dashboard.

Run with ``streamlit run app.py``. The dataset is server configuration:
``$FASHION_DATA_DIR`` (a folder in the Kaggle layout), else a copy fetched by
``python -m core download``, else a generated demo set.
"""
from __future__ import annotations

import logging

import streamlit as st

from core import admission, cache, uploads
from core.cache import WaitCancelled
from core.classifier import TrainingNotAllowed
from core.dataset import DatasetError
from ui import navigation, state
from ui.text import plain

logger = logging.getLogger("fashion")
#: Errors whose message is meant for the person at the page.
USER_ERRORS = (admission.OverBudget, admission.Cancelled, WaitCancelled, TrainingNotAllowed,
               uploads.UploadError, DatasetError)

st.set_page_config(
    page_title="Fashion Product Images explorer",
    page_icon=":material/checkroom:",
    layout="wide",
)

page = st.navigation(navigation.pages(), position="sidebar")
settings = state.sidebar()
if settings is None:
    st.stop()
storage = cache.degraded()
if storage:  # full disk or read-only storage: results are computed but not kept
    st.warning(plain(storage), icon=":material/storage:")
with state.frame():
    try:
        page.run()
    except USER_ERRORS as exc:  # written for people: what was asked, and what to change
        st.error(plain(exc), icon=":material/error:")
    except Exception:  # st.rerun / st.stop are BaseExceptions and pass through
        # Viewers get a plain sentence; the traceback (with server paths) goes to the log.
        logger.exception("page %s failed", page.title)
        st.error("This page could not be drawn. Try other settings in the sidebar; if the problem "
                 "stays, the server's log says where it happened.", icon=":material/error:")

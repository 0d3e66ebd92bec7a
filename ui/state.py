"""The settings every page shares, set up in one place.

The sidebar widgets are drawn by :func:`sidebar` from ``app.py`` on every
rerun, so their values live in ``st.session_state`` for the whole session and
are bound to URL query parameters (a view can be shared as a link). Pages read
them through :func:`current`, never through the widgets.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import streamlit as st

from core import config
from core.dataset import Dataset, DatasetError
from core.subsample import Subsample

#: Subsample fractions offered in the sidebar (10% is the notebook's).
FRACTIONS: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
#: Side of the square images are resized to before the analysis.
IMAGE_SIZES: tuple[int, ...] = (28, 50, 64, 100)

#: Session-state keys of the shared settings; they are also the URL query
#: parameter names.
KEY_FRACTION = "fraction"
KEY_SAMPLE_SEED = "sample_seed"
KEY_IMAGE_SIZE = "image_size"
KEY_COLOR = "color"
KEY_RANDOM_STATE = "random_state"

_DEFAULTS = {
    KEY_FRACTION: config.DEFAULT_FRACTION,
    KEY_SAMPLE_SEED: config.DEFAULT_SAMPLE_SEED,
    KEY_IMAGE_SIZE: config.DEFAULT_IMAGE_SIZE,
    KEY_COLOR: False,
    KEY_RANDOM_STATE: config.DEFAULT_RANDOM_STATE,
}


@dataclass(frozen=True)
class Settings:
    """What the sidebar asks for.

    Attributes
    ----------
    sub : core.subsample.Subsample
        The subsample and image settings every analysis page works on.
    random_state : int
        Seed of the algorithms (k-means, t-SNE, mixtures...).
    """

    sub: Subsample
    random_state: int

    @property
    def dataset(self) -> Dataset:
        return self.sub.dataset


@st.cache_resource(show_spinner=False, ttl=600, max_entries=8)
def _resolve(data_env: str, cache_folder: str) -> Dataset:
    # Keyed on the configuration that picks the folder; the fingerprint is
    # re-read after the ttl so a replaced dataset is noticed.
    from core.dataset import resolve_dataset

    return resolve_dataset()


def dataset() -> Dataset:
    """The server's dataset (argument-free: the source is server configuration).

    Raises
    ------
    core.dataset.DatasetError
        When ``$FASHION_DATA_DIR`` points at something unusable.
    """
    from core.demo import demo_dir
    from core.dataset import downloaded_dir

    data_env = os.environ.get(config.DATA_ENV, "")
    cache_folder = str(config.cache_dir())
    if not data_env and not demo_dir().exists() and not downloaded_dir().exists():
        from core.dataset import resolve_dataset
        from ui.progress import task

        # Generated here, outside the cached function, so its progress can be drawn.
        with task("Generating the demo set (first start only)") as cb:
            resolve_dataset(progress=cb)
    return _resolve(data_env, cache_folder)


def _value(key: str):
    return st.session_state.get(key, _DEFAULTS[key])


def _ensure_frame() -> None:
    """Rerun through ``app.py`` when Streamlit ran a page file on its own.

    Streamlit treats a ``pages/`` folder beside the entrypoint as the old
    multipage layout until some session has called ``st.navigation``: on a
    fresh server, a first visit straight to ``/pca`` (a shared link) runs
    ``pages/pca.py`` alone, without the frame, its sidebar or its settings.
    Clearing that flag and rerunning makes the router run as on every later
    visit, on the same page.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without that module has no such mode
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def current() -> Settings:
    """The settings of this session, as chosen in the sidebar.

    Every page calls this first; it also makes sure the page runs inside the
    frame (see :func:`_ensure_frame`).
    """
    _ensure_frame()
    sub = Subsample(
        dataset(),
        fraction=float(_value(KEY_FRACTION)),
        seed=int(_value(KEY_SAMPLE_SEED)),
        image_size=int(_value(KEY_IMAGE_SIZE)),
        color=bool(_value(KEY_COLOR)),
    )
    return Settings(sub=sub, random_state=int(_value(KEY_RANDOM_STATE)))


def _pct(value: float) -> str:
    return f"{value:.0%}"


def sidebar() -> Settings | None:
    """Draw the data source summary and the shared settings in the sidebar.

    Returns
    -------
    Settings or None
        None when the dataset cannot be opened; an error saying what to do has
        then been shown.
    """
    side = st.sidebar
    try:
        ds = dataset()
    except DatasetError as exc:
        st.error(
            f"The dataset cannot be opened: {exc}\n\n"
            f"Set `{config.DATA_ENV}` to a folder holding `styles.csv` and `images/` "
            "(the Kaggle layout), or unset it to use the generated demo set, "
            "then restart the app."
        )
        return None
    except Exception as exc:  # a broken dataset must give a message, not a traceback
        st.error(f"The dataset could not be loaded ({type(exc).__name__}: {exc}). "
                 "Check the server's data folder and its log, then reload the page.")
        return None

    with side:
        st.subheader("Data")
        if ds.is_demo:
            st.warning("**Demo set: synthetic images.** Set "
                       f"`{config.DATA_ENV}` to explore the real catalogue.", icon=":material/science:")
        else:
            st.caption(ds.describe())
        st.subheader("Settings")
        st.select_slider(
            "Subsample", options=FRACTIONS, value=_DEFAULTS[KEY_FRACTION], format_func=_pct,
            key=KEY_FRACTION, bind="query-params",
            help="Share of the cleaned rows used by every page (the notebook used 10%). "
                 "Larger shares take longer the first time, then come from the cache.")
        st.number_input(
            "Subsample seed", min_value=0, max_value=2**31 - 1, value=_DEFAULTS[KEY_SAMPLE_SEED],
            step=1, key=KEY_SAMPLE_SEED, bind="query-params",
            help="random_state of the notebook's two df.sample calls.")
        st.select_slider(
            "Image size", options=IMAGE_SIZES, value=_DEFAULTS[KEY_IMAGE_SIZE],
            format_func=lambda s: f"{s}x{s}", key=KEY_IMAGE_SIZE, bind="query-params",
            help="Images are resized to this square before analysis (the notebook: 100x100).")
        st.toggle("Colour", value=_DEFAULTS[KEY_COLOR], key=KEY_COLOR, bind="query-params",
                  help="Analyse RGB pixels instead of the notebook's grayscale.")
        st.number_input(
            "Random seed", min_value=0, max_value=2**31 - 1, value=_DEFAULTS[KEY_RANDOM_STATE],
            step=1, key=KEY_RANDOM_STATE, bind="query-params",
            help="Seed of the algorithms: k-means, t-SNE, UMAP, mixtures.")
    return current()

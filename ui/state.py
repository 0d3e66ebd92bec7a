"""The settings every page shares, set up in one place.

The sidebar widgets are drawn by :func:`sidebar` from ``app.py`` on every
rerun, so their values live in ``st.session_state`` for the whole session and
are bound to URL query parameters (a view can be shared as a link). Pages read
them through :func:`current`, never through the widgets.

A shared link is input from anyone, so every value read from the URL is
brought into what the widgets offer (:func:`clamp`): a fraction or an image
size snaps to the nearest offered one, a seed is clipped to
``0..SEED_MAX`` (a small range: seeds are for repeating a view, not for
searching), a boolean is ``true`` or ``false``; anything else (``nan``, text,
a huge or very long value) falls back to the default. A value the widget does
not offer leaves the URL (Streamlit's binding drops it), so a link copied
afterwards never carries it again. Nothing here raises on a bad link.
"""
from __future__ import annotations

import contextvars
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import streamlit as st

from core import config
from core.dataset import Dataset, DatasetError
from core.subsample import Subsample
from ui import navigation
from ui.text import plain

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
#: Seeds (subsample and algorithms) are whole numbers from 0 to this.
SEED_MAX = 99

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
def _resolve(data_env: str, cache_folder: str, description: tuple) -> Dataset:
    # Keyed on the configuration that picks the folder and describes it; the
    # fingerprint is re-read after the ttl so a replaced dataset is noticed.
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
    from core.catalogue import from_env

    return _resolve(data_env, cache_folder, tuple(sorted(from_env().items())))


# ----------------------------------------------------------------------------
# Values from the URL
# ----------------------------------------------------------------------------
#: A query value longer than this is not a number anyone typed.
_MAX_RAW = 32
# Raw URL values already handled in this session, so a value is fixed once and
# a later change of the widget is never fought.
_SEEN_KEY = "_ui_url_seen"


def _number(raw) -> float | None:
    """A finite number from a URL's text: ``"0.05"``, ``"5%"``, ``"50x50"``, or None."""
    try:
        text = str(raw).strip().lower()
        if len(text) > _MAX_RAW:
            return None
        if text.endswith("%"):
            value = float(text[:-1]) / 100
        elif "x" in text:  # an image size as its label shows it, "50x50"
            side, _, other = text.partition("x")
            value = float(side) if side == other else math.nan
        else:
            value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _nearest(options, value: float):
    return min(options, key=lambda o: (abs(o - value), o))


def clamp(key: str, raw) -> object:
    """The value a shared setting takes for a raw value (a URL's text, or anything).

    Parameters
    ----------
    key : str
        One of the ``KEY_*`` names.
    raw : object
        Usually the query parameter's text.

    Returns
    -------
    object
        For the fraction (``0.05`` or ``5%``) and the image size (``50`` or
        ``50x50``), the nearest offered value; for
        a seed, the number clipped to ``0..SEED_MAX`` and cut to a whole one; for colour, True
        or False from ``"true"``/``"false"`` (any case) or a bool. Anything that
        is not a finite number (or a boolean) gives the default. Never raises.
    """
    default = _DEFAULTS[key]
    if key == KEY_COLOR:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        return {"true": True, "false": False}.get(text, default)
    value = _number(raw)
    if value is None or isinstance(raw, bool):
        return default
    if key == KEY_FRACTION:
        return _nearest(FRACTIONS, value)
    if key == KEY_IMAGE_SIZE:
        return _nearest(IMAGE_SIZES, value)
    return int(min(max(value, 0), SEED_MAX))


def _label(key: str, value) -> str:
    """How Streamlit writes a setting's value in the URL (the widget's label of it)."""
    if key == KEY_FRACTION:
        return _pct(value)
    if key == KEY_IMAGE_SIZE:
        return _size(value)
    if key == KEY_COLOR:
        return "true" if value else "false"
    return str(value)


def _is_exact(key: str, raw: str) -> bool:
    """Whether a raw URL value is already written as what :func:`clamp` makes of it."""
    return raw == _label(key, clamp(key, raw))


def _fix_url() -> dict:
    """Put clamped URL values into session state before the widgets read the URL.

    Returns the values changed in this run. Streamlit drops a URL value its
    widget does not offer (the parameter leaves the URL) and keeps the default;
    here the nearest offered value is used instead.
    """
    seen = st.session_state.setdefault(_SEEN_KEY, {})
    changed = {}
    for key in _DEFAULTS:
        raw = st.query_params.get(key)
        if raw is None or seen.get(key) == raw:
            continue
        seen[key] = raw
        if _is_exact(key, raw):
            continue
        value = clamp(key, raw)
        st.session_state[key] = value
        changed[key] = value
    return changed


def _value(key: str):
    return clamp(key, st.session_state.get(key, _DEFAULTS[key]))


# ----------------------------------------------------------------------------
# The frame
# ----------------------------------------------------------------------------
# True while app.py runs a page (see :func:`frame`).
_in_frame: contextvars.ContextVar[bool] = contextvars.ContextVar("in_frame", default=False)
_RETRY_KEY = "_ui_frame_retry"


@contextmanager
def frame() -> Iterator[None]:
    """Mark the block (``app.py`` running a page) as inside the frame."""
    token = _in_frame.set(True)
    st.session_state.pop(_RETRY_KEY, None)
    try:
        yield
    finally:
        _in_frame.reset(token)


def _ensure_frame() -> None:
    """Rerun through ``app.py`` when Streamlit ran a page file on its own.

    Streamlit treats a ``pages/`` folder beside the entrypoint as its old
    multipage layout until some session has called ``st.navigation``: on a
    fresh server, a first visit straight to ``/pca`` (a shared link) runs
    ``pages/pca.py`` alone, without the frame, its sidebar or its settings.
    ``st.navigation`` is documented to end that mode: "as soon as any session
    of your app executes the st.navigation command, your app will ignore the
    pages/ directory (across all sessions)". So a page run outside the frame
    registers the page files (same URL paths as ``app.py`` gives them, so the
    link still resolves to this page) and reruns; ``app.py`` then runs as on
    every later visit, on the same page, with the link's query parameters.
    """
    if _in_frame.get():
        return
    if st.session_state.get(_RETRY_KEY):
        raise RuntimeError(
            "This page ran outside the app's frame twice: start the dashboard with "
            "`streamlit run app.py`, not a file under pages/.")
    st.session_state[_RETRY_KEY] = True
    st.navigation(navigation.pages(), position="hidden")
    st.rerun()


def current() -> Settings:
    """The settings of this session, as chosen in the sidebar.

    Every page calls this first; it also makes sure the page runs inside the
    frame (see :func:`_ensure_frame`).
    """
    _ensure_frame()
    return _settings()


def _settings() -> Settings:
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


def _size(side: int) -> str:
    return f"{side}x{side}"


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
            f"The dataset cannot be opened: {plain(exc)}\n\n"
            f"Set `{config.DATA_ENV}` to a catalogue: a folder in the Kaggle layout "
            "(`styles.csv` and `images/`), a folder of class folders, or a table described by "
            "`catalogue.toml` (see the README's \"Your own catalogue\"); or unset it to use the "
            "generated demo set, then restart the app."
        )
        return None
    except Exception as exc:  # a broken dataset must give a message, not a traceback
        st.error(f"The dataset could not be loaded ({type(exc).__name__}: {plain(exc)}). "
                 "Check the server's data folder and its log, then reload the page.")
        return None

    _fix_url()
    with side:
        st.subheader("Data")
        if ds.is_demo:
            st.warning("**Demo set: synthetic images.** Set "
                       f"`{config.DATA_ENV}` to explore the real catalogue.", icon=":material/science:")
        else:
            st.caption(plain(ds.describe()))
        st.subheader("Settings")
        st.select_slider(
            "Subsample", options=FRACTIONS, value=_DEFAULTS[KEY_FRACTION], format_func=_pct,
            key=KEY_FRACTION, bind="query-params",
            help="Share of the cleaned rows used by every page (the notebook used 10%). "
                 "Larger shares take longer the first time, then come from the cache.")
        st.slider(
            "Subsample seed", 0, SEED_MAX, _DEFAULTS[KEY_SAMPLE_SEED], key=KEY_SAMPLE_SEED,
            bind="query-params",
            help=f"random_state of the notebook's two df.sample calls (0 to {SEED_MAX}).")
        st.select_slider(
            "Image size", options=IMAGE_SIZES, value=_DEFAULTS[KEY_IMAGE_SIZE],
            format_func=_size, key=KEY_IMAGE_SIZE, bind="query-params",
            help="Images are resized to this square before analysis (the notebook: 100x100).")
        st.toggle("Colour", value=_DEFAULTS[KEY_COLOR], key=KEY_COLOR, bind="query-params",
                  help="Analyse RGB pixels instead of the notebook's grayscale.")
        st.slider(
            "Random seed", 0, SEED_MAX, _DEFAULTS[KEY_RANDOM_STATE], key=KEY_RANDOM_STATE, bind="query-params",
            help=f"Seed of the algorithms: k-means, t-SNE, UMAP, mixtures (0 to {SEED_MAX}).")
    return _settings()

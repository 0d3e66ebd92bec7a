"""A shared link is input from anyone: its settings are clamped, its text is shown as text.

Issue "Safe to share": every URL-bound setting of the sidebar is brought into
what its widget offers (:func:`ui.state.clamp`), the URL is rewritten to the
value used, and a highlight query or a product name never renders as Markdown
(no link, no image fetched from elsewhere).
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import state
from ui.text import plain

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
COLD_TIMEOUT = 240
LONG = "9" * 5000
HOSTILE_LINK = "[click](http://evil.example)"
HOSTILE_IMAGE = "![x](http://evil.example/x.png)"


@pytest.mark.parametrize("key,raw,expected", [
    (state.KEY_FRACTION, "0.2", 0.2),
    (state.KEY_FRACTION, "1", 1.0),
    (state.KEY_FRACTION, "0.07", 0.05),
    (state.KEY_FRACTION, "1e9", 1.0),
    (state.KEY_FRACTION, "-3", 0.02),
    (state.KEY_FRACTION, "nan", 0.1),
    (state.KEY_FRACTION, "inf", 0.1),
    (state.KEY_FRACTION, "10%", 0.1),
    (state.KEY_FRACTION, "5%", 0.05),
    (state.KEY_FRACTION, "nan%", 0.1),
    (state.KEY_FRACTION, LONG, 0.1),
    (state.KEY_SAMPLE_SEED, "7", 7),
    (state.KEY_SAMPLE_SEED, "2147483647", state.SEED_MAX),
    (state.KEY_SAMPLE_SEED, "-5", 0),
    (state.KEY_SAMPLE_SEED, "7.6", 7),
    (state.KEY_SAMPLE_SEED, "seven", 42),
    (state.KEY_SAMPLE_SEED, LONG, 42),
    (state.KEY_RANDOM_STATE, "-1e308", 0),
    (state.KEY_RANDOM_STATE, "1e400", 42),
    (state.KEY_IMAGE_SIZE, "100000", 100),
    (state.KEY_IMAGE_SIZE, "60", 64),
    (state.KEY_IMAGE_SIZE, "50x50", 50),
    (state.KEY_IMAGE_SIZE, "50x64", 100),
    (state.KEY_IMAGE_SIZE, "0", 28),
    (state.KEY_IMAGE_SIZE, "", 100),
    (state.KEY_COLOR, "true", True),
    (state.KEY_COLOR, "FALSE", False),
    (state.KEY_COLOR, "maybe", False),
    (state.KEY_COLOR, "1", False),
    (state.KEY_COLOR, LONG, False),
    (state.KEY_COLOR, True, True),
])
def test_clamp_brings_a_value_into_what_the_widget_offers(key, raw, expected):
    value = state.clamp(key, raw)
    assert value == expected and type(value) is type(expected)


def test_clamp_never_raises():
    for key in (state.KEY_FRACTION, state.KEY_SAMPLE_SEED, state.KEY_RANDOM_STATE,
                state.KEY_IMAGE_SIZE, state.KEY_COLOR):
        for raw in (None, object(), b"\xff", math.nan, -math.inf, 10**400, [1, 2], "\x00", "0x10"):
            state.clamp(key, raw)


def test_the_seed_range_is_documented():
    assert "0..SEED_MAX" in state.__doc__ and state.SEED_MAX == 99


def _run(monkeypatch, page: str | None = None, **query) -> AppTest:
    monkeypatch.delenv("FASHION_DATA_DIR", raising=False)
    at = AppTest.from_file(APP, default_timeout=COLD_TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    if page:
        at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _sidebar(at: AppTest) -> dict:
    side = at.sidebar
    return {"fraction": side.select_slider(key="fraction").value,
            "sample_seed": side.slider(key="sample_seed").value,
            "image_size": side.select_slider(key="image_size").value,
            "color": side.toggle(key="color").value,
            "random_state": side.slider(key="random_state").value}


@pytest.mark.slow
def test_hostile_settings_in_a_link_are_clamped(shared_cache, monkeypatch):
    at = _run(monkeypatch, fraction="nan", sample_seed="2147483647", random_state="-5",
              image_size="100000", color="maybe")
    assert _sidebar(at) == {"fraction": 0.1, "sample_seed": 99, "image_size": 100,
                            "color": False, "random_state": 0}
    # The settings the pages get are the clamped ones.
    metric = next(m for m in at.metric if m.label == "Subsample")
    assert "(seed 99)" in metric.proto.help
    # No hostile text is left in the URL.
    assert all(v in ("99", "0") for v in at.query_params.values() if v), dict(at.query_params)


@pytest.mark.slow
def test_snapped_fraction_and_long_values(shared_cache, monkeypatch):
    at = _run(monkeypatch, fraction="0.07", sample_seed=LONG, color="true", image_size="30",
              random_state="inf")
    assert _sidebar(at) == {"fraction": 0.05, "sample_seed": 42, "image_size": 28,
                            "color": True, "random_state": 42}
    at.run()  # a later run keeps the clamped values, and the widgets still change
    assert _sidebar(at)["fraction"] == 0.05
    at.sidebar.select_slider(key="fraction").set_value(0.2).run()
    assert not at.exception
    assert _sidebar(at)["fraction"] == 0.2


def test_plain_escapes_markdown_and_html():
    for text in (HOSTILE_LINK, HOSTILE_IMAGE, "<img src=x onerror=alert(1)>", ":red[big]",
                 "$x^2$", "# heading\n- item", "www.evil.example"):
        out = plain(text)
        # only letters, digits, spaces and backslash-escaped punctuation are left
        assert re.fullmatch(r"(?:\\[!-/:-@\[-`{-~]|[\w ])*", out), out
        assert out.replace("\\", "") == text.replace("\n", " ")
    assert plain("a" * 500, limit=10) == "a" * 9 + "…"


@pytest.mark.slow
@pytest.mark.parametrize("query", [HOSTILE_LINK, HOSTILE_IMAGE])
def test_a_hostile_highlight_is_shown_as_text(shared_cache, monkeypatch, query):
    at = _run(monkeypatch, "pca", pca2d_q=query)
    assert at.text_input(key="pca2d_q").value == query  # the filter still gets the raw text
    captions = [c.value for c in at.caption if "No product matches" in c.value]
    assert captions == [f"No product matches “{plain(query)}”."]
    sources = [el.value for el in list(at.markdown) + list(at.caption)]
    assert not any(query in s or "](http" in s for s in sources)

"""A real browser on a catalogue that is not Kaggle's: the server started with FASHION_DATA_DIR at the digits.

scikit-learn's handwritten digits are written out as a CSV and PNGs in nested
folders (``tests/make_data.make_digits_catalogue``, described by its
``catalogue.toml``); every page must render, and the map's legend must read
the digits 0 to 9 in order.
"""
from __future__ import annotations

import os

import pytest

from bench.browser import Server, chromium_path

from .conftest import exceptions, screenshot, wait_idle
from make_data import make_digits_catalogue

#: Every page of the dashboard.
DIGIT_PAGES = {"Overview": "", "PCA": "pca", "Embeddings": "embeddings", "Clustering": "clustering",
               "Gaussian mixture": "mixture", "Classifier": "classifier"}


@pytest.fixture(scope="module")
def digits_server(tmp_path_factory, shared_cache):
    if chromium_path() is None:
        pytest.skip("chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH)")
    pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
    folder = tmp_path_factory.mktemp("digits-e2e")
    data = make_digits_catalogue(folder / "digits")
    env = dict(os.environ, FASHION_DATA_DIR=str(data), FASHION_CACHE_DIR=str(shared_cache),
               PYTHONUNBUFFERED="1")
    try:
        server = Server(env, folder / "streamlit.log", timeout_s=90)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield server.url
    server.stop()


@pytest.mark.parametrize("title,path", list(DIGIT_PAGES.items()), ids=list(DIGIT_PAGES.values()))
def test_every_page_renders_on_the_digits(page, digits_server, title, path):
    page.goto(f"{digits_server}/{path}?image_size=28")
    wait_idle(page)
    screenshot(page, f"digits-{path or 'overview'}")
    assert exceptions(page) == [], f"{title} raised: {exceptions(page)}"
    assert page.locator("h1").first.is_visible()
    body = page.locator("[data-testid='stMain']").inner_text()
    assert "masterCategory" not in body and "could not be drawn" not in body
    assert len(body.strip()) > 200, f"{title} shows almost nothing: {body[:200]!r}"


def test_map_legend_reads_the_ten_digits(page, digits_server):
    page.goto(f"{digits_server}/embeddings?emb_method=PCA&image_size=28")
    wait_idle(page)
    page.wait_for_selector(".fhs-root[data-ready='1']")
    names = page.evaluate("() => document.querySelector('.fhs-plot')._fullData.map(t => t.name)")
    assert [n.split(" ")[0] for n in names] == [str(d) for d in range(10)], names
    legend = page.evaluate("() => Array.from(document.querySelectorAll('.fhs-plot .legendtext'))"
                           ".map(e => e.textContent)")
    assert [t.split(" ")[0] for t in legend] == [str(d) for d in range(10)], legend

"""A real browser against ``streamlit run app.py`` on the demo set.

The server runs on a free port with its own cache folder and no
``FASHION_DATA_DIR`` (so the generated demo set is used); its log goes to a
file under the test's temporary folder, never a pipe (a full pipe would stall
the server). Chromium is Debian's (``/usr/bin/chromium``, or
``$CHROMIUM_PATH``); tests skip, saying why, when it or Playwright is missing.
Screenshots land in ``artifacts/screenshots/``.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bench.browser import CHROMIUM_ARGS, REPO, Server, chromium_path, wait_idle

__all__ = ["CHROMIUM_ARGS", "PAGES", "exceptions", "screenshot", "wait_idle"]

SCREENSHOTS = REPO / "artifacts" / "screenshots"
#: Page paths of the app (st.navigation names them after the files).
PAGES = {"Overview": "", "PCA": "pca", "Embeddings": "embeddings", "Clustering": "clustering",
         "Gaussian mixture": "mixture", "Classifier": "classifier"}


def _server_env(cache: Path) -> dict:
    env = dict(os.environ)
    env.pop("FASHION_DATA_DIR", None)
    env["FASHION_CACHE_DIR"] = os.environ.get("FASHION_E2E_CACHE") or str(cache)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _start(folder: Path, cache: Path) -> Server:
    if chromium_path() is None:
        pytest.skip("chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH)")
    pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
    try:
        return Server(_server_env(cache), folder / "streamlit.log", timeout_s=90)
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, shared_cache):
    """Base URL of a ``streamlit run app.py`` on the demo set, stopped after the session.

    The server uses the session's shared cache folder, so pages the AppTest
    tier computed earlier in the same run come back warm.
    """
    server = _start(tmp_path_factory.mktemp("e2e"), shared_cache)
    yield server.url
    server.stop()
    SCREENSHOTS.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(server.log_path, SCREENSHOTS.parent / "streamlit.log")


@pytest.fixture
def fresh_server(tmp_path, shared_cache):
    """Base URL of a server that no browser has visited yet (started for this test only).

    For what only a new server shows: Streamlit's old multipage mode claims a
    folder named ``pages/`` until some session has called ``st.navigation``.
    """
    server = _start(tmp_path, shared_cache)
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if chromium_path() is None:
        pytest.skip("chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH)")
    pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh tab, tall enough that a screenshot shows most of a page."""
    context = browser.new_context(viewport={"width": 1400, "height": 2200})
    tab = context.new_page()
    tab.set_default_timeout(120_000)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.page_errors = errors
    yield tab
    context.close()


def screenshot(page, name: str) -> Path:
    """Save the whole page: the viewport is grown to the app's scroll height for the shot."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate(
        "() => Math.max(...Array.from(document.querySelectorAll("
        "\"[data-testid='stMain'], [data-testid='stAppViewContainer'], section\"))"
        ".map(e => e.scrollHeight), document.body.scrollHeight)")
    page.set_viewport_size({"width": size["width"], "height": int(min(max(height, size["height"]), 9000))})
    try:
        page.wait_for_timeout(800)
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(size)
    return path


def exceptions(page) -> list[str]:
    """Texts of the exception boxes Streamlit draws for errors in a script."""
    return page.locator("[data-testid='stException']").all_inner_texts()

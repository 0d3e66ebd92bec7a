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
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: Page paths of the app (st.navigation names them after the files).
PAGES = {"Overview": "", "PCA": "pca", "Embeddings": "embeddings", "Clustering": "clustering",
         "Gaussian mixture": "mixture", "Classifier": "classifier"}


def chromium_path() -> str | None:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if Path(path).is_file() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, shared_cache):
    """Base URL of a ``streamlit run app.py`` on the demo set, stopped after the session.

    The server uses the session's shared cache folder, so pages the AppTest
    tier computed earlier in the same run come back warm.
    """
    if chromium_path() is None:
        pytest.skip("chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH)")
    pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
    folder = tmp_path_factory.mktemp("e2e")
    env = dict(os.environ)
    env.pop("FASHION_DATA_DIR", None)
    env["FASHION_CACHE_DIR"] = os.environ.get("FASHION_E2E_CACHE") or str(shared_cache)
    env["PYTHONUNBUFFERED"] = "1"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = folder / "streamlit.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 90
    while not _healthy(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            pytest.fail(f"streamlit did not start; its log:\n{log_path.read_text(errors='replace')[-4000:]}")
        time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
    (SCREENSHOTS.parent).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(log_path, SCREENSHOTS.parent / "streamlit.log")


@pytest.fixture(scope="session")
def browser(app_server):
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


def wait_idle(page, timeout_s: float = 240.0, quiet_s: float = 1.5) -> None:
    """Wait until the script has finished running (no status widget for ``quiet_s``)."""
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout_s * 1000)
    while time.monotonic() < deadline:
        running = page.evaluate(
            "() => !!document.querySelector(\"[data-testid='stStatusWidget']\") || "
            "!!document.querySelector(\"[data-testid='stSkeleton']\")")
        if running:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return
        time.sleep(0.25)
    raise AssertionError(f"the app was still running after {timeout_s:.0f} s")


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

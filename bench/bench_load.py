"""Load and crash test: many browser sessions against one ``streamlit run app.py``.

Is the dashboard safe to share? Two measurements, each against a real server
started here on a free port of localhost (``--server.headless true``, its log in
a file under ``--artifacts``):

* **load**: ``--sessions`` browser sessions (one Debian chromium, one browser
  context per session, each an asyncio task of Playwright's async API) run a
  scripted mix for ``--duration`` seconds: open the Overview by its URL; switch
  to PCA, Clustering, Gaussian mixture and Classifier through the sidebar
  navigation (even rounds) or by deep links (odd rounds); move the PCA
  "Components" slider and the Clustering k slider (found by the labels their
  pages give them); hover a point of the Embeddings map and check that its
  thumbnail loads; box-select and check that a gallery appears; upload a
  generated 640x480 JPEG on the Classifier page and check that a label with a
  confidence appears. Session 1 first asks for the costly setting
  (``--costly-query``, by default ``fraction=1.0&color=true&image_size=100``);
  the page may work or refuse / queue the request with a message, but must not
  crash or show a traceback: which of these happened is recorded.
  A warm-up round (one session, not timed) fills the caches first, unless
  ``--no-warmup``.
* **crash** (``--crash``, on by default): on an empty cache folder, open a page
  that computes (``--crash-page``, t-SNE by default) and time it cold: the
  normal time. Then on another empty cache folder open the same page, wait
  until its computation has shown progress for 2 s, kill the server's whole
  process group with SIGKILL, restart it on that same folder and time the same
  page again. A lock left by the killed process must not stall the restarted
  one: the restarted run fails the test when it takes more than
  2 x normal + 30 s.

Usage::

    python bench/bench_load.py                                  # demo set, 8 sessions, 180 s
    python bench/bench_load.py --sessions 2 --duration 40       # a short smoke run
    python bench/bench_load.py --data ../shared/data/fashion-small --cache /path/to/warm/cache
    python bench/bench_load.py --no-crash --json artifacts/load.json

``--data`` is the dataset folder (``$FASHION_DATA_DIR`` of the server; the
generated demo set when omitted), ``--cache`` the server's disk cache
(``$FASHION_CACHE_DIR``; a fresh temporary folder when omitted, so the
warm-up computes everything). The crash test always uses its own empty
folders. ``FASHION_MEMORY_GB``, when set, is the memory budget the server's
peak is held against. Chromium is ``$CHROMIUM_PATH`` or ``/usr/bin/chromium``.

How to read the output: one line per failure as it happens, then a summary.

* ``latency``: p50 / p95 / max seconds, per kind of action and over all of
  them, from the navigation or interaction to the app being idle again (the
  last end of a script run seen by the browser, with no "Running..." status
  widget for a quiet second; for the hover, to the thumbnail's ``load``; for
  the box selection and the upload, to the gallery or the label being drawn).
  Taken under load, so they include waiting for the CPU.
* ``sessions``: per session, the actions done and the failures among them.
  A failure is an exception box (``stException`` or "could not be drawn"),
  a check that did not hold, a timeout (``--timeout`` per action), a browser
  error, or the server dying. Every session must finish with 0 failures.
* ``costly``: what the costly request gave: ``worked``, ``refused`` or
  ``queued`` (with the message shown), ``still computing`` (no answer within
  the run, progress shown; not counted as a failure), or a failure.
* ``memory``: the peak resident memory of the server and all its children,
  sampled every 0.5 s during the load, against the budget when one is set.
* ``crash``: the normal cold time, the time after the restart, the limit.

The exit status is non-zero when any failure happened, the peak memory
exceeded the budget, or the crash test failed. Nothing here asserts a speed:
latencies are printed to be compared between runs on the same machine.
"""
from __future__ import annotations

import argparse
import ast
import asyncio
import atexit
import io
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
#: Sidebar titles and URL paths of the pages the mix visits.
PAGES = {"Overview": "", "PCA": "pca", "Clustering": "clustering", "Gaussian mixture": "mixture",
         "Embeddings": "embeddings", "Classifier": "classifier"}
EMBEDDINGS_LINK = "embeddings?emb_method=PCA"
#: A label the Classifier page draws for an upload: "Footwear (87%)".
LABEL_RE = re.compile(r"^\s*[A-Z][A-Za-z &]+ \((\d{1,3})%\)\s*$", re.MULTILINE)
#: Words of a message that turns the costly request away or makes it wait.
REFUSED_RE = re.compile(r"too (large|big|costly|much)|memory|budget|limit|refus|not allowed|"
                        r"smaller|cannot|can't", re.IGNORECASE)
QUEUED_RE = re.compile(r"queue|busy|wait|later|another (session|computation)|in progress",
                       re.IGNORECASE)

# Installed on every document: the times the script-run state of the app changes,
# so a latency ends at the last run's end as the browser saw it.
_OBSERVER_JS = """
(() => {
  window.__runs = [];
  const seen = () => {
    const app = document.querySelector("[data-testid='stApp']");
    const s = app && app.getAttribute('data-test-script-state');
    const last = window.__runs[window.__runs.length - 1];
    if (s && (!last || last[1] !== s)) window.__runs.push([Date.now(), s]);
  };
  new MutationObserver(seen).observe(document,
    {attributes: true, subtree: true, childList: true, attributeFilter: ['data-test-script-state']});
})();
"""
_STATE_JS = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  return {state: app ? app.getAttribute('data-test-script-state') : null,
          conn: app ? app.getAttribute('data-test-connection-state') : null,
          busy: !!document.querySelector("[data-testid='stStatusWidget'], [data-testid='stSkeleton']"),
          progress: !!document.querySelector("[data-testid='stProgress'], [data-testid='stStatus'], "
                                              + "[data-testid='stSpinner']"),
          runs: window.__runs || []};
}"""
_POINT_JS = """(k) => {
  const gd = document.querySelector('.fhs-plot');
  const fl = gd._fullLayout, r = gd.getBoundingClientRect();
  const traces = gd._fullData.filter(t => t.visible === true && t.x && t.x.length);
  const t = traces[k % traces.length];
  const j = Math.floor((k * 7919) % t.x.length);
  return {x: r.left + fl.xaxis._offset + fl.xaxis.l2p(t.x[j]),
          y: r.top + fl.yaxis._offset + fl.yaxis.l2p(t.y[j])};
}"""
_BOX_JS = """() => { const gd = document.querySelector('.fhs-plot'); const r = gd.getBoundingClientRect();
  const s = gd._fullLayout._size; return {l: r.left + s.l, t: r.top + s.t, w: s.w, h: s.h}; }"""
_THUMB_JS = """(prev) => { const i = document.querySelector('.fhs-img');
  return !!(i && i.dataset.id && i.dataset.id !== prev && i.complete && i.naturalWidth > 0
            && i.dataset.loaded === i.dataset.id) && i.dataset.id; }"""


class CheckFailed(Exception):
    """An action ran but what it should show is not there."""


# ----------------------------------------------------------------------------
# Servers (always killed on exit)
# ----------------------------------------------------------------------------
_LIVE: set = set()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``streamlit run app.py`` in its own process group, log in a file."""

    def __init__(self, env: dict, log_path: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        _LIVE.add(self)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def wait_healthy(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log_path.read_text(errors="replace")[-3000:]
                self.kill()
                raise RuntimeError(f"streamlit did not start within {timeout_s:.0f} s; "
                                   f"the end of {self.log_path}:\n{tail}")
            time.sleep(0.3)

    def kill(self) -> None:
        """SIGKILL the whole process group (the server and anything it started)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()
        _LIVE.discard(self)

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except (ProcessLookupError, PermissionError, subprocess.TimeoutExpired):
            pass
        self.kill()


@atexit.register
def _kill_all() -> None:
    for server in list(_LIVE):
        server.kill()


# ----------------------------------------------------------------------------
# Memory of the server's process tree
# ----------------------------------------------------------------------------
def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants, read from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


class MemorySampler(threading.Thread):
    def __init__(self, pid: int, every_s: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.every_s, self.peak = pid, every_s, 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, _tree_rss(self.pid))
            self._halt.wait(self.every_s)

    def stop(self) -> int:
        self._halt.set()
        self.join(timeout=5)
        return self.peak


# ----------------------------------------------------------------------------
# Waiting for the app
# ----------------------------------------------------------------------------
async def wait_idle(page, t0_ms: float, timeout_s: float, *, quiet_s: float = 1.0,
                    need_run: bool = True) -> float:
    """Wait until the app is idle; return seconds from ``t0_ms`` (epoch ms) to the last run's end.

    Idle: the script is not running, no status widget or skeleton is shown, and
    that has held for ``quiet_s``. With ``need_run`` a script run must have
    started after ``t0_ms`` (an interaction that reruns nothing would otherwise
    read as instantly done); when none is seen within 10 s the wait ends anyway.
    """
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    started = time.monotonic()
    while time.monotonic() < deadline:
        s = await page.evaluate(_STATE_JS)
        if s["conn"] == "DISCONNECTED_FOREVER":
            raise CheckFailed("the browser lost the server for good (did it die?)")
        runs = [r for r in s["runs"] if r[0] >= t0_ms - 50]
        ran = any(r[1] != "notRunning" for r in runs) or not need_run \
            or time.monotonic() - started > 10
        if s["state"] == "notRunning" and not s["busy"] and ran:
            if quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_s:
                ends = [r[0] for r in runs if r[1] == "notRunning"]
                end_ms = max(ends) if ends else time.time() * 1000 - quiet_s * 1000
                return max(0.0, (end_ms - t0_ms) / 1000)
        else:
            quiet_since = None
        await asyncio.sleep(0.2)
    raise TimeoutError(f"the app was still running after {timeout_s:.0f} s")


async def problems(page) -> list[str]:
    """Exception boxes and "could not be drawn" errors on the page."""
    texts = await page.locator("[data-testid='stException']").all_inner_texts()
    alerts = await page.locator("[data-testid='stAlert']").all_inner_texts()
    texts += [a for a in alerts if "could not be drawn" in a]
    return [t.strip().splitlines()[0][:200] if t.strip() else "(empty exception box)" for t in texts]


# ----------------------------------------------------------------------------
# The scripted actions
# ----------------------------------------------------------------------------
def widget_label(page_file: str, key: str, fallback: str) -> str:
    """The label a page gives the widget with ``key=key`` (read from its source)."""
    try:
        tree = ast.parse((REPO / page_file).read_text())
    except (OSError, SyntaxError):
        return fallback
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and any(k.arg == "key" and isinstance(k.value, ast.Constant) and k.value.value == key
                        for k in node.keywords)):
            return node.args[0].value
    return fallback


def make_photo(seed: int) -> bytes:
    """A 640x480 JPEG: a coloured shape on a light background, different per seed."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (640, 480), tuple(int(v) for v in rng.integers(200, 256, 3)))
    draw = ImageDraw.Draw(img)
    x0, y0 = int(rng.integers(40, 200)), int(rng.integers(40, 160))
    box = [x0, y0, x0 + int(rng.integers(200, 400)), y0 + int(rng.integers(150, 280))]
    fill = tuple(int(v) for v in rng.integers(0, 180, 3))
    (draw.ellipse if seed % 2 else draw.rectangle)(box, fill=fill)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


@dataclass
class SessionResult:
    name: str
    done: int = 0
    failures: list = field(default_factory=list)
    latencies: dict = field(default_factory=dict)
    costly: str | None = None


class Session:
    """One browser context running the mix; every action returns its latency in seconds."""

    def __init__(self, browser, url: str, name: str, timeout_s: float, seed: int,
                 log=None, verbose: bool = False):
        self.browser, self.url, self.timeout_s, self.seed = browser, url, timeout_s, seed
        self.result = SessionResult(name)
        self.log, self.verbose = log or (lambda m: print(m, flush=True)), verbose
        self.page = None
        self.context = None
        self.n_labels = {"pca": widget_label("pages/pca.py", "n_components", "Components"),
                         "k": widget_label("pages/clustering.py", "k", "k (clusters)")}

    async def open(self) -> None:
        self.context = await self.browser.new_context(viewport={"width": 1400, "height": 1400})
        await self.context.add_init_script(_OBSERVER_JS)
        self.page = await self.context.new_page()
        self.page.set_default_timeout(self.timeout_s * 1000)
        self.page_errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.page_errors.append(str(exc)[:200]))

    async def close(self) -> None:
        if self.context is not None:
            try:
                await self.context.close()
            except Exception:
                pass

    # --- page switches -------------------------------------------------------
    async def _check_page(self, path: str) -> None:
        page = self.page
        if path and f"/{path.split('?')[0]}" not in page.url:
            raise CheckFailed(f"expected the {path!r} page, the browser is on {page.url}")
        if not await page.locator("[data-testid='stMain'] h1").first.is_visible():
            raise CheckFailed("the page shows no heading")
        sidebar = await page.locator("[data-testid='stSidebar']").inner_text()
        if "Subsample" not in sidebar:
            raise CheckFailed("the sidebar shows no shared settings: the frame did not run")

    async def goto(self, path: str) -> float:
        t0 = time.time() * 1000
        await self.page.goto(f"{self.url}/{path}")
        latency = await wait_idle(self.page, t0, self.timeout_s)
        await self._check_page(path)
        return latency

    async def nav(self, title: str) -> float:
        link = self.page.locator("[data-testid='stSidebarNavLink']").filter(has_text=title).first
        t0 = time.time() * 1000
        await link.click()
        latency = await wait_idle(self.page, t0, self.timeout_s)
        await self._check_page(PAGES[title])
        return latency

    # --- interactions --------------------------------------------------------
    async def slider(self, label: str) -> float:
        """Move the slider labelled ``label`` one step (right, or left at its end)."""
        box = self.page.locator("[data-testid='stSlider']").filter(has_text=label).first
        # Streamlit's slider is a visually hidden <input type=range> (an ARIA slider before 1.5x).
        thumb = box.locator("input[type='range'], [role='slider']").first
        await box.scroll_into_view_if_needed()
        read = ("e => [Number(e.value !== undefined ? e.value : e.getAttribute('aria-valuenow')),"
                " Number(e.max || e.getAttribute('aria-valuemax'))]")
        now, top = await thumb.evaluate(read)
        key, want = ("ArrowRight", now + 1) if now < top else ("ArrowLeft", now - 1)
        t0 = time.time() * 1000
        await thumb.focus()
        await thumb.press(key)
        latency = await wait_idle(self.page, t0, self.timeout_s)
        got = (await thumb.evaluate(read))[0]
        if got != want:
            raise CheckFailed(f"slider {label!r} shows {got:g} after moving from {now:g} to {want:g}")
        return latency

    async def _scatter(self) -> None:
        await self.page.wait_for_selector(".fhs-root[data-ready='1']", timeout=self.timeout_s * 1000)
        await self.page.locator(".fhs-plot").first.scroll_into_view_if_needed()
        await asyncio.sleep(0.3)

    async def hover(self, k: int) -> float:
        await self._scatter()
        page = self.page
        prev = await page.evaluate("() => { const i = document.querySelector('.fhs-img');"
                                   " return (i && i.dataset.id) || ''; }")
        pos = await page.evaluate(_POINT_JS, k)
        await page.mouse.move(pos["x"] + 25, pos["y"] + 25)
        t0 = time.perf_counter()
        await page.mouse.move(pos["x"], pos["y"], steps=3)
        try:
            await page.wait_for_function(_THUMB_JS, arg=prev, timeout=15_000)
        except Exception:
            raise CheckFailed("hovering a point showed no loaded thumbnail within 15 s") from None
        return time.perf_counter() - t0

    async def box_select(self) -> float:
        await self._scatter()
        page = self.page
        box = await page.evaluate(_BOX_JS)
        x0, y0 = box["l"] + box["w"] * 0.15, box["t"] + box["h"] * 0.15
        await page.mouse.move(x0, y0)
        await page.mouse.down()
        t0 = time.time() * 1000
        await page.mouse.move(x0 + box["w"] * 0.7, y0 + box["h"] * 0.7, steps=10)
        await page.mouse.up()
        await page.get_by_text("Selection:").first.wait_for(timeout=self.timeout_s * 1000)
        latency = await wait_idle(page, t0, self.timeout_s)
        text = await page.get_by_text("Selection:").first.inner_text()
        n = int(re.sub(r"[^\d]", "", text.split(":")[1].split()[0]) or 0)
        images = await page.locator("[data-testid='stMain'] img[src*='/media/']").count()
        if n <= 0 or images == 0:
            raise CheckFailed(f"the box selection shows {n} products and {images} gallery images")
        return latency

    async def upload(self, k: int) -> float:
        page = self.page
        name = f"photo-{self.result.name}-{k}.jpg"
        t0 = time.time() * 1000
        await page.locator("input[type=file]").set_input_files(
            files=[{"name": name, "mimeType": "image/jpeg", "buffer": make_photo(self.seed * 1000 + k)}])
        latency = await wait_idle(page, t0, self.timeout_s)
        text = await page.locator("[data-testid='stMain']").inner_text()
        if name not in text or not LABEL_RE.search(text):
            alerts = await page.locator("[data-testid='stAlert']").all_inner_texts()
            raise CheckFailed(f"no label for the uploaded {name}" + (f"; the page says {alerts[0][:160]!r}"
                                                                   if alerts else ""))
        return latency

    # --- the mix ---------------------------------------------------------------
    def script(self, round_no: int):
        """The actions of one round: (kind, coroutine factory)."""
        deep = round_no % 2 == 1

        def switch(title):
            if deep:
                return (f"open {title} (link)", lambda: self.goto(PAGES[title]))
            return (f"open {title} (nav)", lambda: self.nav(title))

        return [
            ("open Overview (link)", lambda: self.goto("")),
            switch("PCA"),
            ("PCA slider", lambda: self.slider(self.n_labels["pca"])),
            switch("Clustering"),
            ("k slider", lambda: self.slider(self.n_labels["k"])),
            switch("Gaussian mixture"),
            ("open Embeddings (link)", lambda: self.goto(EMBEDDINGS_LINK)),
            ("hover thumbnail", lambda: self.hover(round_no)),
            ("box selection", lambda: self.box_select()),
            switch("Classifier"),
            ("upload photo", lambda: self.upload(round_no)),
        ]

    async def act(self, kind: str, factory) -> bool:
        """Run one action; record its latency or its failure. False when the round must stop."""
        n_errors = len(self.page_errors)
        try:
            latency = await factory()
            shown = await problems(self.page)
            if shown:
                raise CheckFailed(f"exception box: {shown[0]}")
            if len(self.page_errors) > n_errors:
                raise CheckFailed(f"browser error: {self.page_errors[n_errors]}")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failure of this action, recorded; the session goes on
            what = f"{type(exc).__name__}: {str(exc).splitlines()[0][:240] if str(exc) else ''}"
            self.result.failures.append({"action": kind, "error": what})
            self.log(f"  FAIL {self.result.name} {kind}: {what}")
            return False
        self.result.done += 1
        self.result.latencies.setdefault(kind.split(" (")[0], []).append(latency)
        if self.verbose:
            self.log(f"  {self.result.name} {kind}: {latency:.1f} s")
        return True

    async def costly(self, query: str, wait_s: float) -> None:
        """Ask for the costly settings on the PCA page; record what came back."""
        page = self.page
        path = f"pca?{query}"
        t0 = time.time() * 1000
        await page.goto(f"{self.url}/{path}")
        outcome = None
        try:
            latency = await wait_idle(page, t0, wait_s)
        except TimeoutError:
            state = await page.evaluate(_STATE_JS)
            alerts = " | ".join(await page.locator("[data-testid='stAlert']").all_inner_texts())
            if QUEUED_RE.search(alerts):
                outcome = f"queued (after {wait_s:.0f} s): {alerts[:200]}"
            elif state["progress"] or state["busy"]:
                outcome = f"still computing after {wait_s:.0f} s, progress shown"
            else:
                outcome = "failure: no answer and no progress"
        except Exception as exc:
            outcome = f"failure: {type(exc).__name__}: {str(exc)[:200]}"
        if outcome is None:
            shown = await problems(page)
            alerts = " | ".join(await page.locator("[data-testid='stMain'] [data-testid='stAlert']")
                                .all_inner_texts())
            if shown:
                outcome = f"failure: exception box: {shown[0]}"
            elif QUEUED_RE.search(alerts):
                outcome = f"queued in {latency:.1f} s: {alerts[:200]}"
            elif REFUSED_RE.search(alerts):
                outcome = f"refused in {latency:.1f} s: {alerts[:200]}"
            else:
                try:
                    await self._check_page("pca")
                    outcome = f"worked in {latency:.1f} s"
                except CheckFailed as exc:
                    outcome = f"failure: {exc}"
        self.result.costly = outcome
        if outcome.startswith("failure"):
            self.result.failures.append({"action": "costly settings", "error": outcome})
        self.log(f"  {self.result.name} costly settings ({query}): {outcome}")

    async def run(self, deadline: float, *, rounds: int | None = None) -> SessionResult:
        """Run rounds of the mix until ``deadline`` (monotonic) or ``rounds`` rounds."""
        round_no = 0
        while time.monotonic() < deadline and (rounds is None or round_no < rounds):
            for kind, factory in self.script(round_no):
                if time.monotonic() >= deadline:
                    break
                if not await self.act(kind, factory):
                    await asyncio.sleep(1.0)
                    break  # the rest of the round depends on this step: start a new round
            round_no += 1
        return self.result


# ----------------------------------------------------------------------------
# The two measurements
# ----------------------------------------------------------------------------
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        raise SystemExit("chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH)")
    return path


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def latency_stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": statistics.median(values), "p95": _pct(values, 0.95),
            "max": max(values)}


async def run_load(args, env: dict, artifacts: Path) -> dict:
    from playwright.async_api import async_playwright

    server = Server(env, artifacts / "streamlit-load.log")
    sampler = None
    try:
        server.wait_healthy()
        print(f"load: server on {server.url}, log {server.log_path}", flush=True)
        sampler = MemorySampler(server.proc.pid)
        sampler.start()
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            try:
                warmup = None
                if args.warmup:
                    print("load: warm-up round (one session, not timed)...", flush=True)
                    s = Session(browser, server.url, "warm-up", max(args.timeout, 1800), seed=999,
                                verbose=True)
                    await s.open()
                    t0 = time.monotonic()
                    try:
                        warmup = await asyncio.wait_for(s.run(float("inf"), rounds=1), 3600)
                    finally:
                        await s.close()
                    print(f"load: warm-up done in {time.monotonic() - t0:.0f} s", flush=True)
                sessions = [Session(browser, server.url, f"s{i + 1}", args.timeout, seed=i + 1)
                            for i in range(args.sessions)]
                for s in sessions:
                    await s.open()
                t_start = time.monotonic()
                deadline = t_start + args.duration
                print(f"load: {args.sessions} sessions for {args.duration:.0f} s...", flush=True)

                async def one(i: int, s: Session):
                    await asyncio.sleep(i * 0.5)  # a little stagger, like people arriving
                    if i == 0 and args.costly_query:
                        await s.costly(args.costly_query,
                                       max(30.0, deadline - time.monotonic()) + args.timeout / 4)
                    return await s.run(deadline)

                try:
                    results = await asyncio.wait_for(
                        asyncio.gather(*(one(i, s) for i, s in enumerate(sessions))),
                        args.duration + 2 * args.timeout + 60)
                finally:
                    for s in sessions:
                        await s.close()
                elapsed = time.monotonic() - t_start
            finally:
                await browser.close()
        alive = server.healthy()
    finally:
        peak = sampler.stop() if sampler is not None else 0
        server.stop()
    results = list(results)
    if not alive:
        results[0].failures.append({"action": "server", "error": "the server died during the load"})
    every = [v for r in results for vs in r.latencies.values() for v in vs]
    kinds = sorted({k for r in results for k in r.latencies})
    return {
        "elapsed_s": elapsed,
        "latency_s": {"all": latency_stats(every),
                      **{k: latency_stats([v for r in results for v in r.latencies.get(k, [])])
                         for k in kinds}},
        "sessions": [{"name": r.name, "actions": r.done, "failures": r.failures,
                      **({"costly": r.costly} if r.costly else {})} for r in results],
        "warmup": ({"actions": warmup.done, "failures": warmup.failures} if warmup else None),
        "errors": sum(len(r.failures) for r in results) + (len(warmup.failures) if warmup else 0),
        "costly": next((r.costly for r in results if r.costly), None),
        "peak_rss_bytes": peak,
        "log": str(server.log_path),
    }


async def _cold_open(browser, url: str, path: str, timeout_s: float, *, kill_when_busy=None) -> dict:
    """Open ``path`` and time it until idle; with ``kill_when_busy``, call it once progress has
    been shown for 2 s instead (returns how long that took)."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1400})
    try:
        await context.add_init_script(_OBSERVER_JS)
        page = await context.new_page()
        page.set_default_timeout(timeout_s * 1000)
        t0 = time.time() * 1000
        await page.goto(f"{url}/{path}")
        if kill_when_busy is None:
            seconds = await wait_idle(page, t0, timeout_s)
            return {"seconds": seconds, "problems": await problems(page)}
        deadline, since = time.monotonic() + timeout_s, None
        while time.monotonic() < deadline:
            s = await page.evaluate(_STATE_JS)
            if s["state"] == "running" and (s["busy"] or s["progress"]):
                since = since or time.monotonic()
                if time.monotonic() - since >= 2.0:
                    kill_when_busy()
                    return {"killed_after_s": time.time() - t0 / 1000}
            else:
                since = None
            await asyncio.sleep(0.2)
        raise TimeoutError(f"{path} showed no running computation for 2 s within {timeout_s:.0f} s")
    finally:
        await context.close()


async def run_crash(args, env: dict, artifacts: Path) -> dict:
    """Cold time of ``--crash-page``; then kill during it, restart on the same cache, time again."""
    from playwright.async_api import async_playwright

    out: dict = {"page": args.crash_page}
    with tempfile.TemporaryDirectory(prefix="bench-load-crash-") as tmp:
        ref_cache, crash_cache = Path(tmp) / "reference", Path(tmp) / "crashed"
        ref_cache.mkdir()
        crash_cache.mkdir()
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            try:
                server = Server({**env, "FASHION_CACHE_DIR": str(ref_cache)},
                                artifacts / "streamlit-crash-reference.log")
                try:
                    server.wait_healthy()
                    print(f"crash: cold reference run of /{args.crash_page}...", flush=True)
                    ref = await _cold_open(browser, server.url, args.crash_page, args.crash_timeout)
                finally:
                    server.stop()
                out["normal_s"] = ref["seconds"]
                out["limit_s"] = limit = 2 * ref["seconds"] + 30
                print(f"crash: normal cold time {ref['seconds']:.1f} s", flush=True)

                server = Server({**env, "FASHION_CACHE_DIR": str(crash_cache)},
                                artifacts / "streamlit-crash-killed.log")
                try:
                    server.wait_healthy()
                    killed = await _cold_open(browser, server.url, args.crash_page, args.crash_timeout,
                                              kill_when_busy=server.kill)
                finally:
                    server.kill()
                out["killed_after_s"] = killed["killed_after_s"]
                print(f"crash: server killed (SIGKILL, process group) {killed['killed_after_s']:.1f} s "
                      "into the computation; restarting on the same cache", flush=True)

                server = Server({**env, "FASHION_CACHE_DIR": str(crash_cache)},
                                artifacts / "streamlit-crash-restarted.log")
                try:
                    server.wait_healthy()
                    try:
                        again = await _cold_open(browser, server.url, args.crash_page, limit + 30)
                        out["restarted_s"] = again["seconds"]
                        out["problems"] = again["problems"]
                    except TimeoutError:
                        out["restarted_s"] = None
                        out["problems"] = [f"no answer within {limit + 30:.0f} s (a stale lock?)"]
                finally:
                    server.stop()
            finally:
                await browser.close()
    out["ok"] = (out["restarted_s"] is not None and out["restarted_s"] <= limit
                 and not out["problems"])
    return out


# ----------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------
def report(summary: dict, budget_gb: float | None) -> list[str]:
    """Print the summary tables; return the reasons the run fails."""
    failed: list[str] = []
    load = summary.get("load")
    if load:
        print(f"\n== Load: {summary['sessions']} sessions, {load['elapsed_s']:.0f} s, "
              f"data {summary['data']} ==")
        print(f"{'action':28s} {'n':>5s} {'p50 s':>8s} {'p95 s':>8s} {'max s':>8s}")
        for kind, s in load["latency_s"].items():
            if s["n"]:
                print(f"{kind:28s} {s['n']:5d} {s['p50']:8.2f} {s['p95']:8.2f} {s['max']:8.2f}")
        print(f"\n{'session':10s} {'actions':>8s} {'failures':>9s}")
        rows = load["sessions"] + ([{"name": "warm-up", **load["warmup"]}] if load["warmup"] else [])
        for r in rows:
            print(f"{r['name']:10s} {r['actions']:8d} {len(r['failures']):9d}"
                  + "".join(f"\n{'':12s}{f['action']}: {f['error']}" for f in r["failures"][:5]))
        print(f"\ncostly settings: {load['costly'] or 'not asked'}")
        gb = load["peak_rss_bytes"] / 1e9
        if budget_gb:
            print(f"server peak memory: {gb:.2f} GB of a {budget_gb:.2f} GB budget "
                  f"({'within' if gb <= budget_gb else 'OVER'})")
            if gb > budget_gb:
                failed.append(f"peak memory {gb:.2f} GB over the {budget_gb:.2f} GB budget")
        else:
            print(f"server peak memory: {gb:.2f} GB (no FASHION_MEMORY_GB budget set)")
        print(f"errors: {load['errors']}")
        if load["errors"]:
            failed.append(f"{load['errors']} failed actions")
    crash = summary.get("crash")
    if crash:
        print(f"\n== Crash: /{crash['page']} ==")
        if "error" in crash:
            print(f"could not run: {crash['error']}")
            failed.append("the crash test could not run")
        else:
            again = crash["restarted_s"]
            print(f"normal cold time      {crash['normal_s']:8.1f} s")
            print(f"after kill + restart  {again:8.1f} s" if again is not None
                  else "after kill + restart  no answer")
            print(f"limit (2x normal+30)  {crash['limit_s']:8.1f} s  -> "
                  + ("PASS" if crash["ok"] else "FAIL"))
            for p in crash["problems"]:
                print(f"  {p}")
            if not crash["ok"]:
                failed.append("the crash test failed")
    print("\nresult: " + ("FAIL (" + "; ".join(failed) + ")" if failed else "PASS"))
    return failed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="dataset folder (default: the generated demo set)")
    ap.add_argument("--cache", help="cache folder of the load server (default: a new temporary one)")
    ap.add_argument("--sessions", type=int, default=8, help="concurrent browser sessions (default 8)")
    ap.add_argument("--duration", type=float, default=180, help="seconds of load (default 180)")
    ap.add_argument("--timeout", type=float, default=300,
                    help="seconds one action may take before it counts as failed (default 300)")
    ap.add_argument("--costly-query", default="fraction=1.0&color=true&image_size=100",
                    help="settings session 1 asks for first ('' to skip)")
    ap.add_argument("--warmup", action=argparse.BooleanOptionalAction, default=True,
                    help="one untimed round first, to fill the caches (default on)")
    ap.add_argument("--crash", action=argparse.BooleanOptionalAction, default=True,
                    help="run the kill-and-restart test (default on)")
    ap.add_argument("--crash-page", default="embeddings",
                    help="page and query whose cold computation the crash test interrupts "
                         "(default: Embeddings, whose default method is t-SNE)")
    ap.add_argument("--crash-timeout", type=float, default=1200,
                    help="longest wait for the cold reference run (default 1200 s)")
    ap.add_argument("--no-load", dest="load", action="store_false", help="only the crash test")
    ap.add_argument("--artifacts", default=str(REPO / "artifacts" / "load"),
                    help="folder for the server logs (default artifacts/load)")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)

    def _interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, _interrupt)

    artifacts = Path(args.artifacts).resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if args.data:
        env["FASHION_DATA_DIR"] = str(Path(args.data).resolve())
    else:
        env.pop("FASHION_DATA_DIR", None)
    budget = float(os.environ["FASHION_MEMORY_GB"]) if os.environ.get("FASHION_MEMORY_GB") else None
    summary: dict = {"data": Path(args.data).name if args.data else "demo", "sessions": args.sessions,
                     "duration_s": args.duration, "memory_budget_gb": budget}
    tmp = None
    try:
        if args.load:
            if args.cache:
                env["FASHION_CACHE_DIR"] = str(Path(args.cache).resolve())
            else:
                tmp = tempfile.TemporaryDirectory(prefix="bench-load-cache-")
                env["FASHION_CACHE_DIR"] = tmp.name
            summary["load"] = asyncio.run(run_load(args, env, artifacts))
        if args.crash:
            try:
                summary["crash"] = asyncio.run(run_crash(args, env, artifacts))
            except (RuntimeError, TimeoutError) as exc:
                summary["crash"] = {"page": args.crash_page, "error": str(exc)[:1000], "ok": False}
    except KeyboardInterrupt:
        print("\ninterrupted: servers and browsers stopped", file=sys.stderr)
        return 130
    finally:
        _kill_all()
        if tmp is not None:
            tmp.cleanup()
    failed = report(summary, budget)
    summary["failed"] = failed
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(summary, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Drive the dashboard in a real browser: start ``streamlit run app.py``, wait for it.

Shared by the benchmark (``bench/bench_dashboard.py``) and the browser tests
(``tests/e2e/conftest.py``); it imports nothing from either, so a benchmark
never depends on the test suite. Chromium is Debian's (``/usr/bin/chromium``,
or ``$CHROMIUM_PATH``). The server's log goes to a file, never a pipe (a full
pipe would stall the server).
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

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    """Debian's chromium, or ``$CHROMIUM_PATH``; None when neither is a file."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if Path(path).is_file() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


class Server:
    """A ``streamlit run app.py`` (or another ``script``) on a free local port, logging to ``log_path``.

    Use as a context manager, or call :meth:`stop`. Raises RuntimeError, with
    the end of the log, when the server does not answer within ``timeout_s``.
    """

    def __init__(self, env: dict, log_path: Path, timeout_s: float = 120.0, script: str = "app.py"):
        self.log_path = Path(log_path)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while not healthy(self.url):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log_path.read_text(errors="replace")[-4000:]
                raise RuntimeError(f"streamlit did not start; its log:\n{tail}")
            time.sleep(0.3)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def wait_idle(page, timeout_s: float = 240.0, quiet_s: float = 1.5) -> None:
    """Wait until the script has finished running: no status widget or skeleton for ``quiet_s``.

    Raises TimeoutError when the app is still running after ``timeout_s``.
    """
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
    raise TimeoutError(f"the app was still running after {timeout_s:.0f} s")

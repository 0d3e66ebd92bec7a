"""core stays free of Streamlit: every module imports with ``streamlit`` blocked."""
from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import core

REPO = Path(__file__).resolve().parents[2]

_SCRIPT = """
import importlib, sys
sys.modules["streamlit"] = None  # any `import streamlit` now raises ImportError
failed = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError as exc:
        failed.append(f"{name}: {exc}")
leaked = sorted(m for m in sys.modules if m.startswith("streamlit.") )
print("\\n".join(failed + [f"loaded {m}" for m in leaked]))
sys.exit(1 if failed or leaked else 0)
"""


def _modules() -> list[str]:
    names = ["core"] + [f"core.{m.name}" for m in pkgutil.iter_modules(core.__path__)]
    return [n for n in names if n != "core.__main__"] + ["core.__main__"]


def test_core_modules_are_found():
    mods = _modules()
    assert {"core.config", "core.cache", "core.dataset", "core.styles", "core.subsample", "core.images", "core.figures"} <= set(mods)


def test_core_never_imports_streamlit():
    # A fresh interpreter: this test process may already hold streamlit.
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, *_modules()], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr

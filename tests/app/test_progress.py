"""ui.progress: the status box appears only while computing, and results are remembered."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script():
    import streamlit as st

    from core import cache
    from ui import progress

    calls = st.session_state.setdefault("calls", [])

    @cache.memoize("test.progress_square", version=1)
    def square(x: int, progress=None) -> int:
        calls.append(x)
        progress(0.5, "half way")
        return x * x

    with progress.task("Kept", keep=True) as cb:
        cb(1.0, "done")
    st.write(f"result {progress.run(square, 7, label='Squaring')}")
    st.write(f"again {progress.run(square, 7, label='Squaring')}")


def test_run_computes_once_and_cleans_up():
    at = AppTest.from_function(_script, default_timeout=30).run()
    assert not at.exception, [e.message for e in at.exception]
    assert [m.value for m in at.markdown] == ["result 49", "again 49"]
    assert at.session_state["calls"] == [7]
    # The box of a finished computation is removed; a kept one stays, collapsed.
    labels = [b.label for b in at.main.children.values() if type(b).__name__ == "Status"]
    assert len(labels) == 1 and labels[0].startswith("Kept: done in ")
    at.run()
    assert at.session_state["calls"] == [7]  # served from memory / the disk cache

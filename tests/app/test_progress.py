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


def _failing_script():
    import streamlit as st

    from ui import progress

    try:
        with progress.task("Training", keep=True) as cb:
            cb(0.0, "starting")
            raise MemoryError("over the budget")
    except MemoryError as exc:
        st.error(str(exc))


def test_a_failed_task_keeps_no_bar_and_no_cancel_button():
    at = AppTest.from_function(_failing_script, default_timeout=30).run()
    assert not at.exception, [e.message for e in at.exception]
    boxes = [b for b in at.main.children.values() if type(b).__name__ == "Status"]
    assert [b.label for b in boxes] == ["Training: failed"]
    assert boxes[0].state == "error"
    assert not [c for c in boxes[0].children.values() if type(c).__name__ == "Progress"]
    assert not any(b.label == "Cancel" for b in at.button)  # nothing left to cancel
    assert [e.value for e in at.error] == ["over the budget"]

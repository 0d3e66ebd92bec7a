"""Progress callbacks: how long work reports how far it got, without knowing who listens.

Every long step of :mod:`core` takes an optional ``progress(fraction, message)``
callable (openTSNE's callbacks are the model): the CLI prints it, a page moves
``st.progress`` with it, and ``core`` stays free of any UI.
"""
from __future__ import annotations

from typing import Callable, Optional

#: A progress callback receives the fraction done in [0, 1] and a short message.
ProgressFn = Callable[[float, str], None]


def report(progress: Optional[ProgressFn], fraction: float, message: str) -> None:
    """Call ``progress`` if one was given; clamp the fraction to [0, 1]."""
    if progress is not None:
        progress(min(1.0, max(0.0, float(fraction))), message)


def scaled(progress: Optional[ProgressFn], start: float, stop: float) -> Optional[ProgressFn]:
    """A callback that maps a sub-step's [0, 1] onto ``[start, stop]`` of ``progress``."""
    if progress is None:
        return None

    def _inner(fraction: float, message: str) -> None:
        progress(start + (stop - start) * min(1.0, max(0.0, fraction)), message)

    return _inner

"""Fixtures of the core unit tests."""
from __future__ import annotations

import pytest

from core.subsample import Subsample
from core.dataset import open_dataset
from core import cache, styles
from make_data import make_dataset


@pytest.fixture
def tiny_sub(tiny_dataset):
    """Every product of :func:`tiny_dataset`, as 12x12 grayscale features."""
    return Subsample(open_dataset(tiny_dataset), fraction=1.0, image_size=12)


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """A generated dataset with every defect ``make_data`` knows, and the counts expected."""
    folder = tmp_path_factory.mktemp("damaged")
    expected = make_dataset(folder)
    return folder, expected


@pytest.fixture
def read(damaged):
    """:func:`core.styles.read_styles` of :func:`damaged`: frame, report, expected counts."""
    folder, expected = damaged
    df, report = styles.read_styles(folder / "styles.csv")
    return df, report, expected


@pytest.fixture
def calls():
    """Arguments a memoized test function was really called with (cache misses)."""
    return []


@pytest.fixture
def double(calls):
    """A memoized function that records its misses in :func:`calls`."""
    @cache.memoize("test.double", version=1)
    def double(x, scale=2, progress=None, n_jobs=None):
        calls.append(x)
        return x * scale

    return double


@pytest.fixture
def reopen():
    """Drop this process's open cache handles, as a new process would start; call it."""
    def forget() -> None:
        with cache._open_lock:
            for c in cache._caches.values():
                cache._close_quietly(c)
            cache._caches.clear()

    return forget

"""Fixtures shared by every tier of tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from make_data import make_dataset

REPO = Path(__file__).resolve().parent.parent
#: The real dataset, provided beside the repository when available.
SHARED_DATA = Path(os.environ.get("FASHION_SHARED_DATA", REPO.parent / "shared" / "data" / "fashion-small"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch, request):
    """Each test module gets its own cache folder, never the repository's cache/."""
    if "shared_cache" in request.fixturenames:
        return
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("FASHION_CACHE_DIR", str(folder))
    monkeypatch.delenv("FASHION_DATA_DIR", raising=False)


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory):
    """One cache folder for the whole session (for slow integration tests that reuse results)."""
    folder = os.environ.get("FASHION_TEST_CACHE") or str(tmp_path_factory.mktemp("shared-cache"))
    old = os.environ.get("FASHION_CACHE_DIR")
    os.environ["FASHION_CACHE_DIR"] = folder
    yield Path(folder)
    if old is None:
        os.environ.pop("FASHION_CACHE_DIR", None)
    else:
        os.environ["FASHION_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real dataset folder; tests that need it skip, saying why, when it is absent."""
    if not (SHARED_DATA / "styles.csv").is_file():
        pytest.skip(f"the real dataset is not present at {SHARED_DATA.name} beside the repository "
                    "(set FASHION_SHARED_DATA to its folder to run this test)")
    return SHARED_DATA


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    """A clean generated dataset of 48 products in the Kaggle layout."""
    folder = tmp_path_factory.mktemp("tiny")
    make_dataset(folder, n_good=48, damaged=False)
    return folder

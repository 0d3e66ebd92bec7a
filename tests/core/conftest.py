"""Fixtures of the core unit tests."""
from __future__ import annotations

import pytest

from core.subsample import Subsample
from core.dataset import open_dataset
from make_data import make_dataset


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    """A clean generated dataset of 48 products in the Kaggle layout."""
    folder = tmp_path_factory.mktemp("tiny")
    make_dataset(folder, n_good=48, damaged=False)
    return folder


@pytest.fixture
def tiny_sub(tiny_dataset):
    """Every product of :func:`tiny_dataset`, as 12x12 grayscale features."""
    return Subsample(open_dataset(tiny_dataset), fraction=1.0, image_size=12)

"""Tests of core.classifier.labels: one label mapping per attribute, rare values grouped as "other"."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import classifier, config
from core.classifier import labels

#: The notebook's fixed masterCategory mapping, written out: swapping two names
#: in core.config must fail here, whatever else still passes.
NOTEBOOK_LABELS = {"Accessories": 0, "Apparel": 1, "Footwear": 2, "Personal Care": 3,
                   "Free Items": 4, "Sporting Goods": 5, "Home": 6}


def test_the_notebooks_label_mapping_is_pinned():
    assert config.LABELS == NOTEBOOK_LABELS
    assert config.CATEGORIES == tuple(sorted(NOTEBOOK_LABELS, key=NOTEBOOK_LABELS.get))
    assert config.LABEL_COLUMNS[0] == "masterCategory"


def test_the_subsample_and_the_taggers_primary_head_use_the_notebooks_mapping(tiny_sub):
    frame = tiny_sub.frame()
    assert tiny_sub.labels().tolist() == [NOTEBOOK_LABELS[v] for v in frame["masterCategory"]]
    attrs = classifier.attributes(frame, tiny_sub.label_columns, tiny_sub.categories, np.arange(len(frame)))
    assert attrs[0].primary and attrs[0].classes == tuple(NOTEBOOK_LABELS)
    codes = labels.encode_all(frame, attrs, tiny_sub.labels())[0]
    assert [attrs[0].classes[c] for c in codes] == frame["masterCategory"].tolist()


def _frame():
    return pd.DataFrame({
        "masterCategory": ["Apparel"] * 30 + ["Footwear"] * 12,
        "articleType": ["Tshirts"] * 20 + ["Shirts"] * 10 + ["Flip Flops"] * 10 + ["Rare"] * 2,
        "gender": ["Men", "Women"] * 21,
    })


def test_rare_values_are_grouped_as_other_and_reported():
    frame = _frame()
    train = np.arange(40)  # the last two rows (one more "Rare") stand for the validation part
    attrs = classifier.attributes(frame, ("masterCategory", "articleType", "gender", "missing"),
                                  config.CATEGORIES, train, min_count=10)
    assert [a.column for a in attrs] == ["masterCategory", "articleType", "gender"]  # absent column left out
    article = attrs[1]
    # most frequent first, ties by name; "other" last, its members and training counts kept
    assert article.classes == ("Tshirts", "Flip Flops", "Shirts", classifier.OTHER)
    assert article.grouped == {}  # "Rare" is never in the training part...
    codes = article.encode(frame["articleType"].tolist())
    assert (codes[40:] == article.classes.index(classifier.OTHER)).all()  # ...and still answered as other
    assert codes[:20].tolist() == [0] * 20
    article = classifier.attributes(frame, ("masterCategory", "articleType"), config.CATEGORIES,
                                    np.arange(42), min_count=10)[1]
    assert article.grouped == {"Rare": 2} and article.classes[-1] == classifier.OTHER
    assert attrs[2].classes == ("Men", "Women") and classifier.OTHER not in attrs[2].classes


def test_no_other_class_when_nothing_is_rare_and_round_trip():
    frame = _frame().iloc[:40]
    a = classifier.attributes(frame, ("masterCategory", "gender"), config.CATEGORIES, np.arange(40))[1]
    assert a.classes == ("Men", "Women")
    assert classifier.Attribute.from_dict(a.to_dict()) == a


def test_an_unknown_primary_value_is_an_error():
    primary = classifier.Attribute("masterCategory", config.CATEGORIES, primary=True)
    with pytest.raises(ValueError, match="Gadgets"):
        primary.encode(["Apparel", "Gadgets"])

"""The product map's binary buffers (core.figures.maps)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from core.figures import maps


def _frame(n: int, rng) -> pd.DataFrame:
    frame = pd.DataFrame({
        "id": np.arange(n) + 1000,
        "productDisplayName": [f"Product {i}" for i in range(n)],
        "masterCategory": rng.choice(["Apparel", "Footwear", "Accessories"], n),
        "gender": rng.choice(["Men", "Women"], n),
    })
    # what a subsample's frame says about itself (core.subsample)
    frame.attrs.update(name_column="productDisplayName", label_columns=("masterCategory", "gender"))
    return frame


def test_pack_round_trips_arrays_at_aligned_offsets():
    rng = np.random.default_rng(0)
    arrays = {"x": rng.normal(size=7).astype(np.float32), "c": np.arange(5, dtype=np.uint8),
              "r": np.arange(3, dtype=np.uint32)}
    buf = maps.pack({"a": [1, "b"]}, arrays)
    assert buf[:4] == maps.MAGIC
    meta, out = maps.unpack(buf)
    assert meta == {"a": [1, "b"]}
    for name, arr in arrays.items():
        assert_array_equal(out[name], arr)
        assert out[name].ctypes.data % 8 == np.frombuffer(buf, np.uint8).ctypes.data % 8


def test_pack_refuses_64_bit_arrays():
    with pytest.raises(TypeError, match="32 bits"):
        maps.pack({}, {"x": np.zeros(3)})


def test_map_buffers_carry_points_groups_and_products():
    rng = np.random.default_rng(0)
    frame = _frame(40, rng)
    xy = rng.normal(size=(40, 2))
    b = maps.map_buffers(xy, frame, "masterCategory", highlight=np.arange(40) < 3)
    meta, pts = maps.unpack(b.points)
    assert meta["n"] == 40 and "row" not in pts
    assert_allclose(pts["x"], xy[:, 0], rtol=1e-6)
    smeta, style = maps.unpack(b.style)
    names = [g["name"] for g in smeta["groups"]]
    assert sum(g["count"] for g in smeta["groups"]) == 40
    assert_array_equal(np.array(names)[style["group"]], frame["masterCategory"])
    assert smeta["matches"] == 3 and style["match"].sum() == 3
    pmeta, prod = maps.unpack(b.products)
    assert_array_equal(prod["id"], frame["id"])
    assert pmeta["names"][5] == "Product 5"
    codes = prod["f:gender"]
    assert_array_equal(np.array(pmeta["values"]["gender"])[codes], frame["gender"])


def test_replicated_points_index_products_and_hash_by_content():
    rng = np.random.default_rng(1)
    frame = _frame(10, rng)
    rows = np.arange(1000) % 10
    xy = rng.normal(size=(1000, 2))
    b = maps.map_buffers(xy, frame, "masterCategory", rows=rows)
    _, pts = maps.unpack(b.points)
    assert_array_equal(pts["row"], rows)
    smeta, style = maps.unpack(b.style)
    names = np.array([g["name"] for g in smeta["groups"]])
    assert_array_equal(names[style["group"]], frame["masterCategory"].to_numpy()[rows])
    again = maps.map_buffers(xy, frame, "masterCategory", rows=rows)
    assert again.revision == b.revision
    recoloured = maps.map_buffers(xy, frame, "gender", rows=rows)
    assert recoloured.keys["points"] == b.keys["points"]
    assert recoloured.keys["products"] == b.keys["products"]
    assert recoloured.keys["style"] != b.keys["style"]


@pytest.mark.parametrize("bad, match", [
    (dict(rows=np.array([0, 99])), "index"),
    (dict(color_by="nope"), "no such column"),
])
def test_bad_input_is_refused_with_what_was_wrong(bad, match):
    frame = _frame(3, np.random.default_rng(2))
    kwargs = dict(color_by="masterCategory") | bad
    coords = np.zeros((len(bad.get("rows", frame)), 2))
    with pytest.raises(ValueError, match=match):
        maps.map_buffers(coords, frame, **kwargs)


def test_points_must_be_finite():
    with pytest.raises(ValueError, match="NaN"):
        maps.points_buffer(np.array([[0.0, np.nan]]))

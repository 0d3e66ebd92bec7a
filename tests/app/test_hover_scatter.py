"""What the image-hover component is given: thumbnails on disk, plotly.js, the JSON payload.

The component itself runs only in a browser (tests/e2e); here its inputs are
checked on a tiny generated dataset with every kind of image file.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import plotly
import pytest
from PIL import Image

from core import figures
from core.dataset import open_dataset
from make_data import make_dataset
from ui import scatter, thumbs


@pytest.fixture
def dataset(tmp_path, monkeypatch):
    monkeypatch.setattr(thumbs, "THUMBS_DIR", tmp_path / "static" / "thumbs")
    thumbs.forget()
    expected = make_dataset(tmp_path / "data", n_good=8, damaged=True)
    return open_dataset(tmp_path / "data"), expected


def test_thumbnails_are_real_jpeg_files_for_every_readable_image(dataset):
    ds, exp = dataset
    converted = [i for ids in exp["converted"].values() for i in ids]
    unreadable = list(exp["unreadable"])
    wanted = list(range(1000, 1008)) + converted + unreadable
    assert thumbs.ensure_thumbnails(ds, wanted) == len(set(wanted))
    folder = thumbs.thumbs_dir(ds)
    assert folder.parent == thumbs.THUMBS_DIR and folder.name == ds.fingerprint
    for pid in list(range(1000, 1008)) + converted:
        path = thumbs.thumb_path(ds, pid)
        assert path.is_file() and not path.is_symlink()
        with Image.open(path) as img:
            assert img.format == "JPEG" and img.mode in ("RGB", "L")
    for pid in unreadable:
        assert not thumbs.thumb_path(ds, pid).exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "temporary files left"
    # a second call finds them all and writes nothing
    assert thumbs.ensure_thumbnails(ds, list(range(1000, 1008)) + converted) == 0


def test_a_deleted_folder_is_rebuilt(dataset):
    ds, _ = dataset
    thumbs.ensure_thumbnails(ds, [1000, 1001])
    for f in thumbs.thumbs_dir(ds).iterdir():
        f.unlink()
    thumbs.thumbs_dir(ds).rmdir()
    assert thumbs.ensure_thumbnails(ds, [1000, 1001]) == 2
    assert thumbs.thumb_path(ds, 1001).is_file()


def test_urls_point_at_static_serving(dataset):
    ds, _ = dataset
    assert thumbs.thumb_url(ds, 1003) == f"app/static/thumbs/{ds.fingerprint}/1003.jpg"
    assert thumbs.thumb_base(ds).endswith(f"{ds.fingerprint}/")


def test_plotly_js_is_the_vendored_bundle_copied_to_static(tmp_path, monkeypatch):
    monkeypatch.setattr(scatter, "VENDOR_DIR", tmp_path / "vendor")
    url = scatter.ensure_plotly_js()
    target = tmp_path / "vendor" / scatter.PLOTLY_FILE
    assert url == f"app/static/vendor/{scatter.PLOTLY_FILE}"
    assert target.read_bytes() == scatter.PLOTLY_BUNDLE.read_bytes()
    # dated at its release, so browsers keep it (Streamlit sends no Cache-Control)
    assert target.stat().st_mtime == scatter.PLOTLY_RELEASED
    os.utime(target)
    assert scatter.ensure_plotly_js() == url
    assert target.stat().st_mtime == scatter.PLOTLY_RELEASED


def _bundle_header(path) -> str:
    with open(path, "rb") as f:
        return f.read(200).decode("ascii", errors="replace")


def test_vendored_plotly_js_is_the_gl2d_bundle_of_the_plotly_packages_release():
    """Upgrading ``plotly`` without replacing ui/scatter/vendor/ fails here (see its README)."""
    full = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    release = re.search(r"plotly\.js v(\S+)", _bundle_header(full)).group(1)
    header = _bundle_header(scatter.PLOTLY_BUNDLE)
    assert "(gl2d - minified)" in header
    assert f" v{release}\n" in header, (
        f"ui/scatter/vendor holds {header.splitlines()[1].strip()!r} but the plotly package ships "
        f"plotly.js {release}: replace it with the gl2d bundle of plotly.js@{release}")
    assert scatter.PLOTLY_FILE == f"plotly-gl2d-{release}.min.js"
    assert (scatter.PLOTLY_BUNDLE.parent / "LICENSE-plotly.js.txt").is_file()


def test_payload_carries_figure_products_and_locations(dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(scatter, "VENDOR_DIR", tmp_path / "vendor")
    ds, _ = dataset
    from core.styles import load_styles

    frame = load_styles(ds)[0].dropna().head(8).reset_index(drop=True)
    xy = np.random.default_rng(0).normal(size=(len(frame), 2))
    fig = figures.category_scatter(xy, frame, hover_names=False)
    data = scatter.payload(fig, frame, ds, height=400, uirevision="k")
    json.dumps(data)
    assert {t["type"] for t in data["figure"]["data"]} == {"scatter"}
    assert sorted(data["products"]["id"]) == sorted(frame["id"].tolist())
    assert data["products"]["name"][0] == frame["productDisplayName"][0]
    assert data["thumb_base"] == thumbs.thumb_base(ds)
    assert data["plotly_src"].startswith("app/static/vendor/plotly-")
    assert data["height"] == 400 and data["uirevision"] == "k"
    # names travel as data only: the component's HTML template holds none
    assert frame["productDisplayName"][0] not in scatter._HTML
    again = scatter.payload(fig, frame, ds, height=400, uirevision="k")
    assert again["revision"] == data["revision"]
    other = scatter.payload(figures.category_scatter(xy * 2, frame, hover_names=False), frame, ds)
    assert other["revision"] != data["revision"]

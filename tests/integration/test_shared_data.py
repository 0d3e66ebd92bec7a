"""The real dataset beside the repository: the figures the foundation promises.

Skipped, with the reason, when ``../shared/data/fashion-small`` is absent.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from core import config, dataset, images, styles, subsample

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def real(shared_data, shared_cache):
    return dataset.open_dataset(shared_data)


def test_info_cli_reports_the_promised_figures(shared_data, shared_cache):
    r = subprocess.run([sys.executable, "-m", "core", "info", "--data", str(shared_data), "--json"],
                       cwd=REPO, capture_output=True, text=True, timeout=600,
                       env={**os.environ, config.CACHE_ENV: str(shared_cache)})
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["rows"] == 42_446
    assert info["readable_images"] == 42_072
    assert info["rows_without_image"] == 374
    assert info["unreadable_images"] == 0
    assert info["images"]["files_found"] == 42_072
    assert info["cleaning"]["nulls_before"]["usage"] == 317
    assert info["classes"]["all_rows"]["Home"] == 1


def test_reader_equals_read_csv_on_the_clean_file(real):
    df, report = styles.read_styles(real.styles_path)
    ref = pd.read_csv(real.styles_path)
    pd.testing.assert_frame_equal(df, ref)
    assert report.rows_read == 42_446 and not report.dropped and not report.recovered


def test_notebook_subsample(real):
    sub = subsample.Subsample(real)
    frame = sub.frame()
    assert len(frame) == 4_208
    styles = pd.read_csv(real.styles_path).dropna()
    sampled = styles.sample(frac=1, random_state=42).sample(frac=0.1, random_state=42)
    readable = set(images.scan(real)["readable"].tolist())
    assert frame["id"].tolist() == [i for i in sampled["id"] if i in readable]
    assert (frame["label"] == frame["masterCategory"].map(config.LABELS)).all()


def test_feature_matrix(real):
    sub = subsample.Subsample(real)
    X = sub.features()
    assert X.shape == (4_208, 10_000) and X.dtype == np.float32
    assert np.isfinite(X).all()
    np.testing.assert_allclose(X.mean(0), 0, atol=1e-3)
    # rows follow the notebook's decode route
    pid = int(sub.ids[17])
    raw = images.pixels(real, [pid])[0]
    np.testing.assert_array_equal(raw, images.decode(real.image_path(pid)).ravel())


def test_all_pixels_load_from_the_cache(real):
    readable = images.scan(real)["readable"]
    px = images.pixels(real, readable)
    assert px.shape == (42_072, 10_000)


def _damage(src: Path, dest: Path, n: int = 300) -> dict:
    """Copy ``n`` real rows with their images, then damage them in every way the reader handles."""
    styles = pd.read_csv(src / "styles.csv").dropna().head(n).reset_index(drop=True)
    (dest / "images").mkdir(parents=True)
    for pid in styles["id"]:
        shutil.copyfile(src / "images" / f"{pid}.jpg", dest / "images" / f"{pid}.jpg")
    lines = ["id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName"]
    for _, row in styles.iterrows():
        lines.append(",".join([str(row["id"]), row["gender"], row["masterCategory"], row["subCategory"],
                               row["articleType"], row["baseColour"], row["season"],
                               str(int(row["year"])), row["usage"], row["productDisplayName"]]))
    ids = styles["id"].tolist()
    exp = {"recovered": {}, "stray": [], "short": [], "unreadable": {}}
    for k in (1, 2, 3):  # unquoted commas in the name
        parts = lines[k].split(",")
        parts[-1] = parts[-1].replace(" ", ", ", 2)
        lines[k] = ",".join(parts)
        exp["recovered"][ids[k - 1]] = parts[-1]
    lines[4] = lines[4] + '"'  # a stray quote closing nothing
    exp["stray"].append(ids[3])
    lines[5] = ",".join(lines[5].split(",")[:5])  # missing fields
    exp["short"].append(ids[4])
    lines.append("not-an-id," + lines[6].split(",", 1)[1])
    lines.append(lines[7])  # duplicate id
    lines.insert(20, "")
    # images: empty, truncated, text, PNG, grayscale, CMYK
    img = lambda k: dest / "images" / f"{ids[k]}.jpg"  # noqa: E731
    img(10).write_bytes(b"")
    img(11).write_bytes(img(11).read_bytes()[:300])
    img(12).write_text("not an image")
    exp["unreadable"] = {ids[10]: "empty file", ids[11]: "truncated", ids[12]: "not an image"}
    for k, mode, fmt in ((13, "RGB", "PNG"), (14, "L", "JPEG"), (15, "CMYK", "JPEG")):
        with Image.open(img(k)) as im:
            buf = io.BytesIO()
            im.convert(mode).save(buf, format=fmt)
        img(k).write_bytes(buf.getvalue())
    img(16).unlink()  # a row without an image
    text = "\r\n".join(lines) + "\r\n"
    (dest / "styles.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    exp["n"] = n
    return exp


def test_damaged_copy_of_real_rows(shared_data, tmp_path):
    exp = _damage(shared_data, tmp_path / "copy")
    r = subprocess.run([sys.executable, "-m", "core", "info", "--data", str(tmp_path / "copy"), "--json"],
                       cwd=REPO, capture_output=True, text=True, timeout=300,
                       env={**os.environ, config.CACHE_ENV: str(tmp_path / "cache")})
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    st = info["styles"]
    assert info["rows"] == exp["n"] + 2 and info["rows_kept"] == exp["n"]
    assert st["recovered_ids"] == sorted(exp["recovered"])
    assert st["dropped"] == {"non-numeric id": 1, "duplicate id": 1}
    assert [x["id"] for x in st["repaired_lines"]["stray quote"]] == exp["stray"]
    assert [x["id"] for x in st["repaired_lines"]["missing fields"]] == exp["short"]
    assert info["images"]["unreadable_files"] == {f"{k}.jpg": v for k, v in exp["unreadable"].items()}
    assert info["images"]["converted"] == {"cmyk": 1, "grayscale": 1, "png": 1}
    assert info["rows_without_image"] == 1
    assert info["readable_images"] == exp["n"] - 4
    assert info["cleaning"]["dropped_null"] == 1
    df, _ = styles.read_styles(tmp_path / "copy" / "styles.csv")
    names = df.set_index("id")["productDisplayName"]
    for pid, name in exp["recovered"].items():
        assert names[pid] == name

"""core.images: readability, the notebook's decode route, the parallel pass, thumbnails."""
from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from numpy.testing import assert_allclose
from PIL import Image

from core import dataset, images, subsample, uploads
from make_data import make_dataset, product_image


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    folder = tmp_path_factory.mktemp("damaged")
    expected = make_dataset(folder)
    return dataset.open_dataset(folder), expected


def test_scan_counts_and_reasons(damaged):
    ds, exp = damaged
    found = images.scan(ds)
    assert len(found["readable"]) == exp["readable"]
    assert found["missing"] == exp["missing"]
    assert found["unreadable"] == exp["unreadable"]
    assert found["converted"] == exp["converted"]
    assert found["readable"].dtype == np.int64 and np.all(np.diff(found["readable"]) > 0)
    assert set(found["readable"]).isdisjoint(exp["unreadable"])
    assert set(found["files"]) == set(found["readable"]) | set(exp["unreadable"])


def test_scan_reports_progress(tmp_path):
    make_dataset(tmp_path, n_good=5, damaged=False)
    seen = []
    images.scan(dataset.open_dataset(tmp_path), progress=lambda f, m: seen.append((f, m)))
    assert seen[-1][0] == 1.0 and all(0 <= f <= 1 for f, _ in seen)


@pytest.mark.parametrize("pid,reason", [(2020, "empty file"), (2021, "truncated"),
                                        (2022, "not an image"), (2023, "corrupt")])
def test_decode_raises_with_reason(damaged, pid, reason):
    ds, _ = damaged
    with pytest.raises(images.UnreadableImage) as err:
        images.decode(ds.image_path(pid))
    assert err.value.reason == reason
    assert isinstance(err.value, ValueError)


def test_decode_missing_file(damaged):
    ds, _ = damaged
    with pytest.raises(FileNotFoundError):
        images.decode(ds.image_path(2012))


@pytest.mark.parametrize("pid", [2030, 2031, 2032, 2033, 2034])
@pytest.mark.parametrize("color", [False, True])
def test_odd_images_are_converted(damaged, pid, color):
    ds, _ = damaged
    out = images.decode(ds.image_path(pid), image_size=32, color=color)
    assert out.dtype == np.uint8
    assert out.shape == ((32, 32, 3) if color else (32, 32))
    assert out.std() > 1  # a picture, not a blank


def test_decode_is_the_notebook_route(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "x.jpg"
    product_image(rng).save(path, format="JPEG")
    gray = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2GRAY)
    expected = np.asarray(Image.fromarray(gray).resize((100, 100)))  # Pillow's default: bicubic
    np.testing.assert_array_equal(images.decode(path), expected)


@pytest.mark.parametrize("resample", images.RESAMPLE_FILTERS)
def test_resample_filters(damaged, resample):
    ds, _ = damaged
    out = images.decode(ds.image_path(1000), image_size=24, resample=resample)
    assert out.shape == (24, 24)


def test_unknown_filter_is_a_clear_error(damaged):
    ds, _ = damaged
    with pytest.raises(ValueError, match="resample"):
        images.decode(ds.image_path(1000), resample="sinc")


def test_cmyk_and_gray_match_their_rgb_source(tmp_path):
    rng = np.random.default_rng(0)
    img = product_image(rng)
    img.convert("L").save(tmp_path / "g.jpg", quality=100)
    img.save(tmp_path / "c.png")
    g = images.decode(tmp_path / "g.jpg", 40)
    c = images.decode(tmp_path / "c.png", 40)
    assert np.abs(g.astype(int) - c.astype(int)).mean() < 3


def test_pixels_rows_follow_the_ids(damaged):
    ds, _ = damaged
    ids = np.array([2031, 1000, 2033, 1005])
    px = images.pixels(ds, ids)
    assert px.shape == (4, 10000) and px.dtype == np.uint8
    for row, pid in zip(px, ids):
        np.testing.assert_array_equal(row, images.decode(ds.image_path(pid)).ravel())


@pytest.mark.parametrize("size,color,resample", [(32, True, "bilinear"), (20, False, "area")])
def test_pixels_other_settings(damaged, size, color, resample):
    ds, _ = damaged
    ids = images.scan(ds)["readable"][:6]
    px = images.pixels(ds, ids, image_size=size, color=color, resample=resample)
    assert px.shape == (6, size * size * (3 if color else 1))
    np.testing.assert_array_equal(
        px[2], images.decode(ds.image_path(ids[2]), size, color, resample).ravel())


def test_pixels_refuses_ids_without_a_readable_image(damaged):
    ds, _ = damaged
    with pytest.raises(ValueError, match="no readable image"):
        images.pixels(ds, [1000, 2020])


def test_parallel_pass_equals_serial(tmp_path, monkeypatch):
    make_dataset(tmp_path, n_good=30)
    ds = dataset.open_dataset(tmp_path)
    serial = images.scan.uncached(ds)
    px_serial = np.array(images.pixels(ds, serial["readable"]))
    from core import cache

    cache.clear_cache()
    monkeypatch.setattr(images, "_PARALLEL_MIN", 1)
    monkeypatch.setattr(images, "_CHUNK", 7)
    parallel = images.scan(ds, n_jobs=2)
    assert parallel["unreadable"] == serial["unreadable"]
    assert parallel["converted"] == serial["converted"]
    np.testing.assert_array_equal(parallel["readable"], serial["readable"])
    np.testing.assert_array_equal(images.pixels(ds, serial["readable"]), px_serial)


def test_pool_failure_falls_back_to_one_process(tmp_path, monkeypatch):
    import joblib

    make_dataset(tmp_path, n_good=12)
    ds = dataset.open_dataset(tmp_path)
    monkeypatch.setattr(images, "_PARALLEL_MIN", 1)
    monkeypatch.setattr(images, "_CHUNK", 5)

    def broken(*args, **kwargs):
        raise OSError("no /dev/shm here")

    monkeypatch.setattr(joblib, "Parallel", broken)
    found = images.scan(ds, n_jobs=2)
    assert len(found["readable"]) == len(images.scan.uncached(ds)["readable"]) > 0
    px = images.pixels(ds, found["readable"][:3])
    np.testing.assert_array_equal(px[1], images.decode(ds.image_path(found["readable"][1])).ravel())


def test_pixels_are_memory_mapped_from_the_cache(tmp_path, monkeypatch):
    make_dataset(tmp_path, n_good=8, damaged=False)
    ds = dataset.open_dataset(tmp_path)

    def no_resizing(*args, **kwargs):
        raise AssertionError("the scan only checks images; it resizes none")

    with monkeypatch.context() as m:
        m.setattr(images, "from_bgr", no_resizing)
        ids = images.scan(ds)["readable"]
    run = images.pixels(ds, ids)
    assert isinstance(run, np.memmap) and not run.flags.writeable
    picked = images.pixels(ds, ids[::-1])  # another list: its own matrix, in its order
    assert isinstance(picked, np.memmap)
    np.testing.assert_array_equal(picked, np.asarray(run)[::-1])

    def no_decoding(*args, **kwargs):
        raise AssertionError("a list already decoded is read from the cache")

    monkeypatch.setattr(images, "_decode_pass", no_decoding)
    np.testing.assert_array_equal(images.pixels(ds, ids[::-1]), picked)


def test_empty_dataset(tmp_path):
    make_dataset(tmp_path, n_good=0, damaged=False)
    ds = dataset.open_dataset(tmp_path)
    found = images.scan(ds)
    assert len(found["readable"]) == 0 and found["missing"] == []
    assert images.pixels(ds, []).shape == (0, 10000)


# ----------------------------------------------------------------------------
# standardize
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_standardize_matches_standard_scaler(dtype):
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (57, 13)).astype(dtype)
    x[:, 4] = 7  # a constant feature stays finite
    out = images.standardize(x)
    assert out.dtype == np.float32 and out.shape == x.shape
    assert_allclose(out, StandardScaler().fit_transform(x.astype(np.float64)), atol=1e-5)
    assert np.isfinite(out).all()


def test_standardize_blocks_agree(monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (300, 5000)).astype(np.uint8)  # several blocks of rows
    expected = (x - x.mean(0)) / x.std(0)
    assert_allclose(images.standardize(x), expected, atol=1e-4)


def test_features_of_a_subsample(damaged):
    ds, _ = damaged
    sub = subsample.Subsample(ds, fraction=1.0, image_size=16)
    X = sub.features()
    assert X.shape == (len(sub.frame()), 256) and X.dtype == np.float32
    assert_allclose(X.mean(0), 0, atol=1e-4)


# ----------------------------------------------------------------------------
# thumbnails
# ----------------------------------------------------------------------------
def test_load_rgb(damaged):
    ds, _ = damaged
    rgb = images.load_rgb(ds, 2033)
    assert rgb.dtype == np.uint8 and rgb.shape == (80, 47, 3)
    assert images.load_rgb(ds, 2031).shape == (80, 60, 3)
    with pytest.raises(images.UnreadableImage):
        images.load_rgb(ds, 2021)


def test_export_thumbnails(damaged, tmp_path):
    ds, exp = damaged
    ids = [1000, 2030, 2032, 2034, 2020, 2012]
    dest = images.export_thumbnails(ds, ids, tmp_path / "thumbs")
    assert dest == tmp_path / "thumbs"
    names = sorted(p.name for p in dest.iterdir())
    assert names == ["1000.jpg", "2030.jpg", "2032.jpg", "2034.jpg"]  # unreadable and missing skipped
    for p in dest.iterdir():
        assert not p.is_symlink()
        with Image.open(p) as im:
            assert im.format == "JPEG" and im.mode == "RGB"
    # a plain JPEG is copied byte for byte
    assert (dest / "1000.jpg").read_bytes() == ds.image_path(1000).read_bytes()


def test_export_thumbnails_only_writes_missing(damaged, tmp_path):
    ds, _ = damaged
    dest = tmp_path / "t"
    images.export_thumbnails(ds, [1000, 1001], dest)
    (dest / "1000.jpg").write_bytes(b"kept")
    images.export_thumbnails(ds, [1000, 1001, 1002], dest)
    assert (dest / "1000.jpg").read_bytes() == b"kept"
    assert (dest / "1002.jpg").is_file()
    assert not [p for p in dest.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF"])
def test_too_large_image_is_refused(tmp_path, monkeypatch, fmt):
    monkeypatch.setattr(uploads, "MAX_PIXELS", 100)
    monkeypatch.setattr(uploads, "MAX_JPEG_PIXELS", 100)
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    product_image(rng).save(buf, format=fmt)
    (tmp_path / "big.jpg").write_bytes(buf.getvalue())
    with pytest.raises(images.UnreadableImage, match="too large"):
        images.decode(tmp_path / "big.jpg")

"""core.data: reading a damaged styles.csv, cleaning, choosing the dataset, info, download."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import config, data, images
from make_data import HEADER, make_dataset


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    folder = tmp_path_factory.mktemp("damaged")
    expected = make_dataset(folder)
    return folder, expected


@pytest.fixture
def styles(damaged):
    folder, expected = damaged
    df, report = data.read_styles(folder / "styles.csv")
    return df, report, expected


# ----------------------------------------------------------------------------
# read_styles
# ----------------------------------------------------------------------------
def test_rows_read_and_kept(styles):
    df, report, exp = styles
    assert report.rows_read == exp["rows_read"]
    assert len(df) == exp["rows_kept"]
    assert list(df.columns) == list(config.STYLE_COLUMNS)
    assert df["id"].dtype == np.int64 and df["year"].dtype == np.float64
    assert df["id"].is_unique


def test_unquoted_commas_are_rejoined_into_the_name(styles):
    df, report, exp = styles
    assert sorted(report.recovered) == sorted(exp["recovered"])
    names = df.set_index("id")["productDisplayName"]
    for pid, name in exp["recovered"].items():
        assert names[pid] == name
    # the other columns of a recovered row stay in place
    row = df.set_index("id").loc[2001]
    assert (row["masterCategory"], row["usage"], row["year"]) == ("Apparel", "Casual", 2012.0)


def test_quoted_name_is_read_as_csv(styles):
    df, report, _ = styles
    assert df.set_index("id").loc[2003, "productDisplayName"] == "Nike Men, Running Shoes"
    assert 2003 not in report.recovered


def test_stray_quote_does_not_swallow_following_lines(styles):
    df, report, exp = styles
    assert [i for _, i in report.repaired["stray quote"]] == exp["repaired"]["stray quote"]
    by_id = df.set_index("id")
    assert by_id.loc[2004, "productDisplayName"] == "Catwalk Women Black Heels"
    # the lines after the stray quote are still their own rows
    assert {2005, 2006, 2007}.issubset(set(df["id"]))


@pytest.mark.parametrize("reason", ["missing fields", "non-numeric year", "category spelling"])
def test_repairs_are_counted_with_ids(styles, reason):
    _, report, exp = styles
    assert [i for _, i in report.repaired[reason]] == exp["repaired"][reason]


def test_missing_fields_become_nan(styles):
    df, _, _ = styles
    row = df.set_index("id").loc[2006]
    assert row["subCategory"] == "Watches"
    assert row[["articleType", "year", "usage", "productDisplayName"]].isna().all()


def test_pandas_missing_tokens_are_nan(styles):
    df, _, _ = styles
    by_id = df.set_index("id")
    assert pd.isna(by_id.loc[2007, "usage"]) and pd.isna(by_id.loc[2008, "season"])


def test_dropped_lines_have_reasons_and_line_numbers(styles):
    _, report, exp = styles
    assert {k: len(v) for k, v in report.dropped.items()} == exp["dropped"]
    assert [raw for _, raw in report.dropped["non-numeric id"]] == ["abc", "", "12x"]
    (line, raw), = report.dropped["duplicate id"]
    assert raw == "1000" and line > 40


def test_duplicate_keeps_the_first_row(styles):
    df, _, _ = styles
    assert df.set_index("id").loc[1000, "productDisplayName"] != "Duplicate of the first row"


def test_category_spelling_and_unknown_category(styles):
    df, report, exp = styles
    by_id = df.set_index("id")
    assert by_id.loc[2010, "masterCategory"] == "Apparel"
    assert [i for _, i in report.flagged["unknown masterCategory"]] == exp["flagged"]
    assert by_id.loc[2011, "masterCategory"] == "Gadgets"


def test_file_level_notes(styles):
    _, report, _ = styles
    assert "byte-order mark removed" in report.notes
    assert "CRLF line endings" in report.notes
    assert any("blank line" in n for n in report.notes)


def test_line_numbers_point_at_the_file_lines(damaged):
    folder, _ = damaged
    _, report = data.read_styles(folder / "styles.csv")
    text = (folder / "styles.csv").read_text(encoding="utf-8-sig").splitlines()
    for line, pid in zip(report.recovered_lines, report.recovered):
        assert text[line - 1].startswith(f"{pid},")
    for line, raw in report.dropped["non-numeric id"]:
        assert text[line - 1].startswith(f"{raw},")


def test_clean_file_reads_exactly_as_read_csv(tmp_path):
    make_dataset(tmp_path, n_good=12, damaged=False, crlf=False, bom=False)
    df, report = data.read_styles(tmp_path / "styles.csv")
    # year is always float64 (NaN-able), where read_csv gives int64 for a file without gaps
    ref = pd.read_csv(tmp_path / "styles.csv").astype({"year": "float64"})
    pd.testing.assert_frame_equal(df, ref)
    assert report.as_dict()["recovered"] == 0 and not report.dropped and not report.notes


def test_plain_read_csv_fails_where_we_recover(damaged):
    folder, _ = damaged
    with pytest.raises(pd.errors.ParserError):
        pd.read_csv(folder / "styles.csv")


@pytest.mark.parametrize("encoding,note", [("cp1252", "Windows-1252")])
def test_other_encodings(tmp_path, encoding, note):
    text = HEADER + "\n1,Men,Apparel,Topwear,Tshirts,Blue,Summer,2012,Casual,Café Men Tee\n"
    (tmp_path / "styles.csv").write_bytes(text.encode(encoding))
    df, report = data.read_styles(tmp_path / "styles.csv")
    assert df.loc[0, "productDisplayName"] == "Café Men Tee"
    assert any(note in n for n in report.notes)


def test_header_missing_columns_is_a_clear_error(tmp_path):
    (tmp_path / "styles.csv").write_text("id,gender\n1,Men\n")
    with pytest.raises(data.DatasetError, match="masterCategory"):
        data.read_styles(tmp_path / "styles.csv")


def test_empty_file_is_a_clear_error(tmp_path):
    (tmp_path / "styles.csv").write_text("")
    with pytest.raises(data.DatasetError, match="empty"):
        data.read_styles(tmp_path / "styles.csv")


def test_header_only_gives_empty_frame(tmp_path):
    (tmp_path / "styles.csv").write_text(HEADER + "\n")
    df, report = data.read_styles(tmp_path / "styles.csv")
    assert len(df) == 0 and list(df.columns) == list(config.STYLE_COLUMNS)
    assert report.rows_read == 0


def test_report_as_dict_is_json(styles):
    import json

    _, report, _ = styles
    d = json.loads(json.dumps(report.as_dict()))
    assert d["recovered"] == 3 and d["dropped"]["duplicate id"] == 1


# ----------------------------------------------------------------------------
# cleaning and the subsample
# ----------------------------------------------------------------------------
def test_clean_styles_counts(styles):
    df, _, exp = styles
    clean, counts = data.clean_styles(df)
    assert len(clean) == exp["clean_rows"] == counts["rows_after"]
    assert counts["dropped_null"] == len(exp["null_rows"])
    assert counts["dropped_unknown_category"] == len(exp["flagged"])
    assert not set(exp["null_rows"]) & set(clean["id"])
    assert counts["nulls_before"]["usage"] >= 2 and all(v == 0 for v in counts["nulls_after"].values())


def test_subsample_follows_the_notebook(damaged):
    folder, exp = damaged
    ds = data.open_dataset(folder)
    sub = data.Subsample(ds, fraction=0.5, seed=42)
    df, _ = data.read_styles(folder / "styles.csv")
    clean = df.dropna()
    clean = clean[clean["masterCategory"].isin(list(config.LABELS))]
    notebook = clean.sample(frac=1, random_state=42).sample(frac=0.5, random_state=42)
    readable = set(images.scan(ds)["readable"].tolist())
    expected_ids = [i for i in notebook["id"] if i in readable]
    frame = sub.frame()
    assert frame["id"].tolist() == expected_ids
    assert (frame["label"] == frame["masterCategory"].map(config.LABELS)).all()
    assert sub.labels().dtype == np.int64


def test_subsample_full_fraction_takes_every_clean_readable_row(damaged):
    folder, exp = damaged
    sub = data.Subsample(data.open_dataset(folder), fraction=1.0)
    frame = sub.frame()
    # clean rows minus those without a readable image (2012, 2013 missing; 2020-2024 unreadable)
    assert len(frame) == exp["clean_rows"] - len(exp["missing"]) - len(exp["unreadable"])
    X = sub.features()
    assert X.shape == (len(frame), 100 * 100) and X.dtype == np.float32


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5])
def test_subsample_rejects_bad_fraction(damaged, fraction):
    with pytest.raises(ValueError):
        data.Subsample(data.open_dataset(damaged[0]), fraction=fraction)


def test_subsample_keys_differ_by_parameters(damaged):
    ds = data.open_dataset(damaged[0])
    a = data.Subsample(ds)
    keys = {a.cache_key(), data.Subsample(ds, fraction=0.2).cache_key(),
            data.Subsample(ds, seed=1).cache_key(), data.Subsample(ds, image_size=64).cache_key(),
            data.Subsample(ds, color=True).cache_key(), data.Subsample(ds, resample="area").cache_key()}
    assert len(keys) == 6
    assert a.cache_key() == data.Subsample(ds).cache_key()


# ----------------------------------------------------------------------------
# finding and fingerprinting the dataset
# ----------------------------------------------------------------------------
def test_open_dataset_one_level_down(tmp_path):
    make_dataset(tmp_path / "archive" / "myntradataset", n_good=3, damaged=False)
    ds = data.open_dataset(tmp_path / "archive")
    assert ds.root.name == "myntradataset" and ds.kind == "argument"


@pytest.mark.parametrize("setup,match", [
    (lambda p: None, "does not exist"),
    (lambda p: p.mkdir(), "Kaggle layout"),
    (lambda p: (p.mkdir(), (p / "styles.csv").write_text(HEADER)), "Kaggle layout"),
])
def test_open_dataset_errors(tmp_path, setup, match):
    folder = tmp_path / "x"
    setup(folder)
    with pytest.raises(data.DatasetError, match=match):
        data.open_dataset(folder)


def test_fingerprint_changes_with_the_data(tmp_path):
    make_dataset(tmp_path, n_good=4, damaged=False)
    before = data.fingerprint(tmp_path)
    assert data.fingerprint(tmp_path) == before
    img = tmp_path / "images" / "1000.jpg"
    st = img.stat()
    os.utime(img, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    touched = data.fingerprint(tmp_path)
    assert touched != before
    (tmp_path / "images" / "1001.jpg").unlink()
    removed = data.fingerprint(tmp_path)
    assert removed not in (before, touched)
    with open(tmp_path / "styles.csv", "a") as fh:
        fh.write("5000,Men,Apparel,Topwear,Tshirts,Blue,Summer,2012,Casual,x\n")
    assert data.fingerprint(tmp_path) not in (before, touched, removed)


def test_results_are_not_served_for_other_data(tmp_path):
    make_dataset(tmp_path, n_good=6, damaged=False)
    ds = data.open_dataset(tmp_path)
    assert len(images.scan(ds)["readable"]) == 6
    (tmp_path / "images" / "1000.jpg").write_bytes(b"")
    ds2 = data.open_dataset(tmp_path)
    assert ds2.cache_key() != ds.cache_key()
    assert len(images.scan(ds2)["readable"]) == 5


def test_resolve_order(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    make_dataset(a, n_good=2, damaged=False)
    make_dataset(b, n_good=2, damaged=False)
    monkeypatch.setenv(config.DATA_ENV, str(b))
    assert data.resolve_dataset(a).root == a.resolve()
    assert data.resolve_dataset().kind == "env"
    monkeypatch.delenv(config.DATA_ENV)
    make_dataset(data.downloaded_dir(), n_good=2, damaged=False)
    assert data.resolve_dataset().kind == "downloaded"
    shutil.rmtree(data.downloaded_dir())
    monkeypatch.setattr("core.demo.N_IMAGES", 30)
    monkeypatch.setattr("core.demo.ensure_demo.__defaults__", (None, None, 30))
    ds = data.resolve_dataset()
    assert ds.kind == "demo" and ds.is_demo and "synthetic" in ds.describe().lower()


def test_bad_env_folder_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(data.DatasetError, match=config.DATA_ENV):
        data.resolve_dataset()


# ----------------------------------------------------------------------------
# dataset_info
# ----------------------------------------------------------------------------
def test_dataset_info_reports_everything(damaged):
    folder, exp = damaged
    seen = []
    info = data.dataset_info(data.open_dataset(folder), progress=lambda f, m: seen.append(f))
    assert info["rows"] == exp["rows_read"] and info["rows_kept"] == exp["rows_kept"]
    assert info["readable_images"] == exp["readable"]
    assert info["rows_without_image"] == len(exp["missing"])
    assert info["unreadable_images"] == len(exp["unreadable"])
    assert info["clean_rows"] == exp["clean_rows"]
    assert info["images"]["unreadable_files"] == {f"{k}.jpg": v for k, v in exp["unreadable"].items()}
    assert info["images"]["converted_ids"] == exp["converted"]
    assert info["images"]["files_without_row"] == exp["files_without_row"]
    assert info["images"]["missing_ids"] == exp["missing"]
    assert info["styles"]["recovered_ids"] == sorted(exp["recovered"])
    assert info["cleaning"]["dropped_null"] == len(exp["null_rows"])
    assert info["source"] == {**info["source"], "kind": "argument", "is_demo": False}
    assert sum(info["classes"]["all_rows"].values()) == exp["rows_kept"]
    assert info["classes"]["all_rows"]["Gadgets"] == 1
    assert list(info["classes"]["clean_rows"])[:7] == list(config.CATEGORIES)
    assert seen and max(seen) == 1.0 and all(0 <= f <= 1 for f in seen)


# ----------------------------------------------------------------------------
# download (never touches the network)
# ----------------------------------------------------------------------------
def test_download_without_network_says_so(monkeypatch):
    import kagglehub

    def offline(*args, **kwargs):
        raise ConnectionError("Failed to resolve 'www.kaggle.com'\nmore detail")

    monkeypatch.setattr(kagglehub, "dataset_download", offline)
    with pytest.raises(data.DatasetError) as err:
        data.download()
    msg = str(err.value)
    assert "network" in msg and "--data" in msg and config.DATA_ENV in msg and "\n" not in msg
    assert not data.downloaded_dir().exists()


def test_download_copies_the_nested_archive(tmp_path, monkeypatch):
    import kagglehub

    archive = tmp_path / "kagglehub" / "versions" / "1"
    make_dataset(archive / "myntradataset", n_good=3, damaged=False)
    calls = []
    monkeypatch.setattr(kagglehub, "dataset_download",
                        lambda handle, **kw: calls.append(handle) or str(archive))
    path = data.download()
    assert calls == [data.KAGGLE_HANDLE]
    assert path == data.downloaded_dir()
    assert (path / "styles.csv").is_file() and len(list((path / "images").iterdir())) == 3
    assert not any(p.is_symlink() for p in path.rglob("*"))
    assert data.resolve_dataset().kind == "downloaded"
    # a second call finds it and does not download again
    assert data.download() == path and calls == [data.KAGGLE_HANDLE]


def test_download_into_output_dir_is_moved_not_copied(monkeypatch):
    import kagglehub

    def fake(handle, output_dir=None, **kw):
        make_dataset(Path(output_dir) / "myntradataset", n_good=2, damaged=False)
        (Path(output_dir) / "extra.txt").write_text("not part of the layout")
        return output_dir

    monkeypatch.setattr(kagglehub, "dataset_download", fake)
    path = data.download()
    assert sorted(p.name for p in path.iterdir()) == ["images", "styles.csv"]
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]
    assert len(data.read_styles(path / "styles.csv")[0]) == 2


def test_columns_in_another_order_with_an_extra_column(tmp_path):
    text = ("productDisplayName,id,gender,masterCategory,subCategory,articleType,baseColour,"
            "season,year,usage,link\n"
            "Puma Men, Blue Tee,7,Men,Apparel,Topwear,Tshirts,Blue,Summer,2012,Casual,http://x\n"
            "Plain Tee,8,Men,Apparel,Topwear,Tshirts,Blue,Summer,2012,Casual,http://y\n")
    (tmp_path / "styles.csv").write_text(text)
    df, report = data.read_styles(tmp_path / "styles.csv")
    assert list(df.columns) == list(config.STYLE_COLUMNS)
    assert df["productDisplayName"].tolist() == ["Puma Men, Blue Tee", "Plain Tee"]
    assert df["id"].tolist() == [7, 8] and report.recovered == [7]
    assert df["usage"].tolist() == ["Casual", "Casual"]


def test_old_mac_line_endings(tmp_path):
    text = HEADER + "\r1,Men,Apparel,Topwear,Tshirts,Blue,Summer,2012,Casual,A\r2,Men,Apparel,Topwear,Tshirts,Blue,Summer,2012,Casual,B\r"
    (tmp_path / "styles.csv").write_text(text, newline="")
    df, _ = data.read_styles(tmp_path / "styles.csv")
    assert df["id"].tolist() == [1, 2]

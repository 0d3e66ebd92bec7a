"""core.catalogue: recognising and describing catalogues, reading their tables, refusing bad descriptions."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from core import __main__ as cli
from core import catalogue, config, dataset, images, subsample, summary
from core.figures import color_groups
from make_data import (make_class_folders, make_classifier_dataset, make_digits_catalogue,
                       make_odd_catalogue)


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return make_digits_catalogue(tmp_path_factory.mktemp("digits"), n=120)


def test_kaggle_label_mapping_is_the_notebooks():
    assert config.LABELS == {"Accessories": 0, "Apparel": 1, "Footwear": 2, "Personal Care": 3,
                             "Free Items": 4, "Sporting Goods": 5, "Home": 6}
    assert catalogue.label_order(catalogue.KAGGLE, ["Home", "Apparel"]) == (
        "Accessories", "Apparel", "Footwear", "Personal Care", "Free Items", "Sporting Goods", "Home")


def test_kaggle_layout_needs_no_description_and_keeps_its_fingerprint(tmp_path):
    make_classifier_dataset(tmp_path / "data", n_per_class=3)
    ds = dataset.open_dataset(tmp_path / "data")
    assert ds.catalogue == catalogue.KAGGLE and ds.catalogue.fit == "stretch"
    assert ds.fingerprint == dataset.fingerprint(tmp_path / "data")
    assert ds.image_path(1000) == tmp_path.resolve() / "data" / "images" / "1000.jpg"
    sub = subsample.Subsample(ds, fraction=1.0)
    assert sub.categories == config.CATEGORIES
    assert sub.label_columns[0] == "masterCategory"


def test_other_catalogues_map_sorted_distinct_values_numbers_first():
    table = catalogue.Catalogue("table", "t.csv", "id", "p", None, None, ("size",))
    assert catalogue.label_order(table, ["10", "2", "1", "b", "a", None]) == ("1", "2", "10", "a", "b")


def test_digits_catalogue_from_its_toml(digits):
    ds = dataset.open_dataset(digits)
    cat = ds.catalogue
    assert (cat.kind, cat.table, cat.primary, cat.source) == ("table", "digits.csv", "digit",
                                                              "catalogue.toml")
    assert cat.label_columns == ("digit", "parity") and cat.fit == "letterbox"
    assert ds.image_path(7).relative_to(ds.root).as_posix() == "images/batch-0/7/7.png"
    sub = subsample.Subsample(ds, fraction=1.0, image_size=16)
    assert sub.categories == tuple(str(d) for d in range(10))
    frame = sub.frame()
    assert len(frame) == 120
    assert (np.asarray(sub.categories)[sub.labels()] == frame["digit"].to_numpy()).all()
    assert frame.attrs["label_columns"] == ("digit", "parity")
    assert sub.features().shape == (120, 256)


def test_flags_win_over_environment_which_wins_over_toml(digits, monkeypatch):
    monkeypatch.setenv("FASHION_LABEL_COLUMNS", "parity")
    ds = dataset.resolve_dataset(digits)
    assert ds.catalogue.label_columns == ("parity",)
    ds = dataset.resolve_dataset(digits, description={"label_columns": "parity,digit"})
    assert ds.catalogue.label_columns == ("parity", "digit")
    assert subsample.Subsample(ds, fraction=1.0).categories == ("even", "odd")


def test_description_from_flags_alone(tmp_path):
    folder = make_digits_catalogue(tmp_path / "d", n=40, toml=False)
    with pytest.raises(dataset.DatasetError, match="catalogue.toml"):
        dataset.open_dataset(folder)
    ds = dataset.open_dataset(folder / "digits.csv", description={
        "id_column": "id", "image_column": "image", "label_columns": "digit"})
    assert ds.catalogue.table == "digits.csv" and ds.catalogue.name_column is None
    pattern = dataset.open_dataset(folder, description={
        "table": "digits.csv", "id_column": "id", "label_columns": "digit",
        "image_pattern": "images/batch-0/{digit}/{id}.png"})
    assert pattern.image_path(3).is_file()


def test_fingerprint_covers_table_and_images(tmp_path):
    folder = make_digits_catalogue(tmp_path / "d", n=30)
    before = dataset.open_dataset(folder).fingerprint
    assert dataset.open_dataset(folder).fingerprint == before
    Image.new("L", (8, 8), 0).save(folder / "images" / "batch-0" / "3" / "3.png")
    touched = dataset.open_dataset(folder).fingerprint
    assert touched != before
    table = pd.read_csv(folder / "digits.csv")
    table.loc[0, "name"] = "renamed"
    table.to_csv(folder / "digits.csv", index=False)
    assert dataset.open_dataset(folder).fingerprint not in (before, touched)


def test_class_folders_are_recognised(tmp_path):
    folder = make_class_folders(tmp_path / "shop", n_per_class=6)
    ds = dataset.open_dataset(folder)
    assert ds.catalogue.kind == "folders" and ds.catalogue.label_columns == ("class",)
    sub = subsample.Subsample(ds, fraction=1.0, image_size=20)
    assert sub.categories == ("boots", "hats", "shirts")
    frame = sub.frame()
    assert len(frame) == 18
    paths = [ds.image_path(i).relative_to(ds.root).parts[0] for i in frame["id"]]
    assert paths == frame["class"].tolist()
    assert sub.features().shape == (18, 400)


@pytest.mark.parametrize("fmt", ["parquet", "csv", "tsv"])
def test_odd_sized_photos_with_text_ids(tmp_path, fmt):
    folder = make_odd_catalogue(tmp_path / "odd", n=15, fmt=fmt)
    ds = dataset.open_dataset(folder)
    info = summary.dataset_info(ds)
    assert info["readable_images"] == 15 and info["unreadable_images"] == 0
    assert info["labels"] == {"department": 3, "family": 4, "colour": 5}
    sub = subsample.Subsample(ds, fraction=1.0, image_size=20)
    frame = sub.frame()
    assert sorted(frame["id"]) == list(range(15))  # text ids are numbered in table order
    assert frame.set_index("id").loc[4, "sku"] == "SKU-0004"
    assert sub.features().shape == (15, 400)


def test_wide_photos_are_letterboxed_on_white(tmp_path):
    folder = make_odd_catalogue(tmp_path / "odd", n=10, fmt="csv")
    ds = dataset.open_dataset(folder)
    wide = ds.image_path(0)  # 400 x 120, a dark block on white
    px = images.decode(wide, 40, fit="letterbox")
    assert px.shape == (40, 40)
    assert (px[:4] >= 240).all() and (px[-4:] >= 240).all()  # padding above and below
    assert px[20].min() < 200  # the photo itself, not squashed away
    stretched = images.decode(wide, 40, fit="stretch")
    dark_rows = lambda a: int((a.min(axis=1) < 200).sum())  # noqa: E731
    assert dark_rows(px) <= 40 * 120 / 400 + 2 < dark_rows(stretched)


def test_thumbnails_keep_their_aspect_ratio(tmp_path):
    folder = make_odd_catalogue(tmp_path / "odd", n=10, fmt="csv")
    ds = dataset.open_dataset(folder)
    out = images.export_thumbnails(ds, range(5), tmp_path / "thumbs")
    for pid, (w, h) in enumerate([(400, 120), (30, 200), (20, 20), (300, 300), (64, 48)]):
        with Image.open(out / f"{pid}.jpg") as im:
            scale = min(1.0, images.THUMB_MAX_SIDE / max(w, h))
            assert abs(im.width - w * scale) <= 1 and abs(im.height - h * scale) <= 1


def test_palette_okabe_ito_then_tol_then_other():
    ten = tuple(str(d) for d in range(10))
    groups = color_groups(np.array(ten * 3), ten)
    assert [g[0] for g in groups] == list(ten)
    assert [g[1] for g in groups] == list(config.PALETTE[:10])
    assert groups[0][1] == "#E69F00" and groups[7][1] == "#CC6677"
    many = tuple(f"v{i:02d}" for i in range(20))
    groups = color_groups(np.array(many), many)
    assert len(groups) == config.MAX_NAMED_GROUPS
    assert groups[-1][0] == "Other (5 values)" and groups[-1][1] == config.OTHER_COLOR


# ----------------------------------------------------------------------------
# Bad descriptions: each refused before any work, naming the file and the column, with the fix
# ----------------------------------------------------------------------------
def _described(tmp_path, rows, **description):
    folder = tmp_path / "shop"
    (folder / "images").mkdir(parents=True)
    for r in rows:
        Image.new("RGB", (10, 10), "white").save(folder / "images" / f"{r['id']}.png")
    pd.DataFrame(rows).to_csv(folder / "items.csv", index=False)
    fields = {"table": "items.csv", "id_column": "id", "image_pattern": "images/{id}.png",
              "label_columns": "kind", **description}
    return folder, fields


def _rows(n=6):
    return [{"id": i, "kind": "ab"[i % 2], "title": f"item {i}", "same": "x"} for i in range(n)]


def test_missing_column_is_named(tmp_path):
    folder, fields = _described(tmp_path, _rows(), label_columns="department")
    with pytest.raises(catalogue.CatalogueError,
                       match=r"items.csv: no column 'department' \(the label column\); its columns "
                             r"are id, kind, title, same. Fix --label-columns"):
        dataset.open_dataset(folder, description=fields)


def test_duplicate_ids_are_refused(tmp_path):
    rows = _rows()
    rows[4]["id"] = 1
    folder, fields = _described(tmp_path, rows)
    with pytest.raises(catalogue.CatalogueError,
                       match=r"items.csv: the id column 'id' has 1 duplicated value\(s\), e.g. '1' "
                             r"on line 3 and line 6; ids must be unique: de-duplicate the table or "
                             r"choose another --id-column"):
        dataset.open_dataset(folder, description=fields)


def test_pattern_matching_no_file_is_refused(tmp_path):
    folder, fields = _described(tmp_path, _rows(), image_pattern="photos/{id}.jpg")
    with pytest.raises(catalogue.CatalogueError,
                       match=r"items.csv: the image pattern 'photos/\{id\}.jpg' matches no file "
                             r"under shop \(the first row gives 'photos/0.jpg'\); paths are relative "
                             r"to the table's folder: fix --image-pattern"):
        dataset.open_dataset(folder, description=fields)


def test_label_with_a_single_value_is_refused(tmp_path):
    folder, fields = _described(tmp_path, _rows(), label_columns="kind,same")
    with pytest.raises(catalogue.CatalogueError,
                       match=r"items.csv: the label column 'same' holds a single value \('x'\) in "
                             r"every row, so it cannot tell rows apart: drop it from --label-columns"):
        dataset.open_dataset(folder, description=fields)


def test_label_unique_per_row_is_refused(tmp_path):
    folder, fields = _described(tmp_path, _rows(), label_columns="title")
    with pytest.raises(catalogue.CatalogueError,
                       match=r"items.csv: the label column 'title' has a different value in every "
                             r"row \(6 values\): it looks like an id or a name, not a category. Drop "
                             r"it from --label-columns \(use it as --name-column"):
        dataset.open_dataset(folder, description=fields)


def test_toml_with_an_unknown_key_is_refused(tmp_path):
    folder, _ = _described(tmp_path, _rows())
    (folder / "catalogue.toml").write_text('table = "items.csv"\nlabels = ["kind"]\n')
    with pytest.raises(catalogue.CatalogueError, match="catalogue.toml: unknown key.*labels"):
        dataset.open_dataset(folder)


# ----------------------------------------------------------------------------
# python -m core catalogue check
# ----------------------------------------------------------------------------
def test_catalogue_check_prints_roles_images_and_cardinalities(digits, capsys):
    assert cli.main(["catalogue", "check", str(digits), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["roles"] == {"id": "id", "image": "image path", "name": "name",
                            "digit": "primary label", "parity": "label"}
    assert out["rows"] == 120 and out["images"]["readable"] == 120
    assert out["images"]["missing"] == 0 and out["images"]["unreadable"] == 0
    assert out["label_cardinality"] == {"digit": 10, "parity": 2}
    assert list(out["classes"]) == [str(d) for d in range(10)]
    assert cli.main(["catalogue", "check", str(digits)]) == 0
    text = capsys.readouterr().out
    assert "digit: primary label (10 values)" in text and "120 readable" in text


def test_catalogue_check_reports_a_bad_description_in_one_line(digits, capsys):
    assert cli.main(["catalogue", "check", str(digits), "--label-columns", "name"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: digits.csv: the label column 'name' has a different value")

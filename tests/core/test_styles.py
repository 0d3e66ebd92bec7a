"""core.styles: reading a damaged styles.csv, recovering and cleaning it."""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from core import config, dataset, styles
from make_data import HEADER, make_dataset


def test_rows_read_and_kept(read):
    df, report, exp = read
    assert report.rows_read == exp["rows_read"]
    assert len(df) == exp["rows_kept"]
    assert list(df.columns) == list(config.STYLE_COLUMNS)
    assert df["id"].dtype == np.int64 and df["year"].dtype == np.float64
    assert df["id"].is_unique


def test_unquoted_commas_are_rejoined_into_the_name(read):
    df, report, exp = read
    assert sorted(report.recovered) == sorted(exp["recovered"])
    names = df.set_index("id")["productDisplayName"]
    for pid, name in exp["recovered"].items():
        assert names[pid] == name
    # the other columns of a recovered row stay in place
    row = df.set_index("id").loc[2001]
    assert (row["masterCategory"], row["usage"], row["year"]) == ("Apparel", "Casual", 2012.0)


def test_quoted_name_is_read_as_csv(read):
    df, report, _ = read
    assert df.set_index("id").loc[2003, "productDisplayName"] == "Nike Men, Running Shoes"
    assert 2003 not in report.recovered


def test_stray_quote_does_not_swallow_following_lines(read):
    df, report, exp = read
    assert [i for _, i in report.repaired["stray quote"]] == exp["repaired"]["stray quote"]
    by_id = df.set_index("id")
    assert by_id.loc[2004, "productDisplayName"] == "Catwalk Women Black Heels"
    # the lines after the stray quote are still their own rows
    assert {2005, 2006, 2007}.issubset(set(df["id"]))


@pytest.mark.parametrize("reason", ["missing fields", "non-numeric year", "category spelling"])
def test_repairs_are_counted_with_ids(read, reason):
    _, report, exp = read
    assert [i for _, i in report.repaired[reason]] == exp["repaired"][reason]


def test_missing_fields_become_nan(read):
    df, _, _ = read
    row = df.set_index("id").loc[2006]
    assert row["subCategory"] == "Watches"
    assert row[["articleType", "year", "usage", "productDisplayName"]].isna().all()


def test_pandas_missing_tokens_are_nan(read):
    df, _, _ = read
    by_id = df.set_index("id")
    assert pd.isna(by_id.loc[2007, "usage"]) and pd.isna(by_id.loc[2008, "season"])


def test_dropped_lines_have_reasons_and_line_numbers(read):
    _, report, exp = read
    assert {k: len(v) for k, v in report.dropped.items()} == exp["dropped"]
    assert [raw for _, raw in report.dropped["non-numeric id"]] == ["abc", "", "12x"]
    (line, raw), = report.dropped["duplicate id"]
    assert raw == "1000" and line > 40


def test_duplicate_keeps_the_first_row(read):
    df, _, _ = read
    assert df.set_index("id").loc[1000, "productDisplayName"] != "Duplicate of the first row"


def test_category_spelling_and_unknown_category(read):
    df, report, exp = read
    by_id = df.set_index("id")
    assert by_id.loc[2010, "masterCategory"] == "Apparel"
    assert [i for _, i in report.flagged["unknown masterCategory"]] == exp["flagged"]
    assert by_id.loc[2011, "masterCategory"] == "Gadgets"


def test_file_level_notes(read):
    _, report, _ = read
    assert "byte-order mark removed" in report.notes
    assert "CRLF line endings" in report.notes
    assert any("blank line" in n for n in report.notes)


def test_line_numbers_point_at_the_file_lines(damaged):
    folder, _ = damaged
    _, report = styles.read_styles(folder / "styles.csv")
    text = (folder / "styles.csv").read_text(encoding="utf-8-sig").splitlines()
    for line, pid in zip(report.recovered_lines, report.recovered):
        assert text[line - 1].startswith(f"{pid},")
    for line, raw in report.dropped["non-numeric id"]:
        assert text[line - 1].startswith(f"{raw},")


def test_clean_file_reads_exactly_as_read_csv(tmp_path):
    make_dataset(tmp_path, n_good=12, damaged=False, crlf=False, bom=False)
    df, report = styles.read_styles(tmp_path / "styles.csv")
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
    df, report = styles.read_styles(tmp_path / "styles.csv")
    assert df.loc[0, "productDisplayName"] == "Café Men Tee"
    assert any(note in n for n in report.notes)


def test_header_missing_columns_is_a_clear_error(tmp_path):
    (tmp_path / "styles.csv").write_text("id,gender\n1,Men\n")
    with pytest.raises(dataset.DatasetError, match="masterCategory"):
        styles.read_styles(tmp_path / "styles.csv")


def test_empty_file_is_a_clear_error(tmp_path):
    (tmp_path / "styles.csv").write_text("")
    with pytest.raises(dataset.DatasetError, match="empty"):
        styles.read_styles(tmp_path / "styles.csv")


def test_header_only_gives_empty_frame(tmp_path):
    (tmp_path / "styles.csv").write_text(HEADER + "\n")
    df, report = styles.read_styles(tmp_path / "styles.csv")
    assert len(df) == 0 and list(df.columns) == list(config.STYLE_COLUMNS)
    assert report.rows_read == 0


def test_report_as_dict_is_json(read):
    import json

    _, report, _ = read
    d = json.loads(json.dumps(report.as_dict()))
    assert d["recovered"] == 3 and d["dropped"]["duplicate id"] == 1


def test_clean_styles_counts(read):
    df, _, exp = read
    clean, counts = styles.clean_styles(df)
    assert len(clean) == exp["clean_rows"] == counts["rows_after"]
    assert counts["dropped_null"] == len(exp["null_rows"])
    assert counts["dropped_unknown_category"] == len(exp["flagged"])
    assert not set(exp["null_rows"]) & set(clean["id"])
    assert counts["nulls_before"]["usage"] >= 2 and all(v == 0 for v in counts["nulls_after"].values())


def test_columns_in_another_order_with_an_extra_column(tmp_path):
    text = ("productDisplayName,id,gender,masterCategory,subCategory,articleType,baseColour,"
            "season,year,usage,link\n"
            "Puma Men, Blue Tee,7,Men,Apparel,Topwear,Tshirts,Blue,Summer,2012,Casual,http://x\n"
            "Plain Tee,8,Men,Apparel,Topwear,Tshirts,Blue,Summer,2012,Casual,http://y\n")
    (tmp_path / "styles.csv").write_text(text)
    df, report = styles.read_styles(tmp_path / "styles.csv")
    assert list(df.columns) == list(config.STYLE_COLUMNS)
    assert df["productDisplayName"].tolist() == ["Puma Men, Blue Tee", "Plain Tee"]
    assert df["id"].tolist() == [7, 8] and report.recovered == [7]
    assert df["usage"].tolist() == ["Casual", "Casual"]


def test_old_mac_line_endings(tmp_path):
    text = HEADER + "\r1,Men,Apparel,Topwear,Tshirts,Blue,Summer,2012,Casual,A\r2,Men,Apparel,Topwear,Tshirts,Blue,Summer,2012,Casual,B\r"
    (tmp_path / "styles.csv").write_text(text, newline="")
    df, _ = styles.read_styles(tmp_path / "styles.csv")
    assert df["id"].tolist() == [1, 2]

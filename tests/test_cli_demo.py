"""``python -m core demo``: a synthetic catalogue in the Kaggle layout, and what it refuses."""
from __future__ import annotations

import csv
import json

import pytest

from core import __main__ as cli
from core.demo import CATALOGUE_MARKER


def rows_of(folder):
    with open(folder / "styles.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_demo_writes_n_products_and_reports_them_as_json(tmp_path, capsys):
    out = tmp_path / "cat"
    assert cli.main(["demo", "--rows", "7", "--out", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["rows"] == 7 and result["folder"] == str(out)
    assert "7/7 products" in captured.err  # the progress line
    rows = rows_of(out)
    assert len(rows) == 7
    assert sorted(p.name for p in (out / "images").iterdir()) == sorted(f"{r['id']}.jpg" for r in rows)
    assert json.loads((out / CATALOGUE_MARKER).read_text())["n_rows"] == 7


def test_demo_replaces_its_own_catalogue_of_another_size(tmp_path, capsys):
    out = tmp_path / "cat"
    assert cli.main(["demo", "--rows", "3", "--out", str(out)]) == 0
    assert cli.main(["demo", "--rows", "5", "--out", str(out)]) == 0
    assert len(rows_of(out)) == 5
    assert "5 synthetic products" in capsys.readouterr().out


@pytest.mark.parametrize("rows", ["0", "-3"])
def test_demo_refuses_fewer_than_one_row(tmp_path, capsys, rows):
    assert cli.main(["demo", "--rows", rows, "--out", str(tmp_path / "cat")]) == 1
    err = capsys.readouterr().err
    assert f"--rows must be at least 1, got {rows}" in err
    assert not (tmp_path / "cat").exists()


def test_demo_refuses_a_folder_it_did_not_write(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert cli.main(["demo", "--rows", "3", "--out", str(out)]) == 1
    assert "not a catalogue written by `python -m core demo`" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_demo_refuses_a_file(tmp_path, capsys):
    out = tmp_path / "file"
    out.write_text("x")
    assert cli.main(["demo", "--rows", "3", "--out", str(out)]) == 1
    assert "is a file" in capsys.readouterr().err

"""The command line contract of ``python -m core info|download|cache``."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import __main__ as cli
from core import config, dataset
from make_data import make_dataset

REPO = Path(__file__).resolve().parent.parent


def error_lines(stderr: str) -> list:
    """The error lines of stderr (progress lines, which start with a time, aside)."""
    assert "Traceback" not in stderr
    return [ln for ln in stderr.strip().splitlines() if not ln.startswith("[")]


def run(*args, env=None, timeout=300):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=REPO, capture_output=True,
                          text=True, env=full_env, timeout=timeout)


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    folder = tmp_path_factory.mktemp("damaged-copy")
    return folder, make_dataset(folder, n_good=300)


def test_info_json_on_a_damaged_copy(damaged):
    folder, exp = damaged
    r = run("info", "--data", str(folder), "--json")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    info = json.loads(r.stdout)
    assert info["rows"] == exp["rows_read"]
    assert info["rows_kept"] == exp["rows_kept"]
    assert info["readable_images"] == exp["readable"]
    assert info["rows_without_image"] == len(exp["missing"])
    assert info["styles"]["recovered_ids"] == sorted(exp["recovered"])
    assert info["styles"]["dropped"] == exp["dropped"]
    assert {k: [r["id"] for r in v] for k, v in info["styles"]["repaired_lines"].items()} \
        == exp["repaired"]
    assert info["images"]["unreadable_files"] == {f"{k}.jpg": v for k, v in exp["unreadable"].items()}
    assert info["images"]["converted_ids"] == exp["converted"]
    assert info["cleaning"]["dropped_null"] == len(exp["null_rows"])
    assert info["cleaning"]["dropped_unknown_category"] == len(exp["flagged"])
    assert info["clean_rows"] == exp["clean_rows"]


def test_info_human_names_each_recovery_and_drop(damaged):
    folder, exp = damaged
    r = run("info", "--data", str(folder))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert f"rows read: {exp['rows_read']:,}" in out
    assert f"recovered {len(exp['recovered'])} row(s) with unquoted commas" in out
    for reason in exp["dropped"]:
        assert f"dropped ({reason})" in out
    for reason in exp["repaired"]:
        assert f"repaired ({reason})" in out
    for pid, why in exp["unreadable"].items():
        assert f"unreadable: {pid}.jpg: {why}" in out
    assert "byte-order mark" in out and "CRLF" in out
    assert "flagged (unknown masterCategory" in out
    assert "classes (clean rows with an image):" in out


def test_info_without_data_uses_the_demo_set(tmp_path):
    r = run("info", "--json", env={config.CACHE_ENV: str(tmp_path), config.DATA_ENV: ""})
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["source"]["is_demo"] is True and info["source"]["kind"] == "demo"
    assert "synthetic" in info["source"]["description"].lower()
    assert info["readable_images"] == info["rows"] > 1000
    human = run("info", env={config.CACHE_ENV: str(tmp_path), config.DATA_ENV: ""})
    assert "SYNTHETIC DEMO DATA" in human.stdout


@pytest.mark.parametrize("args", [("info", "--data", "no/such/folder"),
                                  ("info", "--data", "tests")])
def test_info_bad_folder_is_one_line(args):
    r = run(*args)
    assert r.returncode != 0
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: ")


def test_info_bad_env_names_the_variable(tmp_path):
    r = run("info", env={config.DATA_ENV: str(tmp_path / "missing")})
    assert r.returncode != 0 and config.DATA_ENV in r.stderr
    assert len(error_lines(r.stderr)) == 1


def test_broken_styles_csv_is_one_line(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "styles.csv").write_text("no,header,here\n1,2,3\n")
    r = run("info", "--data", str(tmp_path))
    assert r.returncode != 0 and "masterCategory" in r.stderr
    assert len(error_lines(r.stderr)) == 1


@pytest.mark.parametrize("command", ["info", "download", "cache"])
def test_help(command):
    r = run(command, "--help")
    assert r.returncode == 0 and "usage:" in r.stdout


def test_cache_report_and_clear(damaged, tmp_path):
    folder, _ = damaged
    env = {config.CACHE_ENV: str(tmp_path / "c")}
    assert run("info", "--data", str(folder), "--json", env=env).returncode == 0
    r = run("cache", "--json", env=env)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["directory"] == str((tmp_path / "c").resolve())
    # the scan's verdicts; info decodes images but keeps no pixel matrix (a subsample does)
    assert info["by_kind"]["images"] >= 1 and info["by_kind"]["data"] >= 1
    assert info["size_bytes"] > 0
    human = run("cache", env=env)
    assert "directory:" in human.stdout and "images:" in human.stdout
    r = run("cache", "--clear", "--json", env=env)
    cleared = json.loads(r.stdout)
    assert cleared["cleared"] is True and cleared["entries"] == 0
    assert cleared["freed_bytes"] > 0


def test_download_offline_is_one_clear_line(monkeypatch, capsys):
    import kagglehub

    def offline(*a, **k):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(kagglehub, "dataset_download", offline)
    code = cli.main(["download"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0
    assert err[-1].startswith("error: ") and "network" in err[-1] and "--data" in err[-1]
    assert not any("Traceback" in line for line in err)
    assert not dataset.downloaded_dir().exists()


def test_download_prints_the_folder(monkeypatch, capsys, tmp_path):
    import kagglehub

    make_dataset(tmp_path / "v1" / "myntradataset", n_good=2, damaged=False)
    monkeypatch.setattr(kagglehub, "dataset_download", lambda *a, **k: str(tmp_path / "v1"))
    assert cli.main(["download"]) == 0
    assert capsys.readouterr().out.strip() == str(dataset.downloaded_dir())


@pytest.mark.parametrize("given, expected", [(None, "0"), ("1", "1")])
def test_core_turns_numpy_huge_pages_off_unless_told(given, expected):
    """Set before numpy is imported (numpy reads it once); an explicit setting wins."""
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if given is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = given
    code = "import core, os, sys; print(os.environ['NUMPY_MADVISE_HUGEPAGE'], 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == [expected, "False"]

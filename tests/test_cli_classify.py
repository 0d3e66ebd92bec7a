"""The CLI contract of ``python -m core train`` and ``python -m core classify``.

Runs the real command in a subprocess on a tiny generated dataset in the Kaggle
layout: JSON lines, exit codes 0 and 2, a training notice on stderr when no
model is cached, and never a traceback.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from core import config
from make_data import make_classifier_dataset

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    data = make_classifier_dataset(root / "data", n_per_class=12)
    files = root / "uploads"
    files.mkdir()
    Image.new("RGB", (300, 400), (200, 30, 30)).save(files / "red.png")
    Image.new("RGBA", (500, 500), (30, 30, 200, 255)).save(files / "blue.webp")
    (files / "notes.txt").write_text("not an image at all\n")
    (files / "empty.jpg").write_bytes(b"")
    env = dict(os.environ, FASHION_CACHE_DIR=str(root / "cache"), TF_CPP_MIN_LOG_LEVEL="3")
    env.pop(config.DATA_ENV, None)
    return data, files, env


def _run(env, *args):
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


def test_classify_trains_first_then_prints_json_lines_and_exit_2(setup):
    data, files, env = setup
    proc = _run(env, "classify", "--data", str(data), "--fraction", "1.0",
                str(files / "red.png"), str(files / "notes.txt"), str(files / "empty.jpg"),
                str(files / "missing.jpg"), str(files / "blue.webp"), "--json")
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 2, proc.stderr
    assert "training" in proc.stderr.lower()
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [Path(r["path"]).name for r in lines] == ["red.png", "notes.txt", "empty.jpg",
                                                    "missing.jpg", "blue.webp"]
    for r in (lines[0], lines[4]):
        assert set(r) <= {"path", "label", "confidence", "top", "tags", "warning"}
        assert r["label"] in config.CATEGORIES
        assert 0 <= r["confidence"] <= 1
        assert len(r["top"]) == 3 and r["top"][0][0] == r["label"]
        assert "error" not in r
        # every attribute tagged; the primary's tag is the line's own answer
        assert list(r["tags"]) == list(config.LABEL_COLUMNS)
        assert r["tags"]["masterCategory"] == {"label": r["label"], "confidence": r["confidence"],
                                               "top": r["top"]}
        for tag in r["tags"].values():
            assert set(tag) == {"label", "confidence", "top"} and tag["top"][0][0] == tag["label"]
            assert 0 <= tag["confidence"] <= 1
    assert "not an image" in lines[1]["error"]
    assert "empty" in lines[2]["error"]
    assert "missing.jpg does not exist." in lines[3]["error"]
    for r in lines[1:4]:
        assert set(r) == {"path", "error"}


def test_classify_all_good_exits_0_from_the_cached_model(setup):
    data, files, env = setup
    proc = _run(env, "classify", "--data", str(data), "--fraction", "1.0", str(files / "red.png"))
    assert proc.returncode == 0, proc.stderr
    assert "training" not in proc.stderr.lower()
    assert proc.stdout.startswith(f"{files / 'red.png'}: ")


def test_train_prints_accuracy_seconds_and_parameter_counts(setup):
    data, files, env = setup
    proc = _run(env, "train", "--data", str(data), "--fraction", "1.0", "--epochs", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert 0 <= r["val_accuracy"] <= 1 and r["training_seconds"] > 0
    assert r["params"]["total"] > r["params"]["biases"] > 0
    assert r["epochs"] == 1 and len(r["history"]) == 1
    assert list(r["attributes"]) == list(config.LABEL_COLUMNS)
    for a in r["attributes"].values():
        assert 0 <= a["val_accuracy"] <= a["top5_accuracy"] <= 1
        assert 0 <= a["majority_rate"] <= 1 and a["n_classes"] >= 1
    assert set(r["label_issues"]) == set(config.LABEL_COLUMNS) and r["n_checked"] > 0


def test_bad_arguments_give_one_line_not_a_traceback(setup):
    data, files, env = setup
    proc = _run(env, "train", "--data", str(data / "nowhere"), "--fraction", "1.0")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "does not exist" in proc.stderr


@pytest.mark.timeout(60)
def test_classify_refuses_what_is_not_a_regular_file_without_hanging(setup, tmp_path):
    data, files, env = setup
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    proc = _run(env, "classify", "--data", str(data), "--fraction", "1.0", "/dev/zero", str(fifo),
                str(tmp_path), "--json")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["path"] for r in lines] == ["/dev/zero", str(fifo), str(tmp_path)]
    assert "not an image file" in lines[0]["error"] and "not an image file" in lines[1]["error"]
    assert "is a folder" in lines[2]["error"]
    assert "training" not in proc.stderr.lower()

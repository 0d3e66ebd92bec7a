"""core.summary: what a dataset holds."""
from __future__ import annotations



from core import config, dataset, summary


def test_dataset_info_reports_everything(damaged):
    folder, exp = damaged
    seen = []
    info = summary.dataset_info(dataset.open_dataset(folder), progress=lambda f, m: seen.append(f))
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

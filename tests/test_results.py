"""The results table: appending, the finished-run cache, collecting ssvae.train runs."""
import csv
import json

import pytest

from ssvae.results import RESULT_COLUMNS, append_row, collect, finished_run_ids, main


def test_append_row_writes_header_once_and_empty_for_missing_or_nan(tmp_path):
    table = tmp_path / "runs.csv"
    append_row(table, {"run_id": "a", "test_binary_acc": 0.9, "test_subclass_acc": float("nan")})
    append_row(table, {"run_id": "b", "error": "boom"})
    rows = list(csv.DictReader(open(table)))
    assert list(rows[0]) == list(RESULT_COLUMNS)
    assert rows[0]["test_subclass_acc"] == "" and rows[0]["test_binary_acc"] == "0.9"
    assert finished_run_ids(table) == {"a"}          # the failed run is not cached
    with pytest.raises(ValueError, match="unknown result columns"):
        append_row(table, {"run_id": "c", "accuracy": 1.0})


def test_collect_adds_each_run_once(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"run_id": "r1", "model": "m2", "history": [],
                                                  "test_binary_acc": 0.5}))
    table = tmp_path / "runs.csv"
    assert main(["collect", str(run), "--table", str(table), "--ablation", "x"]) == 0
    assert collect([run], table, "x") == 0
    row = next(csv.DictReader(open(table)))
    assert row["ablation"] == "x" and row["checkpoint"] == str(run) and row["model"] == "m2"
    assert main(["collect", str(tmp_path / "nope"), "--table", str(table), "--ablation", "x"]) == 2
    assert "metrics.json does not exist" in capsys.readouterr().err

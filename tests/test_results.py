"""The results table: appending, the finished-run cache, collecting ssvae.train runs."""
import csv
import json

import pytest

from ssvae.results import RESULT_COLUMNS, append_row, collect, finished_run_ids, main, set_aside_rows


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


def test_set_aside_rows_moves_other_run_ids_and_keeps_the_rest(tmp_path):
    table, aside = tmp_path / "runs.csv", tmp_path / "superseded_runs.csv"
    for run_id, acc in (("a", 0.9), ("old", 0.5), ("b", 0.8)):
        append_row(table, {"run_id": run_id, "model": "m2", "test_binary_acc": acc})
    assert set_aside_rows(table, {"a", "b"}, aside) == 1
    with open(table, newline="") as handle:
        kept = list(csv.DictReader(handle))
    with open(aside, newline="") as handle:
        moved = list(csv.DictReader(handle))
    assert [r["run_id"] for r in kept] == ["a", "b"] and kept[1]["test_binary_acc"] == "0.8"
    assert [r["run_id"] for r in moved] == ["old"] and moved[0]["test_binary_acc"] == "0.5"
    assert set_aside_rows(table, {"a", "b"}, aside) == 0           # nothing left to move
    assert set_aside_rows(tmp_path / "none.csv", {"a"}, aside) == 0


def test_set_aside_rows_leaves_a_table_with_unknown_columns_alone(tmp_path):
    table = tmp_path / "runs.csv"
    table.write_text("run_id,mystery\nold,1\n")
    assert set_aside_rows(table, set(), tmp_path / "aside.csv") == 0
    assert table.read_text() == "run_id,mystery\nold,1\n" and not (tmp_path / "aside.csv").exists()


OLD_COLUMNS = [c for c in RESULT_COLUMNS if not c.startswith(("test_pr", "test_roc", "test_recall_at",
                                                                "test_ece", "test_acc_at",
                                                                "test_subclass_recall"))]


def test_an_old_table_gets_the_new_columns_by_a_rewritten_header(tmp_path):
    """A runs.csv written before issue 26: the first append rewrites its header and rows (new
    cells empty) and then adds the new row; no row is ever written under the old header."""
    from ssvae.results import MODERATION_COLUMNS, migrate

    table = tmp_path / "runs.csv"
    with open(table, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=OLD_COLUMNS)
        writer.writeheader()
        writer.writerow({"run_id": "old", "model": "m2", "test_binary_acc": "0.8", "error": ""})
    assert len(OLD_COLUMNS) == len(RESULT_COLUMNS) - len(MODERATION_COLUMNS) - 1
    append_row(table, {"run_id": "new", "model": "m2", "test_binary_acc": 0.9, "test_pr_auc": 0.7,
                       "test_subclass_recall": {"a": 1.0}})
    lines = table.read_text().splitlines()
    assert lines[0].split(",") == list(RESULT_COLUMNS) and len(lines) == 3
    old, new = list(csv.DictReader(open(table)))
    assert old["run_id"] == "old" and old["test_binary_acc"] == "0.8" and old["test_pr_auc"] == ""
    assert new["test_pr_auc"] == "0.7" and json.loads(new["test_subclass_recall"]) == {"a": 1.0}
    assert finished_run_ids(table) == {"old", "new"}
    assert migrate(table) is False                          # already current: left as is


def test_migrate_rewrites_an_old_table_and_refuses_unknown_columns(tmp_path):
    from ssvae.results import migrate

    table = tmp_path / "runs.csv"
    table.write_text("run_id,model,test_binary_acc\nr,m2,0.5\n")
    assert migrate(table) is True
    row = next(csv.DictReader(open(table)))
    assert list(row) == list(RESULT_COLUMNS) and row["test_binary_acc"] == "0.5"
    odd = tmp_path / "odd.csv"
    odd.write_text("run_id,mystery\nold,1\n")
    with pytest.raises(ValueError, match=r"does not know: \['mystery'\]"):
        append_row(odd, {"run_id": "x"})
    assert odd.read_text() == "run_id,mystery\nold,1\n"

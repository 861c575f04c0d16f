"""The reproducibility check (tune/reference.py) on copies of the committed quickstart table:
fields that describe the run are ignored, a changed metric or a missing run is named."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tune.reference import check_against_reference, compare_tables

REFERENCE = Path(__file__).resolve().parents[2] / "results" / "quickstart" / "runs.csv"


def _rows() -> tuple[list[str], list[dict[str, str]]]:
    if not REFERENCE.is_file():
        pytest.skip(f"the committed reference {REFERENCE} is absent")
    with open(REFERENCE, newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames), list(reader)


def _write(path: Path, columns: list[str], rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_same_results_on_another_machine_agree(tmp_path):
    columns, rows = _rows()
    moved = [{**r, "wall_s": "99.5", "checkpoint": "/elsewhere/" + r["run_id"], "node_id": "n2",
              "git_rev": "abc+dirty", "versions": "{}", "device": "cuda:0",
              "config_json": r["config_json"].replace('"data_root": null', '"data_root": "/d"')}
             for r in reversed(rows)]
    new = _write(tmp_path / "runs.csv", columns, moved)
    result = compare_tables(new, REFERENCE)
    assert result.agree and result.n_same == len(rows)
    (line,) = result.lines()
    assert f"AGREE: all {len(rows)} runs have the same results" in line


def test_a_changed_metric_and_missing_runs_are_named(tmp_path):
    columns, rows = _rows()
    changed = dict(rows[0])
    old = changed["test_binary_acc"]
    changed["test_binary_acc"] = str(float(old) - 1 / 359)          # one test image
    new_rows = [changed] + rows[1:-1] + [{**rows[1], "run_id": "0123456789abcdef"}]
    new = _write(tmp_path / "runs.csv", columns + ["extra_metric"], new_rows)
    result = compare_tables(new, REFERENCE)
    assert not result.agree
    assert [d.run_id for d in result.differences] == [rows[0]["run_id"]]
    assert [f[0] for f in result.differences[0].fields] == ["test_binary_acc"]
    assert result.only_new == ["0123456789abcdef"]
    assert result.only_reference == [rows[-1]["run_id"]]
    text = "\n".join(result.lines())
    assert f"DIFFER: {len(rows) - 2} of {len(rows) - 1} shared runs have the same results" in text
    assert f"{rows[0]['run_id']} ({rows[0]['model']}, {rows[0]['label_mode']} labels" in text
    assert f"test_binary_acc {changed['test_binary_acc']} here, {old} in the reference" in text
    assert "only in the new table: 0123456789abcdef" in text
    assert "columns only in the new table (not compared): extra_metric" in text
    cells = {f"{r['model']}, {r['label_mode']} labels, {r['n_labels']} labels"
             for r in (rows[-1], rows[1])}
    assert set(result.unmatched_cells) == cells
    for cell in cells:
        assert f"  cell {cell}: " in text and "test_binary_acc" in text


def test_float_noise_is_not_a_difference(tmp_path):
    columns, rows = _rows()
    noisy = [{**r, "val_binary_acc": repr(float(r["val_binary_acc"]) * (1 + 1e-9))} for r in rows]
    assert compare_tables(_write(tmp_path / "runs.csv", columns, noisy), REFERENCE).agree


def test_missing_unreadable_or_same_reference_is_said_not_raised(tmp_path):
    columns, rows = _rows()
    new = _write(tmp_path / "runs.csv", columns, rows)
    (line,) = check_against_reference(new, tmp_path / "nope" / "runs.csv")
    assert "skipped: no reference table" in line and "nope" in line
    (line,) = check_against_reference(new, new)
    assert "skipped: the study wrote into its reference" in line
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\xff\xfe\x00garbage")
    (line,) = check_against_reference(new, broken)
    assert "skipped: could not read the tables" in line

"""The results table (``results/<study>/runs.csv``): its columns, appending a row, reading it.

One row per finished run (DESIGN.md §6). The table is also the cache of finished work: a run
whose ``run_id`` is already in it is not run again. Rows are appended as soon as a run ends,
under a file lock, so a killed study loses nothing that finished.
"""
from __future__ import annotations

import csv
import fcntl
import json
import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

METRIC_COLUMNS = (
    "val_binary_acc", "test_binary_acc", "val_subclass_acc", "test_subclass_acc",
    "test_elbo", "test_recon", "test_kl",
)
ID_COLUMNS = (
    "ablation", "run_id", "dataset", "hierarchy", "model", "label_mode", "n_labels",
    "split_seed", "seed", "split_hash",
)
RUN_COLUMNS = (
    "epochs", "wall_s", "device", "node_id", "git_rev", "versions", "config_json", "checkpoint",
    "error",
)
# Issue 26, appended after the original columns (``migrate`` rewrites older tables' header).
MODERATION_COLUMNS = (
    "test_pr_auc", "test_roc_auc", "test_recall_at_p90", "test_recall_at_p95", "test_ece",
    "test_acc_at_cov80", "test_acc_at_cov95",
)
JSON_METRIC_COLUMNS = ("test_subclass_recall",)
RESULT_COLUMNS = ID_COLUMNS + METRIC_COLUMNS + RUN_COLUMNS + MODERATION_COLUMNS + JSON_METRIC_COLUMNS


def _cell(value: Any) -> Any:
    """Empty where a value does not apply; never NaN. Dicts/lists as JSON."""
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def unknown_columns(header: Iterable[str]) -> list[str]:
    """The columns of a table's header that this version of ssvae does not know (a newer
    version wrote the table)."""
    return [c for c in header if c not in RESULT_COLUMNS]


def header_of(path: str | os.PathLike) -> list[str]:
    """The header row of a CSV table ([] for an empty file)."""
    with open(path, newline="") as handle:
        return next(csv.reader(handle), [])


def _migrate_open(handle) -> None:
    """Give the locked, open table ``handle`` this version's header if it has an older one:
    every row is rewritten under ``RESULT_COLUMNS`` (new columns empty), never a row under an
    old header. A header with columns this version does not know is an error."""
    handle.seek(0)
    reader = csv.DictReader(handle)
    header = reader.fieldnames
    if header is None or tuple(header) == RESULT_COLUMNS:
        return
    unknown = unknown_columns(header)
    if unknown:
        raise ValueError(f"{handle.name} has columns this version of ssvae does not know: "
                         f"{unknown}; known: {', '.join(RESULT_COLUMNS)}")
    table = list(reader)
    handle.seek(0)
    handle.truncate()
    writer = csv.DictWriter(handle, fieldnames=RESULT_COLUMNS)
    writer.writeheader()
    writer.writerows({c: r.get(c) or "" for c in RESULT_COLUMNS} for r in table)
    handle.flush()
    os.fsync(handle.fileno())


def migrate(path: str | os.PathLike) -> bool:
    """Rewrite an older ``runs.csv`` under this version's header (see ``_migrate_open``);
    True when it was rewritten. ``append_row`` calls this itself."""
    path = Path(path)
    if not path.exists():
        return False
    with open(path, "r+", newline="") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        before = handle.readline()
        _migrate_open(handle)
        handle.seek(0)
        return handle.readline() != before


def append_row(path: str | os.PathLike, row: Mapping[str, Any]) -> None:
    """Append one row (missing columns left empty; extra keys are an error) under a lock; an
    older table is first migrated to this version's columns."""
    extra = set(row) - set(RESULT_COLUMNS)
    if extra:
        raise ValueError(f"unknown result columns {sorted(extra)}; known: {', '.join(RESULT_COLUMNS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", newline="") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _migrate_open(handle)
        handle.seek(0, os.SEEK_END)
        writer = csv.DictWriter(handle, fieldnames=RESULT_COLUMNS)
        if handle.tell() == 0:
            writer.writeheader()
        writer.writerow({c: _cell(row.get(c)) for c in RESULT_COLUMNS})
        handle.flush()
        os.fsync(handle.fileno())


def finished_run_ids(path: str | os.PathLike) -> set[str]:
    """run_ids of rows that finished without error (the cache of finished work)."""
    path = Path(path)
    if not path.exists():
        return set()
    with open(path, newline="") as handle:
        return {r["run_id"] for r in csv.DictReader(handle) if r.get("run_id") and not r.get("error")}


def set_aside_rows(path: str | os.PathLike, keep_run_ids: set[str],
                   aside: str | os.PathLike) -> int:
    """Move the rows of ``path`` whose run_id is not in ``keep_run_ids`` to the end of ``aside``
    (same columns; nothing is deleted) and rewrite ``path`` with the rest, under the table's lock.
    Returns the number of rows moved (0, and nothing changed, for a table with columns this
    version does not know). A study calls this once its spec's runs are all known, so rows of an
    older spec or model version (another run_id) are not averaged with the current ones.
    """
    path = Path(path)
    if not path.exists():
        return 0
    with open(path, "r+", newline="") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        reader = csv.DictReader(handle)
        table = list(reader)
        if unknown_columns(reader.fieldnames or ()):
            return 0                  # a table with columns this version does not know: left as is
        moved = [r for r in table if r.get("run_id") not in keep_run_ids]
        if not moved:
            return 0
        for r in moved:
            append_row(aside, {c: r.get(c) for c in RESULT_COLUMNS})
        handle.seek(0)
        handle.truncate()
        writer = csv.DictWriter(handle, fieldnames=RESULT_COLUMNS)
        writer.writeheader()
        for r in table:
            if r.get("run_id") in keep_run_ids:
                writer.writerow({c: r.get(c, "") for c in RESULT_COLUMNS})
        handle.flush()
        os.fsync(handle.fileno())
    return len(moved)


def metrics_to_row(metrics: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """Select the result columns from a ``fit()`` metrics dict, plus study-level fields."""
    merged: dict[str, Any] = {**metrics, **extra}
    return {c: merged.get(c) for c in RESULT_COLUMNS}


def rows(paths: Iterable[str | os.PathLike]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for p in paths:
        with open(p, newline="") as handle:
            out.extend(csv.DictReader(handle))
    return out


def collect(run_dirs: Iterable[str | os.PathLike], table: str | os.PathLike, ablation: str) -> int:
    """Add the ``metrics.json`` of runs made with ``python -m ssvae.train`` to a results table
    (runs already in it, by ``run_id``, are skipped). Returns the number of rows added."""
    done = finished_run_ids(table)
    added = 0
    for run_dir in run_dirs:
        path = Path(run_dir) / "metrics.json"
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist: is {run_dir} a finished run folder?")
        metrics = json.loads(path.read_text())
        if metrics["run_id"] in done:
            continue
        append_row(table, metrics_to_row(metrics, ablation=ablation, checkpoint=str(run_dir)))
        done.add(metrics["run_id"])
        added += 1
    return added


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m ssvae.results",
        description="collect: add finished `python -m ssvae.train` runs to a results table")
    sub = parser.add_subparsers(dest="command", required=True)
    grab = sub.add_parser("collect", help="add run folders' metrics.json to a runs.csv")
    grab.add_argument("run_dirs", nargs="+")
    grab.add_argument("--table", required=True, help="the runs.csv to append to")
    grab.add_argument("--ablation", required=True, help="the study name written in each row")
    args = parser.parse_args(argv)
    try:
        added = collect(args.run_dirs, args.table, args.ablation)
    except (FileNotFoundError, KeyError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"added {added} row(s) to {args.table}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

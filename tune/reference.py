"""Reproducibility check: compare a study's new ``runs.csv`` with a committed reference table.

Rows are matched by ``run_id`` (a hash of everything that changes a run's result), so two rows
with the same ``run_id`` should hold the same results. Fields that describe how and where a run
went rather than what it found (wall time, paths, node, checkpoint, git revision, versions,
device; the config, which ``run_id`` already covers) are ignored. Numbers agree when equal to
``REL_TOL`` (float noise of a CSV round trip), so one test image classified differently shows.

The check only reports: ``compare_tables`` returns a ``Comparison`` whose ``lines()`` say plainly
which runs and metrics differ; a missing or unreadable reference is said, never raised.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

KEY = "run_id"
# What describes the run, not its result (DESIGN.md section 6 lists the row's columns).
RUN_FIELDS = frozenset({"wall_s", "checkpoint", "node_id", "git_rev", "versions", "device",
                        "config_json", "source", "line"})
REL_TOL = 1e-6
SHOWN = 10            # differing runs listed one per line; the rest are counted
METRIC = "test_binary_acc"    # summarised per cell for runs in one table only


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def _cell(row: dict[str, str]) -> str:
    return (f"{row.get('model', '?')}, {row.get('label_mode', '?')} labels, "
            f"{row.get('n_labels', '?')} labels")


def _mean(rows: list[dict[str, str]]) -> float | None:
    values = []
    for r in rows:
        try:
            values.append(float(r.get(METRIC) or "nan"))
        except ValueError:
            continue
    values = [v for v in values if not math.isnan(v)]
    return sum(values) / len(values) if values else None


@dataclass
class Difference:
    run_id: str
    what: str                                  # model, label mode, labels, draw
    fields: list[tuple[str, str, str]]         # (column, new value, reference value)


@dataclass
class Comparison:
    new: Path
    reference: Path
    n_same: int = 0
    differences: list[Difference] = field(default_factory=list)
    only_new: list[str] = field(default_factory=list)
    only_reference: list[str] = field(default_factory=list)
    columns_only_new: list[str] = field(default_factory=list)
    columns_only_reference: list[str] = field(default_factory=list)
    # per cell (model, label mode, budget) with unmatched runs: (n new, n reference, mean test
    # binary accuracy new, reference) — a cell whose search chose another configuration
    unmatched_cells: dict[str, tuple[int, int, float | None, float | None]] = field(
        default_factory=dict)

    @property
    def agree(self) -> bool:
        return not (self.differences or self.only_new or self.only_reference)

    def lines(self) -> list[str]:
        """Plain-language report, one line per fact."""
        shared = self.n_same + len(self.differences)
        head = f"reproducibility check of {self.new} against the reference {self.reference}:"
        extra = [f"  columns {where} (not compared): {', '.join(cols)}"
                 for where, cols in (("only in the new table", self.columns_only_new),
                                     ("only in the reference", self.columns_only_reference))
                 if cols]
        if self.agree:
            return [f"{head} AGREE: all {shared} runs have the same results "
                    f"(relative tolerance {REL_TOL:g}; times, paths and versions ignored)"] + extra
        out = [f"{head} DIFFER: {self.n_same} of {shared} shared runs have the same results, "
               f"{len(self.differences)} differ; {len(self.only_new)} runs only in the new "
               f"table, {len(self.only_reference)} only in the reference"]
        for d in self.differences[:SHOWN]:
            detail = "; ".join(f"{c} {new or 'empty'} here, {ref or 'empty'} in the reference"
                               for c, new, ref in d.fields)
            out.append(f"  {d.run_id} ({d.what}): {detail}")
        if len(self.differences) > SHOWN:
            out.append(f"  ... and {len(self.differences) - SHOWN} more differing runs")
        for name, ids in (("only in the new table", self.only_new),
                          ("only in the reference", self.only_reference)):
            if ids:
                more = f" ... (+{len(ids) - SHOWN})" if len(ids) > SHOWN else ""
                out.append(f"  {name}: {' '.join(ids[:SHOWN])}{more}")
        for cell, (n_new, n_ref, acc_new, acc_ref) in self.unmatched_cells.items():
            accs = (f"; mean {METRIC} {_pct(acc_new)} here, {_pct(acc_ref)} in the reference"
                    if acc_new is not None or acc_ref is not None else "")
            out.append(f"  cell {cell}: {n_new} run(s) only here, {n_ref} only in the "
                       f"reference{accs}")
        if self.only_new or self.only_reference:
            out.append("  (a run_id changes with the configuration: the search chose other "
                       "hyper-parameters for these cells, or the spec or code version differs, "
                       "or a study is unfinished)")
        return out + extra


def _read(path: Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        rows = {r[KEY]: r for r in reader if r.get(KEY)}
        return list(reader.fieldnames or []), rows


def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return math.isclose(x, y, rel_tol=REL_TOL, abs_tol=1e-12) or (math.isnan(x) and math.isnan(y))


def _what(row: dict[str, str]) -> str:
    return (f"{row.get('model', '?')}, {row.get('label_mode', '?')} labels, "
            f"{row.get('n_labels', '?')} labels, draw {row.get('split_seed', '?')}, "
            f"seed {row.get('seed', '?')}")


def compare_tables(new: str | Path, reference: str | Path) -> Comparison:
    """Compare two ``runs.csv`` files by ``run_id``; raises OSError/csv.Error on unreadable files."""
    new, reference = Path(new), Path(reference)
    new_cols, new_rows = _read(new)
    ref_cols, ref_rows = _read(reference)
    result = Comparison(new, reference)
    result.columns_only_new = [c for c in new_cols if c not in ref_cols and c not in RUN_FIELDS]
    result.columns_only_reference = [c for c in ref_cols
                                     if c not in new_cols and c not in RUN_FIELDS]
    compared = [c for c in new_cols if c in ref_cols and c not in RUN_FIELDS and c != KEY]
    result.only_new = sorted(set(new_rows) - set(ref_rows))
    result.only_reference = sorted(set(ref_rows) - set(new_rows))
    cells: dict[str, tuple[list, list]] = {}
    for ids, rows, side in ((result.only_new, new_rows, 0), (result.only_reference, ref_rows, 1)):
        for run_id in ids:
            cells.setdefault(_cell(rows[run_id]), ([], []))[side].append(rows[run_id])
    result.unmatched_cells = {cell: (len(a), len(b), _mean(a), _mean(b))
                              for cell, (a, b) in sorted(cells.items())}
    for run_id in sorted(set(new_rows) & set(ref_rows)):
        a, b = new_rows[run_id], ref_rows[run_id]
        diff = [(c, a[c], b[c]) for c in compared if not _same(a[c] or "", b[c] or "")]
        if diff:
            result.differences.append(Difference(run_id, _what(a), diff))
        else:
            result.n_same += 1
    return result


def check_against_reference(new: str | Path, reference: str | Path) -> list[str]:
    """The check's lines for the console; never raises (a missing reference is a line too)."""
    new, reference = Path(new), Path(reference)
    if not reference.is_file():
        return [f"reproducibility check skipped: no reference table {reference}"]
    if new.resolve() == reference.resolve():
        return [f"reproducibility check skipped: the study wrote into its reference {reference} "
                "(pass --results-dir elsewhere, e.g. the default runs/, to compare)"]
    try:
        return compare_tables(new, reference).lines()
    except (OSError, csv.Error, KeyError, UnicodeDecodeError) as err:
        return [f"reproducibility check skipped: could not read the tables ({err})"]

"""Read, validate and merge what a search wrote: ``runs.csv`` tables and ``search_history.csv``.

Everything is read as text first, so an empty cell stays "does not apply" (never NaN in what we
write) and a malformed value can be named with its file and line. Several results folders merge
into one table; duplicate ``run_id``s are detected (identical rows are dropped with a note,
conflicting ones are reported loudly) and rows with an ``error`` are set aside and listed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ssvae.results import ID_COLUMNS, METRIC_COLUMNS, MODERATION_COLUMNS, RESULT_COLUMNS

RUNS_FILE = "runs.csv"
HISTORY_FILE = "search_history.csv"
from ssvae.config import LABEL_MODES
BASELINES = ("supervised", "vgg16")
ACC_COLUMNS = ("test_binary_acc", "test_subclass_acc", "val_binary_acc", "val_subclass_acc")
# The columns without which no statistic can be computed.
REQUIRED_COLUMNS = ID_COLUMNS[1:] + ("test_binary_acc",)   # all id columns but `ablation`
INT_COLUMNS = ("n_labels", "split_seed", "seed")
# Columns whose differences between two rows of one run_id do not change the result.
RUNTIME_COLUMNS = ("wall_s", "device", "node_id", "git_rev", "versions", "checkpoint", "source")
HISTORY_REQUIRED = ("cell", "trial_id", "val_metric")
HISTORY_X = ("time_s", "iteration", "epoch")


class AnalysisError(ValueError):
    """A results table or folder the analysis cannot use; the message says what is required."""


class EmptyResultsError(AnalysisError):
    """The results table has no run to analyse."""


@dataclass
class Results:
    """The merged, validated runs and what was noticed while reading them."""

    runs: pd.DataFrame                      # successful runs; numeric columns as floats/ints
    errors: pd.DataFrame                    # rows with a non-empty `error` (excluded from stats)
    history: pd.DataFrame | None            # search history, or None
    sources: list[Path]
    notes: list[str] = field(default_factory=list)      # informational
    warnings: list[str] = field(default_factory=list)   # loud: conflicts, malformed history


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except pd.errors.ParserError as exc:
        raise AnalysisError(f"{path}: not a readable CSV table ({exc})") from exc


def read_table(path: str | Path) -> pd.DataFrame:
    """Read one ``runs.csv`` and validate its columns and values.

    Returns the rows with the metric columns as floats (NaN only internally, for "empty"),
    ``n_labels``/``split_seed``/``seed`` as integers, a ``source`` column (the file) and
    ``line`` (the CSV line number, for messages). Raises ``AnalysisError`` naming every missing
    or malformed column and what is required.
    """
    path = Path(path)
    if not path.is_file():
        raise AnalysisError(f"no results table at {path} (expected the {RUNS_FILE} written by "
                            "tune/search.py)")
    df = _read_csv(path)
    if df.empty and len(df.columns) == 0:
        raise EmptyResultsError(f"{path} is empty: no header and no runs; nothing to analyse "
                                "(no plots written)")
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise AnalysisError(
            f"{path}: missing column(s) {', '.join(missing)}. Required: "
            f"{', '.join(REQUIRED_COLUMNS)} (all columns: ssvae.results.RESULT_COLUMNS)")
    for col in RESULT_COLUMNS:          # optional columns (older tables): empty = does not apply
        if col not in df.columns:
            df[col] = ""
    df = df.map(lambda v: v.strip() if isinstance(v, str) else v)
    df["source"] = str(path)
    df["line"] = np.arange(len(df)) + 2          # header is line 1
    failed = df["error"] != ""
    problems: list[str] = []
    bad_cols: list[str] = []

    def bad(col: str, mask: pd.Series, why: str) -> None:
        if mask.any():
            bad_cols.append(col)
            shown = ", ".join(f"line {ln}: {v!r}" for ln, v in
                              zip(df.loc[mask, "line"][:5], df.loc[mask, col][:5]))
            more = f" (+{int(mask.sum()) - 5} more)" if mask.sum() > 5 else ""
            problems.append(f"column {col!r} {why} [{shown}{more}]")

    for col in METRIC_COLUMNS + MODERATION_COLUMNS + ("wall_s", "epochs"):
        num = pd.to_numeric(df[col].replace("", np.nan), errors="coerce")
        bad(col, num.isna() & (df[col] != ""), "must be a number or empty")
        if col in ACC_COLUMNS + MODERATION_COLUMNS:
            bad(col, (num < 0) | (num > 1), "must be a fraction in [0, 1] (not a percentage)")
        df[col] = num.astype(float)
    for col in INT_COLUMNS:
        num = pd.to_numeric(df[col], errors="coerce")
        nonint = num.isna() | (num != num.round()) | (num < 0)
        bad(col, nonint & ~failed, "must be a non-negative integer")
        df[col] = num.where(~nonint, -1).astype(int)
    bad("label_mode", ~df["label_mode"].isin(LABEL_MODES) & ~failed,
        f"must be one of {', '.join(LABEL_MODES)}")
    for col in ("run_id", "dataset", "model"):
        bad(col, (df[col] == "") & ~failed, "must not be empty")
    bad("test_binary_acc", df["test_binary_acc"].isna() & ~failed,
        "must be set for every run without an error")
    if problems:
        raise AnalysisError(f"{path}: malformed column(s) "
                            f"{', '.join(dict.fromkeys(bad_cols))}:\n  - "
                            + "\n  - ".join(problems))
    return df


def _dedupe(df: pd.DataFrame, notes: list[str], warnings: list[str]) -> pd.DataFrame:
    """Drop duplicate run_ids: identical results keep the first; conflicts are reported.

    The same run listed by two studies (another ``ablation`` name, same results) is identical:
    studies that share a cell reuse its runs."""
    result_cols = [c for c in df.columns if c not in RUNTIME_COLUMNS + ("line", "ablation")]
    keep = np.ones(len(df), dtype=bool)
    for run_id, group in df.groupby("run_id", sort=False):
        if len(group) < 2:
            continue
        where = "; ".join(f"{s}:{ln}" for s, ln in zip(group["source"], group["line"]))
        keep[[df.index.get_loc(i) for i in group.index[1:]]] = False
        same = group[result_cols].astype(str).nunique().max() == 1
        if same:
            studies = sorted(set(group["ablation"].astype(str))) if "ablation" in group else []
            also = f" in studies {', '.join(studies)}" if len(studies) > 1 else ""
            notes.append(f"duplicate run_id {run_id} with identical results{also} ({where}); "
                         "kept the first")
        else:
            differ = [c for c in result_cols if group[c].astype(str).nunique() > 1]
            warnings.append(f"CONFLICT: run_id {run_id} appears {len(group)} times with different "
                            f"{', '.join(differ)} ({where}); kept the first ({group['source'].iloc[0]}"
                            f":{group['line'].iloc[0]}) — check these runs")
    return df[keep]


def read_history(dirs: Sequence[Path], notes: list[str], warnings: list[str]) -> pd.DataFrame | None:
    """Concatenate every ``search_history.csv`` that exists; problems become warnings."""
    frames = []
    for d in dirs:
        path = d / HISTORY_FILE
        if not path.is_file():
            notes.append(f"no search history in {d} ({HISTORY_FILE} absent): search plot skipped "
                         "for it")
            continue
        try:
            h = _read_csv(path)
        except AnalysisError as exc:
            warnings.append(f"search history ignored: {exc}")
            continue
        missing = [c for c in HISTORY_REQUIRED if c not in h.columns]
        if not any(c in h.columns for c in HISTORY_X):
            missing.append("time_s (or iteration/epoch)")
        if missing:
            warnings.append(f"search history {path} ignored: missing column(s) {', '.join(missing)}"
                            f" (required: {', '.join(HISTORY_REQUIRED)} and one of "
                            f"{', '.join(HISTORY_X)})")
            continue
        h["source"] = str(path)
        frames.append(h)
    if not frames:
        return None
    h = pd.concat(frames, ignore_index=True)
    for col in ("val_metric",) + HISTORY_X:
        if col in h.columns:
            h[col] = pd.to_numeric(h[col].replace("", np.nan), errors="coerce")
    if "stopped_early" in h.columns:
        h["stopped_early"] = h["stopped_early"].astype(str).str.lower().isin(("true", "1", "yes"))
    else:
        h["stopped_early"] = False
    h = h.dropna(subset=["val_metric"])
    return h if len(h) else None


def load_results(results_dirs: Sequence[str | Path]) -> Results:
    """Read and merge the tables of several results folders (see module docstring)."""
    if not results_dirs:
        raise AnalysisError("give at least one results folder")
    dirs = [Path(d) for d in results_dirs]
    notes: list[str] = []
    warnings: list[str] = []
    tables = []
    for d in dirs:
        if not d.is_dir():
            raise AnalysisError(f"results folder {d} does not exist")
        tables.append(read_table(d / RUNS_FILE))
    df = pd.concat(tables, ignore_index=True)
    if df.empty:
        raise EmptyResultsError(
            f"the results table(s) {', '.join(str(d / RUNS_FILE) for d in dirs)} have a header but "
            "no runs; nothing to analyse (no plots written)")
    failed = df["error"] != ""
    ok_ids = set(df.loc[~failed, "run_id"])
    retried = failed & df["run_id"].isin(ok_ids)
    if retried.any():
        notes.append(f"{int(retried.sum())} failed attempt(s) later finished without error "
                     "(same run_id); the failures are listed but superseded")
    errors = df[failed].copy()
    errors["superseded"] = retried[failed].map({True: "yes (later succeeded)", False: ""})
    runs = _dedupe(df[~failed].copy(), notes, warnings)
    if runs.empty:
        raise EmptyResultsError(
            f"no run finished without error ({len(errors)} row(s) with an error, e.g. "
            f"{errors['error'].iloc[0]!r}); nothing to analyse (no plots written)")
    history = read_history(dirs, notes, warnings)
    return Results(runs=runs.reset_index(drop=True), errors=errors.reset_index(drop=True),
                   history=history, sources=dirs, notes=notes, warnings=warnings)


def parse_json(text: str) -> dict:
    """A JSON cell as a dict ({} when empty or not JSON)."""
    try:
        value = json.loads(text) if text else {}
    except (TypeError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}

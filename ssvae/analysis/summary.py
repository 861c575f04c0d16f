"""Per-cell statistics (``summary.csv``), the winner at each budget, each model against the
supervised baselines, and what is missing.

A cell is (dataset, hierarchy, model, label_mode, n_labels); its runs are the label draws and
seeds. Standard deviations are sample std (ddof=1); with one run the std is empty, not NaN.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ssvae.analysis.load import ACC_COLUMNS, BASELINES
from ssvae.analysis.style import dataset_name, label_mode_name, model_name, order_models

CELL = ["dataset", "hierarchy", "model", "label_mode", "n_labels"]
MIN_RUNS = 3          # DESIGN.md §3: at least 3 label draws per reported cell


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: ``<metric>_mean``, ``<metric>_std``, ``<metric>_n`` for each accuracy,
    plus ``n_runs`` and ``n_label_draws`` (distinct split_seed)."""
    rows = []
    for key, group in runs.groupby(CELL, sort=False):
        row = dict(zip(CELL, key))
        row["n_runs"] = len(group)
        row["n_label_draws"] = group["split_seed"].nunique()
        for col in ACC_COLUMNS:
            values = group[col].dropna().to_numpy(float)
            row[f"{col}_mean"] = values.mean() if len(values) else np.nan
            row[f"{col}_std"] = values.std(ddof=1) if len(values) > 1 else np.nan
            row[f"{col}_n"] = len(values)
        rows.append(row)
    table = pd.DataFrame(rows)
    rank = {m: i for i, m in enumerate(order_models(table["model"]))}
    table = table.assign(_r=table["model"].map(rank)).sort_values(
        ["dataset", "hierarchy", "n_labels", "_r", "label_mode"]).drop(columns="_r")
    return table.reset_index(drop=True)


def write_summary(table: pd.DataFrame, path) -> None:
    """CSV with empty cells where a value does not apply (never NaN)."""
    table.to_csv(path, index=False, na_rep="", float_format="%.10g")


def fmt_cell(mean: float, std: float, n: int, percent: bool = True) -> str:
    """'mean ± std (n)' in percent; '' when n == 0; no ± with one run."""
    if not n or mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return ""
    k = 100.0 if percent else 1.0
    if n < 2 or std is None or math.isnan(std):
        return f"{k * mean:.1f} (n={n})"
    return f"{k * mean:.1f} ± {k * std:.1f} ({n})"


@dataclass
class Verdict:
    dataset: str
    hierarchy: str
    n_labels: int
    winner: str
    runner_up: str | None
    gap: float | None             # difference of means (fraction)
    combined_std: float | None    # sqrt(s1^2 + s2^2): the spread of a difference of two runs
    p_welch: float | None
    text: str


ALPHA = 0.05          # Welch's test level the verdicts state


def _label(model: str, mode: str) -> str:
    return f"{model_name(model)} ({label_mode_name(mode)})"


def winners(runs: pd.DataFrame, metric: str = "test_binary_acc") -> list[Verdict]:
    """The best (model, label mode) at each budget and whether its lead exceeds the spread.

    Rule: the lead counts as larger than the spread when the difference of means exceeds the
    combined std sqrt(s1² + s2²) of the two cells; Welch's t-test p-value is given beside it.
    """
    out = []
    data = runs.dropna(subset=[metric])
    for (ds, hi, n), group in data.groupby(["dataset", "hierarchy", "n_labels"], sort=True):
        cells = {k: g[metric].to_numpy(float) for k, g in group.groupby(["model", "label_mode"])}
        ranked = sorted(cells, key=lambda k: -cells[k].mean())
        best = ranked[0]
        a = cells[best]
        if len(ranked) == 1:
            out.append(Verdict(ds, hi, int(n), _label(*best), None, None, None, None,
                               f"only {_label(*best)} was run ({100 * a.mean():.1f} %)"))
            continue
        second = ranked[1]
        gap, comb, p, text = _compare(cells[best], cells[second], _label(*best), _label(*second))
        out.append(Verdict(ds, hi, int(n), _label(*best), _label(*second), gap, comb, p, text))
    return out


def _compare(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str):
    """(gap, combined std, Welch p, sentence) for cell a against cell b; the rule of ``winners``."""
    gap = a.mean() - b.mean()
    verb = "leads" if gap >= 0 else "trails"
    head = f"{name_a} {verb} {name_b} by {100 * abs(gap):.1f} pp"
    if len(a) < 2 or len(b) < 2:
        return gap, None, None, f"{head}; cannot compare with the spread (a cell has n < 2)"
    comb = math.sqrt(a.var(ddof=1) + b.var(ddof=1))
    p = float(stats.ttest_ind(a, b, equal_var=False).pvalue) if comb > 0 else (
        0.0 if gap != 0 else 1.0)
    larger = abs(gap) > comb
    significant = p < ALPHA
    spread = (f"more than the spread (combined std {100 * comb:.1f} pp)" if larger else
              f"within the spread (combined std {100 * comb:.1f} pp)")
    test = (f"Welch's test supports a difference at the 5 % level" if significant else
            f"Welch's test does not support a difference at the 5 % level")
    joint = "and" if larger == significant else "but"
    return gap, comb, p, (f"{head}: {spread}, {joint} {test} (p = {p:.3g}, "
                          f"n = {len(a)} vs {len(b)})")


def against_baselines(runs: pd.DataFrame, metric: str = "test_binary_acc") -> list[str]:
    """Every other model's cell against each baseline cell (``BASELINES``) trained on the same
    labels: same data set, hierarchy, label mode and budget; the rule of ``winners``."""
    lines = []
    data = runs.dropna(subset=[metric])
    keys = ["dataset", "hierarchy", "n_labels", "label_mode"]
    for (ds, hi, n, mode), group in data.groupby(keys, sort=True):
        cells = {m: g[metric].to_numpy(float) for m, g in group.groupby("model")}
        for base in (b for b in BASELINES if b in cells):
            for model in order_models([m for m in cells if m not in BASELINES]):
                text = _compare(cells[model], cells[base], _label(model, mode),
                                _label(base, mode))[3]
                lines.append(f"{dataset_name(ds)}/{hi}, {int(n)} labels: {text} "
                             f"({100 * cells[model].mean():.1f} vs {100 * cells[base].mean():.1f} %)")
    return lines


def missing_cells(runs: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    """Cells with fewer than MIN_RUNS runs, and holes in the model × mode × budget grid."""
    lines = []
    for _, r in table[table["test_binary_acc_n"] < MIN_RUNS].iterrows():
        lines.append(f"{r['dataset']}/{r['hierarchy']} {model_name(r['model'])} "
                     f"{r['label_mode']} {r['n_labels']} labels: n = {r['test_binary_acc_n']} "
                     f"< {MIN_RUNS} runs")
    for (ds, hi), group in runs.groupby(["dataset", "hierarchy"]):
        present = set(map(tuple, group[["model", "label_mode", "n_labels"]].to_numpy().tolist()))
        for m in order_models(group["model"]):
            for mode in sorted(group["label_mode"].unique()):
                for n in sorted(group["n_labels"].unique()):
                    if (m, mode, n) not in present:
                        lines.append(f"{ds}/{hi} {model_name(m)} {mode} {n} labels: not run")
    return lines

"""Analysis of a study: plots, ``summary.csv`` and ``report.md`` from what the search wrote.

``analyse(results_dirs, out=None, target=None, command=None)`` reads ``runs.csv`` (and
``search_history.csv``, and the images in the checkpoint folders rows point to) from one or more
results folders, and writes into ``out`` (default: the first folder). ``python -m ssvae.analysis``
is its command line. Nothing is re-trained. Figures are drawn without pyplot (no GUI backend).
"""
from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Sequence

import pandas as pd

from ssvae.analysis.budget import describe, fit_budgets
from ssvae.analysis.budget_plot import plot_budget_fits
from ssvae.analysis.curves import plot_accuracy_curves
from ssvae.analysis.load import AnalysisError, EmptyResultsError, load_results, read_table
from ssvae.analysis.moderation import (at_positive_rate, load_test_scores, moderation_table,
                                       section as moderation_section)
from ssvae.analysis.moderation_plots import plot_moderation
from ssvae.analysis.paired import paired_differences, plot_paired
from ssvae.analysis.report import write_report
from ssvae.analysis.samples import collect_images
from ssvae.analysis.search_plots import plot_search, search_summary
from ssvae.analysis.summary import (against_baselines, missing_cells, summarise, winners,
                                   write_summary)
from ssvae.metrics.prior_shift import check_rate

__all__ = ["analyse", "AnalysisError", "EmptyResultsError", "load_results", "read_table"]

CURVE_METRICS = ("test_binary_acc", "test_subclass_acc")


def analyse(results_dirs: str | Path | Sequence[str | Path], out: str | Path | None = None,
            target: float | None = None, command: str | None = None,
            metric: str = "test_binary_acc", n_boot: int = 400,
            verbose: bool = True, positive_rate: float | None = None
            ) -> dict[str, Path | list[Path]]:
    """Analyse one or more results folders; return the written paths.

    ``positive_rate`` (e.g. 0.01) adds precision, recall and PR-AUC at that share of positives
    (``positive_rate.csv`` and a report section; ``ssvae/analysis/moderation.py``).

    Returns ``{"summary": Path, "report": Path, "paired": Path, "budget": Path,
    "figures": [Path, ...] (PNG and SVG), "images": [Path, ...] (copied checkpoint images)}``.
    Raises ``AnalysisError`` (missing/malformed columns, missing folder) or
    ``EmptyResultsError`` (no run to analyse; nothing is written).
    """
    if isinstance(results_dirs, (str, Path)):
        results_dirs = [results_dirs]
    if target is not None and not 0 < target < 1:
        raise AnalysisError(f"target={target!r} must be an accuracy fraction in (0, 1), e.g. 0.95")
    if metric not in CURVE_METRICS + ("val_binary_acc", "val_subclass_acc"):
        raise AnalysisError(f"metric={metric!r} is not an accuracy column; choose one of "
                            "test_binary_acc, test_subclass_acc, val_binary_acc, val_subclass_acc")
    if positive_rate is not None:
        try:
            check_rate("positive_rate", positive_rate)
        except ValueError as exc:
            raise AnalysisError(str(exc)) from None
    results = load_results(results_dirs)
    out = Path(out) if out is not None else Path(results_dirs[0])
    fig_dir = out / "figures"
    out.mkdir(parents=True, exist_ok=True)
    runs = results.runs
    if command is None:
        command = "python -m ssvae.analysis " + " ".join(shlex.quote(a) for a in sys.argv[1:]) \
            if sys.argv and sys.argv[0].endswith(("__main__.py", "ssvae.analysis")) else \
            "python " + " ".join(shlex.quote(a) for a in sys.argv)

    table = summarise(runs)
    written: dict[str, Path | list[Path]] = {"summary": out / "summary.csv"}
    write_summary(table, written["summary"])

    figures = {"curves": plot_accuracy_curves(runs, fig_dir, CURVE_METRICS)}
    paired = paired_differences(runs, "test_binary_acc")
    written["paired"] = out / "paired_subclass_minus_binary.csv"
    write_summary(paired[1], written["paired"])
    figures["paired"] = plot_paired(paired[1], fig_dir) if not paired[1].empty else []

    search = None
    if results.history is not None:
        try:
            figures["search"] = plot_search(results.history, fig_dir, ", ".join(
                sorted({a for a in runs["ablation"] if a})))
            search = search_summary(results.history)
        except (KeyError, ValueError) as exc:
            results.warnings.append(f"search history could not be plotted: {exc}")

    fits = fit_budgets(runs, metric, target, n_boot)
    written["budget"] = out / "labels_needed.csv"
    write_summary(pd.DataFrame([f.row() for f in fits]), written["budget"])
    figures["budget"] = plot_budget_fits(runs, fits, fig_dir, metric)

    scores, score_notes = load_test_scores(runs)
    figures["moderation"] = plot_moderation(runs, scores, fig_dir)
    shifted = None
    if positive_rate is not None:
        shifted = at_positive_rate(runs, scores, positive_rate)
        written["positive_rate"] = out / "positive_rate.csv"
        write_summary(shifted, written["positive_rate"])
    moderation = moderation_section(
        moderation_table(runs), shifted, positive_rate, figures["moderation"], score_notes, out,
        sorted({s.positive_name for s in scores.values()}))

    images, image_notes = collect_images(runs, out / "images")
    write_report(out / "report.md", results=results, table=table, metric=metric, command=command,
                 figures=figures, verdicts=winners(runs, metric),
                 baselines=against_baselines(runs, metric), missing=missing_cells(runs, table),
                 paired=paired, fits=fits, target=target, images=images, image_notes=image_notes,
                 search=search, moderation=moderation)
    written["report"] = out / "report.md"
    written["figures"] = [p for paths in figures.values() for p in paths]
    written["images"] = [e[k] for e in images for k in ("reconstructions", "samples") if k in e]
    if verbose:
        for w in results.warnings:
            print(f"WARNING: {w}", file=sys.stderr)
        for f in fits:
            print(describe(f))
        print(f"wrote {written['report']} ({len(written['figures'])} figure files)")
    return written

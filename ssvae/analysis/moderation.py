"""Moderation metrics in the report: per-cell tables, and evaluation at a stated positive rate.

The columns come from ``runs.csv`` (issue 26; ``ssvae/metrics/final.py``). The curves and the
positive-rate evaluation need each run's per-image test scores, ``test_scores.npz`` in the run
folder a row's ``checkpoint`` points to (written by final runs since issue 26); rows without it
are counted and named in the report, never guessed.

At a positive rate r (``--positive-rate``) each run's test images are re-weighted so positives
weigh a share r (``ssvae/metrics/prior_shift.py``); the flag rule is the model's own decision
(the positive super-class is the most probable one); precision, recall and PR-AUC are computed
on the weighted set. Recall does not depend on r; precision and PR-AUC do.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ssvae.analysis.report import _md_table, _rel
from ssvae.analysis.samples import resolve_checkpoint
from ssvae.analysis.style import dataset_name, model_name
from ssvae.analysis.summary import CELL, fmt_cell
from ssvae.metrics.final import POSITIVE
from ssvae.metrics.moderation import pr_auc
from ssvae.metrics.prior_shift import check_rate, prevalence_weights, weighted_precision_recall
from ssvae.results import MODERATION_COLUMNS

TEST_SCORES = "test_scores.npz"       # ssvae.training.evaluation.TEST_SCORES (not imported: no torch here)
NAMES = {"test_pr_auc": "PR-AUC", "test_roc_auc": "ROC-AUC", "test_recall_at_p90": "recall @ P90",
         "test_recall_at_p95": "recall @ P95", "test_ece": "ECE",
         "test_acc_at_cov80": "acc @ 80 % cov.", "test_acc_at_cov95": "acc @ 95 % cov."}


@dataclass(frozen=True)
class TestScores:
    """One run's per-image test scores."""

    p_super: np.ndarray          # [N, n_super]
    y_super: np.ndarray          # [N] int
    rejection: np.ndarray        # [N]
    positive_name: str

    @property
    def score(self) -> np.ndarray:
        return self.p_super[:, POSITIVE]

    @property
    def positive(self) -> np.ndarray:
        return self.y_super == POSITIVE

    @property
    def correct(self) -> np.ndarray:
        return self.p_super.argmax(1) == self.y_super


def load_test_scores(runs: pd.DataFrame) -> tuple[dict[int, TestScores], list[str]]:
    """{row index: its test scores} for the rows whose run folder holds them, and notes on the
    rest."""
    found: dict[int, TestScores] = {}
    missing = 0
    for i, row in runs.iterrows():
        folder = resolve_checkpoint(str(row.get("checkpoint", "")), str(row["source"]),
                                    str(row["run_id"]))
        path = folder / TEST_SCORES if folder is not None else None
        if path is None or not path.is_file():
            missing += 1
            continue
        with np.load(path, allow_pickle=False) as f:
            y_super = f["sub_to_super"][f["y_sub"]]
            found[i] = TestScores(f["p_super"].astype(np.float64), y_super,
                                  f["rejection"].astype(np.float64),
                                  str(f["superclass_names"][POSITIVE]))
    notes = ([f"{missing} of {len(runs)} run(s) have no {TEST_SCORES} in their run folder "
              f"(trained before issue 26, or their folders are not here): they are left out of "
              f"the moderation curves and the positive-rate table"] if missing else [])
    return found, notes


def moderation_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per cell: '<mean> ± <std> (n)' of each moderation column, in % (ECE too)."""
    cols = [c for c in MODERATION_COLUMNS if c in runs and runs[c].notna().any()]
    rows = []
    for key, g in runs.groupby(CELL, sort=True):
        row = dict(zip(CELL, key))
        for c in cols:
            v = g[c].dropna().to_numpy(float)
            row[NAMES[c]] = fmt_cell(v.mean() if len(v) else float("nan"),
                                     v.std(ddof=1) if len(v) > 1 else float("nan"), len(v))
        rows.append(row)
    return pd.DataFrame(rows) if cols else pd.DataFrame()


def at_positive_rate(runs: pd.DataFrame, scores: dict[int, TestScores], rate: float
                     ) -> pd.DataFrame:
    """Per cell, mean and std over runs of precision, recall and PR-AUC at positive rate
    ``rate``, beside PR-AUC at the test set's own rate."""
    rate = check_rate("positive rate", rate)
    per_run = []
    for i, s in scores.items():
        w = prevalence_weights(s.positive, rate)
        flag = s.p_super.argmax(1) == POSITIVE
        precision, recall = weighted_precision_recall(flag, s.positive, w)
        per_run.append({**{c: runs.at[i, c] for c in CELL}, "positive": s.positive_name,
                        "test_positive_rate": float(s.positive.mean()),
                        "precision": precision, "recall": recall,
                        "pr_auc": pr_auc(s.score, s.positive, w),
                        "pr_auc_test_rate": pr_auc(s.score, s.positive)})
    if not per_run:
        return pd.DataFrame()
    df = pd.DataFrame(per_run).astype({"precision": float, "recall": float, "pr_auc": float,
                                       "pr_auc_test_rate": float})
    stats = df.groupby(CELL + ["positive"], sort=True).agg(
        n_runs=("recall", "size"), test_positive_rate=("test_positive_rate", "mean"),
        **{f"{m}_{f}": (m, f) for m in ("precision", "recall", "pr_auc", "pr_auc_test_rate")
           for f in ("mean", "std")})
    return stats.reset_index().assign(positive_rate=rate)


def section(table: pd.DataFrame, shifted: pd.DataFrame | None,
            rate: float | None, figures: list[Path], notes: list[str], out: Path,
            positives: list[str] = ()) -> list[str]:
    """The report's moderation section (markdown lines; figure paths relative to ``out``)."""
    L = ["## Moderation metrics (test set)", ""]
    if table.empty:
        return L + ["No run in these tables has the moderation columns (`test_pr_auc`, ...): "
                    "they were trained before issue 26. Rerun the study to fill them (its "
                    "checkpoints hold no test scores to recompute them from).", ""]
    named = f" (here: {', '.join(f'`{p}`' for p in positives)})" if positives else ""
    L += [f"Positive super-class: the first of the hierarchy{named}; `mixed`: target, MNIST: "
          "low, folder data: the first super-class folder by name. PR-AUC is average precision; recall @ P90/P95 the most "
          "recall at precision >= 0.90/0.95; ECE the top-label expected calibration error of "
          "the super-class probabilities, 15 bins (0 is perfect); acc @ c % cov. the binary "
          "accuracy on the c % of test images with the lowest rejection score. Mean ± std "
          "(runs), in %.", ""]
    for (ds, hi), g in table.groupby(["dataset", "hierarchy"], sort=True):
        view = g.drop(columns=["dataset", "hierarchy"]).assign(model=g["model"].map(model_name))
        L += [f"### {dataset_name(ds)}, hierarchy `{hi}`", ""] + _md_table(view) + [""]
    L += [f"![{p.stem}]({_rel(p, out)})" for p in figures if p.suffix == ".png"]
    if figures:
        L += ["", "Curves pool the test images of a cell's runs. Accuracy–coverage: binary "
              "accuracy on the most trusted share of images under the model's rejection score. "
              "Reliability: per confidence bin, accuracy against mean confidence (the diagonal "
              "is perfect calibration). PR: precision against recall of the positive score.", ""]
    if rate is not None:
        L += [f"### At a positive rate of {rate:g}", ""]
        if shifted is None or shifted.empty:
            L += [f"No run has its per-image test scores ({TEST_SCORES}); nothing to evaluate "
                  "at this rate.", ""]
        else:
            view = pd.DataFrame({
                "data set": shifted["dataset"].map(dataset_name) + "/" + shifted["hierarchy"],
                "model": shifted["model"].map(model_name), "labels": shifted["label_mode"],
                "n_labels": shifted["n_labels"], "positive": shifted["positive"],
                "runs": shifted["n_runs"],
                **{name: [fmt_cell(m, s, n) for m, s, n in zip(
                    shifted[f"{col}_mean"], shifted[f"{col}_std"], shifted["n_runs"])]
                   for col, name in (("precision", f"precision @ {rate:g}"),
                                     ("recall", "recall"), ("pr_auc", f"PR-AUC @ {rate:g}"),
                                     ("pr_auc_test_rate", "PR-AUC @ test rate"))}})
            L += [f"Test images re-weighted so positives are a share {rate:g} (the test sets "
                  f"hold {', '.join(f'{v:.2f}' for v in sorted(set(shifted['test_positive_rate'].round(2))))}); "
                  "flag = the positive super-class is the most probable. Full table: "
                  "`positive_rate.csv`.", ""] + _md_table(view) + [""]
    L += [f"- {n}" for n in notes] + ([""] if notes else [])
    return L

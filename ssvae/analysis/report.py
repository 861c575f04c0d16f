"""``report.md``: tables, plots, command, machine, versions, protocol, verdicts, what is missing."""
from __future__ import annotations

import os
import platform
from collections import Counter
from pathlib import Path

import pandas as pd

from ssvae.analysis.budget import BudgetFit, describe
from ssvae.analysis.curves import drawn_anchors
from ssvae.analysis.load import Results, parse_json
from ssvae.analysis.protocol import split_sentence
from ssvae.analysis.samples import COLLAPSED_FIDELITY, DEGENERATE_SPREAD
from ssvae.analysis.style import dataset_name, model_name
from ssvae.analysis.summary import ALPHA, MIN_RUNS, Verdict, fmt_cell

STUDY_COMMAND_FILE = "command.txt"    # written by tune/search.py into the study's folder


def _rel(path: Path, out: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(out.resolve()))
    except ValueError:
        return str(Path(path).resolve())


def _md_table(df: pd.DataFrame) -> list[str]:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join("" if pd.isna(v) else str(v).replace("|", "\\|").replace(
            "\n", " ") for v in r) + " |")
    return lines


def _summary_markdown(table: pd.DataFrame) -> list[str]:
    lines = []
    for (ds, hi), g in table.groupby(["dataset", "hierarchy"], sort=True):
        view = pd.DataFrame({
            "model": g["model"].map(model_name), "labels": g["label_mode"], "n_labels": g["n_labels"],
            **{f"{name} %": [fmt_cell(r[f"{m}_mean"], r[f"{m}_std"], r[f"{m}_n"])
                             for _, r in g.iterrows()]
               for m, name in (("test_binary_acc", "test binary"),
                               ("test_subclass_acc", "test sub-class"),
                               ("val_binary_acc", "val binary"),
                               ("val_subclass_acc", "val sub-class"))},
            "label draws": g["n_label_draws"]})
        flag = g["test_binary_acc_n"] < MIN_RUNS
        view["model"] = [f"{m} ⚠" if f else m for m, f in zip(view["model"], flag)]
        lines += [f"### {dataset_name(ds)}, hierarchy `{hi}`", ""] + _md_table(view) + [""]
    lines.append(f"Cells are mean ± std (number of runs) in %, std with ddof = 1; ⚠ = fewer than "
                 f"{MIN_RUNS} runs. Empty: does not apply (binary-mode runs have no sub-class "
                 "accuracy).")
    return lines


def _versions(runs: pd.DataFrame) -> list[str]:
    found: dict[str, set] = {}
    for text in runs["versions"].dropna().unique():
        for pkg, ver in parse_json(text).items():
            found.setdefault(pkg, set()).add(str(ver))
    if not found:
        raw = [v for v in runs["versions"].unique() if v]
        return [f"- {v}" for v in raw] or ["- (not recorded in the table)"]
    return [f"- {pkg}: {', '.join(sorted(v))}" + ("  ⚠ several versions" if len(v) > 1 else "")
            for pkg, v in sorted(found.items())]


def _count_range(counts: pd.Series, what: str) -> str:
    """'3 label draws' or '2 to 3 label draws (fewest to most)'."""
    lo, hi = int(counts.min()), int(counts.max())
    return f"{hi} {what}" if lo == hi else f"{lo} to {hi} {what} (fewest to most)"


def _protocol(runs: pd.DataFrame) -> list[str]:
    configs = [parse_json(c) for c in runs["config_json"]]
    patience = sorted({c.get("patience") for c in configs if c.get("patience") is not None})
    max_epochs = sorted({c.get("epochs") for c in configs if c.get("epochs") is not None})
    splits = []
    for ds in sorted(runs["dataset"].unique()):
        sizes = {c.get("val_size") for c, d in zip(configs, runs["dataset"]) if d == ds and c}
        splits.append(f"- Split of {dataset_name(ds)}: {split_sentence(ds, sizes or {None})}.")
    cell = ["dataset", "hierarchy", "model", "label_mode", "n_labels"]
    draws = runs.groupby(cell)["split_seed"].nunique()
    seeds = runs.groupby(cell + ["split_seed"])["seed"].nunique()
    trained = runs["epochs"].dropna()
    lines = splits + [
        "- The test set is never used for search, early stopping or model selection (best "
        "checkpoints and best runs below are chosen on validation).",
        f"- Label draws: the labelled subset is class-balanced by sub-class and drawn from "
        f"`split_seed`; each cell has {_count_range(draws, 'label draws')}, with "
        f"{_count_range(seeds, 'training seed(s)')} per draw. The same labelled images (same "
        "`split_hash`) serve every model and both label modes.",
        "- Label modes: `binary` trains on super-class labels; `subclass` on sub-class labels and "
        "predicts the super-class by summing sub-class probabilities. Both are judged on binary "
        "test accuracy.",
        "- Training: until early stopping on validation or a bound"
        + (f" (patience {', '.join(map(str, patience))}" if patience else " (")
        + (f"{', ' if patience else ''}at most {', '.join(map(str, max_epochs))} epochs"
           if max_epochs else "") + ")"
        + (f"; epochs actually trained: {int(trained.min())}–{int(trained.max())} "
           f"(median {trained.median():g})" if len(trained) else "") + ".",
    ]
    return lines + _time_bounds(configs)


def _time_bounds(configs: list[dict]) -> list[str]:
    """A line on runs with a wall-clock bound per stage (``max_stage_s``): they may have ended at
    it rather than by early stopping, which the table cannot tell (each run's metrics.json
    records ``stopped_by``)."""
    bounded = [c["max_stage_s"] for c in configs if c and c.get("max_stage_s") is not None]
    if not bounded:
        return []
    bounds = ", ".join(f"{b:g} s" for b in sorted(set(bounded)))
    return [f"- Wall-clock bound per stage (`max_stage_s`: {bounds}) "
            f"on {len(bounded)} of {len(configs)} runs: those may have stopped at the bound before converging; "
            "`stopped_by` in each run's metrics.json says which."]


def _compute(runs: pd.DataFrame, history: pd.DataFrame | None) -> str:
    """The compute a study spent: its final runs' wall time (``wall_s``) plus its search trials'
    (each trial's last reported ``time_s``, Tune's ``time_total_s``)."""
    final = runs["wall_s"].dropna()
    parts = []
    if len(final):
        parts.append(f"final runs {final.sum() / 3600:.2f} h (sum of `wall_s`, the training time "
                     f"each run recorded, over {len(final)} runs)")
    search_h = None
    if history is not None and {"cell", "trial_id", "time_s"} <= set(history.columns):
        per_trial = history.dropna(subset=["time_s"]).groupby(["cell", "trial_id"])["time_s"].max()
        if len(per_trial):
            search_h = per_trial.sum() / 3600
            parts.append(f"search trials {search_h:.2f} h ({len(per_trial)} trials, each its "
                         "last reported `time_s` in search_history.csv)")
    if not parts:
        return "- Compute: not recorded (no `wall_s` or search history)."
    total = (final.sum() / 3600 if len(final) else 0.0) + (search_h or 0.0)
    return (f"- Compute spent (training time, summed over processes): {total:.2f} h = "
            + " + ".join(parts) + ".")


def _machine(runs: pd.DataFrame, history: pd.DataFrame | None = None) -> list[str]:
    devices = Counter(d or "(not recorded)" for d in runs["device"])
    nodes = {n for n in runs["node_id"] if n}
    revs = Counter(r or "(not recorded)" for r in runs["git_rev"])
    return [
        f"- Analysis run on: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs.",
        "- Runs trained on device(s): " + ", ".join(f"`{d}` ({n} runs)" for d, n in devices.items())
        + (f"; {len(nodes)} Ray node(s)" if nodes else "") + ".",
        _compute(runs, history),
        "- Git revision(s) in the table: " + ", ".join(f"`{r}` ({n})" for r, n in revs.items())
        + ("  ⚠ several revisions" if len(revs) > 1 else "") + ".",
    ]


def _commands(sources: list[Path], analysis: str) -> list[str]:
    """The study's command (``command.txt`` beside each table) and this report's command."""
    lines = []
    for source in sources:
        folder = Path(source) if Path(source).is_dir() else Path(source).parent
        saved = folder / STUDY_COMMAND_FILE
        if saved.is_file():
            lines += [f"The study in `{folder.name}/` (its last run, from `{STUDY_COMMAND_FILE}`):",
                      "", "```", saved.read_text().strip(), "```", ""]
        else:
            lines += [f"The study in `{folder.name}/`: its command was not recorded (no "
                      f"`{STUDY_COMMAND_FILE}`; see the folder's README).", ""]
    if analysis.strip() not in {line.strip() for line in lines}:
        lines += ["This report:", "", "```", analysis, "```", ""]
    return lines


def write_report(path: Path, *, results: Results, table: pd.DataFrame, metric: str, command: str,
                 figures: dict[str, list[Path]], verdicts: list[Verdict], baselines: list[str],
                 missing: list[str],
                 paired: tuple[pd.DataFrame, pd.DataFrame, int], fits: list[BudgetFit],
                 target: float | None, images: list[dict], image_notes: list[str],
                 search: pd.DataFrame | None, moderation: list[str] = ()) -> None:
    out = path.parent
    runs = results.runs
    studies = ", ".join(sorted({a for a in runs["ablation"] if a})) or "(unnamed)"
    L = [f"# Results: {studies}", ""]
    if results.warnings:
        L += ["> **WARNINGS**", ">"] + [f"> - {w}" for w in results.warnings] + [""]
    L += ["## Command", ""] + _commands(results.sources, command) + [
          f"Read: {', '.join(str(s) for s in results.sources)} — {len(runs)} runs analysed, "
          f"{len(results.errors)} failed row(s) excluded.", ""]
    L += ["## Machine, device and versions", ""] + _machine(runs, results.history) + [
        "", "Package versions:", ""]
    L += _versions(runs) + ["", "## Protocol", ""] + _protocol(runs) + [""]
    L += ["## Results per cell", ""] + _summary_markdown(table) + ["", "Full table: `summary.csv`.", ""]
    L += list(moderation)                 # issue 26: ssvae/analysis/moderation.py
    L += [f"## Which model wins at each budget ({metric})", "",
          "Rule: a lead is *more than the spread* when the difference of means exceeds the "
          "combined standard deviation sqrt(s1² + s2²) of the two cells; Welch's t-test says "
          f"whether the runs support a difference at the {100 * ALPHA:g} % level (with 3 runs a "
          "cell, only large, steady leads pass it). Baselines compete too.", ""]
    L += [f"- {dataset_name(v.dataset)}/{v.hierarchy}, **{v.n_labels} labels**: {v.text}"
          for v in verdicts] + [""]
    L += [f"## Against the supervised baselines ({metric})", "",
          "Each model's cell against each baseline (trained on the labelled images only) on the "
          "same data set, hierarchy, label mode and budget; same rule as above.", ""]
    L += [f"- {line}" for line in baselines] or ["- no baseline cell shares a budget and label "
                                                 "mode with another model"]
    L += [""]
    L += ["## Accuracy against the number of labels", ""]
    L += [f"![{p.stem}]({_rel(p, out)})" for p in figures.get("curves", []) if p.suffix == ".png"]
    L += ["", "One panel per label mode. Line: mean over label draws × seeds; band: ±1 standard "
          "deviation."]
    anchored = sorted({dataset_name(ds) for ds in runs["dataset"].unique()
                       if runs.loc[runs["dataset"] == ds, "test_subclass_acc"].notna().any()
                       and drawn_anchors(runs, ds, "test_subclass_acc")})
    if anchored:
        L[-1] += (f" Published anchors (hollow marks) on the sub-class accuracy figure of "
                  f"{', '.join(anchored)} are 10-class test accuracies from the papers "
                  "(DESIGN.md §7).")
    L += [""]
    pairs, psum, unmatched = paired
    L += ["## Binary vs sub-class labels (paired)", ""]
    if psum.empty:
        L += ["No run was found in both label modes with the same (model, n_labels, split_seed, "
              f"seed, split_hash); no paired comparison ({unmatched} unmatched runs).", ""]
    else:
        L += [f"Difference in test binary accuracy, sub-class − binary, matched on (model, "
              f"n_labels, split_seed, seed, split_hash): {len(pairs)} pairs; {unmatched} runs "
              "without a partner in the other mode are excluded. Mean with a 95 % t-interval "
              "(none with fewer than 2 pairs).", ""]
        view = pd.DataFrame({
            "data set": psum["dataset"].map(dataset_name) + "/" + psum["hierarchy"],
            "model": psum["model"].map(model_name), "n_labels": psum["n_labels"],
            "pairs": psum["n_pairs"], "mean diff (pp)": (100 * psum["mean_diff"]).round(2),
            "95 % CI (pp)": [f"{100 * lo:.2f} to {100 * hi:.2f}" if n >= 2 else "no CI (n < 2)"
                             for lo, hi, n in zip(psum["ci95_low"], psum["ci95_high"],
                                                  psum["n_pairs"])]})
        L += _md_table(view) + [""]
        L += [f"![{p.stem}]({_rel(p, out)})" for p in figures.get("paired", [])
              if p.suffix == ".png"] + [""]
    L += ["## How many labels are needed", ""]
    if target is None:
        L += ["No `--target` given: fits only."]
    L += ["Power law err = a·n^(−b) (+ c, fitted with >= 4 budgets), least squares in log space "
          "over runs; intervals: bootstrap over runs within each budget (95 % percentile).", ""]
    L += [f"- {describe(f)}" for f in fits] + [""]
    L += [f"![{p.stem}]({_rel(p, out)})" for p in figures.get("budget", [])
          if p.suffix == ".png"] + [""]
    L += ["## The search", ""]
    if search is None:
        L += ["No usable search history (`search_history.csv`); see the notes below.", ""]
    else:
        shown = search.copy()
        if shown["best_val_metric"].between(0, 1).all():      # accuracies: % like the tables
            shown["best_val_metric"] = [f"{100 * v:.1f} %" for v in shown["best_val_metric"]]
        L += _md_table(shown) + [""]
        L += [f"![{p.stem}]({_rel(p, out)})" for p in figures.get("search", []) if p.suffix == ".png"]
        L += ["", "Optuna's TPE starts with `n_startup_trials` random trials (10 by default): a "
              "cell with that many trials or fewer was, in effect, a random search"
              + (f" — here {int((search['trials'] <= 10).sum())} of {len(search)} cell(s) had "
                 "<= 10 trials." if len(search) else "."), ""]
    L += ["## Reconstructions and samples (best run per generative model, chosen on validation)", ""]
    for e in images:
        L += [f"### {e['title']}", ""]
        L += [f"![{k}]({_rel(e[k], out)})" for k in ("reconstructions", "samples") if k in e] + [""]
        spread = e.get("samples_measure")
        if spread is not None and spread < DEGENERATE_SPREAD:
            L += [f"**Degenerate samples:** the samples of each class barely differ (pixel std "
                  f"across a class's samples {spread:.3f} of the 0–1 range, below "
                  f"{DEGENERATE_SPREAD}): z hardly changes the decoder's output, so each row "
                  "shows one average image of its class"
                  + (" (with binary labels, a blur of all the super-class's sub-classes)"
                     if e.get("label_mode") == "binary" else "")
                  + ". The classification results stand; the samples show no variety.", ""]
        elif spread is not None:
            L += [f"Sample variety: pixel std across a class's samples {spread:.3f} (0–1 "
                  "range).", ""]
        fidelity = e.get("reconstructions_measure")
        if fidelity is not None and fidelity < COLLAPSED_FIDELITY:
            L += [f"**Collapsed latent code:** the reconstructions of 8 different test images "
                  f"vary {fidelity:.2f} times as much as the images do (MNIST and Fashion-MNIST "
                  "runs here: about 0.9): they barely follow their inputs, so z carries little "
                  "of the image (posterior collapse)"
                  + (", which is why the samples are class averages" if spread is not None
                     and spread < DEGENERATE_SPREAD else "") + ".", ""]
    if not images:
        L += ["No image files found in the checkpoints the rows point to.", ""]
    L += ["## What is missing", ""] + ([f"- {m}" for m in missing] or ["- nothing: every cell has "
                                                                        f">= {MIN_RUNS} runs"])
    L += [f"- {n}" for n in image_notes] + [""]
    if len(results.errors):
        L += ["## Failed runs (excluded from all statistics)", ""]
        L += _md_table(results.errors[["run_id", "model", "label_mode", "n_labels", "split_seed",
                                       "error", "superseded", "source"]]) + [""]
    if results.notes:
        L += ["## Notes", ""] + [f"- {n}" for n in results.notes] + [""]
    path.write_text("\n".join(L) + "\n")

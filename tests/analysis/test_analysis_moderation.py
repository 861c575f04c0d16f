"""The moderation metrics in a fresh study's report: tables, curves and ``--positive-rate``.

The study is real and tiny: supervised runs on digits (3 label draws, both label modes) trained
with ``ssvae.fit`` and collected into a runs.csv, then analysed."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from ssvae.analysis import AnalysisError, analyse
from ssvae.analysis.__main__ import main
from ssvae.config import TrainConfig
from ssvae.metrics.moderation import pr_auc
from ssvae.metrics.prior_shift import prevalence_weights, weighted_precision_recall
from ssvae.results import MODERATION_COLUMNS, collect
from ssvae.training.loop import fit


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("moderation_study")
    mp = pytest.MonkeyPatch()
    mp.setenv("SSVAE_SPLIT_DIR", str(root / "splits"))
    runs = []
    for mode in ("binary", "subclass"):
        for seed in (0, 1, 2):
            config = TrainConfig(dataset="digits", model="supervised", label_mode=mode,
                                 n_labels=50, split_seed=seed, hidden_dim=32, epochs=2,
                                 progress=False, threads=1)
            fit(config, out_dir=str(root / "runs" / f"{mode}{seed}"))
            runs.append(root / "runs" / f"{mode}{seed}")
    mp.undo()
    study = root / "study"
    collect(runs, study / "runs.csv", "moderation_test")
    out = root / "out"
    written = analyse([study], out=out, command="pytest", n_boot=20, verbose=False,
                      positive_rate=0.01)
    return study, out, written


def test_the_report_has_the_moderation_table_and_curves(study):
    table, out, written = study
    report = (out / "report.md").read_text()
    assert "## Moderation metrics (test set)" in report
    for name in ("PR-AUC", "ROC-AUC", "recall @ P90", "recall @ P95", "ECE", "acc @ 80 % cov.",
                 "acc @ 95 % cov."):
        assert f" {name} |" in report
    with open(table / "runs.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["label_mode"] == "binary"]
    pr = np.array([float(r["test_pr_auc"]) for r in rows])
    assert f"{100 * pr.mean():.1f} ± {100 * pr.std(ddof=1):.1f} (3)" in report
    for kind in ("accuracy_coverage", "reliability", "pr_curves"):
        png = out / "figures" / f"{kind}_digits_low_high.png"
        assert png.is_file() and f"(figures/{png.name})" in report
    assert all(r[c] != "" for r in rows for c in MODERATION_COLUMNS)


def test_positive_rate_reweights_each_runs_test_scores(study):
    table, out, written = study
    report = (out / "report.md").read_text()
    assert "### At a positive rate of 0.01" in report
    with open(written["positive_rate"], newline="") as handle:
        shifted = {r["label_mode"]: r for r in csv.DictReader(handle)}
    # recompute the binary cell from the runs' own test scores
    values = {"precision": [], "recall": [], "pr_auc": []}
    for seed in (0, 1, 2):
        f = np.load(table.parent / "runs" / f"binary{seed}" / "test_scores.npz")
        positive = f["sub_to_super"][f["y_sub"]] == 0
        w = prevalence_weights(positive, 0.01)
        p, r = weighted_precision_recall(f["p_super"].argmax(1) == 0, positive, w)
        values["precision"].append(p)
        values["recall"].append(r)
        values["pr_auc"].append(pr_auc(f["p_super"][:, 0], positive, w))
    for key, v in values.items():
        assert float(shifted["binary"][f"{key}_mean"]) == pytest.approx(np.mean(v))
    # at 1 % positives precision falls far below the balanced test set's
    assert float(shifted["binary"]["precision_mean"]) < 0.5 < float(shifted["binary"]["recall_mean"])


def test_an_old_table_says_which_runs_need_a_rerun(study, tmp_path):
    table, _, _ = study
    with open(table / "runs.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        keep = [c for c in reader.fieldnames
                if c not in MODERATION_COLUMNS + ("test_subclass_recall", "checkpoint")]
        rows = list(reader)
    old = tmp_path / "old"
    old.mkdir()
    with open(old / "runs.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keep, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    analyse([old], out=tmp_path / "out", command="pytest", n_boot=20, verbose=False,
            positive_rate=0.01)
    report = (tmp_path / "out" / "report.md").read_text()
    assert "trained before issue 26. Rerun the study to fill them" in report


@pytest.mark.parametrize("rate", ["0", "1", "2"])
def test_a_bad_positive_rate_is_named(study, rate, capsys):
    table, out, _ = study
    assert main([str(table), "--out", str(out / "bad"), "--positive-rate", rate]) == 2
    assert f"positive_rate={float(rate)!r} must be a positive rate strictly between 0 and 1" \
        in capsys.readouterr().err
    with pytest.raises(AnalysisError):
        analyse([table], out=out / "bad", positive_rate=float(rate), verbose=False)
    assert not (out / "bad").exists()

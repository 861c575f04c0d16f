"""The analysis on the checked-in fixture table (tests/analysis/data/runs.csv)."""
from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ssvae.analysis import AnalysisError, EmptyResultsError, analyse, load_results
from ssvae.analysis.__main__ import main
from ssvae.analysis.paired import paired_differences

DATA = Path(__file__).parent / "data"


def _std(values):
    m = sum(values) / len(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


def _cell(summary, model, mode, n):
    row = summary[(summary.model == model) & (summary.label_mode == mode) & (summary.n_labels == n)]
    assert len(row) == 1
    return row.iloc[0]


def test_summary_numbers_match_the_fixture_rows(analysed):
    out, written = analysed
    summary = pd.read_csv(written["summary"])
    # M2, sub-class labels, 100 labels: fixture rows fixture12..14
    r = _cell(summary, "m2", "subclass", 100)
    assert r.test_binary_acc_mean == pytest.approx((0.83 + 0.84 + 0.88) / 3)
    assert r.test_binary_acc_std == pytest.approx(_std([0.83, 0.84, 0.88]), rel=1e-6)
    assert r.test_binary_acc_n == 3
    assert r.test_subclass_acc_mean == pytest.approx(0.62)
    assert r.val_binary_acc_mean == pytest.approx((0.82 + 0.85 + 0.87) / 3)
    # M2 binary at 1000 labels: the failed row (seed 3, error set) is excluded
    r = _cell(summary, "m2", "binary", 1000)
    assert r.test_binary_acc_n == 3 and r.n_runs == 3
    assert r.test_binary_acc_mean == pytest.approx(0.91)
    # GMVAE binary: two runs
    r = _cell(summary, "gmvae", "binary", 100)
    assert r.test_binary_acc_mean == pytest.approx(0.79)
    assert r.test_binary_acc_std == pytest.approx(_std([0.78, 0.80]), rel=1e-6)


def test_summary_writes_empty_not_nan(analysed):
    _, written = analysed
    text = written["summary"].read_text()
    assert "nan" not in text.lower()
    raw = pd.read_csv(written["summary"], dtype=str, keep_default_na=False)
    binary = raw[(raw.label_mode == "binary")]
    assert (binary.test_subclass_acc_mean == "").all()   # does not apply
    assert (binary.test_subclass_acc_n == "0").all()


def test_files_produced(analysed):
    out, written = analysed
    assert {p.suffix for p in written["figures"]} == {".png", ".svg"}
    names = {p.name for p in written["figures"]}
    for stem in ("accuracy_vs_labels_fashion_mnist_mixed_test_binary_acc",
                 "accuracy_vs_labels_fashion_mnist_mixed_test_subclass_acc",
                 "paired_subclass_minus_binary_fashion_mnist_mixed", "search_history"):
        assert f"{stem}.png" in names and f"{stem}.svg" in names
    for p in written["figures"]:
        assert p.is_file() and p.stat().st_size > 1000
    for key in ("summary", "report", "paired", "budget"):
        assert written[key].is_file()
    report = written["report"].read_text()
    assert "pytest analyse" in report                       # the command
    assert "0000000fixture" in report and "torch: 0.0-fixture" in report
    assert "CUDA out of memory" in report                   # failed row listed
    assert "fixture18" in report
    assert "82.0 ± 2.0 (3)" in report                       # m2 binary 100, in %
    assert "n = 2 < 3 runs" in report                       # gmvae cells flagged
    assert "never used for search" in report
    for p in written["figures"]:
        if p.suffix == ".png":
            assert f"figures/{p.name}" in report


def test_images_copied_from_the_best_checkpoint(analysed):
    out, written = analysed
    # best m2 sub-class run on validation: fixture20 (val 0.94); its folder has the images
    names = sorted(p.name for p in written["images"])
    assert names == ["fashion_mnist_mixed_m2_subclass_reconstructions.png",
                     "fashion_mnist_mixed_m2_subclass_samples.png"]
    report = written["report"].read_text()
    assert "images/fashion_mnist_mixed_m2_subclass_samples.png" in report
    assert "ckpt/gmvae_binary_100_s1 not found" in report   # absent checkpoints are said


def test_paired_uses_only_matching_runs():
    results = load_results([DATA])
    pairs, summary, unmatched = paired_differences(results.runs)
    m2_1000 = pairs[(pairs.model == "m2") & (pairs.n_labels == 1000)]
    # seed 1 has another split_hash, seed 2 has no sub-class run: only seed 0 pairs
    assert m2_1000.split_seed.tolist() == [0]
    assert m2_1000["diff"].iloc[0] == pytest.approx(0.93 - 0.90)
    gm = pairs[pairs.model == "gmvae"]
    assert gm.split_seed.tolist() == [1]                      # binary {0,1} x subclass {1,2}
    assert gm["diff"].iloc[0] == pytest.approx(0.81 - 0.80)
    # unmatched: m2@1000 seeds 1, 2 (binary) + OTHERHASH (subclass); gmvae 2; supervised@1000 3
    assert unmatched == 8
    row = summary[(summary.model == "m2") & (summary.n_labels == 100)].iloc[0]
    diffs = np.array([0.83 - 0.80, 0.84 - 0.82, 0.88 - 0.84])
    half = 4.302652729911275 * diffs.std(ddof=1) / math.sqrt(3)     # t(0.975, 2)
    assert row.n_pairs == 3
    assert row.mean_diff == pytest.approx(diffs.mean())
    assert (row.ci95_low, row.ci95_high) == pytest.approx((diffs.mean() - half, diffs.mean() + half))
    one = summary[(summary.model == "m2") & (summary.n_labels == 1000)].iloc[0]
    assert one.n_pairs == 1 and math.isnan(one.ci95_low)       # n < 2: no CI


def test_duplicates_across_two_folders(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    shutil.copy(DATA / "runs.csv", a / "runs.csv")
    table = pd.read_csv(DATA / "runs.csv", dtype=str, keep_default_na=False)
    dup = table.iloc[[0, 1]].copy()
    dup.loc[dup.index[0], "device"] = "cuda:0"               # runtime difference only: identical
    dup.loc[dup.index[0], "ablation"] = "another_study"      # the same run reused by a study
    dup.loc[dup.index[1], "test_binary_acc"] = "0.99"        # a conflicting result
    extra = table.iloc[[0]].copy()
    extra["run_id"] = "new_run"
    pd.concat([dup, extra]).to_csv(b / "runs.csv", index=False)
    results = load_results([a, b])
    assert results.runs.run_id.is_unique
    assert len(results.runs) == 24 + 1
    assert any("fixture00" in n and "identical" in n and "another_study" in n
               for n in results.notes)
    assert not any("fixture00" in w for w in results.warnings)
    assert any("CONFLICT" in w and "fixture01" in w and "test_binary_acc" in w
               for w in results.warnings)
    kept = results.runs.set_index("run_id").loc["fixture01", "test_binary_acc"]
    assert kept == pytest.approx(0.72)                       # the first folder's row
    written = analyse([a, b], out=tmp_path / "out", n_boot=10, command="x")
    assert "CONFLICT" in written["report"].read_text()
    assert "CONFLICT" in capsys.readouterr().err
    assert "no search history" in written["report"].read_text()   # absent history: a note


@pytest.mark.parametrize("drop", [["n_labels"], ["test_binary_acc", "split_hash"]])
def test_missing_columns_are_named(results_dir, drop):
    table = pd.read_csv(results_dir / "runs.csv", dtype=str, keep_default_na=False)
    table.drop(columns=drop).to_csv(results_dir / "runs.csv", index=False)
    with pytest.raises(AnalysisError) as err:
        load_results([results_dir])
    for col in drop:
        assert col in str(err.value)
    assert "Required:" in str(err.value)


@pytest.mark.parametrize("col, value, why", [
    ("test_binary_acc", "93.5", "fraction in [0, 1]"),
    ("test_binary_acc", "abc", "number or empty"),
    ("n_labels", "ten", "non-negative integer"),
    ("label_mode", "sub", "binary, subclass"),
])
def test_malformed_columns_are_named(results_dir, col, value, why):
    table = pd.read_csv(results_dir / "runs.csv", dtype=str, keep_default_na=False)
    table.loc[3, col] = value
    table.to_csv(results_dir / "runs.csv", index=False)
    with pytest.raises(AnalysisError) as err:
        load_results([results_dir])
    msg = str(err.value)
    assert col in msg and why in msg and "line 5" in msg and repr(value) in msg


def test_empty_table_gives_a_message_and_no_plot(results_dir, tmp_path):
    header = (results_dir / "runs.csv").read_text().splitlines()[0]
    (results_dir / "runs.csv").write_text(header + "\n")
    out = tmp_path / "out"
    with pytest.raises(EmptyResultsError, match="no runs; nothing to analyse"):
        analyse([results_dir], out=out)
    assert not out.exists()
    (results_dir / "runs.csv").write_text("")
    with pytest.raises(EmptyResultsError, match="empty"):
        analyse([results_dir], out=out)


def test_only_failed_rows_is_empty(results_dir):
    table = pd.read_csv(results_dir / "runs.csv", dtype=str, keep_default_na=False)
    table[table.error != ""].to_csv(results_dir / "runs.csv", index=False)
    with pytest.raises(EmptyResultsError, match="no run finished without error"):
        load_results([results_dir])


def test_malformed_history_is_a_warning_not_a_crash(results_dir):
    (results_dir / "search_history.csv").write_text("cell,foo\nx,1\n")
    results = load_results([results_dir])
    assert results.history is None
    assert any("trial_id" in w and "val_metric" in w for w in results.warnings)


def test_cli_end_to_end(results_dir, tmp_path, capsys):
    out = tmp_path / "cli_out"
    assert main([str(results_dir), "--out", str(out), "--target", "0.95", "--bootstrap", "20"]) == 0
    printed = capsys.readouterr().out
    assert "EXTRAPOLATION" in printed and "cannot be fitted" in printed
    assert (out / "report.md").is_file() and (out / "summary.csv").is_file()
    assert f"--out {out}" in (out / "report.md").read_text()
    # default --out: the first results folder
    assert main([str(results_dir), "--bootstrap", "5"]) == 0
    assert (results_dir / "report.md").is_file()
    # errors: a clear message and exit status 2
    assert main([str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main([str(results_dir), "--target", "95"]) == 2


def test_checkpoint_found_in_study_layout_and_run_id_checked(results_dir, tmp_path):
    from ssvae.analysis.samples import collect_images
    from analysis_helpers import write_checkpoint

    # the row's own path does not exist here: <table folder>/runs/<run_id> is used instead
    write_checkpoint(results_dir / "runs" / "fixture20", "fixture20")
    # the gmvae best run's folder holds another run's metrics.json: its images are refused
    write_checkpoint(results_dir / "ckpt" / "gmvae_subclass_100_s2", "someone_else")
    entries, notes = collect_images(load_results([results_dir]).runs, tmp_path / "img")
    assert [e["title"].split(" run ")[1] for e in entries] == ["fixture20)"]
    assert any("belongs to run someone_else" in n for n in notes)


def test_search_summary_counts_asha_stops():
    from ssvae.analysis.search_plots import search_summary

    history = load_results([DATA]).history
    table = search_summary(history).set_index("cell")
    assert table.loc["m2/binary/100", "trials"] == 3
    assert table.loc["m2/binary/100", "asha_stopped"] == 1
    assert table.loc["m2/binary/100", "best_trial"] == "t2"
    assert table.loc["m2/subclass/100", "best_val_metric"] == pytest.approx(0.84)


def test_failed_then_retried_run_is_superseded_not_duplicated(results_dir):
    table = pd.read_csv(results_dir / "runs.csv", dtype=str, keep_default_na=False)
    failed = table.iloc[[0]].copy()
    failed["error"] = "killed"
    pd.concat([failed, table]).to_csv(results_dir / "runs.csv", index=False)
    results = load_results([results_dir])
    assert len(results.runs) == 24 and not results.warnings
    row = results.errors.set_index("run_id").loc["fixture00"]
    assert row["superseded"].startswith("yes")


def test_report_names_wall_clock_bounds(results_dir, tmp_path):
    """The report never claims convergence: runs with max_stage_s are counted and named."""
    import json
    table = pd.read_csv(results_dir / "runs.csv")
    report = tmp_path / "plain" / "report.md"
    assert main([str(results_dir), "--out", str(report.parent), "--bootstrap", "5"]) == 0
    text = report.read_text()
    assert "until early stopping on validation or a bound (patience 10" in text
    assert "to convergence" not in text and "max_stage_s" not in text
    configs = [json.loads(c) for c in table["config_json"]]
    for c in configs[:3]:
        c["max_stage_s"] = 480.0
    table["config_json"] = [json.dumps(c) for c in configs]
    table.to_csv(results_dir / "runs.csv", index=False)
    bounded = tmp_path / "bounded" / "report.md"
    assert main([str(results_dir), "--out", str(bounded.parent), "--bootstrap", "5"]) == 0
    finished = int(table["error"].isna().sum())               # the report reads finished runs
    assert f"(`max_stage_s`: 480 s) on 3 of {finished} runs" in bounded.read_text()

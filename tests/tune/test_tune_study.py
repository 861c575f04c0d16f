"""The quickstart with --smoke end to end through real Ray Tune (the session's Ray): results
table, best configurations, search history, the spec copy; test metrics never reach Tune;
trial threads equal the trial's CPUs; a re-run is served from the results table."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ssvae.results import RESULT_COLUMNS
from tune.cells import expand_cells
from tune.cell_search import HISTORY_COLUMNS
from tune.search import main
from tune.spec import load_spec

pytestmark = pytest.mark.ray


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def smoke_study(ray_session, tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    rc = main(["quickstart", "--smoke", "--results-dir", str(results), "--max-concurrent", "2"])
    return rc, results / "quickstart-smoke"


def test_smoke_study_finishes(smoke_study):
    rc, study = smoke_study
    assert rc == 0
    for name in ("runs.csv", "best_configs.json", "search_history.csv", "spec.yaml"):
        assert (study / name).is_file(), name


def test_runs_table(smoke_study):
    _, study = smoke_study
    spec = load_spec("quickstart").smoked()
    cells = expand_cells(spec)
    with open(study / "runs.csv", newline="") as handle:
        assert tuple(csv.DictReader(handle).fieldnames) == RESULT_COLUMNS
    rows = read_csv(study / "runs.csv")
    assert len(rows) == len(cells) * len(spec.evaluation.split_seeds)
    assert len({r["run_id"] for r in rows}) == len(rows)
    for row in rows:
        assert row["error"] == "", row["error"]
        assert row["ablation"] == "quickstart-smoke" and row["dataset"] == "digits"
        assert row["node_id"], "node_id = the Ray node that ran it"
        assert 0.0 <= float(row["test_binary_acc"]) <= 1.0
        assert Path(row["checkpoint"]).is_dir()
        if row["label_mode"] == "binary":
            assert row["test_subclass_acc"] == ""          # empty where it does not apply
    assert {r["label_mode"] for r in rows} == {"binary", "subclass"}
    assert {(r["model"], r["n_labels"]) for r in rows} >= {("m2", "50"), ("supervised", "200")}


def test_best_configs(smoke_study):
    _, study = smoke_study
    best = json.loads((study / "best_configs.json").read_text())
    cells = expand_cells(load_spec("quickstart").smoked())
    assert set(best) == {c.name for c in cells}
    for cell in cells:
        entry = best[cell.name]
        assert entry["params"] is not None and entry["search_cell"] == cell.search_cell
        assert "random search" in entry["sampler"]        # 2 trials <= n_startup_trials
        assert json.loads(entry["config_json"])["n_labels"] == cell.config.n_labels
    assert best["m2-binary-n50"]["params"] == best["m2-binary-n200"]["params"]   # reused


def test_search_history(smoke_study):
    _, study = smoke_study
    with open(study / "search_history.csv", newline="") as handle:
        assert tuple(csv.DictReader(handle).fieldnames) == HISTORY_COLUMNS
    rows = read_csv(study / "search_history.csv")
    assert {r["cell"] for r in rows} == {"supervised-binary-n200", "supervised-subclass-n200",
                                         "m2-binary-n200", "m2-subclass-n200"}
    assert all(r["metric"] == "val_binary_acc" and r["status"] == "TERMINATED" for r in rows)
    assert all(r["stopped_early"] in ("True", "False") for r in rows)
    per_trial: dict[str, list[int]] = {}
    for r in rows:
        per_trial.setdefault(r["trial_id"], []).append(int(r["epoch"]))
        assert json.loads(r["params_json"]) and 0 <= float(r["val_metric"]) <= 1
    assert len(per_trial) == 4 * 2
    assert all(e == sorted(set(e)) for e in per_trial.values())


def test_tune_never_saw_a_test_metric_and_threads_match(smoke_study):
    _, study = smoke_study
    results = list((study / "ray").glob("*/*/result.json"))
    assert results, "Tune's per-trial results"
    for path in results:
        for line in path.read_text().splitlines():
            result = json.loads(line)
            leaked = [k for k in result if k.startswith("test")]
            assert not leaked, f"test metrics reached Tune: {leaked}"
            assert result["torch_threads"] == 1 and str(result["omp_threads"]) == "1"


def test_rerun_is_served_from_the_results_table(smoke_study, capsys):
    _, study = smoke_study
    before = read_csv(study / "runs.csv")
    rc = main(["quickstart", "--smoke", "--results-dir", str(study.parent)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "search already finished, skipped" in out
    assert f"0 final runs now, {len(before)} already there" in out
    assert read_csv(study / "runs.csv") == before


def test_rows_this_spec_no_longer_makes_are_set_aside_not_averaged(smoke_study, capsys):
    """A row of an older spec or model version (another run_id) leaves runs.csv for
    superseded_runs.csv when the study runs again; nothing is deleted."""
    _, study = smoke_study
    before = read_csv(study / "runs.csv")
    stale = {**before[0], "run_id": "0123456789abcdef", "test_binary_acc": "0.5"}
    with open(study / "runs.csv", "a", newline="") as handle:
        csv.DictWriter(handle, fieldnames=RESULT_COLUMNS).writerow(stale)
    rc = main(["quickstart", "--smoke", "--results-dir", str(study.parent)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "1 row(s) of runs.csv are not runs of this spec" in out
    assert read_csv(study / "runs.csv") == before
    assert read_csv(study / "superseded_runs.csv") == [stale]


def test_a_finished_study_is_checked_against_its_reference(smoke_study, capsys, tmp_path):
    """The reproducibility check after a study: a reference with one changed metric is named,
    the command still succeeds, and the 'done' line stays the last line."""
    _, study = smoke_study
    rows = read_csv(study / "runs.csv")
    changed = {**rows[0], "test_binary_acc": "0.125"}
    reference = tmp_path / "runs.csv"
    with open(reference, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=RESULT_COLUMNS)
        writer.writeheader()
        writer.writerows([changed] + rows[1:])
    rc = main(["quickstart", "--smoke", "--results-dir", str(study.parent),
               "--reference", str(reference)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert rc == 0
    text = "\n".join(lines)
    assert f"DIFFER: {len(rows) - 1} of {len(rows)} shared runs have the same results" in text
    assert f"{rows[0]['run_id']} (" in text and "0.125 in the reference" in text
    assert lines[-1].startswith(f"[tune] study 'quickstart-smoke' done: 0 final runs now, "
                                f"{len(rows)} already there")

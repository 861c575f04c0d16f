"""Faults: a spec that the data cannot satisfy fails before Ray starts; a run that fails at run
time is isolated and recorded while the study completes, and the study exits non-zero with a
summary. (Interruptions: test_tune_interruptions.py.)"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

import tune.runner
from tune.search import main


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("change, named", [
    ({"grid": {"model": ["supervised"], "hierarchy": ["low_high", "no_such_hierarchy"]}},
     "no_such_hierarchy"),
    ({"grid": {"model": ["supervised"], "n_labels": [50, 5000]}}, "n_labels=5000"),
    ({"grid": {"model": ["supervised"], "n_labels": [55, 200]}}, "nearest valid: 50 or 60"),
])
def test_what_the_data_cannot_satisfy_fails_before_ray(tmp_path, monkeypatch, capsys, change,
                                                        named):
    def no_ray(*args, **kwargs):
        raise AssertionError("Ray must not start when the data cannot satisfy the spec")

    monkeypatch.setattr(tune.runner, "ensure_ray", no_ray)
    spec = {"name": "bad", "data": {"dataset": "digits"},
            "fixed": {"epochs": 1, "label_mode": "binary"},
            "evaluation": {"split_seeds": [0]}, **change}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    for extra in ([], ["--dry-run"]):
        assert main([str(path), "--results-dir", str(tmp_path / "results"), *extra]) == 2
        err = capsys.readouterr().err
        assert named in err and "cannot run as specified" in err


@pytest.mark.ray
def test_failing_runs_are_isolated_recorded_and_make_the_study_fail(ray_session, tmp_path, capsys,
                                                                    monkeypatch):
    # VGG16 without ImageNet weights fails at run time (the weights may exist on the workers
    # only, so it is not a preflight check): its search fails, and so do its final runs.
    spec = {
        "name": "failing", "data": {"dataset": "digits"},
        "grid": {"model": ["supervised", "vgg16"]},
        "fixed": {"epochs": 2, "patience": 2, "hidden_dim": 16, "latent_dim": 4, "n_labels": 50,
                  "label_mode": "binary"},
        "search_space": {"supervised": {"lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}},
                         "vgg16": {"lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}}},
        "search": {"trials": 1, "max_failures": 0},
        "evaluation": {"split_seeds": [0], "max_failures": 0},
    }
    path = tmp_path / "failing.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    assert main([str(path), "--results-dir", str(tmp_path / "results")]) == 1
    study = tmp_path / "results" / "failing"
    best = json.loads((study / "best_configs.json").read_text())
    assert best["supervised"]["params"] is not None
    bad = best["vgg16"]
    assert bad["params"] is None and "VGG16" in bad["error"] and bad["n_errors"] == 1
    history = read_csv(study / "search_history.csv")
    errored = [r for r in history if r["status"] == "ERROR"]
    assert errored and all("VGG16" in r["error"] for r in errored)
    assert {r["status"] for r in history if r["cell"] == "supervised"} == {"TERMINATED"}
    rows = {r["model"]: r for r in read_csv(study / "runs.csv")}
    assert rows["supervised"]["error"] == "" and rows["supervised"]["test_binary_acc"]
    assert rows["vgg16"]["error"].startswith("search failed")
    captured = capsys.readouterr()
    assert "1 final runs now, 0 already there, 1 failed" in captured.out
    assert "1 final run(s) failed:" in captured.err and "vgg16 split_seed=0" in captured.err

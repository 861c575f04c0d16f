"""Bad states of a study are refused before anything is written or started, with a plain
message: a second live driver, a --storage folder of another study, a results table written by
a newer ssvae (tune/study_state.py)."""
from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from ssvae.results import RESULT_COLUMNS
from tune import ray_session
from tune.search import main
from tune.study_paths import study_paths
from tune.study_state import STORAGE_MARK, check_storage
from tune.spec import load_spec


@pytest.fixture
def no_ray(monkeypatch):
    import tune.runner

    def refuse(*args, **kwargs):
        raise AssertionError("a refused study must not start Ray")

    monkeypatch.setattr(tune.runner, "ensure_ray", refuse)


def run(tmp_path, *extra: str) -> int:
    return main(["quickstart", "--smoke", "--results-dir", str(tmp_path / "results"), *extra])


def test_a_second_live_driver_is_refused(tmp_path, capsys, no_ray):
    paths = study_paths(load_spec("quickstart").smoked(), tmp_path / "results", None)
    # a live process that looks like a study's driver (its command line names `search`)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "search"])
    try:
        paths.study_dir.mkdir(parents=True)
        (paths.study_dir / ray_session.RECORD).write_text(
            json.dumps({"driver_pid": other.pid, "session_dir": None}))
        assert run(tmp_path) == 2
        err = capsys.readouterr().err
        assert f"another driver (PID {other.pid}) is running this study" in err
        assert not (paths.study_dir / "command.txt").exists()       # nothing written
    finally:
        other.kill()
        other.wait()


def test_a_storage_of_another_study_is_refused(tmp_path, capsys, no_ray):
    shared = tmp_path / "ray-storage"
    first = study_paths(load_spec("quickstart"), tmp_path / "results", str(shared))
    check_storage(first, claim=True)
    assert json.loads((shared / STORAGE_MARK).read_text())["study_dir"] == str(first.study_dir)
    check_storage(first, claim=True)                  # its own study: fine, again and again
    assert run(tmp_path, "--storage", str(shared), "--dry-run") == 2
    err = capsys.readouterr().err
    assert f"the storage {shared} belongs to the study in {first.study_dir}" in err
    assert "Give this study its own --storage" in err


def test_a_results_table_of_a_newer_ssvae_is_refused(tmp_path, capsys, no_ray):
    paths = study_paths(load_spec("quickstart").smoked(), tmp_path / "results", None)
    paths.study_dir.mkdir(parents=True)
    with open(paths.runs_csv, "w", newline="") as handle:
        csv.writer(handle).writerow([*RESULT_COLUMNS, "test_future_metric"])
    for extra in ([], ["--dry-run"]):
        assert run(tmp_path, *extra) == 2
        err = capsys.readouterr().err
        assert "has columns this ssvae" in err and "test_future_metric" in err
        assert "A newer ssvae wrote it" in err

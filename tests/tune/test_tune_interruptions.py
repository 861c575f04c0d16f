"""Interrupted studies give the same answer (issue 21): a study killed at chosen points (through
``tune.faults`` hooks, so each kill lands inside the phase it targets) and re-run with the same
command ends with the same runs.csv, best_configs.json and search_history.csv as an
uninterrupted study; two uninterrupted studies with 2 concurrent trials, one trial slowed down,
give the same answer too."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.tune.conftest import STARTED, kill_group, search_env, start_search
from tune.soak import study_answer

pytestmark = pytest.mark.ray

SPEC = {
    "name": "interrupt", "data": {"dataset": "digits"},
    "grid": {"model": ["supervised"], "label_mode": ["binary"], "n_labels": [50]},
    "fixed": {"epochs": 6, "patience": 6, "hidden_dim": 32, "latent_dim": 8},
    "search_space": {"supervised": {"lr": {"type": "float", "low": 1e-4, "high": 3e-2,
                                           "log": True}}},
    "search": {"trials": 6, "max_concurrent": 2, "seed": 0},
    "asha": {"grace_period": 1, "reduction_factor": 2},     # rungs at 1, 2 and 4 epochs
    "evaluation": {"split_seeds": [0, 1]},
    "resources": {"cpus_per_trial": 1, "gpus_per_trial": 0},
}
PHASE_S = 600        # upper bounds on a phase under CI load, not timings


class Study:
    """`python tune/search.py SPEC --results-dir R` as a driver process (own process group)."""

    def __init__(self, tmp: Path, name: str, address: str | None, spec: dict = SPEC) -> None:
        self.spec = tmp / f"{name}.yaml"
        self.spec.write_text(yaml.safe_dump({**spec, "name": name}, sort_keys=False))
        self.results, self.log, self.address = tmp / "results", tmp / f"{name}.log", address
        self.dir = self.results / name
        self.proc: subprocess.Popen | None = None

    def start(self, fault: str | None = None, fault_dir: Path | None = None,
              extra_env: dict | None = None) -> subprocess.Popen:
        env = search_env(self.address)
        env.pop("SSVAE_FAULT", None)
        if self.address is None:
            env.pop("RAY_ADDRESS", None)              # the driver starts its own Ray
        if fault:
            env.update(SSVAE_FAULT=fault, SSVAE_FAULT_DIR=str(fault_dir))
        env.update(extra_env or {})
        self.proc = start_search([str(self.spec), "--results-dir", str(self.results)],
                                 self.address, self.log, env=env)
        STARTED.append(self.proc)
        return self.proc

    def run(self) -> int:
        self.start()
        return self.proc.wait(timeout=PHASE_S)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _wait_for(path: Path, proc: subprocess.Popen, what: str) -> None:
    deadline = time.time() + PHASE_S
    while time.time() < deadline:
        if path.exists():
            return
        if proc.poll() is not None:
            pytest.fail(f"the driver exited ({proc.returncode}) before {what}")
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def reference(ray_session, tmp_path_factory) -> dict:
    """The uninterrupted study's answer."""
    study = Study(tmp_path_factory.mktemp("reference"), "interrupt", ray_session)
    assert study.run() == 0, study.output()[-3000:]
    return study_answer(study.dir)


@pytest.mark.parametrize("fault, sig, phase", [
    ("report:4", signal.SIGKILL, "search: between a trial's checkpoint and its report"),
    ("report:9", signal.SIGINT, "search, Ctrl+C"),
    ("final_run:1", signal.SIGTERM, "final runs, SIGTERM"),
    ("analysis:1", signal.SIGKILL, "analysis"),
])
def test_interrupted_study_gives_the_same_answer(reference, ray_session, tmp_path, fault, sig,
                                                 phase):
    study = Study(tmp_path, "interrupt", ray_session)
    proc = study.start(fault, tmp_path / "faults")
    point, _, n = fault.partition(":")
    marker = tmp_path / "faults" / f"{point}-{n}.reached"
    _wait_for(marker, proc, f"the fault point {fault} ({phase})")
    # The kill lands inside the phase: the process that reached the point is holding still.
    if sig == signal.SIGKILL:
        kill_group(proc, signal.SIGKILL)
    else:
        os.kill(proc.pid, sig)              # the driver only, as a terminal or Slurm would
    code = proc.wait(timeout=PHASE_S)
    if sig != signal.SIGKILL:
        assert code == 130, study.output()[-3000:]
        assert "resume with exactly the same command" in study.output()
        assert f"{'SIGTERM' if sig == signal.SIGTERM else 'Ctrl+C'}" in study.output()
    if point == "report":
        assert not (study.dir / "best_configs.json").exists() or fault != "report:4"
    if point == "analysis":
        assert (study.dir / "runs.csv").exists()
    # The same command again finishes the study, with the same answer.
    assert study.run() == 0, study.output()[-3000:]
    assert study_answer(study.dir) == reference
    if point == "report":
        # It recomputed something: the search was restored, not skipped.
        assert "restoring the unfinished search" in study.output()
    if point == "final_run":
        assert "final evaluation: " in study.output().split("resume with")[-1]


def test_concurrent_trials_under_load_give_the_same_answer(reference, ray_session, tmp_path):
    """With 2 trials at once, the order in which they reach a rung or finish does not change
    the answer: here every report of the first trial is delayed (SSVAE_SLOW_TRIAL), so the
    second one arrives first at every rung."""
    study = Study(tmp_path, "interrupt", ray_session)
    study.start(extra_env={"SSVAE_SLOW_TRIAL": "0:1.5"})
    assert study.proc.wait(timeout=PHASE_S) == 0, study.output()[-3000:]
    assert study_answer(study.dir) == reference


def test_kill_of_a_driver_with_its_own_ray_leaves_nothing_behind(reference, tmp_path):
    """A driver that started Ray itself is killed alone (kill -9). Ray's head processes share
    its fate, but agents and workers may live on: after the same command has finished the study
    (with the same answer), no process of the killed driver's Ray session is left, and a process
    that is not the study's is untouched."""
    from tune import ray_session

    study = Study(tmp_path, "interrupt", None)          # no RAY_ADDRESS: its own Ray
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                                 start_new_session=True)
    try:
        proc = study.start("report:3", tmp_path / "faults")
        _wait_for(tmp_path / "faults" / "report-3.reached", proc, "the third report")
        session = json.loads((study.dir / ray_session.RECORD).read_text())["session_dir"]
        before = {p: ray_session._cmdline(p) for p in ray_session.session_processes(session)}
        assert before, "the driver's Ray session has processes"
        os.kill(proc.pid, signal.SIGKILL)               # the driver alone
        proc.wait(timeout=60)
        assert study.run() == 0, study.output()[-3000:]
        alive = [p for p, cmd in before.items() if ray_session._cmdline(p) == cmd and cmd]
        assert not alive, f"processes of the killed driver's Ray still run: {alive}"
        assert not ray_session.session_processes(session)
        assert bystander.poll() is None                 # not ours: untouched
        assert study_answer(study.dir) == reference
    finally:
        bystander.kill()

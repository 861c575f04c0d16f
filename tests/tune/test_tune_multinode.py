"""Multi-node studies (issue 23) on a real Ray cluster started on this machine: a head node and
two worker nodes (``ray start``, 1 CPU each, token authentication, ``tests/tune/loopback_cluster``)
and a real S3 server (moto, ``tests/tune/s3_server``). The driver is a subprocess that joins the
cluster through ``RAY_ADDRESS``, running a one-cell study with ``--smoke`` (so the spec allows
no failure at all: ``max_failures`` 0 for trials and final runs).

- undisturbed, the runs come from several nodes (``runs.csv``'s ``node_id``);
- worker loss: a worker node dies while it trains a search trial (after an epoch), another while
  it trains a final run; a second driver started on the same study is refused. The study exits
  0 with every run present, none lost, and the undisturbed study's answer;
- head loss: with ``--storage s3://...``, the whole cluster and the driver are killed in the
  search; the same command on a new cluster with the same storage gives the same answer.

``pytest -k multinode`` selects these tests; the observations (which trial and run were lost,
recovery times) are printed (``-s`` shows them).
"""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.tune.conftest import REPO, STARTED, kill_group, start_search
from tests.tune.loopback_cluster import LoopbackCluster, free_port, kill_tree, process_tree
from tests.tune.s3_server import S3Server
from tune import ray_session
from tune.soak import study_answer

pytestmark = pytest.mark.ray

SPEC = {
    "name": "multinode", "data": {"dataset": "digits"},
    "grid": {"model": ["supervised"], "label_mode": ["binary"], "n_labels": [50]},
    "fixed": {"epochs": 4, "patience": 4, "hidden_dim": 32, "latent_dim": 8},
    "search_space": {"supervised": {"lr": {"type": "float", "low": 1e-4, "high": 3e-2,
                                           "log": True}}},
    "search": {"trials": 3, "seed": 0, "max_failures": 2},
    "asha": {"grace_period": 1, "reduction_factor": 2},
    "evaluation": {"split_seeds": [0, 1, 2], "max_failures": 2},
    "resources": {"cpus_per_trial": 1, "gpus_per_trial": 0},
    # --smoke: the same cell with no failure allowed (max_failures 0 for trials and runs).
    "smoke": {"fixed": {"epochs": 3, "patience": 3}, "search": {"trials": 3},
              "evaluation": {"split_seeds": [0, 1, 2]}},
}
STUDY = "multinode-smoke"
SLOW = {"SSVAE_SLOW_TRIAL": "*:2"}
BUCKET = "ssvae-test"
PHASE_S = 300            # upper bounds on a phase under CI load, not timings


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    server = S3Server(free_port(), tmp_path_factory.mktemp("s3") / "moto.log").start()
    server.make_bucket(BUCKET)
    yield server
    server.stop()


class Clusters:
    """The module's cluster: ``get()`` gives it with every node alive (lost workers are replaced
    by new ones; after the head is lost, a new cluster is started)."""

    def __init__(self, extra_env: dict[str, str]) -> None:
        self.extra_env, self.current = extra_env, None

    def get(self) -> LoopbackCluster:
        if self.current is not None and not self.current.node("head").alive():
            self.current.stop()
            self.current = None
        if self.current is None:
            self.current = LoopbackCluster(extra_env=self.extra_env).start()
        else:
            self.current.revive()
        return self.current

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()


@pytest.fixture(scope="module")
def clusters(s3):
    """One loopback cluster shared by the module's tests; every node can reach the S3 server."""
    pytest.importorskip("ray")
    holder = Clusters(s3.env)
    yield holder
    holder.stop()


class Study:
    """``python tune/search.py SPEC --smoke --results-dir R [--storage S]`` joining a cluster."""

    def __init__(self, tmp: Path, storage: str | None = None) -> None:
        self.spec = tmp / "multinode.yaml"
        self.spec.write_text(yaml.safe_dump(SPEC, sort_keys=False))
        self.results, self.dir = tmp / "results", tmp / "results" / STUDY
        self.args = [str(self.spec), "--smoke", "--results-dir", str(self.results)]
        if storage:
            self.args += ["--storage", storage]
        self.tmp, self.logs = tmp, 0

    def start(self, cluster: LoopbackCluster, extra_env: dict | None = None) -> subprocess.Popen:
        self.logs += 1
        self.log = self.tmp / f"driver{self.logs}.log"
        proc = start_search(self.args, None, self.log, env={**cluster.env, **(extra_env or {})})
        STARTED.append(proc)
        return proc

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def rows(self) -> list[dict[str, str]]:
        if not (self.dir / "runs.csv").exists():
            return []
        with open(self.dir / "runs.csv", newline="") as handle:
            return list(csv.DictReader(handle))


def _wait_until(check, proc: subprocess.Popen, what: str, log: Path, seen: list | None = None):
    """Poll ``check()`` until it returns something truthy; fail if the driver exits first
    (``seen``: what the check saw, for the message)."""
    deadline = time.time() + PHASE_S
    while time.time() < deadline:
        found = check()
        if found:
            return found
        if proc.poll() is not None:
            pytest.fail(f"the driver exited ({proc.returncode}) before {what}; seen: {seen}\n"
                        f"{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def _open_files(pid: int) -> list[str]:
    """The files ``pid`` holds open (a descriptor closed meanwhile is left out)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []
    out = []
    for fd in fds:
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return out


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def node_of(cluster: LoopbackCluster, pid: int):
    """The live node whose ``ray start`` process ``pid`` descends from, else None."""
    roots = {n.proc.pid: n for n in cluster.nodes if n.alive()}
    while pid is not None and pid > 1:
        if pid in roots:
            return roots[pid]
        pid = _parent(pid)
    return None


def lock_holders(study_dir: Path) -> list[tuple[int, Path]]:
    """(PID, trial folder) of every process that holds a search trial's lock (trains it)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            for path in _open_files(int(entry)):
                if path.endswith(".lock") and path.startswith(str(study_dir)):
                    out.append((int(entry), Path(path[:-len(".lock")])))
    return out


SEEN: list[str] = []      # what the search's lock holders looked like (for a failure message)


def trial_on_a_worker(cluster: LoopbackCluster, study_dir: Path):
    """(node, trial folder) of a worker node that trains a trial which has saved an epoch and
    not finished, else None."""
    for pid, trial in lock_holders(study_dir):
        node = node_of(cluster, pid)
        epoch = (trial / "last" / "state.pt").exists() and not (trial / "metrics.json").exists()
        seen = f"{trial.name} on {node.name if node else '?'} (PID {pid}), saved epoch: {epoch}"
        if not SEEN or SEEN[-1] != seen:
            SEEN.append(seen)
        if node is not None and node.name != "head" and epoch:
            return node, trial
    return None


def holder_of(cluster: LoopbackCluster, trial: Path):
    """The live node whose process holds ``trial``'s lock (trains it), else None."""
    for pid, held in lock_holders(trial.parents[3]):
        if held == trial:
            return node_of(cluster, pid)
    return None


def tune_failures(study_dir: Path) -> dict[str, tuple[str, int]]:
    """Per search trial (its fit() folder name): its status and how often Tune saw it fail, from
    Tune's last experiment snapshot."""
    out = {}
    for state in study_dir.glob("ray/*/experiment_state-*.json"):
        for trial_json, run_json in json.loads(state.read_text())["trial_data"]:
            trial, run = json.loads(trial_json), json.loads(run_json)
            out[run["last_result"]["run_dir"]] = (trial["status"], run["num_failures"])
    return out


def final_run_on(node) -> int | None:
    """The PID of a process of ``node`` that runs a final run (Ray names it after the task)."""
    for pid in process_tree(node.proc.pid):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"ray::evaluate_run"):
                return pid
        except OSError:
            continue
    return None


@pytest.fixture(scope="module")
def reference(clusters, tmp_path_factory) -> dict:
    """The undisturbed study on the 3-node cluster: its answer, its rows, its wall time."""
    study = Study(tmp_path_factory.mktemp("reference"))
    started = time.time()
    proc = study.start(clusters.get())
    assert proc.wait(timeout=PHASE_S) == 0, study.output()[-3000:]
    print(f"\n[multinode] undisturbed smoke study on 3 nodes: {time.time() - started:.1f} s")
    return {"answer": study_answer(study.dir), "rows": study.rows()}


def test_multinode_runs_come_from_several_nodes(reference):
    rows = reference["rows"]
    assert len(rows) == len(SPEC["smoke"]["evaluation"]["split_seeds"])
    assert not [r for r in rows if r["error"]]
    nodes = {r["node_id"] for r in rows}
    assert "" not in nodes and len(nodes) >= 2, f"final runs came from the nodes {nodes}"


def test_multinode_worker_loss_is_not_a_failure(reference, clusters, tmp_path):
    """Two worker nodes die, one in the search and one in the final evaluation; --smoke allows
    no failure, yet the study finishes with the undisturbed answer. A second driver is refused."""
    cluster = clusters.get()
    study = Study(tmp_path)
    # A trial's epochs take milliseconds here: every report waits (tune.faults), so a node can be
    # lost between a trial's saved epoch and its report, the sharpest moment.
    proc = study.start(cluster, extra_env=SLOW)
    # A second driver of the same study, started once the first one has taken it: refused.
    _wait_until(lambda: (study.dir / ray_session.RECORD).exists(), proc,
                "the driver to take the study", study.log)
    second = subprocess.Popen([sys.executable, "tune/search.py", *study.args], cwd=REPO,
                              env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, start_new_session=True)
    STARTED.append(second)
    # Ray places the trials: lose whichever worker node trains one that has finished an epoch.
    node, trial = _wait_until(lambda: trial_on_a_worker(cluster, study.dir), proc,
                              "a trial with a finished epoch on a worker node", study.log,
                              seen=SEEN)
    killed_at = time.time()
    killed = cluster.kill(node.name)
    print(f"\n[multinode] {node.name} lost ({len(killed)} processes) while it trained trial "
          f"{trial.name} (an epoch saved, not yet reported)")
    retried = _wait_until(lambda: holder_of(cluster, trial) or (study.dir / "best_configs.json").exists(),
                          proc, f"the lost trial {trial.name} to restart or the search to end",
                          study.log)
    if retried is not True:
        print(f"[multinode] trial {trial.name} restarted on {retried.name} "
              f"{time.time() - killed_at:.1f} s after the loss")
    other = next(n for n in cluster.nodes if n.name not in ("head", node.name))
    _wait_until(lambda: final_run_on(other), proc, f"a final run on {other.name}", study.log)
    finished = {r["run_id"]: r for r in study.rows()}
    killed_at = time.time()
    killed = cluster.kill(other.name)
    print(f"[multinode] {other.name} lost ({len(killed)} processes) while it ran a final run; "
          f"{len(finished)} final run(s) had finished")
    out, err = second.communicate(timeout=PHASE_S)
    assert second.returncode == 2, out + err          # refused before it writes anything
    assert f"another driver (PID {proc.pid}) is running this study" in err
    assert proc.wait(timeout=PHASE_S) == 0, study.output()[-3000:]
    print(f"[multinode] the study finished {time.time() - killed_at:.1f} s after the second "
          f"loss, on the head alone")
    rows = study.rows()
    assert not [r for r in rows if r["error"]], rows
    assert sorted(r["run_id"] for r in rows) == sorted(r["run_id"] for r in reference["rows"])
    for run_id, row in finished.items():       # nothing finished is lost or run again
        assert [r for r in rows if r["run_id"] == run_id] == [row]
    assert study_answer(study.dir) == reference["answer"]
    failures = tune_failures(study.dir)
    print(f"[multinode] Tune's status and failures per trial: {failures}")
    status, n_failures = failures[trial.name]
    assert status == "TERMINATED" and n_failures >= 1     # the lost trial was retried


def test_multinode_head_loss_resumes_on_a_new_cluster_from_s3(reference, clusters, s3, tmp_path):
    """``--storage s3://``: the whole cluster and the driver are lost in the search; the same
    command on a new cluster, with the same storage and results folder, finishes the study with
    the undisturbed answer (the search is restored from S3)."""
    prefix = f"{BUCKET}/head-loss"
    study = Study(tmp_path, storage=f"s3://{prefix}")
    cluster = clusters.get()
    proc = study.start(cluster)
    _wait_until(lambda: any(p.name.startswith("experiment_state") for p in map(Path, s3.keys(prefix)))
                and list(study.dir.glob("fit/*/t*/last/state.pt")), proc,
                "Tune's experiment state on S3 and a trial's finished epoch", study.log)
    os.killpg(proc.pid, signal.SIGSTOP)             # the machine is lost: nothing moves on
    for node in cluster.nodes:
        kill_tree(node.proc.pid)
    kill_group(proc, signal.SIGKILL)
    proc.wait(timeout=30)
    lost_at = time.time()
    cluster = clusters.get()                        # a new cluster: new head, port, token
    proc = study.start(cluster)
    assert proc.wait(timeout=PHASE_S) == 0, study.output()[-3000:]
    print(f"\n[multinode] head loss: a new cluster and the same command finished the study "
          f"{time.time() - lost_at:.1f} s after the loss")
    assert "restoring the unfinished search" in study.output()
    assert study_answer(study.dir) == reference["answer"]
    keys = s3.keys(prefix)
    assert [k for k in keys if "/checkpoint_" in k], f"no trial checkpoint on S3: {keys}"

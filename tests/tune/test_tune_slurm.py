"""Slurm for real: a one-host Slurm (tune/cluster/slurm_local.sh: munge, slurmctld, slurmd) runs
the smoke study through both rendered sbatch scripts. The whole-node script (`ray symmetric-run`)
finishes it; the shared-partition script (`ray start` head) gets SIGTERM at the batch shell as
`--signal=B:TERM@...` would send it, the job ends, and re-submitting the same file finishes the
study with the same run_ids. Skips with the reason where Slurm cannot start."""
from __future__ import annotations

import csv
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tune.soak import study_answer

from tune.submit import main as submit

pytestmark = [pytest.mark.ray, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
LOCAL_SLURM = REPO / "tune" / "cluster" / "slurm_local.sh"
DONE = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED",
        "BOOT_FAIL", "DEADLINE"}
JOB_S = 900          # an upper bound per job, not a timing: the smoke study takes ~1 min idle
SMOKE_ROWS = 8       # quickstart --smoke: 2 models x 2 label modes x 2 budgets x 1 draw


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


class Slurm:
    """The one-host Slurm this module started: submit, watch and signal its jobs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = {**os.environ, "SLURM_CONF": str(folder / "slurm.conf")}

    def run(self, *cmd: str) -> str:
        out = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, f"{shlex.join(cmd)} failed: {out.stderr}"
        return out.stdout

    def sbatch(self, script: Path) -> str:
        return self.run("sbatch", "--parsable", str(script)).strip().split(";")[0]

    def state(self, job: str) -> dict[str, str]:
        text = self.run("scontrol", "show", "job", "-o", job)
        return dict(re.findall(r"(\w+)=(\S+)", text))

    def wait(self, job: str, until, what: str, limit_s: float = JOB_S) -> dict[str, str]:
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            info = self.state(job)
            if until(info):
                return info
            assert info["JobState"] not in DONE, f"job {job} ended ({info['JobState']}) before {what}"
            time.sleep(2)
        pytest.fail(f"job {job}: no {what} in {limit_s} s; its state: {self.state(job)}")

    def finish(self, job: str) -> dict[str, str]:
        return self.wait(job, lambda i: i["JobState"] in DONE, "end")


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    missing = [c for c in ("munged", "mungekey", "slurmctld", "slurmd", "sbatch") if not shutil.which(c)]
    if missing:
        pytest.skip(f"Slurm is not installed ({', '.join(missing)} missing): apt-get install "
                    f"slurm-wlm munge")
    if os.geteuid() != 0:
        pytest.skip(f"a local slurmd must run as root (uid {os.geteuid()} here)")
    folder = Path(tempfile_dir := tmp_path_factory.mktemp("slurm"))
    started = subprocess.run(["bash", str(LOCAL_SLURM), "start", str(folder)], capture_output=True,
                             text=True, timeout=120)
    if started.returncode != 0:
        subprocess.run(["bash", str(LOCAL_SLURM), "stop", str(folder)], timeout=60)
        pytest.skip(f"Slurm cannot start here: `bash {LOCAL_SLURM} start {tempfile_dir}` exited "
                    f"{started.returncode}: {started.stderr[-1500:]}")
    yield Slurm(folder)
    subprocess.run(["bash", str(LOCAL_SLURM), "stop", str(folder)], timeout=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render(target: str, root: Path, *extra: str) -> Path:
    """`python -m tune.submit --target TARGET --smoke` for this machine's one node."""
    path = root / f"{target}.sbatch"
    env_setup = (f"export PATH={shlex.quote(str(Path(sys.executable).parent))}:$PATH "
                 f"PYTHONPATH={shlex.quote(str(REPO))}")
    rc = submit(["--target", target, "--smoke", "--results-dir", str(root / "results"),
                 "--nodes", "1", "--cpus-per-node", str(os.cpu_count() or 2), "--mem", "2G",
                 "--time", "20", "--term-before", "120", "--port", str(free_port()),
                 "--token-path", str(root / "token"), "--env-setup", env_setup,
                 "--out", str(path), *extra])
    assert rc == 0
    return path


def ray_processes(job: str) -> list[str]:
    """Processes on this machine still running from the job's Ray (its --temp-dir)."""
    left = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f"/tmp/ray-{job}" in cmd and "pytest" not in cmd:
            left.append(f"{proc.name}: {cmd[:120]}")
    return left


@pytest.fixture(scope="module")
def whole_node(slurm, tmp_path_factory):
    """The whole-node script (`ray symmetric-run`), run to the end, undisturbed."""
    root = tmp_path_factory.mktemp("whole")
    script = render("slurm", root)
    job = slurm.sbatch(script)
    info = slurm.finish(job)
    log = root / "results" / "quickstart-smoke" / "submit" / f"ssvae-quickstart-smoke-{job}.out"
    return root, job, info, log


def test_slurm_whole_node_runs_the_smoke_study(whole_node):
    root, job, info, log = whole_node
    text = log.read_text(errors="replace")
    assert info["JobState"] == "COMPLETED", f"{info['JobState']} {info.get('ExitCode')}: {text[-3000:]}"
    assert "On head node. Starting Ray cluster head" in text          # symmetric-run started Ray
    assert "study 'quickstart-smoke' done" in text
    rows = read_csv(root / "results" / "quickstart-smoke" / "runs.csv")
    assert len(rows) == SMOKE_ROWS and all(r["error"] == "" for r in rows)
    assert not ray_processes(job), "the job's Ray outlived it"


def test_slurm_shared_partition_sigterm_then_resubmit_resumes(slurm, whole_node, tmp_path):
    script = render("slurm-shared", tmp_path, "--partition", "shared")
    text = script.read_text()
    assert "#SBATCH --signal=B:TERM@120" in text and "#SBATCH --partition=shared" in text
    study = tmp_path / "results" / "quickstart-smoke"
    started = lambda: any(study.glob("ray/*/fit/*/last/state.pt"))  # noqa: E731

    # 1. SIGTERM to the batch shell, as Slurm sends it --term-before seconds before the limit,
    #    once the search has written its first trial checkpoint.
    job = slurm.sbatch(script)
    slurm.wait(job, lambda i: i["JobState"] == "RUNNING" and started(), "a trial checkpoint")
    slurm.run("scancel", "--batch", "--signal=TERM", job)
    info = slurm.wait(job, lambda i: i["JobState"] in DONE, "end", limit_s=300)
    log = (study / "submit" / f"ssvae-quickstart-smoke-{job}.out").read_text(errors="replace")
    assert "[slurm] SIGTERM: passed to the driver" in log, log[-3000:]
    assert re.search(r"the study exited with status [1-9]", log), log[-3000:]
    before = read_csv(study / "runs.csv")
    assert len(before) < SMOKE_ROWS                                    # it stopped before the end
    assert not ray_processes(job), "the job's Ray outlived it"

    # 2. The same file again: it resumes and finishes with the undisturbed study's answer.
    job2 = slurm.sbatch(script)
    info2 = slurm.finish(job2)
    log2 = (study / "submit" / f"ssvae-quickstart-smoke-{job2}.out").read_text(errors="replace")
    assert info2["JobState"] == "COMPLETED", log2[-3000:]
    assert "restoring the unfinished search" in log2
    rows = read_csv(study / "runs.csv")
    assert len(rows) == SMOKE_ROWS and all(r["error"] == "" for r in rows)
    assert rows[:len(before)] == before                                # nothing finished redone
    # The same answer as the undisturbed study (issue 21): runs, best configs, search history.
    assert study_answer(study) == study_answer(whole_node[0] / "results" / "quickstart-smoke")

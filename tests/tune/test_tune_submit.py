"""Cluster submission: every target renders from one entry point with the study command, token
authentication and shared storage; spec errors stop it before anything is written."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tune.submit import main, slurm_time_s

CLUSTER = Path(__file__).resolve().parents[2] / "tune" / "cluster"


@pytest.mark.parametrize("target", ["slurm", "slurm-shared", "ray", "k8s"])
def test_render_every_target(target, tmp_path, capsys):
    out = tmp_path / f"job.{target}"
    rc = main(["--target", target, "mnist_label_curve", "--results-dir", str(tmp_path / "res"),
               "--storage", "s3://bucket/ssvae", "--gpus-per-node", "4", "--nodes", "3",
               "--out", str(out)])
    assert rc == 0
    text = out.read_text()
    assert "mnist_label_curve --results-dir" in text and "s3://bucket/ssvae" in text
    assert "tune.search" in text
    assert "@@" not in text
    if target.startswith("slurm"):
        assert "RAY_AUTH_MODE=token" in text and "RAY_AUTH_TOKEN_PATH" in text
        assert "#SBATCH --nodes=3" in text and "#SBATCH --gpus-per-node=4" in text
        assert subprocess.run(["bash", "-n", str(out)]).returncode == 0
        assert "#SBATCH --signal=B:TERM@300" in text and "trap on_term TERM" in text
        if shutil.which("shellcheck"):
            check = subprocess.run(["shellcheck", "-S", "warning", str(out)], capture_output=True,
                                   text=True)
            assert check.returncode == 0, check.stdout
        assert ("ray symmetric-run" in text) == (target == "slurm")
        assert ("ray start --head" in text) == (target == "slurm-shared")
    elif target == "k8s":
        job = yaml.safe_load(text)
        assert job["kind"] == "RayJob"
        assert job["spec"]["rayClusterSpec"]["authOptions"] == {"mode": "token"}
        assert job["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"] == 3
        assert job["spec"]["entrypoint"].startswith("python -m tune.search mnist_label_curve")
    else:
        assert "ray job submit" in text and "RAY_AUTH_MODE" in text
    assert f"submit with" in capsys.readouterr().out


def test_submit_validates_first(tmp_path, capsys):
    assert main(["--target", "slurm", "quickstrat", "--out", str(tmp_path / "x")]) == 2
    assert "Did you mean 'quickstart'" in capsys.readouterr().err
    assert main(["--target", "slurm", "quickstart", "--gpus-per-trial", "1", "--out",
                 str(tmp_path / "x")]) == 2
    assert main(["--target", "slurm", "quickstart", "--cpus-per-trial", "64", "--out",
                 str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


def test_local_slurm_script_is_sound():
    script = CLUSTER / "slurm_local.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    if shutil.which("shellcheck"):
        check = subprocess.run(["shellcheck", "-S", "warning", str(script)], capture_output=True,
                               text=True)
        assert check.returncode == 0, check.stdout
    usage = subprocess.run(["bash", str(script), "restart", "/tmp/x"], capture_output=True, text=True)
    assert usage.returncode == 2 and "usage" in usage.stderr


@pytest.mark.parametrize("text, seconds", [("30", 1800), ("5:30", 330), ("2:00:00", 7200),
                                           ("1-12", 129600), ("1-0:30", 88200), ("2-1:0:5", 176405),
                                           ("UNLIMITED", 2 ** 31)])
def test_slurm_time_s(text, seconds):
    assert slurm_time_s(text) == seconds


def test_term_before_and_time_are_checked(tmp_path, capsys):
    out = str(tmp_path / "x")
    assert main(["--target", "slurm", "quickstart", "--time", "1h", "--out", out]) == 2
    assert "--time='1h' is not a Slurm time limit" in capsys.readouterr().err
    assert main(["--target", "slurm-shared", "quickstart", "--time", "5", "--term-before", "300",
                 "--out", out]) == 2
    assert "--term-before=300 s must be > 0 and shorter than --time=5 (300 s)" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert main(["--target", "slurm", "quickstart", "--time", "10", "--term-before", "90",
                 "--results-dir", str(tmp_path / "r"), "--out", out]) == 0
    assert "#SBATCH --signal=B:TERM@90" in (tmp_path / "x").read_text()

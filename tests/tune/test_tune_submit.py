"""Cluster submission: every target renders from one entry point with the study command, token
authentication and shared storage; spec errors stop it before anything is written."""
from __future__ import annotations

import subprocess

import pytest
import yaml

from tune.submit import main


@pytest.mark.parametrize("target", ["slurm", "slurm-shared", "ray", "k8s"])
def test_render_every_target(target, tmp_path, capsys):
    out = tmp_path / f"job.{target}"
    rc = main(["--target", target, "mnist_label_curve", "--results-dir", str(tmp_path / "res"),
               "--storage", "s3://bucket/ssvae", "--gpus-per-node", "4", "--nodes", "3",
               "--out", str(out)])
    assert rc == 0
    text = out.read_text()
    assert "tune.search mnist_label_curve" in text and "s3://bucket/ssvae" in text
    assert "@@" not in text
    if target.startswith("slurm"):
        assert "RAY_AUTH_MODE=token" in text and "RAY_AUTH_TOKEN_PATH" in text
        assert "#SBATCH --nodes=3" in text and "#SBATCH --gpus-per-node=4" in text
        assert subprocess.run(["bash", "-n", str(out)]).returncode == 0
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

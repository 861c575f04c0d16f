"""The benchmarks run (smoke setting); their figures are read by people, not asserted here."""
import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_speed_smoke(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SSVAE_SPLIT_DIR", str(tmp_path))
    from ssvae.training.loop import flushing_denormals

    bench = _load("train_speed")
    assert bench.main(["--steps", "1", "--warmup", "0", "--threads", "1", "--matmul-seconds",
                       "0.1", "--models", "m2", "m1"]) == 0
    out = capsys.readouterr().out
    assert "GFLOP/s" in out
    assert not flushing_denormals()                 # training's float mode was not left behind
    rows = [line.split() for line in out.splitlines() if line.startswith("m2 ")]
    assert len(rows) == 4 and all(row[-1].endswith("%") for row in rows)


def test_softplus_bench_smoke_restores_ssvae_softplus(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SSVAE_SPLIT_DIR", str(tmp_path))
    bench = _load("softplus")
    import ssvae.nets.softplus as sp

    ours = sp._Softplus.apply
    assert bench.main(["--reps", "1", "--steps", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("ratio torch / ssvae") == 2 and "forward+backward" in out
    assert sp._Softplus.apply == ours                   # the swap is undone


def test_denormal_bench_smoke_on_a_run(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SSVAE_SPLIT_DIR", str(tmp_path))
    from ssvae.config import TrainConfig
    from ssvae.training.loop import fit, flushing_denormals

    run = tmp_path / "run"
    fit(TrainConfig(dataset="digits", model="m2", n_labels=50, hidden_dim=16, latent_dim=4,
                    epochs=1, batch_size=64, labelled_batch_size=16, progress=False, threads=1),
        out_dir=str(run))
    bench = _load("denormal_speed")
    assert bench.main(["--reps", "1", "--steps", "2", "--run", str(run)]) == 0
    out = capsys.readouterr().out
    assert out.count("IEEE / flushed") == 3 and "entries of the linear layers' output gradients" in out
    # The bench itself refuses input that is not subnormal (RuntimeError); the speed ratio is a
    # benchmark figure (results/bench/README.md), not a test: it fell to 1.0 on a loaded machine.
    assert float(out.split("subnormal input: IEEE / flushed = ")[1].split()[0]) > 0
    assert not flushing_denormals()                            # the caller's IEEE floats again


def test_gpu_packing_without_a_gpu_says_so(capsys, tmp_path, monkeypatch):
    import torch

    monkeypatch.setenv("SSVAE_SPLIT_DIR", str(tmp_path))
    bench = _load("gpu_packing")
    with pytest.raises(SystemExit):
        bench.main(["--trials", "0", "2"])                      # bad input: argparse's exit 2
    assert "--trials must all be >= 1, got [0]" in capsys.readouterr().err
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: `python bench/gpu_packing.py` measures it (minutes)")
    assert bench.main([]) == 0
    assert "no CUDA GPU here" in capsys.readouterr().out
    # The same trial processes on CPU, from the command line (spawned processes re-import it):
    # two packed trials start, meet, time and report.
    import subprocess
    import sys

    run = subprocess.run([sys.executable, str(BENCH / "gpu_packing.py"), "--device", "cpu",
                          "--trials", "2", "--steps", "2", "--warmup", "0"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [line.split() for line in run.stdout.splitlines() if line.startswith("  ")]
    assert rows and rows[-1][0] == "2" and float(rows[-1][1]) > 0

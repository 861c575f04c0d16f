"""``python -m ssvae.data describe`` on digits, on MNIST (when present), and its errors."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ssvae.data.describe import main

REPO = Path(__file__).resolve().parents[2]


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _hash(out: str) -> str:
    return re.search(r"split hash\s+([0-9a-f]{16})", out).group(1)


def test_describe_digits(capsys, tmp_path) -> None:
    argv = ["describe", "--dataset", "digits", "--n-labels", "50", "--split-seed", "1",
            "--split-dir", str(tmp_path)]
    code, out, _ = _run(capsys, argv)
    assert code == 0
    for line in ("image shape       1 x 8 x 8", "train             1150", "labelled        50",
                 "unlabelled      1100", "validation        288", "test              359",
                 "hierarchy 'low_high'", "5 per sub-class", "(written)"):
        assert line in out, line
    assert re.search(r"^  low\s+577\s+144\s+180\s+25$", out, re.M)   # super-class row
    assert re.search(r"^    7\s+\d+\s+\d+\s+\d+\s+5$", out, re.M)     # sub-class row
    code, again, _ = _run(capsys, argv)
    assert _hash(again) == _hash(out) and "(reloaded and verified)" in again


def test_describe_without_budget_and_fraction(capsys, tmp_path) -> None:
    code, out, _ = _run(capsys, ["describe", "--dataset", "digits", "--image-size", "16",
                                 "--channels", "3"])
    assert code == 0 and "3 x 16 x 16" in out and "split hash" not in out
    code, out, _ = _run(capsys, ["describe", "--dataset", "digits", "--label-fraction", "0.1",
                                 "--val-size", "300", "--split-dir", str(tmp_path)])
    assert code == 0 and "validation        300  (drawn)" in out and "label_fraction=0.1" in out


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "minst"], "unknown data set 'minst'; known: cifar10, digits"),
    (["--dataset", "digits", "--n-labels", "105"], "nearest valid: 100 or 110"),
    (["--dataset", "digits", "--hierarchy", "nope"], "unknown hierarchy"),
    (["--dataset", "mnist", "--data-root", "/nonexistent"], "does not exist"),
])
def test_describe_errors(capsys, tmp_path, argv, message) -> None:
    code, out, err = _run(capsys, ["describe", *argv, "--split-dir", str(tmp_path)])
    assert code == 2 and message in err and out == ""
    assert err.splitlines()[-1].startswith("error: ")


def test_module_entry_point_error(tmp_path) -> None:
    proc = subprocess.run([sys.executable, "-m", "ssvae.data", "describe", "--dataset", "digits",
                           "--n-labels", "7", "--split-dir", str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "n_labels=7 is not divisible by 10 sub-classes" in proc.stderr


def test_describe_mnist(capsys, mnist, shared_data_root, tmp_path, monkeypatch) -> None:
    import ssvae.data.describe as describe

    def load_once(name: str, **kwargs):  # MNIST is loaded once per session (fixture `mnist`)
        assert name == "mnist" and kwargs["root"] == str(shared_data_root)
        return mnist

    monkeypatch.setattr(describe, "load_dataset", load_once)
    argv = ["describe", "--dataset", "mnist", "--data-root", str(shared_data_root),
            "--n-labels", "100", "--split-seed", "0", "--split-dir", str(tmp_path)]
    code, out, _ = _run(capsys, argv)
    assert code == 0
    for line in ("train             50000", "validation        10000", "test              10000",
                 "labelled        100", "10 per sub-class"):
        assert line in out, line
    for digit in range(10):
        assert re.search(rf"^    {digit}\s+\d+\s+\d+\s+\d+\s+10$", out, re.M)
    code, again, _ = _run(capsys, argv)
    assert _hash(again) == _hash(out)


def test_describe_folder_warnings(capsys, folder_tree, tmp_path) -> None:
    code, out, err = _run(capsys, ["describe", "--dataset", "folder", "--data-root",
                                   str(folder_tree), "--n-labels", "15", "--split-dir",
                                   str(tmp_path)])
    assert code == 2 and "'tiny' has 2 image(s)" in err.splitlines()[-1]
    assert err.startswith("warning: skipped 3 unreadable image file(s)")

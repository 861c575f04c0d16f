"""Fixtures for the analysis tests: a temporary copy of the hand-made results folder."""
from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib
import pytest

from analysis_helpers import write_checkpoint

matplotlib.use("Agg")

DATA = Path(__file__).parent / "data"


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    """A copy of tests/analysis/data (runs.csv + search_history.csv) the test may modify."""
    dst = tmp_path / "study"
    shutil.copytree(DATA, dst)
    return dst


@pytest.fixture(scope="module")
def analysed(tmp_path_factory) -> tuple[Path, dict]:
    """The full analysis of the fixture, run once per module (it is the slow part)."""
    from ssvae.analysis import analyse

    root = tmp_path_factory.mktemp("analysed")
    study = root / "study"
    shutil.copytree(DATA, study)
    write_checkpoint(study / "ckpt" / "m2_subclass_1000_s1", "fixture20")
    written = analyse([study], out=root / "out", target=0.95, command="pytest analyse",
                      n_boot=50, verbose=False)
    return root / "out", written

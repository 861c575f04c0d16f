"""report.md says true things for every kind of data set: digits, MNIST, Fashion-MNIST and a
folder tree (small tables built from the fixture), its Command, compute and search sections,
and the degenerate-samples check."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from ssvae.analysis import analyse
from ssvae.analysis.samples import (COLLAPSED_FIDELITY, DEGENERATE_SPREAD,
                                   reconstruction_fidelity, sample_spread)

DATA = Path(__file__).parent / "data"
KINDS = {   # data set -> (hierarchy, a phrase only its split sentence has)
    "digits": ("low_high", "scikit-learn's 1,797 8×8 digits"),
    "mnist": ("low_high", "the first 50,000 images of the official training set"),
    "fashion_mnist": ("mixed", "the first 50,000 images of the official training set"),
    "folder": ("folder", "the images under `test/` when the tree has that folder"),
}


def _grid(path: Path, rows: int, same: bool | list[bool], side: int = 8) -> None:
    """An image grid as ssvae.training.grids writes it: 8 tiles a row, 2 px padding; ``same``: (per row)
    whether the row's 8 tiles are one image repeated."""
    rng = np.random.default_rng(0)
    tile = side + 2
    grid = np.zeros((2 + rows * tile, 2 + 8 * tile), np.uint8)
    base = rng.integers(0, 256, (side, side))
    same = same if isinstance(same, list) else [same] * rows
    for r in range(rows):
        for c in range(8):
            img = base if same[r] else rng.integers(0, 256, (side, side))
            grid[2 + r * tile:2 + r * tile + side, 2 + c * tile:2 + c * tile + side] = img
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(path)


def _study(tmp_path: Path, dataset: str) -> Path:
    """The fixture's table as if it were run on ``dataset``; one generative run's checkpoint
    has near-identical samples, and the study folder has the command that made it."""
    study = tmp_path / "study"
    shutil.copytree(DATA, study)
    runs = pd.read_csv(study / "runs.csv", dtype=str, keep_default_na=False)
    runs["dataset"], runs["hierarchy"] = dataset, KINDS[dataset][0]
    runs.to_csv(study / "runs.csv", index=False)
    best = runs[runs["model"] == "m2"].sort_values("val_binary_acc").iloc[-1]
    ckpt = study / "runs" / best["run_id"]
    _grid(ckpt / "samples.png", rows=10, same=True)
    _grid(ckpt / "reconstructions.png", rows=2, same=[False, True])     # collapsed
    (study / "command.txt").write_text(f"python tune/search.py my_{dataset}_spec\n")
    return study


@pytest.mark.parametrize("dataset", sorted(KINDS))
def test_report_is_true_for_each_kind_of_data(dataset, tmp_path):
    study = _study(tmp_path, dataset)
    analyse([study], out=tmp_path / "out", command="python -m ssvae.analysis study",
            n_boot=20, verbose=False)
    report = (tmp_path / "out" / "report.md").read_text()
    name = {"digits": "digits", "mnist": "MNIST", "fashion_mnist": "Fashion-MNIST",
            "folder": "folder"}[dataset]
    # the split actually used, and no other data set's
    (split,) = [line for line in report.splitlines() if line.startswith("- Split of ")]
    assert split.startswith(f"- Split of {name}: ") and KINDS[dataset][1] in split
    others = {phrase for ds, (_, phrase) in KINDS.items() if phrase != KINDS[dataset][1]}
    assert not [p for p in others if p in report]
    # anchors: only MNIST has published numbers on its sub-class figure
    assert ("Published anchors" in report) == (dataset == "mnist")
    # the study's command, then this report's
    assert f"```\npython tune/search.py my_{dataset}_spec\n```" in report
    assert "This report:\n\n```\npython -m ssvae.analysis study\n```" in report
    # plain counts, plain numbers, plain verdicts
    assert "distinct per cell" not in report and "LARGER" not in report
    assert re.search(r"each cell has \d+( to \d+)? label draws", report)
    assert not re.search(r"\b0\.\d{6,}", report), "an unformatted fraction"
    assert "- Compute spent (training time, summed over processes): " in report
    assert "search trials" in report
    assert "**Degenerate samples:**" in report
    assert "**Collapsed latent code:** the reconstructions of 8 different test images vary " \
           "0.00 times as much" in report and "why the samples are class averages" in report
    assert "subclass labels" not in report.replace("`subclass` on sub-class labels", "")


def test_compute_counts_the_final_runs_and_the_search(tmp_path):
    study = _study(tmp_path, "digits")
    runs = pd.read_csv(study / "runs.csv", dtype=str, keep_default_na=False)
    runs["wall_s"] = "0.02"                   # tiny, fast runs (digits): still counted
    runs.to_csv(study / "runs.csv", index=False)
    analyse([study], out=tmp_path / "out", command="x", n_boot=20, verbose=False)
    report = (tmp_path / "out" / "report.md").read_text()
    history = pd.read_csv(study / "search_history.csv")
    search_h = history.groupby(["cell", "trial_id"])["time_s"].max().sum() / 3600
    line = next(x for x in report.splitlines() if x.startswith("- Compute spent"))
    assert f"search trials {search_h:.2f} h" in line
    ok = int((runs["error"] == "").sum())     # failed rows are excluded from every statistic
    assert f"final runs {ok * 0.02 / 3600:.2f} h" in line and f"over {ok} runs)" in line


def test_sample_spread_tells_copies_from_variety(tmp_path):
    _grid(tmp_path / "same.png", rows=2, same=True)
    _grid(tmp_path / "varied.png", rows=2, same=False)
    assert sample_spread(tmp_path / "same.png") == pytest.approx(0.0)
    assert sample_spread(tmp_path / "varied.png") > 5 * DEGENERATE_SPREAD      # uniform noise: 0.29
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "tiny.png")
    with pytest.raises(ValueError, match="is not a grid of 8 columns"):
        sample_spread(tmp_path / "tiny.png")


def test_reconstruction_fidelity_tells_a_collapsed_code(tmp_path):
    _grid(tmp_path / "collapsed.png", rows=2, same=[False, True])
    _grid(tmp_path / "faithful.png", rows=2, same=False)
    assert reconstruction_fidelity(tmp_path / "collapsed.png") == pytest.approx(0.0)
    assert reconstruction_fidelity(tmp_path / "faithful.png") > 2 * COLLAPSED_FIDELITY * 0.9
    _grid(tmp_path / "one_row.png", rows=1, same=False)
    with pytest.raises(ValueError, match="needs a row of originals and one of reconstructions"):
        reconstruction_fidelity(tmp_path / "one_row.png")

"""examples/make_digits_folders.py (README, "Use a trained model") writes the folders it says."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from ssvae.data import load_dataset
from ssvae.predict import iter_images

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "make_digits_folders.py"


def test_digits_folders_are_a_labelled_tree_and_an_unseen_folder(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "demo")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    data = load_dataset("folder", root=tmp_path / "demo" / "train", image_size=8, channels=1)
    assert data.hierarchy().superclass_names == ("high", "low")
    assert len(data.train_y) + len(data.test_y) == 1500
    new = [p.relative_to(tmp_path / "demo" / "new").as_posix()
           for p in iter_images(tmp_path / "demo" / "new")]
    with open(tmp_path / "demo" / "new_truth.csv", newline="") as handle:
        truth = [row["path"] for row in csv.DictReader(handle)]
    assert sorted(truth) == sorted(set(new) - {"broken.png"}) and len(truth) == 297
    again = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "demo")],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode != 0 and "exists" in again.stderr


pytestmark = pytest.mark.filterwarnings("ignore")

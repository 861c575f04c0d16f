"""Helpers shared by the analysis tests (a name unique across the test folders)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from matplotlib.image import imsave


def write_checkpoint(folder: Path, run_id: str) -> None:
    """A run folder as the trainer leaves it: metrics.json plus two small PNG images."""
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps({"run_id": run_id}))
    imsave(folder / "samples.png", np.random.default_rng(0).random((28, 56)), cmap="gray")
    imsave(folder / "reconstructions.png", np.random.default_rng(1).random((28, 56)), cmap="gray")

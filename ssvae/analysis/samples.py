"""Reconstructions and samples of each generative model's best run, from its checkpoint folder.

The trainer writes ``samples.png`` / ``reconstructions.png`` (and ``metrics.json``) into a run's
folder, which a results row points to (``checkpoint``). Nothing is re-run: the images are copied
into the report, enlarged (nearest neighbour, whole-pixel factor) so that an 8×8 digit is
readable. The best run is chosen on VALIDATION accuracy (never test) within each (dataset,
hierarchy, model, label mode).

Degenerate samples: ``sample_spread`` measures how much the samples of one class differ (the
pixel standard deviation across a row of the grid, averaged over pixels and classes, on the
0–1 scale). Below ``DEGENERATE_SPREAD`` the samples of a class are near copies of one image:
the decoder ignores z and draws the class average (with binary labels, a blur of all the
super-class's sub-classes), and the report says so. MNIST and Fashion-MNIST samples measured
0.10–0.22 here, the quickstart's binary-label digits 0.005–0.02. ``reconstruction_fidelity``
says why: when the reconstructions of 8 different images barely differ (below
``COLLAPSED_FIDELITY`` of their inputs' spread), z carries little of the image (posterior
collapse).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ssvae.analysis.load import BASELINES
from ssvae.analysis.style import label_mode_name, model_name, slug

IMAGE_KINDS = ("reconstructions", "samples")
GRID_COLUMNS, GRID_PADDING = 8, 2    # ssvae.training.grids.save_grids: 8 samples a class, torchvision's pad
MIN_WIDTH = 480                      # px: copies are enlarged to at least this width
DEGENERATE_SPREAD = 0.03             # within-class pixel std below this: near-identical samples
COLLAPSED_FIDELITY = 0.5             # reconstructions varying less than this share of their inputs


def _tiles(path: Path, columns: int = GRID_COLUMNS, padding: int = GRID_PADDING) -> np.ndarray:
    """A grid PNG as ssvae.training.grids writes it -> [rows, columns, h, w, 3] floats in [0, 1]."""
    grid = np.asarray(Image.open(path).convert("RGB"), dtype=float) / 255.0     # [H, W, 3]
    tile = (grid.shape[1] - padding) // columns
    rows = (grid.shape[0] - padding) // tile if tile > padding else 0
    if rows < 1:
        raise ValueError(f"{path}: {grid.shape[1]}x{grid.shape[0]} px is not a grid of "
                         f"{columns} columns")
    side = tile - padding
    return np.stack([[grid[padding + r * tile:padding + r * tile + side,
                           padding + c * tile:padding + c * tile + side]
                      for c in range(columns)] for r in range(rows)])


def sample_spread(path: Path) -> float:
    """Mean pixel std (0–1 scale) across the samples of each class (one grid row per class)."""
    return float(_tiles(path).std(axis=1).mean())


def reconstruction_fidelity(path: Path) -> float:
    """How much the reconstructions (2nd row) vary across images, relative to their inputs
    (1st row): about 0.9 for MNIST and Fashion-MNIST runs here; near 0 when the decoder ignores
    z and every reconstruction is the same average (posterior collapse)."""
    rows = _tiles(path)
    if len(rows) < 2:
        raise ValueError(f"{path}: needs a row of originals and one of reconstructions")
    spread = rows.std(axis=1).mean(axis=(1, 2, 3))                # per row
    return float(spread[1] / spread[0]) if spread[0] > 0 else float("nan")


def copy_readable(src: Path, dst: Path, min_width: int = MIN_WIDTH) -> None:
    """Copy an image grid, enlarged by a whole factor (nearest neighbour: pixels stay sharp)."""
    image = Image.open(src)
    factor = max(1, -(-min_width // image.width))
    if factor > 1:
        image = image.resize((image.width * factor, image.height * factor), Image.NEAREST)
    image.save(dst)


def resolve_checkpoint(value: str, source: str, run_id: str = "") -> Path | None:
    """A checkpoint path as written (absolute, or relative to the table's folder or cwd); when
    it does not exist here (a table made on another machine or moved), the study layout's
    ``<table folder>/runs/<run_id>`` is tried."""
    path = Path(value) if value else None
    candidates = []
    if path is not None:
        candidates += [path] if path.is_absolute() else [Path(source).parent / path,
                                                         Path.cwd() / path]
    if run_id:
        candidates.append(Path(source).parent / "runs" / run_id)
    for c in candidates:
        if c.exists():
            return c if c.is_dir() else c.parent
    return None


def best_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The generative runs with the highest validation accuracy per (dataset, hierarchy, model,
    label mode); ties and missing validation fall back to val_subclass_acc, then run_id."""
    gen = runs[~runs["model"].isin(BASELINES)].copy()
    if gen.empty:
        return gen
    gen["_val"] = gen["val_binary_acc"].fillna(gen["val_subclass_acc"]).fillna(-1.0)
    gen = gen.sort_values(["_val", "run_id"], ascending=[False, True])
    return gen.groupby(["dataset", "hierarchy", "model", "label_mode"], sort=True).head(1).drop(
        columns="_val")


def collect_images(runs: pd.DataFrame, out_dir: Path) -> tuple[list[dict], list[str]]:
    """Copy the image files of each best run into ``out_dir``; return (entries, notes)."""
    entries, notes = [], []
    for _, r in best_runs(runs).iterrows():
        what = (f"{r['dataset']}/{r['hierarchy']} {model_name(r['model'])} "
                f"({label_mode_name(r['label_mode'])}, {r['n_labels']} labels, run {r['run_id']})")
        folder = resolve_checkpoint(r["checkpoint"], r["source"], r["run_id"])
        if folder is None:
            notes.append(f"{what}: checkpoint {r['checkpoint'] or '(empty)'} not found; no images")
            continue
        meta = folder / "metrics.json"
        if meta.is_file():
            try:
                rid = json.loads(meta.read_text()).get("run_id")
            except (json.JSONDecodeError, AttributeError):
                rid = None
            if rid and rid != r["run_id"]:
                notes.append(f"{what}: {meta} belongs to run {rid}, not {r['run_id']}; images "
                             "not used")
                continue
        images = {}
        for kind in IMAGE_KINDS:
            src = folder / f"{kind}.png"
            if src.is_file():
                out_dir.mkdir(parents=True, exist_ok=True)
                dst = out_dir / f"{slug(r['dataset'], r['hierarchy'], r['model'], r['label_mode'], kind)}.png"
                copy_readable(src, dst)
                images[kind] = dst
                measure = {"samples": sample_spread,
                           "reconstructions": reconstruction_fidelity}[kind]
                try:
                    images[f"{kind}_measure"] = measure(src)
                except ValueError as err:           # not a grid ssvae.training.grids wrote
                    notes.append(f"{what}: {kind} not measured ({err})")
            else:
                notes.append(f"{what}: no {kind}.png in {folder}")
        if images:
            entries.append({"title": what, "label_mode": r["label_mode"],
                            "val_binary_acc": r["val_binary_acc"], **images})
    return entries, notes

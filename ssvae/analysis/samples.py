"""Reconstructions and samples of each generative model's best run, from its checkpoint folder.

The trainer writes ``samples.png`` / ``reconstructions.png`` (and ``metrics.json``) into a run's
folder, which a results row points to (``checkpoint``). Nothing is re-run: the images are copied
into the report. The best run is chosen on VALIDATION accuracy (never test) within each
(dataset, hierarchy, model, label mode).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from ssvae.analysis.load import BASELINES
from ssvae.analysis.style import slug

IMAGE_KINDS = ("reconstructions", "samples")


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
        what = (f"{r['dataset']}/{r['hierarchy']} {r['model']} ({r['label_mode']} labels, "
                f"{r['n_labels']} labels, run {r['run_id']})")
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
                shutil.copyfile(src, dst)
                images[kind] = dst
            else:
                notes.append(f"{what}: no {kind}.png in {folder}")
        if images:
            entries.append({"title": what, "val_binary_acc": r["val_binary_acc"], **images})
    return entries, notes

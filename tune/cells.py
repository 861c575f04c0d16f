"""Expand a spec's factor grid into cells, decide which cells are searched, and list the final
evaluation runs.

A *cell* is one point of the grid (model x label mode x n_labels x ...). Searching every cell is
often more than the budget allows, so ``search.search_at`` (e.g. ``{n_labels: 200}``) searches
once per remaining factors (typically (model, label mode)) at that value and reuses the best
configuration for the cell's other values (DESIGN.md §5).
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

from ssvae.config import TrainConfig

ABBREV = {"n_labels": "n", "label_fraction": "f", "hierarchy": "h", "network": "net",
          "classifier": "cls", "latent_dim": "z", "hidden_dim": "hid", "val_size": "val"}


@dataclass(frozen=True)
class Cell:
    name: str
    factors: tuple[tuple[str, Any], ...]   # ((field, value), ...) in the grid's order
    config: TrainConfig                    # the cell's config (split_seed = the search's draw)
    search_cell: str                       # the cell whose search gives this cell's config

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def searched(self) -> bool:
        return self.search_cell == self.name

    def factor(self, name: str, default: Any = None) -> Any:
        return dict(self.factors).get(name, default)


def _word(value: Any) -> str:
    text = re.sub(r"[^A-Za-z0-9.+]+", "_", str(value)).strip("_")
    return text or "none"


def cell_name(factors: tuple[tuple[str, Any], ...]) -> str:
    parts = []
    for key, value in factors:
        if key in ("model", "label_mode"):
            parts.append(_word(value))
        else:
            short = ABBREV.get(key, key.replace("model_options.", ""))
            parts.append(f"{_word(short)}{_word(value)}")
    return "-".join(parts)


def _config(spec, factors: Mapping[str, Any]) -> TrainConfig:
    base = spec.base_config()
    plain = {k: v for k, v in base.items() if not k.startswith("model_options.")}
    dotted = {k: v for k, v in base.items() if k.startswith("model_options.")}
    config = TrainConfig.from_dict(plain)
    model = factors.get("model", config.model)
    changes = {**dotted, **dict(spec.models.get(model, {})), **dict(factors),
               "split_seed": spec.search.split_seed, "seed": None,
               "threads": spec.resources.threads}
    return config.replace(**changes)


def expand_cells(spec) -> list[Cell]:
    """All cells of the grid, in the order of the grid (first factor slowest)."""
    keys = spec.factors
    combos: list[tuple] = [()]
    for _, values in spec.grid:
        combos = [c + (v,) for c in combos for v in values]
    cells = []
    search_at = dict(spec.search.search_at)
    for combo in combos:
        factors = tuple(zip(keys, combo))
        searched_factors = tuple((k, search_at.get(k, v)) for k, v in factors)
        cells.append(Cell(cell_name(factors), factors, _config(spec, dict(factors)),
                          cell_name(searched_factors)))
    names = [c.name for c in cells]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"two grid cells share the name {dup!r}; make the grid values distinct")
    return cells


def search_cells(cells: list[Cell]) -> list[Cell]:
    return [c for c in cells if c.searched]


def cell_digest(spec, cell: Cell) -> str:
    """What the search of a cell depends on; a changed spec gets a fresh search folder."""
    blob = {
        "config": cell.config.identity(),
        "space": [p.__dict__ for p in spec.search_space.get(cell.model, ())],
        "search": {k: v for k, v in spec.search.__dict__.items() if k not in ("max_concurrent",)},
        "asha": spec.asha.__dict__,
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:8]


def final_configs(spec, cell: Cell, best_params: Mapping[str, Any]) -> list[TrainConfig]:
    """The final evaluation runs of a cell: best params x label draws x seeds."""
    out = []
    for split_seed in spec.evaluation.split_seeds:
        for seed in spec.evaluation.seeds:
            out.append(cell.config.replace(**dict(best_params), split_seed=split_seed, seed=seed))
    return out


def max_epochs(spec, cell: Cell) -> int:
    return min(spec.asha.max_t or cell.config.epochs, cell.config.epochs)


def asha_expected_epochs(max_t: int, grace: int, eta: float) -> float:
    """Expected epochs per trial under ASHA (one bracket): a fraction 1/eta of the trials goes
    past each rung (grace, grace*eta, ...). An upper bound: early stopping only lowers it."""
    if grace >= max_t:
        return float(max_t)
    total, reached, prev, rung = 0.0, 1.0, 0.0, float(grace)
    while rung < max_t:
        total += reached * (rung - prev)
        prev, reached, rung = rung, reached / eta, rung * eta
    return total + reached * (max_t - prev)


def estimate(spec, cells: list[Cell]) -> dict[str, Any]:
    """Trial counts and trial-epochs of the study (upper bounds: early stopping only helps)."""
    searched = search_cells(cells)
    search_epochs = search_epochs_full = 0.0
    trials = 0
    for cell in searched:
        n = spec.search.trials if spec.search_space.get(cell.model) else 0   # runner: no search
        t = max_epochs(spec, cell)
        per = (asha_expected_epochs(t, spec.asha.grace_period, spec.asha.reduction_factor)
               if spec.asha.enabled and n > 1 else t)
        trials += n
        search_epochs += n * per
        search_epochs_full += n * t
    runs = len(cells) * len(spec.evaluation.split_seeds) * len(spec.evaluation.seeds)
    final_epochs = sum(c.config.epochs for c in cells) * len(spec.evaluation.split_seeds) * len(spec.evaluation.seeds)
    slots = spec.search.max_concurrent
    return {
        "cells": len(cells), "searched_cells": len(searched), "trials": trials,
        "search_epochs": math.ceil(search_epochs), "search_epochs_no_asha": int(search_epochs_full),
        "final_runs": runs, "final_epochs": final_epochs,
        "total_epochs": math.ceil(search_epochs) + final_epochs,
        "cpu_epochs": (math.ceil(search_epochs) + final_epochs) * spec.resources.cpus_per_trial,
        "max_concurrent": slots,
        "random_search": spec.search.trials <= spec.search.n_startup_trials,
    }

"""Checks a study makes before Ray starts (and in ``--dry-run``): everything that the spec and
the data set decide, so a bad value fails in seconds with its name, not after Ray's start-up as
a column of failed runs.

For every distinct data setting of the study's runs (data set, hierarchy, label budget, label
draw, validation size) it loads the data set and draws the split exactly as a run will
(``ssvae.training_data.run_inputs``): a missing data set, an unknown hierarchy, or a budget the
data set cannot balance raises ``PreflightError`` naming the cells it concerns.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from ssvae.training_data import run_inputs
from tune.cells import Cell, final_configs
from tune.spec import AblationSpec


class PreflightError(ValueError):
    """A study that cannot run as specified; the message names the values and the cells."""


DATA_FIELDS = ("dataset", "data_root", "hierarchy", "hierarchy_file", "n_labels",
               "label_fraction", "split_seed", "val_size")


@contextmanager
def _split_dir(path: str) -> Iterator[None]:
    before = os.environ.get("SSVAE_SPLIT_DIR")
    os.environ["SSVAE_SPLIT_DIR"] = path
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("SSVAE_SPLIT_DIR", None)
        else:
            os.environ["SSVAE_SPLIT_DIR"] = before


def check_study(spec: AblationSpec, cells: list[Cell], split_dir: str) -> int:
    """Load every data setting the study will use; returns how many were checked."""
    settings: dict[tuple, tuple[object, list[str]]] = {}
    for cell in cells:
        for config in [cell.config, *final_configs(spec, cell, {})]:
            key = tuple(getattr(config, f) for f in DATA_FIELDS)
            settings.setdefault(key, (config, []))[1].append(cell.name)
    problems: list[str] = []
    with _split_dir(split_dir):
        for config, names in settings.values():
            try:
                run_inputs(config)
            except (ValueError, KeyError, FileNotFoundError, OSError) as err:
                where = ", ".join(sorted(set(names))[:4]) + (" ..." if len(set(names)) > 4 else "")
                problems.append(f"{type(err).__name__}: {err} (cells: {where})")
    if problems:
        unique = list(dict.fromkeys(problems))
        raise PreflightError("the study cannot run as specified:\n  " + "\n  ".join(unique))
    return len(settings)

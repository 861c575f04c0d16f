"""Checks a study makes before Ray starts (and in ``--dry-run``): everything that the spec and
the data set decide, so a bad value fails in seconds with its name, not after Ray's start-up as
a column of failed runs.

For every distinct data setting of the study's runs (data set, hierarchy, label budget, label
draw, validation size) it loads the data set and draws the split exactly as a run will
(``ssvae.training.inputs.run_inputs``): a missing data set, an unknown hierarchy, or a budget the
data set cannot balance raises ``PreflightError`` naming the cells it concerns. In a dry run
(``require_data=False``) a data set whose files are not on this machine (a spec checked on a
laptop before it goes to a cluster) is reported instead, and no split file is kept.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from typing import Iterator

from ssvae.data.errors import DataMissing
from ssvae.training.inputs import run_inputs
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


def check_study(spec: AblationSpec, cells: list[Cell], split_dir: str | None,
                require_data: bool = True) -> tuple[int, list[str]]:
    """Load every data setting the study will use. Returns (settings checked, messages about
    data sets absent here, which only a dry run tolerates). ``split_dir`` None: splits are
    drawn in a temporary folder and dropped (a dry run writes nothing)."""
    settings: dict[tuple, tuple[object, list[str]]] = {}
    for cell in cells:
        for config in [cell.config, *final_configs(spec, cell, {})]:
            key = tuple(getattr(config, f) for f in DATA_FIELDS)
            settings.setdefault(key, (config, []))[1].append(cell.name)
    problems: list[str] = []
    absent: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ssvae-preflight-") as scratch, \
            _split_dir(split_dir or scratch):
        for config, names in settings.values():
            try:
                run_inputs(config)
            except (ValueError, KeyError, FileNotFoundError, OSError) as err:
                unique = sorted(set(names))
                where = ", ".join(unique[:4]) + (" ..." if len(unique) > 4 else "")
                line = f"{type(err).__name__}: {err} (cells: {where})"
                (absent if isinstance(err, DataMissing) and not require_data
                 else problems).append(line)
    if problems:
        unique = list(dict.fromkeys(problems))
        raise PreflightError("the study cannot run as specified:\n  " + "\n  ".join(unique))
    return len(settings) - len(absent), list(dict.fromkeys(absent))

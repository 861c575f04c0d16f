"""Checks of a study's saved state before any work starts, each refusing with a plain message
that says what is wrong and what to do: a ``--storage`` folder that holds another study, and a
results table written by a newer ssvae, and a second live driver of the study."""
from __future__ import annotations

import json
from pathlib import Path

from ssvae.results import header_of, unknown_columns
from ssvae.version import __version__
from tune import ray_session
from tune.failures import StudyError
from tune.study_paths import StudyPaths

STORAGE_MARK = ".ssvae_study.json"     # in a folder storage: the study that owns it


def check_storage(paths: StudyPaths, claim: bool) -> None:
    """Refuse a folder storage that holds another study's Tune state (two studies sharing one
    storage would restore each other's experiments); with ``claim``, mark it as this study's.
    A study is known by its name, so a results folder moved or copied with its storage (e.g.
    from a cluster to a laptop) still resumes. URI storage (``s3://``) is not marked: its
    experiments are named by the study's cells."""
    if paths.remote_storage:
        return
    mark = Path(paths.storage) / STORAGE_MARK
    if mark.exists():
        try:
            owner = json.loads(mark.read_text())
        except (OSError, ValueError):
            owner = {}
        if owner.get("study") != paths.study_dir.name:
            raise StudyError(
                f"the storage {paths.storage} belongs to the study "
                f"{owner.get('study', '?')!r} (results in {owner.get('study_dir', '?')}), not to "
                f"{paths.study_dir.name!r}. Give this study its own --storage (or leave it out: "
                f"the default is <results-dir>/<name>/ray), or run that study's command instead.")
    elif claim:
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.write_text(json.dumps({"study": paths.study_dir.name,
                                    "study_dir": str(paths.study_dir), "ssvae": __version__}) + "\n")


def check_results_table(paths: StudyPaths) -> None:
    """Refuse a ``runs.csv`` with columns this ssvae does not know: a newer ssvae wrote it, and
    appending to it here would put rows under a header they do not match."""
    for table in (paths.runs_csv, paths.superseded_csv):
        if not table.exists():
            continue
        unknown = unknown_columns(header_of(table))
        if unknown:
            raise StudyError(
                f"{table} has columns this ssvae ({__version__}) does not know: "
                f"{', '.join(unknown)}. A newer ssvae wrote it; run the study with that version, "
                f"or give this one another --results-dir.")


def check_driver(paths: StudyPaths) -> None:
    """Refuse to start while another driver runs this study (both would write its tables)."""
    try:
        ray_session.refuse_second_driver(paths.study_dir)
    except ray_session.SecondDriver as err:
        raise StudyError(str(err)) from err

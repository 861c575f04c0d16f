"""What a cell's search trials did, read from their own folders.

Each search trial trains in ``trial_dir(config)`` (``tune.trainable``), where ``fit()`` keeps
every finished epoch's report in its checkpoint and, once it ends, in ``metrics.json``; the
scheduler marks a trial it stopped at a rung with ``stopped.json``. These folders, not Tune's
result logs, are the record of the search: Tune's logs repeat the epochs a restarted trial
reports again, and its snapshot can be older than the trials. Everything here is a function of
the folders, so the search history and the chosen configuration are the same after any
interruption.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from tune.lagged_search import INDEX
from tune.trainable import Objective, saved_history, trial_dir, trial_params

STOPPED = "stopped.json"


@dataclass(frozen=True)
class TrialRecord:
    index: int
    params: dict[str, Any]
    folder: Path
    history: list[dict[str, Any]]
    finished: bool                 # fit() ended (epoch bound or early stopping on validation)
    stopped_at: int | None         # the rung (metric epochs) where the scheduler stopped it
    error: str                     # the final error, "" if none
    final: dict[str, Any]          # metrics.json (validation only) once finished, else {}

    @property
    def name(self) -> str:
        return f"t{self.index:03d}"

    @property
    def done(self) -> bool:
        """Ended for good: finished, stopped by the scheduler, or failed."""
        return self.finished or self.stopped_at is not None or bool(self.error)

    def objective(self, metric: str, mode: str) -> float | None:
        """Best value of ``metric`` over the reported epochs (what the scheduler and the
        searcher saw); a model whose metric exists only at the end (M1) gives that value."""
        objective = Objective(metric, mode)
        for entry in self.history:
            objective.update(entry.get(metric))
        if objective.best is None:
            objective.update(self.final.get(metric))
        return objective.best


def mark_stopped(trial_config: Mapping[str, Any], rung: int) -> None:
    """Record in the trial's folder that the scheduler stopped it at ``rung``."""
    folder = trial_dir(trial_config)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{STOPPED}.tmp"
    tmp.write_text(json.dumps({"rung": int(rung)}))
    tmp.replace(folder / STOPPED)


def record_of(trial_config: Mapping[str, Any], error: str = "") -> TrialRecord:
    folder = trial_dir(trial_config)
    finished = (folder / "metrics.json").exists()
    final = json.loads((folder / "metrics.json").read_text()) if finished else {}
    stopped = folder / STOPPED
    return TrialRecord(
        index=int(trial_config[INDEX]), params=trial_params(trial_config), folder=folder,
        history=saved_history(folder), finished=finished,
        stopped_at=json.loads(stopped.read_text())["rung"] if stopped.exists() else None,
        error=error, final=final)


def records(results: Iterable[tuple[Mapping[str, Any], str]]) -> list[TrialRecord]:
    """Records of ``(trial config, error text)`` pairs, in proposal order."""
    return sorted((record_of(config, error) for config, error in results), key=lambda r: r.index)


def best(recs: list[TrialRecord], metric: str, mode: str) -> TrialRecord | None:
    """The trial with the best objective; a tie goes to the lower index (Tune's
    ``get_best_result`` breaks ties by its own trial order, which a restore can change)."""
    scored = [(r.objective(metric, mode), r) for r in recs if not r.error]
    scored = [(v, r) for v, r in scored if v is not None]
    if not scored:
        return None
    sign = 1 if mode == "max" else -1
    return max(scored, key=lambda vr: (sign * vr[0], -vr[1].index))[1]


def history_rows(recs: list[TrialRecord], base: Mapping[str, Any], metric: str,
                 mode: str) -> list[dict[str, Any]]:
    """One row per finished epoch per trial (``search_history.csv``), in proposal order."""
    rows: list[dict[str, Any]] = []
    for r in recs:
        head = {**base, "trial_id": f"{base['cell']}/{r.name}", "metric": metric,
                "params_json": json.dumps(r.params, sort_keys=True),
                "stopped_early": r.stopped_at is not None,
                "status": "ERROR" if r.error else "TERMINATED" if r.done else "UNFINISHED",
                "error": r.error}
        if not r.history:
            rows.append(head)
            continue
        objective = Objective(metric, mode)
        for i, entry in enumerate(r.history, 1):
            value = entry.get(metric)
            objective.update(value)
            rows.append({**head, "iteration": i, "epoch": entry.get("epoch"),
                         "stage": entry.get("stage"), "time_s": entry.get("wall_s"),
                         "val_metric": value, "objective": objective.best})
    return rows

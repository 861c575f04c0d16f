"""The final evaluation: each cell's best configuration trained for every (label draw, seed) as
Ray tasks, each result appended to ``runs.csv`` as it ends; rows of an earlier spec set aside."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from ssvae.results import append_row, finished_run_ids, metrics_to_row, set_aside_rows
from tune.cells import Cell, final_configs
from tune.failures import NODE_LOSS_RETRIES, StudyInterrupted, error_text
from tune.spec import AblationSpec
from tune.stop_signals import SIGNAL_NAMES, PlainStop
from tune.study_paths import StudyPaths
from tune.trainable import evaluate_run, saved_history


def _error_rows(path: Path) -> set[tuple[str, str]]:
    if not path.exists():
        return set()
    with open(path, newline="") as handle:
        return {(r["run_id"], r["error"]) for r in csv.DictReader(handle) if r.get("error")}


def _id_row(spec: AblationSpec, config) -> dict[str, Any]:
    return {"ablation": spec.name, "run_id": config.run_id, "dataset": config.dataset,
            "hierarchy": config.hierarchy, "model": config.model, "label_mode": config.label_mode,
            "n_labels": config.n_labels, "split_seed": config.split_seed, "seed": config.train_seed,
            "config_json": config.to_json()}


def final_evaluation(spec: AblationSpec, cells: list[Cell], best: dict[str, Any],
                     paths: StudyPaths, n_slots: int) -> dict[str, int]:
    """Train each cell's best config for every (label draw, seed); append each row to runs.csv
    as soon as its run ends; skip runs already there."""
    import ray

    done = finished_run_ids(paths.runs_csv)
    old_errors = _error_rows(paths.runs_csv)
    counts: dict[str, Any] = {"skipped": 0, "ok": 0, "failed": 0}
    failures: list[str] = []
    counts["failures"] = failures
    todo: list[tuple[Cell, Any]] = []
    for cell in cells:
        entry = best.get(cell.name, {})
        configs_ok = entry.get("params") is not None
        params = entry.get("params") or {}
        for config in final_configs(spec, cell, params):
            if config.run_id in done:
                counts["skipped"] += 1
            elif not configs_ok:
                error = f"search failed: {entry.get('error', 'no best configuration')}"[:500]
                if (config.run_id, error) not in old_errors:
                    append_row(paths.runs_csv, {**_id_row(spec, config), "error": error})
                counts["failed"] += 1
                failures.append(f"{cell.name} split_seed={config.split_seed}: {error}")
            else:
                todo.append((cell, config))
    if not todo:
        return counts
    # A run lost with its worker or node is a system failure: Ray retries it (max_retries,
    # NODE_LOSS_RETRIES), whatever the spec allows for the run's own errors. Ray counts its
    # exception retries against the same max_retries, so those are re-submitted here instead,
    # up to the spec's evaluation.max_failures.
    remote = ray.remote(evaluate_run).options(
        num_cpus=spec.resources.cpus_per_trial, num_gpus=spec.resources.gpus_per_trial,
        max_retries=NODE_LOSS_RETRIES, retry_exceptions=False)
    attempts: dict[str, int] = {}
    print(f"[tune] final evaluation: {len(todo)} runs ({counts['skipped']} already in "
          f"{paths.runs_csv.name}), {n_slots} at a time", flush=True)
    pending: dict[Any, Any] = {}
    queue = list(todo)
    try:
        while queue or pending:
            while queue and len(pending) < n_slots:
                cell, config = queue.pop(0)
                ref = remote.remote(config.to_json(), str(paths.final_run_dir(config.run_id)),
                                    paths.split_dir)
                pending[ref] = (cell, config)
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                cell, config = pending.pop(ref)
                try:
                    metrics = ray.get(ref)
                except Exception as err:  # noqa: BLE001 - recorded in the row; the study goes on
                    own = isinstance(err, ray.exceptions.RayTaskError)   # not a lost node
                    if own:
                        attempts[config.run_id] = attempts.get(config.run_id, 0) + 1
                    if own and attempts[config.run_id] <= spec.evaluation.max_failures:
                        print(f"[tune] final run {cell.name} split_seed={config.split_seed} "
                              f"failed ({error_text(err)}); retry {attempts[config.run_id]} of "
                              f"{spec.evaluation.max_failures}", flush=True)
                        queue.insert(0, (cell, config))
                        continue
                    error = error_text(err)
                    append_row(paths.runs_csv, {**_id_row(spec, config), "error": error})
                    counts["failed"] += 1
                    failures.append(f"{cell.name} split_seed={config.split_seed} "
                                    f"seed={config.train_seed}: {error}")
                    print(f"[tune] final run {cell.name} split_seed={config.split_seed} "
                          f"FAILED: {error}", flush=True)
                    continue
                append_row(paths.runs_csv, metrics_to_row(metrics, ablation=spec.name,
                                                          error=None))
                counts["ok"] += 1
                acc = metrics.get("test_binary_acc")
                print(f"[tune] final run {cell.name} split_seed={config.split_seed} "
                      f"seed={config.train_seed}: test binary accuracy "
                      f"{'-' if acc is None else f'{100 * acc:.1f} %'}", flush=True)
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref, force=True)
        how = SIGNAL_NAMES.get(PlainStop.signum, "Ctrl+C (SIGINT)")
        lines = [f"the final evaluation was stopped by {how}: {counts['ok']} run(s) finished "
                 f"now, {len(pending)} running, {len(queue)} not started"]
        for cell, config in pending.values():
            done = len(saved_history(paths.final_run_dir(config.run_id)))
            lines.append(f"    {cell.name} split_seed={config.split_seed} seed={config.train_seed}:"
                         f" {done} epoch(s) finished; it resumes from there")
        raise StudyInterrupted("\n".join(lines)) from None
    return counts


def set_aside_stale_rows(spec: AblationSpec, cells: list[Cell], best: dict[str, Any],
                         paths: StudyPaths) -> int:
    """Once every cell has its best configuration, move the rows of runs.csv that are not runs of
    this spec (an edited spec, or a model whose ``identity_version`` changed, gives new run_ids)
    to ``superseded_runs.csv``, so the analysis does not average them with the current runs."""
    if any(best.get(cell.name, {}).get("params") is None for cell in cells):
        return 0
    current = {config.run_id for cell in cells
               for config in final_configs(spec, cell, best[cell.name]["params"])}
    moved = set_aside_rows(paths.runs_csv, current, paths.superseded_csv)
    if moved:
        print(f"[tune] {moved} row(s) of {paths.runs_csv.name} are not runs of this spec (made "
              f"by an earlier spec or model version): moved to {paths.superseded_csv.name}",
              flush=True)
    return moved

"""Where a study keeps its files (``StudyPaths``) and the study-level files written whole:
the spec's copy and ``best_configs.json``."""
from __future__ import annotations

import json
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tune.spec import AblationSpec, spec_to_yaml


@dataclass(frozen=True)
class StudyPaths:
    study_dir: Path
    storage: str                 # Tune's storage_path: an absolute folder or a URI

    @property
    def runs_csv(self) -> Path:
        return self.study_dir / "runs.csv"

    @property
    def superseded_csv(self) -> Path:
        return self.study_dir / "superseded_runs.csv"

    @property
    def best_json(self) -> Path:
        return self.study_dir / "best_configs.json"

    @property
    def history_csv(self) -> Path:
        return self.study_dir / "search_history.csv"

    @property
    def spec_copy(self) -> Path:
        return self.study_dir / "spec.yaml"

    @property
    def remote_storage(self) -> bool:
        return "://" in self.storage

    def experiment(self, name: str) -> str:
        return posixpath.join(self.storage, name) if self.remote_storage else str(Path(self.storage) / name)

    def trial_work_root(self, experiment: str) -> Path:
        """Where search trials keep their fit() folders: next to Tune's experiment when the
        storage is a folder (local or NFS), under the study folder for s3:// storage."""
        if self.remote_storage:
            return self.study_dir / "fit" / experiment
        return Path(self.storage) / experiment / "fit"

    @property
    def split_dir(self) -> str:
        """Split index files: $SSVAE_SPLIT_DIR when the driver has it, else the study's."""
        return os.environ.get("SSVAE_SPLIT_DIR") or str(self.study_dir / "splits")

    def final_run_dir(self, run_id: str) -> Path:
        return self.study_dir / "runs" / run_id


def study_paths(spec: AblationSpec, results_dir: str | os.PathLike, storage: str | None) -> StudyPaths:
    study_dir = Path(results_dir).expanduser().resolve() / spec.name
    if storage is None:
        storage = str(study_dir / "ray")
    elif "://" not in storage:
        storage = str(Path(storage).expanduser().resolve())
    return StudyPaths(study_dir, storage)


def load_best(paths: StudyPaths) -> dict[str, Any]:
    if paths.best_json.exists():
        return json.loads(paths.best_json.read_text())
    return {}


def save_best(paths: StudyPaths, best: dict[str, Any]) -> None:
    tmp = paths.best_json.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(best, indent=2, sort_keys=True, default=str))
    os.replace(tmp, paths.best_json)


def write_spec_copy(spec: AblationSpec, paths: StudyPaths) -> None:
    paths.study_dir.mkdir(parents=True, exist_ok=True)
    text = f"# {spec.name}: the spec this study ran (from {spec.source})\n" + spec_to_yaml(spec)
    paths.spec_copy.write_text(text)

"""Ablation specs: YAML files in ``ablations/`` loaded into frozen, validated dataclasses.

A spec is a *delta* from ``TrainConfig`` defaults (DESIGN.md §9.8)::

    name: quickstart                     # the study's name (default: the file name)
    data: {dataset: digits, hierarchy: null}
    grid:                                # factor grid: any TrainConfig field -> list of values
      model: [supervised, m2]
      label_mode: [binary, subclass]
      n_labels: [50, 200]
    fixed: {epochs: 10, hidden_dim: 128} # settings shared by every cell
    models:                              # per-model fixed settings (dotted model_options.x ok)
      m2: {model_options.alpha: 0.1}
    search_space:                        # per model; dotted TrainConfig paths
      m2:
        lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
        model_options.alpha: {type: categorical, choices: [0.1, 1.0]}
    search: {trials: 6, metric: val_binary_acc, search_at: {n_labels: 200}, seed: 0}
    asha: {grace_period: 2, reduction_factor: 2}
    evaluation: {split_seeds: [0, 1, 2], seeds: [null]}
    resources: {cpus_per_trial: 1, gpus_per_trial: 0}
    smoke: {search: {trials: 2}, fixed: {epochs: 2}}   # what --smoke changes (deep-merged)

Every error is raised while loading, before Ray starts (the checks are ``tune/spec_checks.py``):
an unknown key names the closest known key, a bad value names the value and the valid range.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import yaml

from ssvae.registry import did_you_mean
from ssvae.validation import freeze, plain
from tune.spec_checks import (SEARCH_METRICS, SpecError, check_asha, check_configs, check_dataset,
                              check_evaluation, check_field, check_keys, check_resources,
                              check_search, flat_settings, known_models, mapping_of,
                              param_fields, settings_of)

ABLATIONS_DIR = Path(__file__).resolve().parent.parent / "ablations"

TOP_KEYS = ("name", "description", "data", "grid", "fixed", "models", "search_space", "search",
            "asha", "evaluation", "resources", "smoke")
DATA_KEYS = ("dataset", "hierarchy", "data_root")



# --------------------------------------------------------------------------------------------
# dataclasses
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParamSpec:
    """One searched setting: ``float``/``int`` (``low``, ``high``, ``log``, ``step``) or
    ``categorical`` (``choices``). ``name`` is a TrainConfig field or ``model_options.x``."""

    name: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple = ()

    def values_to_check(self) -> list:
        return list(self.choices) if self.type == "categorical" else [self.low, self.high]

    def distribution(self):
        """The Optuna distribution of this parameter."""
        import optuna.distributions as d

        if self.type == "float":
            return d.FloatDistribution(self.low, self.high, log=self.log, step=self.step)
        if self.type == "int":
            return d.IntDistribution(int(self.low), int(self.high), log=self.log,
                                     step=int(self.step or 1))
        return d.CategoricalDistribution(list(self.choices))


@dataclass(frozen=True)
class SearchSettings:
    trials: int = 8                       # Optuna trials per searched cell
    metric: str = "val_binary_acc"        # a validation key (SEARCH_METRICS)
    mode: str | None = None               # None: the metric's natural direction
    seed: int = 0                         # TPE sampler seed (offset per cell)
    n_startup_trials: int = 10            # TPE's random start; trials <= this is random search
    search_at: Mapping[str, Any] = field(default_factory=dict)  # factor -> value searched at
    split_seed: int = 0                   # the label draw the search trains on
    max_concurrent: int | None = None     # None: what the cluster's CPUs allow
    max_failures: int = 1                 # retries of a failing trial (Ray FailureConfig)

    @property
    def direction(self) -> str:
        return self.mode or SEARCH_METRICS[self.metric]


@dataclass(frozen=True)
class AshaSettings:
    enabled: bool = True
    grace_period: int = 1                 # epochs before the first ASHA cut
    reduction_factor: float = 2
    brackets: int = 1                     # one bracket (tune/rungs.py decides in trial order)
    max_t: int | None = None              # None: the cell's epochs


@dataclass(frozen=True)
class EvaluationSettings:
    split_seeds: tuple[int, ...] = (0, 1, 2)   # label draws of the final evaluation
    seeds: tuple[int | None, ...] = (None,)    # training seeds; None: follows the label draw
    max_failures: int = 1                      # retries of a failing final run


@dataclass(frozen=True)
class Resources:
    cpus_per_trial: float = 1
    gpus_per_trial: float = 0

    @property
    def threads(self) -> int:
        """Torch threads per trial: the whole CPUs the trial holds (at least one)."""
        return max(1, int(math.floor(self.cpus_per_trial)))


@dataclass(frozen=True)
class AblationSpec:
    name: str
    dataset: str
    grid: tuple[tuple[str, tuple], ...]            # ((field, (values...)), ...) in file order
    description: str = ""
    hierarchy: str | None = None
    data_root: str | None = None
    fixed: Mapping[str, Any] = field(default_factory=dict)
    models: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    search_space: Mapping[str, tuple[ParamSpec, ...]] = field(default_factory=dict)
    search: SearchSettings = SearchSettings()
    asha: AshaSettings = AshaSettings()
    evaluation: EvaluationSettings = EvaluationSettings()
    resources: Resources = Resources()
    smoke: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)   # the validated YAML, for the copy
    source: str | None = None

    @property
    def factors(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.grid)

    def factor_values(self, name: str) -> tuple:
        return dict(self.grid)[name]

    def base_config(self) -> dict[str, Any]:
        """Spec-wide TrainConfig settings (data + fixed), before grid values and model deltas."""
        values: dict[str, Any] = {"dataset": self.dataset, "progress": False}
        if self.hierarchy is not None:
            values["hierarchy"] = self.hierarchy
        if self.data_root is not None:
            values["data_root"] = self.data_root
        values.update(self.fixed)
        return values

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(plain(self.raw), sort_keys=True).encode()).hexdigest()[:12]

    def smoked(self) -> "AblationSpec":
        """The --smoke variant: same code path, tiny budget (spec's ``smoke`` block on top of
        small defaults)."""
        raw = copy.deepcopy(dict(self.raw))
        defaults = {
            "search": {"trials": 2, "n_startup_trials": 2, "max_failures": 0},
            "fixed": {"epochs": 2, "patience": 2},
            "asha": {"grace_period": 1},
            "evaluation": {"split_seeds": [self.evaluation.split_seeds[0]], "seeds": [None],
                           "max_failures": 0},
        }
        merged = _deep_merge(raw, defaults)
        merged = _deep_merge(merged, dict(self.smoke))
        merged.pop("smoke", None)
        grid_models = merged.get("grid", {}).get("model")
        if isinstance(grid_models, list):   # a smoke grid with fewer models drops their blocks
            for block in ("search_space", "models"):
                if isinstance(merged.get(block), dict):
                    merged[block] = {m: v for m, v in merged[block].items() if m in grid_models}
        merged["name"] = f"{self.name}-smoke"
        return parse_spec(merged, source=self.source, default_name=merged["name"])

    def with_overrides(self, **overrides: Any) -> "AblationSpec":
        """Command-line overrides (``name``, ``data_root``, ``max_concurrent``,
        ``cpus_per_trial``, ``gpus_per_trial``), validated like the file."""
        raw = copy.deepcopy(dict(self.raw))
        if self.smoke:
            raw["smoke"] = copy.deepcopy(dict(self.smoke))
        for key, value in overrides.items():
            if value is None:
                continue
            if key == "name":
                raw["name"] = value
            elif key == "data_root":
                raw.setdefault("data", {})["data_root"] = value
            elif key == "max_concurrent":
                raw.setdefault("search", {})["max_concurrent"] = value
            elif key in ("cpus_per_trial", "gpus_per_trial"):
                raw.setdefault("resources", {})[key] = value
            else:
                raise SpecError(f"unknown override {key!r}")
        return parse_spec(raw, source=self.source, default_name=self.name)


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------
def shipped_specs() -> dict[str, Path]:
    return {p.stem: p for p in sorted(ABLATIONS_DIR.glob("*.yaml"))}


def resolve_spec_path(spec: str | None) -> Path:
    """A path, or the name of a shipped spec (``quickstart``); None is the quickstart."""
    if spec is None:
        spec = "quickstart"
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    shipped = shipped_specs()
    if spec in shipped:
        return shipped[spec]
    if spec.endswith((".yaml", ".yml")) or "/" in spec:
        raise SpecError(f"spec file {spec!r} does not exist; shipped specs: {', '.join(shipped)}")
    raise SpecError(f"unknown spec {spec!r}; give a YAML path or one of: {', '.join(shipped)}."
                    + did_you_mean(spec, shipped))


def load_spec(spec: str | Path | None) -> AblationSpec:
    path = resolve_spec_path(None if spec is None else str(spec))
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise SpecError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(raw, Mapping):
        raise SpecError(f"{path}: a spec is a YAML mapping (name:, data:, grid:, ...), "
                        f"got {type(raw).__name__}")
    return parse_spec(raw, source=str(path), default_name=path.stem)


def parse_spec(raw: Mapping[str, Any], source: str | None = None,
               default_name: str = "study") -> AblationSpec:
    """Validate a spec mapping; raises ``SpecError`` naming the first problem."""
    where = source or "spec"
    raw = copy.deepcopy(dict(raw))
    check_keys(raw, TOP_KEYS, where)

    name = raw.get("name", default_name)
    if not isinstance(name, str) or not name or any(c in name for c in "/\\ \t\n") or name.startswith("."):
        raise SpecError(f"{where}: name={name!r} must be a non-empty word (no '/', spaces or "
                        f"leading '.'); it names the results folder")

    data = mapping_of(raw.get("data", {}), f"{where}: data")
    check_keys(data, DATA_KEYS, f"{where}: data")
    dataset = data.get("dataset")
    if not isinstance(dataset, str) or not dataset:
        raise SpecError(f"{where}: data.dataset={dataset!r} must name a data set "
                        f"(e.g. digits, mnist, fashion_mnist, or a folder data set's name)")
    check_dataset(dataset, where)

    fixed = flat_settings(mapping_of(raw.get("fixed", {}), f"{where}: fixed"), f"{where}: fixed")
    grid_raw = mapping_of(raw.get("grid", {}), f"{where}: grid")
    if not grid_raw:
        raise SpecError(f"{where}: grid is empty; give at least `model: [...]`")
    grid: list[tuple[str, tuple]] = []
    for key, values in grid_raw.items():
        check_field(key, f"{where}: grid")
        if key in fixed:
            raise SpecError(f"{where}: {key!r} is both in grid and in fixed; keep one")
        if not isinstance(values, list) or not values:
            raise SpecError(f"{where}: grid.{key}={values!r} must be a non-empty list of values")
        if len(set(map(_hashable, values))) != len(values):
            raise SpecError(f"{where}: grid.{key}={values!r} repeats a value")
        grid.append((key, tuple(freeze(v) for v in values)))
    grid_dict = dict(grid)
    if "model" not in grid_dict and "model" not in fixed:
        raise SpecError(f"{where}: say which models to compare: grid.model: [m2, supervised, ...]")
    models_in_study = tuple(grid_dict.get("model", (fixed.get("model"),)))
    models_known = known_models()
    for model in models_in_study:
        if model not in models_known:
            raise SpecError(f"{where}: unknown model {model!r}; known: {', '.join(models_known)}."
                            + did_you_mean(str(model), models_known))
    # A budget the data cannot balance is found by tune/preflight.py, which splits every data
    # setting before Ray starts (the split knows the sub-classes of every data set).

    models = mapping_of(raw.get("models", {}), f"{where}: models")
    model_deltas: dict[str, dict] = {}
    for model, delta in models.items():
        if model not in models_in_study:
            raise SpecError(f"{where}: models.{model}: model {model!r} is not in the study "
                            f"({', '.join(models_in_study)})." + did_you_mean(model, models_in_study))
        model_deltas[model] = flat_settings(mapping_of(delta, f"{where}: models.{model}"),
                                             f"{where}: models.{model}")

    space_raw = mapping_of(raw.get("search_space", {}), f"{where}: search_space")
    search_space: dict[str, tuple[ParamSpec, ...]] = {}
    for model, params in space_raw.items():
        if model not in models_in_study:
            raise SpecError(f"{where}: search_space.{model}: model {model!r} is not in the study "
                            f"({', '.join(models_in_study)})." + did_you_mean(model, models_in_study))
        params = mapping_of(params, f"{where}: search_space.{model}")
        search_space[model] = tuple(
            ParamSpec(**param_fields(model, k, v, f"{where}: search_space.{model}.{k}"))
            for k, v in params.items())
        for p in search_space[model]:
            if p.name in grid_dict:
                raise SpecError(f"{where}: search_space.{model}.{p.name}: {p.name!r} is a grid "
                                f"factor; a setting is either compared or searched, not both")

    search = settings_of(SearchSettings, raw.get("search", {}), f"{where}: search")
    check_search(search, grid_dict, fixed, where)
    asha = settings_of(AshaSettings, raw.get("asha", {}), f"{where}: asha")
    check_asha(asha, where)
    evaluation = settings_of(EvaluationSettings, raw.get("evaluation", {}), f"{where}: evaluation")
    check_evaluation(evaluation, where)
    resources = settings_of(Resources, raw.get("resources", {}), f"{where}: resources")
    check_resources(resources, where)
    smoke = mapping_of(raw.get("smoke", {}), f"{where}: smoke")
    check_keys(smoke, tuple(k for k in TOP_KEYS if k != "smoke"), f"{where}: smoke")

    spec = AblationSpec(
        name=name, dataset=dataset, grid=tuple(grid), description=str(raw.get("description", "")),
        hierarchy=data.get("hierarchy"), data_root=data.get("data_root"), fixed=fixed,
        models=model_deltas, search_space=search_space, search=search, asha=asha,
        evaluation=evaluation, resources=resources, smoke=smoke,
        raw={k: v for k, v in raw.items() if k != "smoke"}, source=source,
    )
    check_configs(spec, where)
    return spec



def _hashable(value: Any) -> str:
    return json.dumps(plain(value), sort_keys=True, default=str)


def _deep_merge(base: dict, top: Mapping) -> dict:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(dict(out[key]), value)
        else:
            out[key] = copy.deepcopy(value)
    return out



def spec_to_yaml(spec: AblationSpec) -> str:
    raw = plain(dict(spec.raw))
    raw["name"] = spec.name
    if spec.smoke:
        raw["smoke"] = plain(dict(spec.smoke))
    return yaml.safe_dump(raw, sort_keys=False)


def with_name(spec: AblationSpec, name: str) -> AblationSpec:
    return replace(spec, name=name)

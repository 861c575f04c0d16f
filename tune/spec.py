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

Every error is raised here, before Ray starts: an unknown key names the closest known key, a bad
value names the value and the valid range.
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

from ssvae.config import ConfigError, TrainConfig
from ssvae.registry import did_you_mean

ABLATIONS_DIR = Path(__file__).resolve().parent.parent / "ablations"

# Validation keys that fit() reports each epoch; only these may drive the search (never test_*).
SEARCH_METRICS = {"val_binary_acc": "max", "val_subclass_acc": "max", "val_loss": "min",
                  "selection_metric": "max"}
# Sub-classes of the built-in data sets (the labelled subset is balanced by sub-class, so a
# budget must be divisible by this; DESIGN.md §3). Folder data sets are checked at run time.
BUILTIN_SUBCLASSES = {"digits": 10, "mnist": 10, "fashion_mnist": 10, "cifar10": 10}

TOP_KEYS = ("name", "description", "data", "grid", "fixed", "models", "search_space", "search",
            "asha", "evaluation", "resources", "smoke")
DATA_KEYS = ("dataset", "hierarchy", "data_root")
PARAM_TYPES = ("float", "int", "categorical")
# A grid or fixed setting never sets these: the study owns them.
STUDY_OWNED = ("split_seed", "seed", "threads", "progress")


class SpecError(ValueError):
    """An ablation spec that is not valid; the message says where and what would be."""


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
        return hashlib.sha256(json.dumps(_jsonable(self.raw), sort_keys=True).encode()).hexdigest()[:12]

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
    _check_keys(raw, TOP_KEYS, where)

    name = raw.get("name", default_name)
    if not isinstance(name, str) or not name or any(c in name for c in "/\\ \t\n") or name.startswith("."):
        raise SpecError(f"{where}: name={name!r} must be a non-empty word (no '/', spaces or "
                        f"leading '.'); it names the results folder")

    data = _mapping(raw.get("data", {}), f"{where}: data")
    _check_keys(data, DATA_KEYS, f"{where}: data")
    dataset = data.get("dataset")
    if not isinstance(dataset, str) or not dataset:
        raise SpecError(f"{where}: data.dataset={dataset!r} must name a data set "
                        f"(e.g. {', '.join(BUILTIN_SUBCLASSES)})")
    _check_dataset(dataset, where)

    fixed = _flat_settings(_mapping(raw.get("fixed", {}), f"{where}: fixed"), f"{where}: fixed")
    grid_raw = _mapping(raw.get("grid", {}), f"{where}: grid")
    if not grid_raw:
        raise SpecError(f"{where}: grid is empty; give at least `model: [...]`")
    grid: list[tuple[str, tuple]] = []
    for key, values in grid_raw.items():
        _check_field(key, f"{where}: grid")
        if key in fixed:
            raise SpecError(f"{where}: {key!r} is both in grid and in fixed; keep one")
        if not isinstance(values, list) or not values:
            raise SpecError(f"{where}: grid.{key}={values!r} must be a non-empty list of values")
        if len(set(map(_hashable, values))) != len(values):
            raise SpecError(f"{where}: grid.{key}={values!r} repeats a value")
        grid.append((key, tuple(_freeze(v) for v in values)))
    grid_dict = dict(grid)
    if "model" not in grid_dict and "model" not in fixed:
        raise SpecError(f"{where}: say which models to compare: grid.model: [m2, supervised, ...]")
    models_in_study = tuple(grid_dict.get("model", (fixed.get("model"),)))
    known_models = _known_models()
    for model in models_in_study:
        if model not in known_models:
            raise SpecError(f"{where}: unknown model {model!r}; known: {', '.join(known_models)}."
                            + did_you_mean(str(model), known_models))
    for n in grid_dict.get("n_labels", ()) + ((fixed["n_labels"],) if "n_labels" in fixed else ()):
        _check_budget(dataset, n, where)

    models = _mapping(raw.get("models", {}), f"{where}: models")
    model_deltas: dict[str, dict] = {}
    for model, delta in models.items():
        if model not in models_in_study:
            raise SpecError(f"{where}: models.{model}: model {model!r} is not in the study "
                            f"({', '.join(models_in_study)})." + did_you_mean(model, models_in_study))
        model_deltas[model] = _flat_settings(_mapping(delta, f"{where}: models.{model}"),
                                             f"{where}: models.{model}")

    space_raw = _mapping(raw.get("search_space", {}), f"{where}: search_space")
    search_space: dict[str, tuple[ParamSpec, ...]] = {}
    for model, params in space_raw.items():
        if model not in models_in_study:
            raise SpecError(f"{where}: search_space.{model}: model {model!r} is not in the study "
                            f"({', '.join(models_in_study)})." + did_you_mean(model, models_in_study))
        params = _mapping(params, f"{where}: search_space.{model}")
        search_space[model] = tuple(_param(model, k, v, f"{where}: search_space.{model}.{k}")
                                    for k, v in params.items())
        for p in search_space[model]:
            if p.name in grid_dict:
                raise SpecError(f"{where}: search_space.{model}.{p.name}: {p.name!r} is a grid "
                                f"factor; a setting is either compared or searched, not both")

    search = _settings(SearchSettings, raw.get("search", {}), f"{where}: search")
    _check_search(search, grid_dict, fixed, where)
    asha = _settings(AshaSettings, raw.get("asha", {}), f"{where}: asha")
    _check_asha(asha, where)
    evaluation = _settings(EvaluationSettings, raw.get("evaluation", {}), f"{where}: evaluation")
    _check_evaluation(evaluation, where)
    resources = _settings(Resources, raw.get("resources", {}), f"{where}: resources")
    _check_resources(resources, where)
    smoke = _mapping(raw.get("smoke", {}), f"{where}: smoke")
    _check_keys(smoke, tuple(k for k in TOP_KEYS if k != "smoke"), f"{where}: smoke")

    spec = AblationSpec(
        name=name, dataset=dataset, grid=tuple(grid), description=str(raw.get("description", "")),
        hierarchy=data.get("hierarchy"), data_root=data.get("data_root"), fixed=fixed,
        models=model_deltas, search_space=search_space, search=search, asha=asha,
        evaluation=evaluation, resources=resources, smoke=smoke,
        raw={k: v for k, v in raw.items() if k != "smoke"}, source=source,
    )
    _check_configs(spec, where)
    return spec


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _freeze(value: Any) -> Any:
    return tuple(_freeze(v) for v in value) if isinstance(value, list) else value


def _hashable(value: Any) -> Any:
    return json.dumps(_jsonable(value), sort_keys=True, default=str)


def _deep_merge(base: dict, top: Mapping) -> dict:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(dict(out[key]), value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _mapping(value: Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SpecError(f"{where} must be a mapping (key: value), got {value!r}")
    return dict(value)


def _check_keys(mapping: Mapping, known: tuple[str, ...], where: str) -> None:
    for key in mapping:
        if key not in known:
            raise SpecError(f"{where}: unknown key {key!r}.{did_you_mean(str(key), known)} "
                            f"Known keys: {', '.join(known)}")


def _check_field(key: str, where: str) -> None:
    known = TrainConfig.field_names()
    if key.startswith("model_options."):
        if not key.split(".", 1)[1]:
            raise SpecError(f"{where}: {key!r} needs an option name after 'model_options.'")
        return
    if key in ("dataset",):
        raise SpecError(f"{where}: {key!r} is set under data:, not here")
    if key in STUDY_OWNED:
        raise SpecError(f"{where}: {key!r} is set by the study (search.split_seed, "
                        f"evaluation.split_seeds/seeds, resources.cpus_per_trial), not here")
    if key not in known:
        raise SpecError(f"{where}: unknown config key {key!r}.{did_you_mean(key, known)} "
                        f"Known keys: {', '.join(k for k in known if k not in STUDY_OWNED)}, "
                        f"model_options.<name>")


def _flat_settings(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    for key in values:
        _check_field(str(key), where)
    return {str(k): v for k, v in values.items()}


def _known_models() -> tuple[str, ...]:
    from ssvae.models import MODELS

    return MODELS.names()


def _check_dataset(dataset: str, where: str) -> None:
    from ssvae.data import DATASETS

    if dataset not in DATASETS:
        raise SpecError(f"{where}: unknown data set {dataset!r}; known: "
                        f"{', '.join(DATASETS.names())}." + did_you_mean(dataset, DATASETS.names()))


def _check_budget(dataset: str, n: Any, where: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SpecError(f"{where}: n_labels={n!r} must be a positive integer")
    k = BUILTIN_SUBCLASSES.get(dataset)
    if k and n % k:
        low, high = max(k, n // k * k), (n // k + 1) * k
        raise SpecError(f"{where}: n_labels={n} is not divisible by the {k} sub-classes of "
                        f"{dataset!r} (labels are balanced by sub-class); nearest valid: {low} or {high}")


def _settings(cls: type, values: Any, where: str):
    values = _mapping(values, where)
    known = tuple(f for f in cls.__dataclass_fields__)
    _check_keys(values, known, where)
    out = {}
    for key, value in values.items():
        default = cls.__dataclass_fields__[key].default
        if isinstance(value, list):
            value = tuple(value)
        if key == "search_at":
            value = _mapping(value, f"{where}.search_at")
        out[key] = value
        if isinstance(default, bool) and not isinstance(value, bool):
            raise SpecError(f"{where}.{key}={value!r} must be true or false")
    return cls(**out)


def _int(value: Any, where: str, low: int, high: int | None = None, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        rng = f">= {low}" + (f" and <= {high}" if high is not None else "")
        raise SpecError(f"{where}={value!r} must be an integer {rng}")


def _number(value: Any, where: str, low: float, high: float | None = None, low_open: bool = False) -> None:
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (high is None or value <= high)
    if not ok:
        rng = (f"> {low}" if low_open else f">= {low}") + (f" and <= {high}" if high is not None else "")
        raise SpecError(f"{where}={value!r} must be a number {rng}")


def _param(model: str, name: str, value: Any, where: str) -> ParamSpec:
    _check_field(name, where.rsplit(".", 1)[0])
    value = _mapping(value, where)
    _check_keys(value, ("type", "low", "high", "log", "step", "choices"), where)
    kind = value.get("type")
    if kind not in PARAM_TYPES:
        raise SpecError(f"{where}.type={kind!r} is not valid; choose one of {', '.join(PARAM_TYPES)}."
                        + did_you_mean(str(kind), PARAM_TYPES))
    if kind == "categorical":
        choices = value.get("choices")
        if set(value) - {"type", "choices"}:
            raise SpecError(f"{where}: a categorical parameter takes only choices, got "
                            f"{sorted(set(value) - {'type', 'choices'})}")
        if not isinstance(choices, list) or not choices:
            raise SpecError(f"{where}.choices={choices!r} must be a non-empty list")
        return ParamSpec(name, kind, choices=tuple(_freeze(c) for c in choices))
    if "choices" in value:
        raise SpecError(f"{where}: choices is for type: categorical, not {kind}")
    low, high, log, step = value.get("low"), value.get("high"), value.get("log", False), value.get("step")
    for label, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise SpecError(f"{where}.{label}={v!r} must be a finite number")
        if kind == "int" and not isinstance(v, int):
            raise SpecError(f"{where}.{label}={v!r} must be an integer for type: int")
    if not low < high:
        raise SpecError(f"{where}: low={low!r} must be < high={high!r}")
    if not isinstance(log, bool):
        raise SpecError(f"{where}.log={log!r} must be true or false")
    if log and low <= 0:
        raise SpecError(f"{where}: low={low!r} must be > 0 with log: true")
    if step is not None:
        _number(step, f"{where}.step", 0, low_open=True)
        if log:
            raise SpecError(f"{where}: step and log: true cannot be combined (Optuna)")
    return ParamSpec(name, kind, low=low, high=high, log=log, step=step)


def _check_search(search: SearchSettings, grid: Mapping[str, tuple], fixed: Mapping, where: str) -> None:
    w = f"{where}: search"
    _int(search.trials, f"{w}.trials", 1)
    if search.metric not in SEARCH_METRICS:
        hint = (" Test metrics never drive the search (DESIGN.md §3); use a validation key."
                if str(search.metric).startswith("test") else "")
        raise SpecError(f"{w}.metric={search.metric!r} is not a validation metric; choose one of "
                        f"{', '.join(SEARCH_METRICS)}.{hint}" + did_you_mean(str(search.metric), SEARCH_METRICS))
    if search.mode not in (None, "max", "min"):
        raise SpecError(f"{w}.mode={search.mode!r} must be max or min (or unset: the metric's own)")
    modes = grid.get("label_mode", (fixed.get("label_mode", TrainConfig.label_mode),))
    if search.metric == "val_subclass_acc" and "binary" in modes:
        raise SpecError(f"{w}.metric='val_subclass_acc' is empty in label_mode binary (in this "
                        f"study); use val_binary_acc, which both label modes report")
    _int(search.seed, f"{w}.seed", 0)
    _int(search.n_startup_trials, f"{w}.n_startup_trials", 0)
    _int(search.split_seed, f"{w}.split_seed", 0)
    _int(search.max_concurrent, f"{w}.max_concurrent", 1, optional=True)
    _int(search.max_failures, f"{w}.max_failures", 0, 100)
    for factor, value in search.search_at.items():
        if factor not in grid:
            raise SpecError(f"{w}.search_at: {factor!r} is not a grid factor "
                            f"({', '.join(grid)}).{did_you_mean(factor, grid)}")
        if factor == "model":
            raise SpecError(f"{w}.search_at: each model has its own search space; search_at "
                            f"names the factors whose best config is reused (e.g. n_labels)")
        if _freeze(value) not in grid[factor]:
            raise SpecError(f"{w}.search_at.{factor}={value!r} is not one of the grid's values "
                            f"{list(grid[factor])}")


def _check_asha(asha: AshaSettings, where: str) -> None:
    w = f"{where}: asha"
    _int(asha.grace_period, f"{w}.grace_period", 1)
    _number(asha.reduction_factor, f"{w}.reduction_factor", 1, low_open=True)
    _int(asha.brackets, f"{w}.brackets", 1, 10)
    if asha.brackets != 1:
        raise SpecError(f"{w}.brackets={asha.brackets}: only 1 is supported, since ASHA's rungs "
                        f"are decided in trial order in one bracket so that the answer does not "
                        f"depend on machine load (tune/rungs.py)")
    _int(asha.max_t, f"{w}.max_t", 1, optional=True)


def _check_evaluation(ev: EvaluationSettings, where: str) -> None:
    w = f"{where}: evaluation"
    if not isinstance(ev.split_seeds, tuple) or not ev.split_seeds:
        raise SpecError(f"{w}.split_seeds={ev.split_seeds!r} must be a non-empty list of label draws")
    for s in ev.split_seeds:
        _int(s, f"{w}.split_seeds[{s!r}]", 0)
    if len(set(ev.split_seeds)) != len(ev.split_seeds):
        raise SpecError(f"{w}.split_seeds={list(ev.split_seeds)} repeats a label draw")
    if not isinstance(ev.seeds, tuple) or not ev.seeds:
        raise SpecError(f"{w}.seeds={ev.seeds!r} must be a non-empty list (null: follow the label draw)")
    for s in ev.seeds:
        _int(s, f"{w}.seeds[{s!r}]", 0, optional=True)
    if len(set(ev.seeds)) != len(ev.seeds):
        raise SpecError(f"{w}.seeds={list(ev.seeds)} repeats a seed")
    _int(ev.max_failures, f"{w}.max_failures", 0, 100)


def _check_resources(res: Resources, where: str) -> None:
    w = f"{where}: resources"
    _number(res.cpus_per_trial, f"{w}.cpus_per_trial", 0, 1024, low_open=True)
    _number(res.gpus_per_trial, f"{w}.gpus_per_trial", 0, 16)


def _check_configs(spec: AblationSpec, where: str) -> None:
    """Every cell must make a valid TrainConfig, and every searched value must too (checked at
    the ends of ranges and for every choice), so no cell fails for a config typo after hours."""
    from tune.cells import expand_cells  # noqa: PLC0415 (cells imports this module)

    try:
        cells = expand_cells(spec)
    except ConfigError as err:
        raise SpecError(f"{where}: {err}") from None
    options_check = _model_options_checker()
    for cell in cells:
        for p in spec.search_space.get(cell.model, ()):
            for value in p.values_to_check():
                try:
                    cfg = cell.config.replace(**{p.name: value})
                except (ConfigError, TypeError) as err:
                    raise SpecError(f"{where}: search_space.{cell.model}.{p.name}: value "
                                    f"{value!r} is not valid: {err}") from None
                try:
                    options_check(cfg.model, cfg.model_options)
                except (ConfigError, ValueError, TypeError) as err:
                    raise SpecError(f"{where}: search_space.{cell.model}.{p.name}: value "
                                    f"{value!r} is not valid: {err}") from None
        try:
            options_check(cell.config.model, cell.config.model_options)
        except (ConfigError, ValueError, TypeError) as err:
            raise SpecError(f"{where}: cell {cell.name}: {err}") from None


def _model_options_checker():
    from ssvae.models import model_options

    return model_options


def spec_to_yaml(spec: AblationSpec) -> str:
    raw = _jsonable(dict(spec.raw))
    raw["name"] = spec.name
    if spec.smoke:
        raw["smoke"] = _jsonable(dict(spec.smoke))
    return yaml.safe_dump(raw, sort_keys=False)


def with_name(spec: AblationSpec, name: str) -> AblationSpec:
    return replace(spec, name=name)

"""Checks of an ablation spec's parts (keys, settings, searched parameters, budgets of search,
ASHA, evaluation and resources, and every cell's configuration), run by ``tune.spec.parse_spec``
before Ray starts. Each error names where in the spec, the bad value and what would be valid;
single values are checked by ``ssvae.validation``, the same checks ``TrainConfig`` uses.
"""
from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any, Mapping

from ssvae import validation
from ssvae.config import ConfigError, TrainConfig
from ssvae.registry import did_you_mean
from ssvae.validation import freeze
from tune.cells import expand_cells

if TYPE_CHECKING:
    from tune.spec import AblationSpec, AshaSettings, EvaluationSettings, Resources, SearchSettings


class SpecError(ValueError):
    """An ablation spec that is not valid; the message says where and what would be."""


check_int = functools.partial(validation.check_int, error=SpecError)
check_float = functools.partial(validation.check_float, error=SpecError)

# Validation keys that fit() reports each epoch; only these may drive the search (never test_*).
SEARCH_METRICS = {"val_binary_acc": "max", "val_subclass_acc": "max", "val_loss": "min",
                  "selection_metric": "max"}
PARAM_TYPES = ("float", "int", "categorical")
# A grid or fixed setting never sets these: the study owns them.
STUDY_OWNED = ("split_seed", "seed", "threads", "progress")


def mapping_of(value: Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SpecError(f"{where} must be a mapping (key: value), got {value!r}")
    return dict(value)



def check_keys(mapping: Mapping, known: tuple[str, ...], where: str) -> None:
    for key in mapping:
        if key not in known:
            raise SpecError(f"{where}: unknown key {key!r}.{did_you_mean(str(key), known)} "
                            f"Known keys: {', '.join(known)}")



def check_field(key: str, where: str) -> None:
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



def flat_settings(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    for key in values:
        check_field(str(key), where)
    return {str(k): v for k, v in values.items()}



def known_models() -> tuple[str, ...]:
    from ssvae.models import MODELS

    return MODELS.names()



def check_dataset(dataset: str, where: str) -> None:
    from ssvae.data import DATASETS

    if dataset not in DATASETS:
        raise SpecError(f"{where}: unknown data set {dataset!r}; known: "
                        f"{', '.join(DATASETS.names())}." + did_you_mean(dataset, DATASETS.names()))



def settings_of(cls: type, values: Any, where: str):
    values = mapping_of(values, where)
    known = tuple(f for f in cls.__dataclass_fields__)
    check_keys(values, known, where)
    out = {}
    for key, value in values.items():
        default = cls.__dataclass_fields__[key].default
        if isinstance(value, list):
            value = tuple(value)
        if key == "search_at":
            value = mapping_of(value, f"{where}.search_at")
        out[key] = value
        if isinstance(default, bool) and not isinstance(value, bool):
            raise SpecError(f"{where}.{key}={value!r} must be true or false")
    return cls(**out)



def param_fields(model: str, name: str, value: Any, where: str) -> dict[str, Any]:
    """A searched parameter's settings, checked: the fields of ``tune.spec.ParamSpec``."""
    check_field(name, where.rsplit(".", 1)[0])
    value = mapping_of(value, where)
    check_keys(value, ("type", "low", "high", "log", "step", "choices"), where)
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
        return dict(name=name, type=kind, choices=tuple(freeze(c) for c in choices))
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
        check_float(f"{where}.step", step, 0, low_open=True)
        if log:
            raise SpecError(f"{where}: step and log: true cannot be combined (Optuna)")
    return dict(name=name, type=kind, low=low, high=high, log=log, step=step)



def check_search(search: SearchSettings, grid: Mapping[str, tuple], fixed: Mapping, where: str) -> None:
    w = f"{where}: search"
    check_int(f"{w}.trials", search.trials, 1)
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
    check_int(f"{w}.seed", search.seed, 0)
    check_int(f"{w}.n_startup_trials", search.n_startup_trials, 0)
    check_int(f"{w}.split_seed", search.split_seed, 0)
    check_int(f"{w}.max_concurrent", search.max_concurrent, 1, optional=True)
    check_int(f"{w}.max_failures", search.max_failures, 0, 100)
    for factor, value in search.search_at.items():
        if factor not in grid:
            raise SpecError(f"{w}.search_at: {factor!r} is not a grid factor "
                            f"({', '.join(grid)}).{did_you_mean(factor, grid)}")
        if factor == "model":
            raise SpecError(f"{w}.search_at: each model has its own search space; search_at "
                            f"names the factors whose best config is reused (e.g. n_labels)")
        if freeze(value) not in grid[factor]:
            raise SpecError(f"{w}.search_at.{factor}={value!r} is not one of the grid's values "
                            f"{list(grid[factor])}")



def check_asha(asha: AshaSettings, where: str) -> None:
    w = f"{where}: asha"
    check_int(f"{w}.grace_period", asha.grace_period, 1)
    check_float(f"{w}.reduction_factor", asha.reduction_factor, 1, low_open=True)
    check_int(f"{w}.brackets", asha.brackets, 1, 10)
    if asha.brackets != 1:
        raise SpecError(f"{w}.brackets={asha.brackets}: only 1 is supported, since ASHA's rungs "
                        f"are decided in trial order in one bracket so that the answer does not "
                        f"depend on machine load (tune/rungs.py)")
    check_int(f"{w}.max_t", asha.max_t, 1, optional=True)



def check_evaluation(ev: EvaluationSettings, where: str) -> None:
    w = f"{where}: evaluation"
    if not isinstance(ev.split_seeds, tuple) or not ev.split_seeds:
        raise SpecError(f"{w}.split_seeds={ev.split_seeds!r} must be a non-empty list of label draws")
    for s in ev.split_seeds:
        check_int(f"{w}.split_seeds[{s!r}]", s, 0)
    if len(set(ev.split_seeds)) != len(ev.split_seeds):
        raise SpecError(f"{w}.split_seeds={list(ev.split_seeds)} repeats a label draw")
    if not isinstance(ev.seeds, tuple) or not ev.seeds:
        raise SpecError(f"{w}.seeds={ev.seeds!r} must be a non-empty list (null: follow the label draw)")
    for s in ev.seeds:
        check_int(f"{w}.seeds[{s!r}]", s, 0, optional=True)
    if len(set(ev.seeds)) != len(ev.seeds):
        raise SpecError(f"{w}.seeds={list(ev.seeds)} repeats a seed")
    check_int(f"{w}.max_failures", ev.max_failures, 0, 100)



def check_resources(res: Resources, where: str) -> None:
    w = f"{where}: resources"
    check_float(f"{w}.cpus_per_trial", res.cpus_per_trial, 0, 1024, low_open=True)
    check_float(f"{w}.gpus_per_trial", res.gpus_per_trial, 0, 16)



def check_configs(spec: AblationSpec, where: str) -> None:
    """Every cell must make a valid TrainConfig, and every searched value must too (checked at
    the ends of ranges and for every choice), so no cell fails for a config typo after hours."""
    try:
        cells = expand_cells(spec)
    except ConfigError as err:
        raise SpecError(f"{where}: {err}") from None
    from ssvae.models import model_options as options_check

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

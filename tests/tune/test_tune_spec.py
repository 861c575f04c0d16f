"""Spec validation: every error branch, each raised before Ray starts, with a did-you-mean for
unknown keys and the value plus the valid range for bad values."""
from __future__ import annotations

import copy

import pytest
import yaml

from tune.search import main
from tune.spec import SpecError, load_spec, parse_spec, resolve_spec_path

BASE = {
    "name": "t",
    "data": {"dataset": "digits"},
    "grid": {"model": ["supervised", "m2"], "label_mode": ["binary", "subclass"],
             "n_labels": [50, 200]},
    "fixed": {"epochs": 3},
    "search_space": {"m2": {"lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}}},
    "search": {"trials": 2, "search_at": {"n_labels": 200}},
}


def spec_with(**changes):
    raw = copy.deepcopy(BASE)
    for path, value in changes.items():
        keys = path.split("__")
        node = raw
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        if value is DELETE:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value
    return raw


DELETE = object()

CASES = {
    # top level and data
    "unknown top key": (dict(serach={"trials": 2}), ["unknown key 'serach'", "Did you mean 'search'"]),
    "bad name": (dict(name="a/b"), ["name='a/b'"]),
    "data unknown key": (dict(data__datset="digits"), ["unknown key 'datset'", "Did you mean 'dataset'"]),
    "no dataset": (dict(data={}), ["data.dataset=None"]),
    "unknown dataset": (dict(data={"dataset": "mnsit"}), ["unknown data set 'mnsit'", "Did you mean 'mnist'"]),
    # grid and fixed
    "empty grid": (dict(grid={}), ["grid is empty"]),
    "grid not a list": (dict(grid__model="m2"), ["grid.model='m2' must be a non-empty list"]),
    "grid repeats": (dict(grid__n_labels=[50, 50]), ["repeats a value"]),
    "grid unknown field": (dict(grid__n_label=[50]), ["unknown config key 'n_label'", "Did you mean 'n_labels'"]),
    "grid and fixed": (dict(fixed__n_labels=50), ["both in grid and in fixed"]),
    "study-owned field": (dict(fixed__split_seed=3), ["'split_seed' is set by the study"]),
    "dataset in fixed": (dict(fixed__dataset="mnist"), ["set under data:"]),
    "fixed unknown field": (dict(fixed__epoch=3), ["unknown config key 'epoch'", "Did you mean 'epochs'"]),
    "fixed bad value": (dict(fixed__lr=50.0), ["lr=50.0", "<= 10.0"]),
    "fixed bad choice": (dict(fixed__network="cnn"), ["network='cnn'", "mlp, conv"]),
    "no model": (dict(grid={"n_labels": [50]}), ["say which models"]),
    "unknown model": (dict(grid__model=["gmvea"]), ["unknown model 'gmvea'", "Did you mean 'gmvae'"]),
    "budget not positive": (dict(grid__n_labels=[0, 200]), ["n_labels=0 must be an integer >= 1"]),
    "model delta for absent model": (dict(models={"gmvae": {"lr": 0.1}}), ["models.gmvae", "not in the study"]),
    "model delta bad option": (dict(models={"m2": {"model_options.alpah": 0.1}}), ["alpah", "Did you mean 'alpha'"]),
    # search space
    "space for absent model": (dict(search_space={"gmvae": {}}), ["search_space.gmvae", "not in the study"]),
    "space unknown field": (dict(search_space={"m2": {"lrr": {"type": "float", "low": 0.1, "high": 1}}}),
                            ["unknown config key 'lrr'", "Did you mean 'lr'"]),
    "param unknown key": (dict(search_space={"m2": {"lr": {"type": "float", "low": 0.1, "high": 1, "lg": True}}}),
                          ["unknown key 'lg'", "Did you mean 'log'"]),
    "param bad type": (dict(search_space={"m2": {"lr": {"type": "loguniform", "low": 0.1, "high": 1}}}),
                       ["type='loguniform'", "float, int, categorical"]),
    "categorical extra": (dict(search_space={"m2": {"lr": {"type": "categorical", "choices": [0.1], "low": 1}}}),
                          ["takes only choices"]),
    "categorical empty": (dict(search_space={"m2": {"lr": {"type": "categorical", "choices": []}}}),
                          ["choices=[] must be a non-empty list"]),
    "choices on float": (dict(search_space={"m2": {"lr": {"type": "float", "choices": [0.1]}}}),
                         ["choices is for type: categorical"]),
    "low not a number": (dict(search_space={"m2": {"lr": {"type": "float", "low": "a", "high": 1}}}),
                         ["low='a' must be a finite number"]),
    "int with float bound": (dict(search_space={"m2": {"latent_dim": {"type": "int", "low": 2.5, "high": 8}}}),
                             ["low=2.5 must be an integer"]),
    "low >= high": (dict(search_space={"m2": {"lr": {"type": "float", "low": 0.1, "high": 0.01}}}),
                    ["low=0.1 must be < high=0.01"]),
    "log not bool": (dict(search_space={"m2": {"lr": {"type": "float", "low": 0.1, "high": 1, "log": "yes"}}}),
                     ["log='yes' must be true or false"]),
    "log with low <= 0": (dict(search_space={"m2": {"weight_decay": {"type": "float", "low": 0.0, "high": 1, "log": True}}}),
                          ["must be > 0 with log: true"]),
    "bad step": (dict(search_space={"m2": {"lr": {"type": "float", "low": 0.1, "high": 1, "step": 0}}}),
                 ["step=0 must be a number > 0"]),
    "step with log": (dict(search_space={"m2": {"lr": {"type": "float", "low": 0.1, "high": 1, "step": 0.1, "log": True}}}),
                      ["step and log: true cannot be combined"]),
    "searched grid factor": (dict(search_space={"m2": {"n_labels": {"type": "categorical", "choices": [50]}}}),
                             ["is a grid factor"]),
    "searched value out of range": (dict(search_space={"m2": {"lr": {"type": "float", "low": 0.1, "high": 20.0}}}),
                                    ["value 20.0 is not valid", "lr=20.0", "<= 10.0"]),
    "searched model option out of range": (dict(search_space={"m2": {"model_options.alpha": {"type": "float", "low": -1.0, "high": 1.0}}}),
                                           ["value -1.0 is not valid", "alpha"]),
    "unknown model option": (dict(search_space={"m2": {"model_options.alpah": {"type": "categorical", "choices": [0.1]}}}),
                             ["alpah", "Did you mean 'alpha'"]),
    # search settings
    "search unknown key": (dict(search__trails=3), ["unknown key 'trails'", "Did you mean 'trials'"]),
    "trials zero": (dict(search__trials=0), ["search.trials=0 must be an integer >= 1"]),
    "test metric": (dict(search__metric="test_binary_acc"), ["not a validation metric", "Test metrics never drive the search"]),
    "unknown metric": (dict(search__metric="val_binary_ac"), ["val_binary_ac", "Did you mean 'val_binary_acc'"]),
    "bad mode": (dict(search__mode="maximum"), ["mode='maximum' must be max or min"]),
    "subclass metric in binary mode": (dict(search__metric="val_subclass_acc"), ["empty in label_mode binary"]),
    "negative seed": (dict(search__seed=-1), ["search.seed=-1"]),
    "negative startup": (dict(search__n_startup_trials=-1), ["n_startup_trials=-1"]),
    "negative search split seed": (dict(search__split_seed=-2), ["search.split_seed=-2"]),
    "max_concurrent zero": (dict(search__max_concurrent=0), ["max_concurrent=0 must be an integer >= 1"]),
    "max_failures negative": (dict(search__max_failures=-1), ["max_failures=-1"]),
    "search_at unknown factor": (dict(search__search_at={"n_label": 200}), ["'n_label' is not a grid factor", "Did you mean 'n_labels'"]),
    "search_at model": (dict(search__search_at={"model": "m2"}), ["each model has its own search space"]),
    "search_at value not in grid": (dict(search__search_at={"n_labels": 100}), ["search_at.n_labels=100", "[50, 200]"]),
    # asha
    "asha unknown key": (dict(asha={"grace_perod": 1}), ["unknown key 'grace_perod'", "Did you mean 'grace_period'"]),
    "asha grace": (dict(asha={"grace_period": 0}), ["grace_period=0 must be an integer >= 1"]),
    "asha reduction": (dict(asha={"reduction_factor": 1}), ["reduction_factor=1 must be a number > 1"]),
    "asha brackets": (dict(asha={"brackets": 0}), ["brackets=0"]),
    "asha brackets > 1": (dict(asha={"brackets": 2}), ["brackets=2", "trial order"]),
    "asha max_t": (dict(asha={"max_t": 0}), ["max_t=0"]),
    "asha enabled not bool": (dict(asha={"enabled": "no"}), ["enabled='no' must be true or false"]),
    # evaluation
    "evaluation unknown key": (dict(evaluation={"split_seed": [0]}), ["unknown key 'split_seed'", "Did you mean 'split_seeds'"]),
    "no label draws": (dict(evaluation={"split_seeds": []}), ["split_seeds=() must be a non-empty list"]),
    "negative label draw": (dict(evaluation={"split_seeds": [0, -1]}), ["split_seeds[-1]=-1"]),
    "repeated label draw": (dict(evaluation={"split_seeds": [1, 1]}), ["repeats a label draw"]),
    "no seeds": (dict(evaluation={"seeds": []}), ["seeds=() must be a non-empty list"]),
    "bad seed": (dict(evaluation={"seeds": ["x"]}), ["seeds['x']='x'"]),
    "repeated seed": (dict(evaluation={"seeds": [3, 3]}), ["repeats a seed"]),
    "eval max_failures": (dict(evaluation={"max_failures": 101}), ["max_failures=101", "<= 100"]),
    # resources and smoke
    "resources unknown key": (dict(resources={"cpus_per_trail": 1}), ["unknown key 'cpus_per_trail'", "Did you mean 'cpus_per_trial'"]),
    "zero cpus": (dict(resources={"cpus_per_trial": 0}), ["cpus_per_trial=0 must be a number > 0"]),
    "negative gpus": (dict(resources={"gpus_per_trial": -0.5}), ["gpus_per_trial=-0.5 must be a number >= 0"]),
    "smoke unknown key": (dict(smoke={"trails": 1}), ["smoke: unknown key 'trails'"]),
    "section not a mapping": (dict(fixed=[1, 2]), ["fixed must be a mapping"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_spec_error(case):
    changes, expected = CASES[case]
    with pytest.raises(SpecError) as info:
        parse_spec(spec_with(**changes), source="t.yaml")
    for text in expected:
        assert text in str(info.value), f"{text!r} not in {info.value}"


def test_valid_base_spec():
    spec = parse_spec(spec_with(), source="t.yaml")
    assert spec.factors == ("model", "label_mode", "n_labels")
    assert spec.search.direction == "max"


def test_yaml_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(SpecError, match="a spec is a YAML mapping"):
        load_spec(listed)


def test_spec_lookup_errors():
    with pytest.raises(SpecError, match="Did you mean 'quickstart'"):
        resolve_spec_path("quickstrat")
    with pytest.raises(SpecError, match="does not exist"):
        resolve_spec_path("/nonexistent/spec.yaml")


def test_name_defaults_to_file_name(tmp_path):
    raw = spec_with(name=DELETE)
    path = tmp_path / "my_study.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert load_spec(path).name == "my_study"


def test_cli_errors_exit_before_ray(tmp_path, capsys, monkeypatch):
    import tune.runner

    def no_ray(*args, **kwargs):
        raise AssertionError("Ray must not start when the spec is not valid")

    monkeypatch.setattr(tune.runner, "ensure_ray", no_ray)
    monkeypatch.setattr(tune.runner, "run_study", no_ray)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(spec_with(serach={})))
    assert main([str(path), "--results-dir", str(tmp_path)]) == 2
    assert "Did you mean 'search'" in capsys.readouterr().err
    assert main(["quickstart", "--cpus-per-trial", "0", "--results-dir", str(tmp_path)]) == 2
    assert "cpus_per_trial=0" in capsys.readouterr().err
    assert main(["quickstart", "--max-concurrent", "0", "--results-dir", str(tmp_path)]) == 2
    assert main(["quickstart", "--name", "a b", "--results-dir", str(tmp_path)]) == 2
    assert not any(tmp_path.iterdir()) or [p.name for p in tmp_path.iterdir()] == ["s.yaml"]

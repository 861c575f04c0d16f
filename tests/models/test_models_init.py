"""The model registry, build_model and the validation of every model option."""
from __future__ import annotations

import dataclasses

import pytest

from ssvae.config import ConfigError
from ssvae.models import MODELS, build_model, model_options
from ssvae.registry import UnknownNameError

from tests_models_helpers import SHAPES, tiny_config


def test_registry_lists_every_model():
    assert MODELS.names() == ("gmvae", "m1", "m1m2", "m2", "supervised", "vgg16")


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(UnknownNameError, match=r"unknown model 'gmvea'.*m1m2, m2.*Did you mean 'gmvae'"):
        build_model(tiny_config(model="gmvea"), SHAPES["digits"], 3)


@pytest.mark.parametrize("model,key,hint", [("m2", "alpah", "alpha"), ("m1", "heads", "head"),
                                            ("gmvae", "mean", "means"), ("supervised", "drop_out", "dropout"),
                                            ("m1m2", "m1_ckpt", None), ("vgg16", "augmen", "augment")])
def test_unknown_option_is_an_error_with_did_you_mean(model, key, hint):
    with pytest.raises(ConfigError, match=f"unknown model option '{key}' for model '{model}'") as err:
        model_options(model, {key: 1})
    assert "Known options:" in str(err.value)
    if hint:
        assert f"Did you mean '{hint}'?" in str(err.value)
    with pytest.raises(ConfigError):
        build_model(tiny_config(model=model, model_options={key: 1}), SHAPES["digits"], 3)


BAD_VALUES = [
    ("m2", "alpha", -1.0, ">= 0.0"), ("m2", "alpha", "big", "finite number"),
    ("m2", "alpha_scale", "papr", "paper, labelled, none"), ("m2", "gaussian_sigma", 0.0, "> 0.0"),
    ("m2", "classifier_dropout", 1.0, "<= 0.95"),
    ("m2", "hidden_layers", 0, "from 1 to 8"), ("m2", "hidden_layers", 1.5, "whole number"),
    ("m1", "head", "knn", "logreg, svm, mlp"), ("m1", "head_c", 0.0, "> 0.0"),
    ("m1", "head_hidden", 0, ">= 1"), ("m1", "head_hidden", 2.5, "integer"),
    ("m1", "head_alpha", -1.0, ">= 0.0"), ("m1", "gaussian_sigma", -1.0, "> 0.0"),
    ("m1m2", "alpha", float("nan"), "finite"), ("m1m2", "alpha_scale", "x", "paper, labelled, none"),
    ("m1m2", "m1_checkpoint", "/no/such/file.pt", "is not a file"),
    ("m1m2", "sample_z1", "yes", "true or false"), ("m1m2", "active_std", 0, "must be a number > 0"), ("m1m2", "standardise_z1", 1, "true or false"),
    ("m1m2", "gaussian_sigma", 0.0, "> 0.0"),
    ("m1m2", "z1_sigma", -2.0, "> 0.0"), ("m1m2", "classifier_dropout", -0.1, ">= 0.0"),
    ("m1m2", "z1_variance", "per_sample", "per_unit, per_example"),
    ("m1m2", "m2_hidden_dim", 0, ">= 1"), ("m1m2", "m2_hidden_layers", 9, "from 1 to 8"),
    ("gmvae", "means", "random", "learned, fixed"), ("gmvae", "mean_spread", 0.0, "> 0.0"),
    ("gmvae", "unlabelled_kl", "exact", "mc, responsibility"), ("gmvae", "cls_weight", -1.0, ">= 0.0"),
    ("gmvae", "rejection_recon_weight", -1.0, ">= 0.0"), ("gmvae", "gaussian_sigma", 0.0, "> 0.0"),
    ("supervised", "dropout", 0.99, "<= 0.95"), ("supervised", "label_smoothing", 0.6, "<= 0.5"),
    ("supervised", "augment", "crop", "none, shift, shift_flip"), ("supervised", "max_shift", 0.7, "<= 0.5"),
    ("supervised", "input_noise", -0.1, ">= 0.0"),
    ("vgg16", "dropout", 1.5, "<= 0.95"), ("vgg16", "augment", "mixup", "none, shift, shift_flip"),
    ("vgg16", "label_smoothing", -0.1, ">= 0.0"), ("vgg16", "max_shift", -1.0, ">= 0.0"),
    ("vgg16", "input_noise", 2.0, "<= 1.0"),
]


@pytest.mark.parametrize("model,key,value,fragment", BAD_VALUES)
def test_bad_option_value_names_value_and_range(model, key, value, fragment):
    with pytest.raises(ConfigError) as err:
        model_options(model, {key: value})
    msg = str(err.value)
    assert f"model_options.{key}=" in msg and fragment in msg


@pytest.mark.parametrize("model", MODELS.names())
def test_every_option_has_a_bad_value_test_and_defaults_are_valid(model):
    cls = MODELS.get(model).options_cls
    fields = {f.name for f in dataclasses.fields(cls)}
    tested = {key for m, key, _, _ in BAD_VALUES if m == model}
    assert fields == tested
    options = model_options(model, {})
    assert options == cls() and dataclasses.is_dataclass(options)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(options, next(iter(fields)), None)

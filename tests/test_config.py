"""TrainConfig: every validation branch, did-you-mean, identity hashing."""
import json

import pytest

from ssvae.config import ConfigError, TrainConfig


def test_defaults_are_valid_and_frozen():
    config = TrainConfig()
    with pytest.raises(Exception):
        config.lr = 0.1  # frozen
    assert config.train_seed == config.split_seed


@pytest.mark.parametrize("changes, message", [
    ({"label_mode": "binry"}, "Did you mean 'binary'"),
    ({"network": "cnn"}, "network='cnn' is not valid"),
    ({"classifier": "resnet"}, "choose one of mlp, conv, vgg16"),
    ({"likelihood": "poisson"}, "likelihood='poisson'"),
    ({"device": "tpu"}, "device='tpu'"),
    ({"vgg16_missing": "ignore"}, "vgg16_missing='ignore'"),
    ({"n_labels": None}, "exactly one of n_labels"),
    ({"label_fraction": 0.1}, "exactly one of n_labels"),
    ({"n_labels": 0}, "n_labels=0 must be an integer >= 1"),
    ({"n_labels": 10.5}, "n_labels=10.5 must be an integer"),
    ({"n_labels": None, "label_fraction": 1.5}, "label_fraction=1.5 must be a number > 0.0 and <= 1.0"),
    ({"n_labels": None, "label_fraction": 0.0}, "label_fraction=0.0 must be a number > 0.0"),
    ({"split_seed": -1}, "split_seed=-1 must be an integer >= 0"),
    ({"seed": -2}, "seed=-2"),
    ({"val_size": 0}, "val_size=0"),
    ({"image_size": 4}, "image_size=4 must be an integer >= 8"),
    ({"channels": 2}, "channels=2 must be 1"),
    ({"latent_dim": 0}, "latent_dim=0"),
    ({"hidden_dim": 0}, "hidden_dim=0"),
    ({"epochs": 0}, "epochs=0"),
    ({"patience": 0}, "patience=0"),
    ({"batch_size": 0}, "batch_size=0"),
    ({"labelled_batch_size": 0}, "labelled_batch_size=0"),
    ({"loss_rel_tol": -0.1}, "loss_rel_tol=-0.1"),
    ({"select_on": "test"}, "select_on='test'"),
    ({"min_steps_per_epoch": 0}, "min_steps_per_epoch=0"),
    ({"lr": 0.0}, "lr=0.0 must be a number > 0.0"),
    ({"lr": float("nan")}, "lr=nan must be a finite number"),
    ({"weight_decay": -1.0}, "weight_decay=-1.0"),
    ({"kl_warmup_epochs": -1}, "kl_warmup_epochs=-1"),
    ({"ema_decay": -0.1}, "ema_decay=-0.1 must be a number >= 0.0"),
    ({"ema_decay": 1.0}, "ema_decay=1.0 must be a number >= 0.0 and < 1.0"),
    ({"ema_decay": float("nan")}, "ema_decay=nan must be a finite number"),
    ({"lr_decays": -1}, "lr_decays=-1 must be an integer >= 0"),
    ({"lr_decays": 1.5}, "lr_decays=1.5 must be an integer"),
    ({"lr_decay_factor": 0.0}, "lr_decay_factor=0.0 must be a number > 0.0 and < 1.0"),
    ({"lr_decay_factor": 1.0}, "lr_decay_factor=1.0 must be a number > 0.0 and < 1.0"),
    ({"lr_decay_factor": float("inf")}, "lr_decay_factor=inf must be a finite number"),
    ({"threads": 0}, "threads=0"),
    ({"flush_denormal": "yes"}, "flush_denormal='yes' is not valid; choose true or false"),
    ({"progress": 1}, "progress=1 is not valid"),
    ({"max_stage_s": 0}, "max_stage_s=0 must be a number > 0.0"),
    ({"max_stage_s": float("inf")}, "max_stage_s=inf must be a finite number"),
    ({"dataset": ""}, "dataset=''"),
    ({"model": None}, "model=None"),
])
def test_every_validation_error_names_the_value(changes, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        TrainConfig(**changes)


def test_from_dict_rejects_unknown_keys_with_suggestion():
    with pytest.raises(ConfigError, match="unknown config key 'learning_rat'|Did you mean"):
        TrainConfig.from_dict({"learning_rat": 0.1})
    with pytest.raises(ConfigError, match="Did you mean 'n_labels'"):
        TrainConfig.from_dict({"n_label": 100})


def test_replace_revalidates_and_supports_dotted_model_options():
    config = TrainConfig(model_options={"alpha": 0.1})
    changed = config.replace(**{"model_options.alpha": 0.5, "lr": 3e-4})
    assert changed.model_options["alpha"] == 0.5 and changed.lr == 3e-4
    assert config.model_options["alpha"] == 0.1
    with pytest.raises(ConfigError):
        config.replace(lr=-1.0)
    with pytest.raises(ConfigError, match="Did you mean 'epochs'"):
        config.replace(epoch=3)


def test_model_options_are_frozen_and_serialisable():
    config = TrainConfig(model_options={"alpha": 0.1, "nested": {"b": [1, 2]}})
    with pytest.raises(TypeError):
        config.model_options["alpha"] = 1.0
    round_trip = TrainConfig.from_dict(json.loads(config.to_json()))
    assert round_trip == config
    assert round_trip.run_id == config.run_id


def test_run_id_ignores_runtime_fields_only():
    base = TrainConfig()
    assert base.run_id == base.replace(device="cpu", threads=1, progress=False,
                                       data_root="/elsewhere", download=True,
                                       flush_denormal=False).run_id
    assert base.run_id != base.replace(lr=2e-3).run_id
    assert base.run_id != base.replace(split_seed=1).run_id
    # The training seed follows the label draw unless set: seed=None and seed=split_seed agree.
    assert base.run_id == base.replace(seed=base.split_seed).run_id


def test_identity_lists_defining_fields_and_changed_fields_only():
    identity = TrainConfig(lr=3e-4).identity()
    assert identity["lr"] == 3e-4 and identity["model"] == "m2" and identity["n_labels"] == 100
    assert "batch_size" not in identity          # at its default: a later default-preserving
    assert identity["identity_version"] >= 1     # field leaves cached run_ids valid


def test_a_models_identity_version_changes_its_run_ids_only():
    from ssvae.models import MODELS

    for name in MODELS.names():
        identity = TrainConfig(model=name).identity()
        version = MODELS.get(name).identity_version
        assert identity.get("model_version", 1) == version
    assert "model_version" not in TrainConfig(model="gmvae").identity()  # old gmvae run_ids stay
    assert TrainConfig(model="m2").identity()["model_version"] == 2     # α's default scale changed
    assert TrainConfig(model="m1").identity()["model_version"] == 2     # the head changed


def test_field_docs_join_continuation_lines_and_skip_section_headers():
    from ssvae.config import field_docs

    docs = field_docs(TrainConfig)
    assert docs["max_stage_s"].startswith("wall-clock bound per stage")
    assert docs["max_stage_s"].endswith("such a result depends on the machine's speed.")
    assert "runtime" not in docs["progress"] and "---" not in docs["max_stage_s"]
    assert set(docs) == set(TrainConfig.field_names())

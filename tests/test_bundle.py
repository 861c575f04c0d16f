"""``RUN/best/`` is self-contained and safe: copied alone elsewhere it gives the same outputs,
and the thresholds it stores the inputs of come from validation only (never from test)."""
from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
import torch

import ssvae.training_data
from ssvae.bundle import FORMAT, load_best, read_manifest
from ssvae.checkpoint import CheckpointError
from ssvae.config import TrainConfig
from ssvae.predict import main as predict_main
from ssvae.trainer import fit


def _config(**changes) -> TrainConfig:
    values = dict(dataset="digits", model="gmvae", label_mode="subclass", n_labels=20,
                  hidden_dim=32, latent_dim=4, epochs=1, batch_size=64, progress=False,
                  threads=1)
    values.update(changes)
    return TrainConfig(**values)


@pytest.fixture(autouse=True)
def _splits(tmp_path, monkeypatch):
    monkeypatch.setenv("SSVAE_SPLIT_DIR", str(tmp_path / "splits"))


@pytest.mark.parametrize("model, label_mode", [("gmvae", "subclass"), ("m1", "binary"),
                                               ("supervised", "binary")])
def test_best_copied_alone_elsewhere_gives_the_same_predictions(tmp_path, model, label_mode):
    fit(_config(model=model, label_mode=label_mode), out_dir=str(tmp_path / "run"))
    args = ["--dataset", "digits", "--positive", "high", "--no-progress"]
    assert predict_main(["--checkpoint", str(tmp_path / "run" / "best"),
                         "--out", str(tmp_path / "before.csv"), *args]) == 0
    shutil.copytree(tmp_path / "run" / "best", tmp_path / "elsewhere" / "best")
    shutil.move(tmp_path / "run", tmp_path / "gone")          # nothing may point back into it
    assert predict_main(["--checkpoint", str(tmp_path / "elsewhere" / "best"),
                         "--out", str(tmp_path / "after.csv"), *args]) == 0
    before = (tmp_path / "before.csv").read_text()
    assert before == (tmp_path / "after.csv").read_text()
    assert len(before.splitlines()) == 1 + 359              # digits' test part
    manifest = read_manifest(tmp_path / "elsewhere" / "best")
    assert manifest["format"] == FORMAT and manifest["image_shape"] == [1, 8, 8]
    assert manifest["preprocessing"]["channels"] == 1 and manifest["preprocessing"]["size"] == [8, 8]
    assert manifest["hierarchy"]["superclass_names"] == ["low", "high"]
    for name in ("model.pt", "validation.pt"):               # every .pt loads weights_only
        torch.load(tmp_path / "elsewhere" / "best" / name, weights_only=True)


def test_thresholds_never_touch_the_test_set(tmp_path, monkeypatch):
    """The same run with the test labels permuted and the test images replaced by noise stores
    the same validation scores and records the same thresholds."""
    first = fit(_config(label_mode="binary"), out_dir=str(tmp_path / "a"))
    real = ssvae.training_data.load_data_cached

    def scrambled(config):
        data = real(config)
        g = torch.Generator().manual_seed(0)
        return dataclasses.replace(
            data, test_y=data.test_y[torch.randperm(len(data.test_y), generator=g)],
            test_x=torch.randint(0, 256, data.test_x.shape, generator=g, dtype=torch.uint8))

    monkeypatch.setattr(ssvae.training_data, "load_data_cached", scrambled)
    second = fit(_config(label_mode="binary"), out_dir=str(tmp_path / "b"))
    assert second["test_binary_acc"] != first["test_binary_acc"] or \
        second["test_elbo"] != first["test_elbo"]               # the test part did change
    assert json.dumps(second["thresholds"], sort_keys=True) == \
        json.dumps(first["thresholds"], sort_keys=True)
    a = torch.load(tmp_path / "a" / "best" / "validation.pt", weights_only=True)
    b = torch.load(tmp_path / "b" / "best" / "validation.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)
    recorded = json.loads((tmp_path / "b" / "metrics.json").read_text())["thresholds"]
    assert recorded["goal"] == {"review_budget": 0.05, "reject_fraction": 0.01}
    assert set(recorded["by_positive"]) == {"low", "high"}


def test_the_stored_validation_scores_are_the_models(tmp_path):
    fit(_config(), out_dir=str(tmp_path / "run"))
    predictor = load_best(tmp_path / "run" / "best")
    data, hierarchy, split = ssvae.training_data.run_inputs(predictor.config)
    x_val = data.train_x[split.val_idx].float() / 255
    probs = predictor.model.classify(x_val)
    assert torch.allclose(probs, predictor.validation.probs, atol=1e-6)
    assert torch.equal(predictor.validation.y_sub, data.train_y[split.val_idx])
    assert torch.allclose(predictor.model.rejection_score(x_val), predictor.validation.rejection,
                          atol=1e-5)


def test_an_old_best_folder_says_what_to_do(tmp_path):
    (tmp_path / "best").mkdir()
    torch.save({"w": torch.zeros(1)}, tmp_path / "best" / "model.pt")
    with pytest.raises(CheckpointError, match="written before ssvae made self-contained"):
        load_best(tmp_path / "best")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_best(tmp_path / "nowhere")


def test_upgrade_rebuilds_an_old_best_folder_that_predicts_as_before(tmp_path, capsys):
    from ssvae.checkpoint.__main__ import main as checkpoint_main

    fit(_config(model="m1", label_mode="binary"), out_dir=str(tmp_path / "run"))
    best = tmp_path / "run" / "best"
    args = ["--dataset", "digits", "--positive", "low", "--no-progress"]
    assert predict_main(["--checkpoint", str(best), "--out", str(tmp_path / "a.csv"), *args]) == 0
    (best / "predictor.json").unlink()                  # as an older ssvae left it
    (best / "validation.pt").unlink()
    assert predict_main(["--checkpoint", str(best), "--out", str(tmp_path / "b.csv"), *args]) == 2
    assert f"python -m ssvae.checkpoint upgrade {tmp_path / 'run'}" in capsys.readouterr().err
    assert checkpoint_main(["upgrade", str(tmp_path / "run")]) == 0
    assert predict_main(["--checkpoint", str(best), "--out", str(tmp_path / "b.csv"), *args]) == 0
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    assert checkpoint_main(["upgrade", str(tmp_path / "nowhere")]) == 2
    assert "not a finished run" in capsys.readouterr().err

"""Resuming with a larger epoch bound (ssvae/training/resume.py): exact, and refused where it cannot be."""
import math

import pytest
import torch

from ssvae.config import TrainConfig
from ssvae.training.resume import TrainState, _extend
from ssvae.training.loop import fit

TINY = dict(dataset="digits", n_labels=50, hidden_dim=32, latent_dim=8, epochs=2, batch_size=64,
            labelled_batch_size=16, progress=False, threads=1, patience=50)
KEYS = ("val_binary_acc", "test_binary_acc", "test_subclass_acc")


def tiny(**changes) -> TrainConfig:
    return TrainConfig(**{**TINY, **changes})


class Stop(Exception):
    pass


@pytest.fixture(autouse=True)
def _splits(tmp_path, monkeypatch):
    monkeypatch.setenv("SSVAE_SPLIT_DIR", str(tmp_path / "splits"))


def _same(a: dict, b: dict, folder_a, folder_b):
    for key in KEYS:
        assert a[key] == pytest.approx(b[key], rel=1e-6, abs=1e-9), key
    wa = torch.load(folder_a / "best" / "model.pt")
    wb = torch.load(folder_b / "best" / "model.pt")
    for name in wa:
        if torch.is_tensor(wa[name]) and wa[name].is_floating_point():
            assert torch.allclose(wa[name], wb[name], atol=1e-6), name


@pytest.mark.parametrize("model", ["gmvae", "m1"])
def test_a_finished_run_at_the_bound_continues_as_if_started_longer(model, tmp_path):
    fresh = fit(tiny(model=model, epochs=4), out_dir=str(tmp_path / "fresh"))
    fit(tiny(model=model, epochs=2), out_dir=str(tmp_path / "run"))
    longer = fit(tiny(model=model, epochs=4), resume=True, out_dir=str(tmp_path / "run"))
    assert longer["epochs"] == fresh["epochs"] == 4
    assert [h["epoch"] for h in longer["history"]] == [1, 2, 3, 4]
    assert longer["run_id"] == tiny(model=model, epochs=4).run_id != tiny(model=model).run_id
    _same(longer, fresh, tmp_path / "run", tmp_path / "fresh")


def test_an_interrupted_run_continues_under_a_larger_bound(tmp_path):
    fresh = fit(tiny(model="m2", epochs=3), out_dir=str(tmp_path / "fresh"))

    def stop(metrics, checkpoint):
        if metrics["epoch"] == 1:
            raise Stop

    with pytest.raises(Stop):
        fit(tiny(model="m2", epochs=2), report=stop, out_dir=str(tmp_path / "run"))
    longer = fit(tiny(model="m2", epochs=3), resume=True, out_dir=str(tmp_path / "run"))
    assert longer["epochs"] == 3
    _same(longer, fresh, tmp_path / "run", tmp_path / "fresh")


def test_the_bound_cannot_shrink(tmp_path):
    fit(tiny(model="gmvae", epochs=2), out_dir=str(tmp_path / "run"))
    with pytest.raises(ValueError, match=r"epochs=1: it was started with epochs=2"):
        fit(tiny(model="gmvae", epochs=1), resume=True, out_dir=str(tmp_path / "run"))


def test_an_earlier_stage_cut_by_the_bound_cannot_be_extended(tmp_path):
    fit(tiny(model="m1m2", epochs=1), out_dir=str(tmp_path / "run"))
    with pytest.raises(ValueError, match=r"stage\(s\) \['m1'\] ended at the epoch bound"):
        fit(tiny(model="m1m2", epochs=2), resume=True, out_dir=str(tmp_path / "run"))
    # other differences are still refused as before
    with pytest.raises(ValueError, match=r"config differs in \['lr'\]"):
        fit(tiny(model="m1m2", epochs=2, lr=0.01), resume=True, out_dir=str(tmp_path / "run"))


def test_a_stage_ended_by_the_time_bound_continues_under_a_larger_one(tmp_path):
    cut = fit(tiny(model="m2", epochs=3, max_stage_s=1e-6), out_dir=str(tmp_path / "run"))
    assert cut["epochs"] == 1 and cut["stopped_by"] == "time_limit"
    with pytest.raises(ValueError, match=r"max_stage_s=1e-07: it was started with max_stage_s=1e-06"):
        fit(tiny(model="m2", epochs=3, max_stage_s=1e-7), resume=True, out_dir=str(tmp_path / "run"))
    fresh = fit(tiny(model="m2", epochs=3), out_dir=str(tmp_path / "fresh"))
    longer = fit(tiny(model="m2", epochs=3), resume=True, out_dir=str(tmp_path / "run"))
    assert longer["epochs"] == 3 and longer["stopped_by"] == "epoch_bound"
    assert [h["epoch"] for h in longer["history"]] == [1, 2, 3]
    assert longer["run_id"] == fresh["run_id"] != cut["run_id"]
    _same(longer, fresh, tmp_path / "run", tmp_path / "fresh")


def test_a_stage_ended_by_patience_is_not_reopened():
    model = torch.nn.Linear(2, 2)
    optimiser = torch.optim.Adam(model.parameters())
    state = TrainState(stage_epoch=7, epochs_since_best=3, best_score=0.5)
    state.end_stage("main", patience=3, final=True, model=model, optimiser=optimiser)
    assert state.stage_ends == [{"stage": "main", "epochs": 7, "capped": False,
                                 "stopped_by": "patience", "lr_decays": 0, "wall_s": 0.0}]
    assert state.reopen is None
    state.stage_index = 1
    weights, opt = _extend("ckpt", state, ("main",), {"w": 1}, None)
    assert state.stage_index == 1 and weights == {"w": 1}       # stays finished: nothing to do


def test_a_finished_checkpoint_without_stage_ends_is_refused():
    state = TrainState(stage_index=1, stage_epoch=0, best_score=-math.inf)   # written before
    with pytest.raises(ValueError, match="before stage ends were recorded"):
        _extend("ckpt", state, ("main",), {}, None)
    # the same for a run still in its second stage: whether stage 1 was cut is unknown
    state = TrainState(stage_index=1, stage_epoch=3, best_score=-math.inf)
    with pytest.raises(ValueError, match="before stage ends were recorded"):
        _extend("ckpt", state, ("m1", "m2"), {}, None)

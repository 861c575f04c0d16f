"""Learning-rate decays on a validation plateau (ssvae/training/plateau.py) in fit(): the schedule, the
restart from the best weights, exact resume, and reopening a run that ended by patience."""
import pytest
import torch

from ssvae.config import TrainConfig
from ssvae.models.base import Stage
from ssvae.training.plateau import stage_lr
from ssvae.training.resume import TrainState, _extend
from ssvae.training.loop import fit

# On these settings M2's validation accuracy peaks at epoch 6 and patience 2 runs out after
# epoch 8 (asserted below), so a decay happens well inside the 12-epoch bound.
TINY = dict(dataset="digits", model="m2", n_labels=50, hidden_dim=32, latent_dim=8, epochs=12,
            batch_size=64, labelled_batch_size=16, progress=False, threads=1, patience=2)


def tiny(**changes) -> TrainConfig:
    return TrainConfig(**{**TINY, **changes})


@pytest.fixture(autouse=True)
def _splits(tmp_path, monkeypatch):
    monkeypatch.setenv("SSVAE_SPLIT_DIR", str(tmp_path / "splits"))


def _scores(metrics: dict) -> list[float]:
    return [h["selection_metric"] for h in metrics["history"]]


def _same_weights(folder_a, folder_b) -> None:
    a = torch.load(folder_a / "best" / "model.pt")
    b = torch.load(folder_b / "best" / "model.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_each_decay_multiplies_the_learning_rate_by_the_factor():
    config = TrainConfig(lr=2e-3, lr_decay_factor=0.5, lr_decays=3)
    assert [stage_lr(config, k) for k in range(4)] == pytest.approx([2e-3, 1e-3, 5e-4, 2.5e-4])


def test_a_plateau_decays_instead_of_stopping_and_the_prefix_is_unchanged():
    stopped = fit(tiny())
    assert stopped["stopped_by"] == "patience" and stopped["epochs"] < 12
    decayed = fit(tiny(lr_decays=2))
    n = stopped["epochs"]
    assert _scores(decayed)[:n] == _scores(stopped)        # nothing changes before the plateau
    assert [h["lr"] for h in decayed["history"]][:n + 1] == [1e-3] * n + [pytest.approx(1e-4)]
    assert decayed["epochs"] > n and decayed["stage_ends"][0]["lr_decays"] >= 1
    assert decayed["run_id"] != stopped["run_id"]


def test_the_decayed_phase_starts_from_the_best_weights_not_the_last():
    stopped = fit(tiny())
    best, last = max(_scores(stopped)), _scores(stopped)[-1]
    assert last < best                                     # the plateau ended below the best
    # A factor this small leaves the restored weights where they are for the next epoch.
    frozen = fit(tiny(lr_decays=1, lr_decay_factor=1e-9))
    assert _scores(frozen)[stopped["epochs"]] == pytest.approx(best, abs=1e-9)


@pytest.mark.parametrize("ema_decay", [0.0, 0.9])
def test_more_decays_reopen_a_run_that_ended_by_patience_as_if_started_so(ema_decay, tmp_path):
    fresh = fit(tiny(lr_decays=1, ema_decay=ema_decay), out_dir=str(tmp_path / "fresh"))
    first = fit(tiny(ema_decay=ema_decay), out_dir=str(tmp_path / "run"))
    assert first["stopped_by"] == "patience"
    reopened = fit(tiny(lr_decays=1, ema_decay=ema_decay), resume=True,
                   out_dir=str(tmp_path / "run"))
    assert _scores(reopened) == _scores(fresh)
    assert reopened["stage_ends"] == [{**fresh["stage_ends"][0],
                                       "wall_s": reopened["stage_ends"][0]["wall_s"]}]
    assert reopened["test_subclass_acc"] == fresh["test_subclass_acc"]
    assert reopened["run_id"] == fresh["run_id"]
    _same_weights(tmp_path / "run", tmp_path / "fresh")


def test_a_run_interrupted_after_a_decay_resumes_exactly(tmp_path):
    config = tiny(lr_decays=1)
    fresh = fit(config, out_dir=str(tmp_path / "fresh"))
    decayed_at = next(h["epoch"] for h in fresh["history"] if h["lr"] < 1e-3)

    class Stop(Exception):
        pass

    def stop(metrics, checkpoint):
        if metrics["epoch"] == decayed_at:
            saved = torch.load(f"{checkpoint}/state.pt", weights_only=False)
            assert saved["state"]["lr_decays_done"] == 1
            raise Stop

    with pytest.raises(Stop):
        fit(config, report=stop, out_dir=str(tmp_path / "run"))
    resumed = fit(config, resume=True, out_dir=str(tmp_path / "run"))
    assert _scores(resumed) == _scores(fresh)
    assert [h["lr"] for h in resumed["history"]] == [h["lr"] for h in fresh["history"]]
    _same_weights(tmp_path / "run", tmp_path / "fresh")


def test_fewer_decays_on_resume_are_refused(tmp_path):
    fit(tiny(lr_decays=1, epochs=3), out_dir=str(tmp_path / "run"))
    with pytest.raises(ValueError, match=r"lr_decays=0: it was started with lr_decays=1"):
        fit(tiny(epochs=3), resume=True, out_dir=str(tmp_path / "run"))


def test_more_decays_are_refused_when_an_earlier_stage_ended_by_patience():
    stages = (Stage("m1", select_on="val_loss", uses_labels=False), Stage("m2"))
    ends = [{"stage": name, "epochs": 5, "capped": False, "stopped_by": "patience",
             "lr_decays": 0, "wall_s": 1.0} for name in ("m1", "m2")]
    old, new = TrainConfig(model="m1m2"), TrainConfig(model="m1m2", lr_decays=1)
    state = TrainState(stage_index=2, stage_ends=ends)
    with pytest.raises(ValueError, match=r"stage\(s\) \['m1'\] ended by patience"):
        _extend("ckpt", state, stages, {}, None, old, new)


def test_a_history_that_does_not_show_the_plateau_is_refused():
    stage = Stage("main")
    history = [{"stage": "main", "selection_metric": s} for s in (0.5, 0.6, 0.7)]  # still rising
    state = TrainState(stage_index=1, history=history, best_model={},
                       stage_ends=[{"stage": "main", "epochs": 3, "capped": False,
                                    "stopped_by": "patience", "lr_decays": 0, "wall_s": 1.0}])
    with pytest.raises(ValueError, match="0 epochs since the best, fewer than patience=2"):
        _extend("ckpt", state, (stage,), {}, None, tiny(), tiny(lr_decays=1))

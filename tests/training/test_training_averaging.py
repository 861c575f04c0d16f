"""Polyak weight averaging (ssvae/training/averaging.py) and ``ema_decay`` in fit(): the recurrence,
the swap, selection on the average, and exact resume with the average in the checkpoint."""
import pytest
import torch

from ssvae.training.averaging import ExponentialAverage
from ssvae.config import TrainConfig
from ssvae.training.loop import fit

TINY = dict(dataset="digits", n_labels=50, hidden_dim=32, latent_dim=8, epochs=2, batch_size=64,
            labelled_batch_size=16, progress=False, threads=1, patience=50)


def tiny(**changes) -> TrainConfig:
    return TrainConfig(**{**TINY, **changes})


@pytest.fixture(autouse=True)
def _splits(tmp_path, monkeypatch):
    monkeypatch.setenv("SSVAE_SPLIT_DIR", str(tmp_path / "splits"))


def test_the_average_follows_the_recurrence_with_its_ramp():
    weight = torch.nn.Parameter(torch.zeros(3))
    average = ExponentialAverage([weight], decay=0.9, stage_index=0)
    expected = torch.zeros(3)
    for t in range(1, 100):
        with torch.no_grad():
            weight.fill_(float(t))
        beta = min(0.9, (1 + t) / (10 + t))
        assert average.weight() == pytest.approx(beta)
        average.update()
        expected = beta * expected + (1 - beta) * float(t)
        assert torch.allclose(average.shadow[0], expected, rtol=1e-6)
    assert average.stored["updates"] == 99
    assert average.weight() == 0.9            # the ramp has reached the decay


def test_applied_swaps_the_average_in_and_the_trained_weights_back_exactly():
    torch.manual_seed(0)
    layer = torch.nn.Linear(4, 2)
    average = ExponentialAverage(layer.parameters(), decay=0.5, stage_index=0)
    trained = [p.detach().clone() for p in layer.parameters()]
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(1.0)
    average.update()
    moved = [p.detach().clone() for p in layer.parameters()]
    with average.applied():
        for p, s, t in zip(layer.parameters(), average.shadow, trained):
            assert torch.equal(p, s) and not torch.equal(p, t)
    for p, m in zip(layer.parameters(), moved):
        assert torch.equal(p, m)


def test_a_stored_average_of_another_stage_starts_afresh_and_a_mismatch_is_refused():
    weight = torch.nn.Parameter(torch.ones(2))
    old = {"stage_index": 0, "updates": 5, "shadow": [torch.zeros(2)]}
    fresh = ExponentialAverage([weight], 0.9, stage_index=1, stored=old)
    assert fresh.stored["updates"] == 0 and torch.equal(fresh.shadow[0], torch.ones(2))
    kept = ExponentialAverage([weight], 0.9, stage_index=0, stored=old)
    assert kept.stored is old and torch.equal(kept.shadow[0], torch.zeros(2))
    with pytest.raises(ValueError, match="holds 1 tensors; this stage has 2 parameters"):
        ExponentialAverage([weight, torch.nn.Parameter(torch.ones(1))], 0.9, 0, stored=old)


def test_fit_selects_and_saves_the_average(tmp_path):
    plain = fit(tiny(model="m2"), out_dir=str(tmp_path / "plain"))
    averaged = fit(tiny(model="m2", ema_decay=0.99), out_dir=str(tmp_path / "ema"))
    assert averaged["run_id"] != plain["run_id"]
    assert tiny(model="m2", ema_decay=0.0).run_id == tiny(model="m2").run_id   # off: same run
    # same training trajectory, different weights evaluated
    assert [h["train_loss"] for h in averaged["history"]] == [h["train_loss"] for h in plain["history"]]
    best = torch.load(tmp_path / "ema" / "best" / "model.pt")
    last = torch.load(tmp_path / "ema" / "last" / "state.pt", weights_only=False)
    assert last["state"]["average"] is None              # the stage is over
    raw = torch.load(tmp_path / "plain" / "best" / "model.pt")
    assert any(not torch.equal(best[k], raw[k]) for k in best if best[k].is_floating_point())


def test_an_interrupted_averaged_run_resumes_exactly(tmp_path):
    config = tiny(model="m2", epochs=3, ema_decay=0.95)
    fresh = fit(config, out_dir=str(tmp_path / "fresh"))

    class Stop(Exception):
        pass

    def stop(metrics, checkpoint):
        if metrics["epoch"] == 2:
            saved = torch.load(f"{checkpoint}/state.pt", weights_only=False)
            assert saved["state"]["average"]["updates"] > 0
            raise Stop

    with pytest.raises(Stop):
        fit(config, report=stop, out_dir=str(tmp_path / "run"))
    resumed = fit(config, resume=True, out_dir=str(tmp_path / "run"))
    assert [h["selection_metric"] for h in resumed["history"]] == \
        [h["selection_metric"] for h in fresh["history"]]
    assert resumed["test_subclass_acc"] == fresh["test_subclass_acc"]
    a = torch.load(tmp_path / "run" / "best" / "model.pt")
    b = torch.load(tmp_path / "fresh" / "best" / "model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_run_reopened_at_the_bound_keeps_averaging(tmp_path):
    fresh = fit(tiny(model="m2", epochs=3, ema_decay=0.95), out_dir=str(tmp_path / "fresh"))
    fit(tiny(model="m2", epochs=2, ema_decay=0.95), out_dir=str(tmp_path / "run"))
    longer = fit(tiny(model="m2", epochs=3, ema_decay=0.95), resume=True,
                 out_dir=str(tmp_path / "run"))
    assert [h["selection_metric"] for h in longer["history"]] == \
        [h["selection_metric"] for h in fresh["history"]]
    a = torch.load(tmp_path / "run" / "best" / "model.pt")
    b = torch.load(tmp_path / "fresh" / "best" / "model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)

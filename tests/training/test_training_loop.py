"""fit(): metrics, validation-only reports, exact resume, divergence handling (on digits)."""
import json
import math

import pytest
import torch

from ssvae.config import TrainConfig
from ssvae.training.loop import TrainingDiverged, fit

TINY = dict(dataset="digits", n_labels=50, hidden_dim=32, latent_dim=8, epochs=2, batch_size=64,
            labelled_batch_size=16, progress=False, threads=1)


def tiny(**changes) -> TrainConfig:
    return TrainConfig(**{**TINY, **changes})


@pytest.fixture(autouse=True)
def _splits(tmp_path, monkeypatch):
    monkeypatch.setenv("SSVAE_SPLIT_DIR", str(tmp_path / "splits"))


@pytest.mark.parametrize("label_mode", ["binary", "subclass"])
def test_fit_returns_flat_metrics_and_reports_validation_only(label_mode, tmp_path):
    reports = []
    metrics = fit(tiny(model="m2", label_mode=label_mode),
                  report=lambda m, ckpt: reports.append((m, ckpt)), out_dir=str(tmp_path / "run"))
    for key in ("val_binary_acc", "test_binary_acc"):
        assert 0.0 <= metrics[key] <= 1.0
    if label_mode == "subclass":
        assert 0.0 <= metrics["test_subclass_acc"] <= 1.0
    else:
        assert metrics["test_subclass_acc"] is None
    assert metrics["n_labels"] == 50 and metrics["split_hash"] and metrics["run_id"]
    assert metrics["model_version"] == 2           # M2's identity_version: what its defaults compute
    assert len(reports) == 2
    for reported, checkpoint in reports:
        assert not any(k.startswith("test") for k in reported), reported
        assert math.isfinite(reported["selection_metric"])
        assert (tmp_path / "run" / "last" / "state.pt").exists() and checkpoint
    written = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert written["test_binary_acc"] == metrics["test_binary_acc"]
    assert (tmp_path / "run" / "best" / "model.pt").exists()
    assert (tmp_path / "run" / "reconstructions.png").exists()


def test_stage_time_limit_ends_the_stage_and_says_so(tmp_path):
    limited = fit(tiny(model="m2", epochs=5, max_stage_s=1e-6), out_dir=str(tmp_path / "t"))
    assert limited["epochs"] == 1 and limited["stopped_by"] == "time_limit"
    ends = limited["stage_ends"]
    assert len(ends) == 1 and 0.0 < ends[0].pop("wall_s") < 60.0
    assert ends == [{"stage": "main", "epochs": 1, "capped": True, "stopped_by": "time_limit",
                     "lr_decays": 0}]
    assert 0.0 <= limited["test_subclass_acc"] <= 1.0        # the selected model is evaluated
    bounded = fit(tiny(model="m2", epochs=1))
    assert bounded["stopped_by"] == "epoch_bound"
    assert limited["run_id"] != bounded["run_id"]             # a time-bounded result is its own


class Stop(Exception):
    pass


def test_resume_gives_the_same_result_as_an_uninterrupted_run(tmp_path):
    config = tiny(model="m2", epochs=3)
    whole = fit(config, out_dir=str(tmp_path / "whole"))

    def stop_after_first(metrics, checkpoint):
        if metrics["epoch"] == 1:
            raise Stop

    with pytest.raises(Stop):
        fit(config, report=stop_after_first, out_dir=str(tmp_path / "cut"))
    resumed = fit(config, resume=True, out_dir=str(tmp_path / "cut"))
    assert resumed["epochs"] == whole["epochs"] == 3
    for key in ("val_binary_acc", "test_binary_acc", "test_subclass_acc", "test_elbo"):
        assert resumed[key] == pytest.approx(whole[key], rel=1e-6, abs=1e-9), key
    a = torch.load(tmp_path / "whole" / "best" / "model.pt")
    b = torch.load(tmp_path / "cut" / "best" / "model.pt")
    for name in a:
        if torch.is_tensor(a[name]):
            assert torch.allclose(a[name], b[name], atol=1e-6), name


def test_resume_refuses_a_different_config(tmp_path):
    fit(tiny(model="m2", epochs=1), out_dir=str(tmp_path / "run"))
    with pytest.raises(ValueError, match="config differs in"):
        fit(tiny(model="m2", epochs=1, lr=0.01), resume=True, out_dir=str(tmp_path / "run"))


def test_nan_loss_stops_with_clear_error_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    from ssvae.checkpoint import load_state
    from ssvae.models.m2 import M2

    original = M2.step_loss
    calls = {"n": 0, "poison_after": 10 ** 9}

    def poisoned(self, batch):
        out = original(self, batch)
        calls["n"] += 1
        if calls["n"] > calls["poison_after"]:
            return out._replace(loss=out.loss * float("nan"))
        return out

    monkeypatch.setattr(M2, "step_loss", poisoned)
    config = tiny(model="m2", epochs=3)
    fit(config.replace(epochs=1), out_dir=str(tmp_path / "count"))   # steps in one epoch
    calls["poison_after"], calls["n"] = calls["n"], 0
    with pytest.raises(TrainingDiverged, match="last good checkpoint is kept"):
        fit(config, out_dir=str(tmp_path / "run"))
    saved = load_state(tmp_path / "run" / "last")
    assert saved["state"]["global_epoch"] == 1      # the good first epoch survived


def test_supervised_baseline_uses_only_labelled_images(tmp_path):
    metrics = fit(tiny(model="supervised", epochs=2), out_dir=str(tmp_path / "sup"))
    assert 0.0 <= metrics["test_subclass_acc"] <= 1.0
    assert metrics.get("test_elbo") is None


def test_select_on_binary_uses_binary_validation_accuracy(tmp_path):
    reports = []
    fit(tiny(model="gmvae", epochs=2, select_on="binary"), report=lambda m, c: reports.append(m))
    assert all(r["selection_metric"] == r["val_binary_acc"] for r in reports)
    reports.clear()
    fit(tiny(model="gmvae", epochs=2), report=lambda m, c: reports.append(m))
    assert all(r["selection_metric"] == r["val_subclass_acc"] for r in reports)


def test_resume_accepts_changed_runtime_settings(tmp_path):
    fit(tiny(model="gmvae", epochs=1), out_dir=str(tmp_path / "run"))
    resumed = fit(tiny(model="gmvae", epochs=1, threads=2, device="cpu"), resume=True,
                  out_dir=str(tmp_path / "run"))
    assert resumed["epochs"] == 1


@pytest.mark.filterwarnings("ignore")     # its unreadable files are reported (tests/data)
@pytest.mark.parametrize("model", ["gmvae", "m2"])
def test_fit_on_a_users_folder_tree_with_conv_networks(folder_tree, tmp_path, model):
    config = TrainConfig(dataset="folder", data_root=str(folder_tree), image_size=16, channels=3,
                         network="conv", classifier="conv", model=model, n_labels=5,
                         hidden_dim=32, latent_dim=8, epochs=1, batch_size=16,
                         labelled_batch_size=5, progress=False, threads=1)
    metrics = fit(config, out_dir=str(tmp_path / "run"))
    assert metrics["hierarchy"] == "folder" and metrics["n_labels"] == 5
    assert 0.0 <= metrics["test_binary_acc"] <= 1.0
    assert (tmp_path / "run" / "samples.png").exists()


@pytest.mark.parametrize("flush", [True, False])
def test_fit_trains_in_the_subnormal_mode_it_is_given_and_restores_the_callers(tmp_path, monkeypatch,
                                                                             flush):
    """flush_denormal: subnormal floats (< 1.2e-38) become 0 on the CPU (FTZ/DAZ), or stay."""
    import ssvae.training.loop as trainer
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU cannot flush subnormal floats (no SSE3)")
    seen = []
    real_epoch = trainer._train_epoch
    monkeypatch.setattr(trainer, "_train_epoch", lambda *a, **k: seen.append(
        trainer.flushing_denormals()) or real_epoch(*a, **k))
    try:
        for caller in (False, True):
            torch.set_flush_denormal(caller)
            fit(tiny(model="supervised", epochs=1, flush_denormal=flush),
                out_dir=str(tmp_path / f"run{caller}"))
            assert trainer.flushing_denormals() == caller
        assert seen and set(seen) == {flush}
    finally:
        torch.set_flush_denormal(False)


@pytest.mark.parametrize("threads", [1, 2, None])
def test_fit_trains_on_the_threads_it_is_given_and_restores_the_callers(tmp_path, monkeypatch,
                                                                      threads):
    import ssvae.training.loop as trainer
    seen = []
    real_epoch = trainer._train_epoch
    monkeypatch.setattr(trainer, "_train_epoch", lambda *a, **k: seen.append(
        torch.get_num_threads()) or real_epoch(*a, **k))
    caller = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        fit(tiny(model="supervised", epochs=1, threads=threads), out_dir=str(tmp_path / "run"))
        assert torch.get_num_threads() == 3
        assert seen and set(seen) == {3 if threads is None else threads}
    finally:
        torch.set_num_threads(caller)

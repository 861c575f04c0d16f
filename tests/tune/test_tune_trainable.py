"""The trainable's contract, without a Ray cluster: only validation metrics reach Tune (so the
searcher and the scheduler never see a test metric), the searched metric becomes a best-so-far
objective, the trial folder is deterministic and locked, and a restarted trial reports its
finished epochs again before it trains on (what makes resume exact)."""
from __future__ import annotations

import json

import pytest

import tune.trainable as tt
from ssvae.config import TrainConfig
from tune.spec import SEARCH_METRICS


def test_search_metrics_are_validation_keys():
    assert all(k.startswith("val_") or k == "selection_metric" for k in SEARCH_METRICS)
    assert not any("test" in k for k in tt.REPORT_KEYS)


def test_test_metrics_never_reach_the_searcher(monkeypatch, tmp_path):
    reported: list[dict] = []
    monkeypatch.setattr(tt.tune, "report", lambda metrics, checkpoint=None: reported.append(metrics))

    def fake_fit(config, report=None, resume=None, out_dir=None, evaluate_test=True):
        assert resume is True and out_dir is not None and evaluate_test is False
        for epoch, acc in enumerate([0.6, 0.8, 0.7], start=1):
            report({"epoch": epoch, "stage": "main", "val_binary_acc": acc, "val_loss": 1.0,
                    "test_binary_acc": 0.99, "test_elbo": -1.0, "selection_metric": acc}, None)
        return {"test_binary_acc": 0.99, "val_binary_acc": 0.8}

    import ssvae

    monkeypatch.setattr(ssvae, "fit", fake_fit, raising=False)
    base = TrainConfig(dataset="digits", model="m2", epochs=3).to_json()
    tt.train_trial({tt.META: {"base": base, "metric": "val_binary_acc", "mode": "max",
                              "threads": 1, "work_root": str(tmp_path), "split_dir": None},
                    tt.INDEX: 0, "lr": 0.002})
    assert [r["epoch"] for r in reported] == [1, 2, 3]
    assert not any(k.startswith("test") for r in reported for k in r)
    assert [r[tt.OBJECTIVE] for r in reported] == [0.6, 0.8, 0.8]   # best so far
    assert all(r["torch_threads"] >= 1 for r in reported)
    assert [r[tt.METRIC_EPOCH] for r in reported] == [1, 2, 3]


def test_metric_only_at_the_end_is_reported_once(monkeypatch, tmp_path):
    """M1: no accuracy while its VAE trains; the selected model's validation accuracy is
    reported once at the end (and its test accuracy is not)."""
    reported: list[dict] = []
    monkeypatch.setattr(tt.tune, "report", lambda metrics, checkpoint=None: reported.append(metrics))

    def fake_fit(config, report=None, resume=None, out_dir=None, evaluate_test=True):
        for epoch in (1, 2):
            report({"epoch": epoch, "stage": "vae", "val_binary_acc": None, "val_loss": 3.0}, None)
        return {"val_binary_acc": 0.7, "test_binary_acc": 0.9}

    import ssvae

    monkeypatch.setattr(ssvae, "fit", fake_fit, raising=False)
    base = TrainConfig(dataset="digits", model="m1", epochs=2).to_json()
    tt.train_trial({tt.META: {"base": base, "metric": "val_binary_acc", "mode": "max",
                              "threads": 1, "work_root": str(tmp_path), "split_dir": None},
                    tt.INDEX: 0})
    assert [tt.OBJECTIVE in r for r in reported] == [False, False, True]
    assert reported[-1]["stage"] == "final" and reported[-1][tt.OBJECTIVE] == 0.7
    assert not any(k.startswith("test") for r in reported for k in r)


class _Killed(Exception):
    pass


def _trial(tmp_path, index: int = 0) -> dict:
    base = TrainConfig(dataset="digits", model="supervised", epochs=4, patience=4,
                       hidden_dim=16).to_json()
    # max_failures: the tests' simulated kill is an exception, which a real kill is not.
    return {tt.META: {"base": base, "metric": "val_binary_acc", "mode": "max", "threads": 1,
                      "work_root": str(tmp_path), "split_dir": str(tmp_path / "splits"),
                      "max_failures": 3},
            tt.INDEX: index, "lr": 0.003}


def _result(r: dict) -> dict:
    return {k: v for k, v in r.items() if k not in ("run_dir", "torch_threads", "omp_threads",
                                                    "trial_started")}


def test_a_restarted_trial_reports_its_finished_epochs_again(monkeypatch, tmp_path):
    reference: list[dict] = []
    monkeypatch.setattr(tt.tune, "report",
                        lambda metrics, checkpoint=None: reference.append(_result(metrics)))
    tt.train_trial(_trial(tmp_path / "reference"))
    assert [r["epoch"] for r in reference] == [1, 2, 3, 4]

    first: list[dict] = []

    def killed_at_3(metrics, checkpoint=None):
        first.append(_result(metrics))
        if metrics["epoch"] == 3:          # epoch 3 is saved, its report never arrives
            raise _Killed

    monkeypatch.setattr(tt.tune, "report", killed_at_3)
    with pytest.raises(_Killed):
        tt.train_trial(_trial(tmp_path / "resumed"))
    again: list[dict] = []
    monkeypatch.setattr(tt.tune, "report",
                        lambda metrics, checkpoint=None: again.append(_result(metrics)))
    tt.train_trial(_trial(tmp_path / "resumed"))
    assert again == reference               # epochs 1-3 again from the checkpoint, then 4
    folder = tt.trial_dir(_trial(tmp_path / "resumed"))
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["test_binary_acc"] is None and not (folder / "reconstructions.png").exists()


def test_a_finished_trial_restarted_reports_its_score(monkeypatch, tmp_path):
    """Killed after its last epoch and before Tune recorded it: the restart reports it all."""
    monkeypatch.setattr(tt.tune, "report", lambda metrics, checkpoint=None: None)
    tt.train_trial(_trial(tmp_path))
    again: list[dict] = []
    monkeypatch.setattr(tt.tune, "report",
                        lambda metrics, checkpoint=None: again.append(_result(metrics)))
    tt.train_trial(_trial(tmp_path))
    assert [r["epoch"] for r in again] == [1, 2, 3, 4] and tt.OBJECTIVE in again[-1]


def test_validation_only_filters():
    clean = tt.validation_only({"epoch": 1, "val_loss": 2.0, "test_binary_acc": 1.0, "history": []})
    assert clean == {"epoch": 1, "val_loss": 2.0}


def test_trial_dir_is_deterministic_and_locked(monkeypatch, tmp_path):
    config = _trial(tmp_path, index=3)
    folder = tt.trial_dir(config)
    assert folder.parent == tmp_path and folder.name.startswith("t003-")
    assert tt.trial_dir(_trial(tmp_path, index=3)) == folder
    monkeypatch.setattr(tt, "LOCK_WAIT_S", 0.0)
    holder = tt._lock(folder.parent / f"{folder.name}.lock", "trial 3")
    with pytest.raises(tt.TrialBusy, match="second driver"):
        tt.train_trial(config)
    holder.close()


def test_trial_params_drop_meta():
    assert tt.trial_params({tt.META: {}, tt.INDEX: 2, "lr": 0.1, "model_options.alpha": 2}) == \
        {"lr": 0.1, "model_options.alpha": 2}
    json.dumps(tt.trial_params({tt.META: {}, "lr": 0.1}))


def test_own_failures_stop_being_retried_after_max_failures(monkeypatch, tmp_path):
    """Tune retries every failure (node losses too); the trial's own exception is retried
    max_failures times, then it fails at once with the same message, without training."""
    calls = []

    def broken_fit(config, report=None, resume=None, out_dir=None, evaluate_test=True):
        calls.append(1)
        raise ValueError("a bad value")

    import ssvae

    monkeypatch.setattr(ssvae, "fit", broken_fit, raising=False)
    config = _trial(tmp_path)
    config[tt.META]["max_failures"] = 1
    for _ in range(2):
        with pytest.raises(ValueError, match="a bad value"):
            tt.train_trial(config)
    with pytest.raises(tt.TrialFailed, match="ValueError: a bad value"):
        tt.train_trial(config)
    assert len(calls) == 2

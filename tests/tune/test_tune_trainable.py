"""The trainable's contract, without Ray: only validation metrics reach Tune (so the searcher
and ASHA never see a test metric), the searched metric becomes a best-so-far objective, the
run folder is deterministic (that is what makes resume exact) and locked against a twin."""
from __future__ import annotations

import json

import tune.trainable as tt
from ssvae.config import TrainConfig
from tune.spec import SEARCH_METRICS


def test_search_metrics_are_validation_keys():
    assert all(k.startswith("val_") or k == "selection_metric" for k in SEARCH_METRICS)
    assert not any("test" in k for k in tt.REPORT_KEYS)


def test_test_metrics_never_reach_the_searcher(monkeypatch, tmp_path):
    reported: list[dict] = []
    monkeypatch.setattr(tt.tune, "report", lambda metrics, checkpoint=None: reported.append(metrics))

    def fake_fit(config, report=None, resume=None, out_dir=None):
        assert resume is True and out_dir is not None
        for epoch, acc in enumerate([0.6, 0.8, 0.7], start=1):
            report({"epoch": epoch, "stage": "main", "val_binary_acc": acc, "val_loss": 1.0,
                    "test_binary_acc": 0.99, "test_elbo": -1.0, "selection_metric": acc}, None)
        return {"test_binary_acc": 0.99, "val_binary_acc": 0.8}

    import ssvae

    monkeypatch.setattr(ssvae, "fit", fake_fit, raising=False)
    base = TrainConfig(dataset="digits", model="m2", epochs=3).to_json()
    tt.train_trial({tt.META: {"base": base, "metric": "val_binary_acc", "mode": "max",
                              "threads": 1, "work_root": str(tmp_path), "split_dir": None},
                    "lr": 0.002})
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

    def fake_fit(config, report=None, resume=None, out_dir=None):
        for epoch in (1, 2):
            report({"epoch": epoch, "stage": "vae", "val_binary_acc": None, "val_loss": 3.0}, None)
        return {"val_binary_acc": 0.7, "test_binary_acc": 0.9}

    import ssvae

    monkeypatch.setattr(ssvae, "fit", fake_fit, raising=False)
    base = TrainConfig(dataset="digits", model="m1", epochs=2).to_json()
    tt.train_trial({tt.META: {"base": base, "metric": "val_binary_acc", "mode": "max",
                              "threads": 1, "work_root": str(tmp_path), "split_dir": None}})
    assert [tt.OBJECTIVE in r for r in reported] == [False, False, True]
    assert reported[-1]["stage"] == "final" and reported[-1][tt.OBJECTIVE] == 0.7
    assert not any(k.startswith("test") for r in reported for k in r)


def test_progress_survives_a_resume(tmp_path):
    p = tt._Progress(tmp_path / "p.json", "val_binary_acc", "max")
    p.update(0.5, 1)
    p.update(0.7, 2)
    again = tt._Progress(tmp_path / "p.json", "val_binary_acc", "max")
    again.update(0.6, 3)
    assert again.fields() == {tt.OBJECTIVE: 0.7, tt.METRIC_EPOCH: 3}


def test_validation_only_filters():
    clean = tt.validation_only({"epoch": 1, "val_loss": 2.0, "test_binary_acc": 1.0, "history": []})
    assert clean == {"epoch": 1, "val_loss": 2.0}


def test_run_dir_is_deterministic_and_locked(tmp_path):
    first, lock1 = tt.claim_run_dir(tmp_path, "abc", "trialA", wait_s=0)
    assert first == tmp_path / "abc"
    twin, lock2 = tt.claim_run_dir(tmp_path, "abc", "trialB", wait_s=0)
    assert twin == tmp_path / "abc-trialB"                # a concurrent twin config
    lock1.close()
    again, lock3 = tt.claim_run_dir(tmp_path, "abc", "trialC", wait_s=0)
    assert again == tmp_path / "abc"                     # released: the same folder again
    lock2.close()
    lock3.close()


def test_trial_params_drop_meta():
    assert tt.trial_params({tt.META: {}, "lr": 0.1, "model_options.alpha": 2}) == \
        {"lr": 0.1, "model_options.alpha": 2}
    json.dumps(tt.trial_params({tt.META: {}, "lr": 0.1}))

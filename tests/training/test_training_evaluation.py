"""ssvae.training.evaluation: the reported and selected losses are the bound itself."""
import pytest
import torch

from ssvae.config import TrainConfig
from ssvae.training.evaluation import mean_loss_terms
from ssvae.models import build_model


def test_validation_loss_is_the_bound_whatever_the_warm_up_weight():
    torch.manual_seed(0)
    model = build_model(TrainConfig(model="m1", latent_dim=4, hidden_dim=16), (1, 8, 8), 3)
    x = torch.rand(20, 1, 8, 8)
    mean_loss_terms(model, x, torch.device("cpu"), validation=True)   # the first call differs
    losses = {}                                                      # by ~1e-4 (not explained)
    for weight in (0.1, 1.0):
        model.kl_weight = weight
        torch.manual_seed(1)                                  # the same posterior samples
        losses[weight] = mean_loss_terms(model, x, torch.device("cpu"), validation=True)["loss"]
        assert model.kl_weight == weight                      # the training weight is restored
    assert losses[0.1] == pytest.approx(losses[1.0], rel=1e-5)   # CPU kernels: last-digit noise
    model.kl_weight = 0.1                                     # what training itself would see
    torch.manual_seed(1)
    assert model.validation_loss(x).item() < losses[1.0]      # KL > 0: a smaller weighted loss


def test_a_final_run_writes_the_moderation_metrics_and_its_test_scores(tmp_path, monkeypatch):
    """metrics.json and metrics_to_row carry the issue-26 metrics; test_scores.npz holds what
    they were computed from (recomputed here with scikit-learn)."""
    import json

    import numpy as np
    from sklearn.metrics import average_precision_score, roc_auc_score

    from ssvae.training.evaluation import TEST_SCORES
    from ssvae.results import MODERATION_COLUMNS, metrics_to_row
    from ssvae.training.loop import fit

    monkeypatch.setenv("SSVAE_SPLIT_DIR", str(tmp_path / "splits"))
    config = TrainConfig(dataset="digits", model="supervised", label_mode="subclass", n_labels=50,
                         hidden_dim=32, epochs=2, progress=False, threads=1)
    metrics = fit(config, out_dir=str(tmp_path / "run"))
    written = json.loads((tmp_path / "run" / "metrics.json").read_text())
    row = metrics_to_row(metrics)
    for key in MODERATION_COLUMNS:
        assert 0.0 <= written[key] <= 1.0 and row[key] == metrics[key]
    assert set(written["test_subclass_recall"]) == {str(d) for d in range(10)}
    saved = np.load(tmp_path / "run" / TEST_SCORES)
    positive = saved["sub_to_super"][saved["y_sub"]] == 0
    assert written["test_pr_auc"] == pytest.approx(average_precision_score(positive, saved["p_super"][:, 0]))
    assert written["test_roc_auc"] == pytest.approx(roc_auc_score(positive, saved["p_super"][:, 0]))
    trial = fit(config, evaluate_test=False)                  # search trials: validation only
    assert not any(k in trial for k in MODERATION_COLUMNS)

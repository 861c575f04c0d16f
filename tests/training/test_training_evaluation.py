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

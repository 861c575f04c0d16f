"""Rejection scores per model family: GMVAE's own, reconstruction error where there is a
decoder, the entropy of q(y|x) otherwise."""
from __future__ import annotations

import math

import pytest
import torch

from ssvae.config import TrainConfig
from ssvae.models import build_model
from ssvae.deploy.rejection import rejection_kind, rejection_scores


def _model(name: str):
    torch.manual_seed(0)
    config = TrainConfig(dataset="digits", model=name, hidden_dim=16, latent_dim=4,
                         vgg16_missing="scratch")
    return build_model(config, (1, 8, 8), 3).eval()


@pytest.mark.parametrize("name, kind", [("gmvae", "distance+reconstruction"),
                                        ("m1", "reconstruction_error"),
                                        ("m2", "reconstruction_error"),
                                        ("m1m2", "reconstruction_error"),
                                        ("supervised", "entropy")])
def test_each_model_gets_its_score(name, kind):
    model = _model(name)
    x = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    assert rejection_kind(model) == kind
    score = rejection_scores(model, x)
    assert score.shape == (5,) and torch.isfinite(score).all() and (score >= 0).all()
    if name == "gmvae":
        assert torch.equal(score, model.rejection_score(x))
    elif kind == "reconstruction_error":
        assert torch.allclose(score, (model.reconstruct(x) - x).pow(2).mean((1, 2, 3)))


def test_the_entropy_of_a_uniform_q_is_log_k_and_of_a_certain_one_zero():
    model = _model("supervised")
    x = torch.rand(2, 1, 8, 8)
    probs = torch.tensor([[1 / 3, 1 / 3, 1 / 3], [1.0, 0.0, 0.0]])
    assert torch.allclose(rejection_scores(model, x, probs), torch.tensor([math.log(3), 0.0]))

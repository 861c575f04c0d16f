"""GMVAE: mixture prior, both unlabelled KL estimators, rejection score, and a learning check."""
from __future__ import annotations

import pytest
import torch

from ssvae.models import build_model
from ssvae.models.gmvae import initial_means

from models_helpers import (SHAPES, accuracy, images, separable_problem, tiny_config,
                                  train_steps)


def test_initial_means_have_the_requested_spread():
    m = initial_means(3, 5, 2.0)
    assert torch.allclose(m.norm(dim=-1), torch.full((3,), 2.0))
    many = initial_means(10, 4, 3.0, seed=1)
    assert many.shape == (10, 4) and torch.allclose(many.norm(dim=-1), torch.full((10,), 3.0))


@pytest.mark.parametrize("means", ["learned", "fixed"])
def test_means_learned_or_fixed(means):
    net = build_model(tiny_config(model="gmvae", model_options={"means": means}), SHAPES["digits"], 3)
    names = {n for n, _ in net.named_parameters()}
    assert ("prior_means" in names) == (means == "learned")
    assert "prior_means" in net.state_dict()


def test_responsibility_kl_bounds_the_mc_estimate():
    """Σ_k r_k KL(q||N_k) + KL(r||π) >= KL(q||mixture) ≈ mean of the one-sample MC estimates."""
    x = images(SHAPES["digits"], 4)
    kls = {}
    for mode in ("mc", "responsibility"):
        torch.manual_seed(0)
        net = build_model(tiny_config(model="gmvae", model_options={"unlabelled_kl": mode}),
                          SHAPES["digits"], 3)
        net.decoder.requires_grad_(False)
        torch.manual_seed(1)
        runs = 200 if mode == "mc" else 1
        kls[mode] = sum(net.unlabelled_loss(x).terms["kl"] for _ in range(runs)) / runs
    assert kls["responsibility"] >= kls["mc"] - 0.05 * abs(kls["mc"])


def test_classify_is_the_nearest_component_and_rejection_score_parts():
    torch.manual_seed(0)
    net = build_model(tiny_config(model="gmvae", model_options={"rejection_recon_weight": 2.0}),
                      SHAPES["digits"], 3).eval()
    x = images(SHAPES["digits"], 5)
    mu = net.encoder_z(x).chunk(2, -1)[0]
    nearest = torch.cdist(mu, net.prior_means).argmin(-1)
    assert torch.equal(net.classify(x).argmax(-1), nearest)
    score, distance, recon = net.rejection_score(x, return_parts=True)
    assert score.shape == (5,) and (distance >= 0).all() and (recon >= 0).all()
    assert torch.allclose(score, distance + 2.0 * recon)


def test_gmvae_learns_a_separable_problem():
    x_l, y_l = separable_problem(2, seed=0)
    x_u, _ = separable_problem(100, seed=1)
    x_t, y_t = separable_problem(50, seed=2)
    torch.manual_seed(0)
    net = build_model(tiny_config(model="gmvae"), SHAPES["digits"], 3)
    before = accuracy(net, x_t, y_t)
    train_steps(net, x_l, y_l, x_u, 300)
    after = accuracy(net, x_t, y_t)
    assert after >= 0.9 and after > before
    # images unlike the training data score higher (reject first)
    noise = torch.rand(50, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    assert net.rejection_score(noise).mean() > net.rejection_score(x_t).mean()

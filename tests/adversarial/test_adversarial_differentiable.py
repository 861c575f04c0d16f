"""Each model's attack view gives the model's own classification and rejection score, with
gradients: an attack through it attacks what the model computes."""
from __future__ import annotations

import pytest
import torch

from ssvae.adversarial.differentiable import VIEWS
from ssvae.deploy.bundle import load_best
from ssvae.data import load_dataset, to_unit
from ssvae.deploy.rejection import rejection_scores
from ssvae.registry import UnknownNameError


@pytest.mark.parametrize("model_name", ["gmvae", "m2", "supervised"])
def test_the_view_gives_the_models_probabilities_and_rejection_scores(model_name, digits_run):
    predictor = load_best(digits_run(model_name) / "best")
    model, view = predictor.model, VIEWS.get(model_name)
    x = to_unit(load_dataset("digits").test_x[:64])
    logits = view.logits(model, x)
    assert torch.allclose(logits.softmax(-1), model.classify(x), atol=1e-5)
    y_pred = logits.argmax(-1)
    assert torch.allclose(view.rejection(model, x, y_pred), rejection_scores(model, x), atol=1e-5)
    x.requires_grad_(True)
    (grad,) = torch.autograd.grad(view.rejection(model, x, y_pred).sum(), x)
    assert grad.abs().sum() > 0


def test_a_gmvae_score_at_another_class_is_an_upper_bound(digits_run):
    predictor = load_best(digits_run("gmvae") / "best")
    model, view = predictor.model, VIEWS.get("gmvae")
    x = to_unit(load_dataset("digits").test_x[:64])
    other = (view.logits(model, x).argmax(-1) + 1) % model.n_classes
    assert (view.rejection(model, x, other) >= rejection_scores(model, x) - 1e-5).all()


def test_a_model_without_a_view_is_named_with_the_known_ones():
    with pytest.raises(UnknownNameError, match="m1.*known: gmvae, m2, supervised, vgg16"):
        VIEWS.get("m1")

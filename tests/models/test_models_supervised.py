"""The supervised baseline: labelled-only training and its regularisation options."""
from __future__ import annotations

import pytest
import torch

from ssvae.models import build_model
from ssvae.models.base import Batch
from ssvae.models.supervised import augment

from models_helpers import SHAPES, images, labels, tiny_config


@pytest.mark.parametrize("classifier", ["mlp", "conv", "vgg16"])
def test_classifier_field_picks_the_net(classifier):
    torch.manual_seed(0)
    net = build_model(tiny_config(model="supervised", classifier=classifier), SHAPES["digits"], 3)
    assert not net.generative and not net.stages()[0].uses_unlabelled
    x = images(SHAPES["digits"], 4)
    assert net.classify(x).shape == (4, 3)


def test_unlabelled_images_are_ignored():
    torch.manual_seed(0)
    net = build_model(tiny_config(model="supervised"), SHAPES["digits"], 3).eval()
    x, y = images(SHAPES["digits"], 4), labels(4, 3)
    with_u = net.step_loss(Batch(x, y, images(SHAPES["digits"], 9, seed=5))).loss
    assert torch.equal(with_u, net.step_loss(Batch(x, y, None)).loss)
    assert net.unlabelled_loss(x).loss.item() == 0.0


@pytest.mark.parametrize("mode", ["shift", "shift_flip"])
def test_augment_keeps_shape_and_range(mode):
    torch.manual_seed(0)
    x = images(SHAPES["rgb32"], 4)
    out = augment(x, mode, 0.1)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert not torch.equal(out, x)
    assert torch.allclose(augment(x, "shift", 0.0), x, atol=1e-5)


def test_regularisation_options_act_only_in_training():
    torch.manual_seed(0)
    cfg = tiny_config(model="supervised", model_options={"augment": "shift", "input_noise": 0.1,
                                                         "label_smoothing": 0.1, "dropout": 0.5})
    net = build_model(cfg, SHAPES["digits"], 3)
    x, y = images(SHAPES["digits"], 4), labels(4, 3)
    net.eval()
    assert net.labelled_loss(x, y).loss == net.labelled_loss(x, y).loss
    net.train()
    torch.manual_seed(1)
    a = net.labelled_loss(x, y).loss
    torch.manual_seed(2)
    assert a != net.labelled_loss(x, y).loss

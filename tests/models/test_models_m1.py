"""M1: the head on E[z|x] (each kind), its survival through state_dict, and its errors."""
from __future__ import annotations

import io

import pytest
import torch

from ssvae.config import ConfigError
from ssvae.models import build_model

from models_helpers import SHAPES, images, labels, tiny_config


@pytest.mark.parametrize("head", ["logreg", "svm", "mlp"])
def test_head_fits_and_survives_state_dict(head):
    torch.manual_seed(0)
    cfg = tiny_config(model="m1", model_options={"head": head, "head_hidden": 8})
    net = build_model(cfg, SHAPES["digits"], 3)
    x, y = images(SHAPES["digits"], 30, seed=1), labels(30, 3)
    assert net.stages()[0].name == "vae" and net.stages()[0].select_on == "val_loss"
    assert not net.stages()[0].uses_labels
    uniform = net.classify(x)
    assert torch.allclose(uniform, torch.full_like(uniform, 1 / 3))   # no head yet
    net.eval()
    net.finish_stage(x, y)
    probs = net.classify(x)
    assert torch.allclose(probs.sum(-1), torch.ones(30), atol=1e-6)
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    buf.seek(0)
    torch.manual_seed(1)
    fresh = build_model(cfg, SHAPES["digits"], 3).eval()
    fresh.load_state_dict(torch.load(buf, weights_only=True))
    assert torch.allclose(fresh.classify(x), probs)


def test_head_with_a_missing_class_still_gives_all_columns():
    torch.manual_seed(0)
    net = build_model(tiny_config(model="m1"), SHAPES["digits"], 4).eval()
    x = images(SHAPES["digits"], 12)
    net.finish_stage(x, torch.tensor([0, 2] * 6))                      # classes 1 and 3 unseen
    probs = net.classify(x)
    assert probs.shape == (12, 4) and (probs[:, [1, 3]] == 0).all()
    net.finish_stage(x, torch.zeros(12, dtype=torch.long))             # a single class
    assert (net.classify(x)[:, 0] == 1).all()


@pytest.mark.parametrize("classifier", ["conv", "vgg16"])
def test_image_classifier_does_not_apply_to_m1(classifier):
    with pytest.raises(ConfigError, match="model_options.head"):
        build_model(tiny_config(model="m1", classifier=classifier), SHAPES["digits"], 3)


def test_samples_are_unconditional_but_sized_per_class():
    torch.manual_seed(0)
    net = build_model(tiny_config(model="m1"), SHAPES["digits"], 3)
    assert net.sample(4).shape == (12, 1, 8, 8)
    assert "Unconditional" in type(net).sample.__doc__


def test_head_sees_unscaled_features():
    # A VAE's prior sets the units' scale; standardising on a few labelled images would blow
    # near-constant (inactive) units up to the size of the informative ones.
    from sklearn.linear_model import LogisticRegression

    torch.manual_seed(0)
    net = build_model(tiny_config(model="m1"), SHAPES["digits"], 3).eval()
    x, y = images(SHAPES["digits"], 30, seed=1), labels(30, 3)
    net.finish_stage(x, y)
    feats = net.features(x).double().numpy()
    plain = LogisticRegression(max_iter=2000).fit(feats, y.numpy())
    expected = torch.as_tensor(plain.predict_proba(feats), dtype=torch.float32)
    assert torch.allclose(net.classify(x), expected, atol=1e-5)

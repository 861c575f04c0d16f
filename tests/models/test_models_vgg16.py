"""VGG16: weights from a local state dict (full or features only), torchvision's cache, missing
weights (error / scratch), input adaptation; the vgg16 baseline model."""
from __future__ import annotations

import os
import warnings

import pytest
import torch

from ssvae.config import ConfigError
from ssvae.models import build_model
from ssvae.nets.vgg16 import (VGG16Classifier, VGG16WeightsMissing, build_features,
                              default_weights_path)

from models_helpers import SHAPES, images, labels, tiny_config


@pytest.fixture(scope="module")
def features_state():
    torch.manual_seed(7)
    return build_features().state_dict()


def _equal_features(net, state):
    return all(torch.equal(net.features.state_dict()[k], v) for k, v in state.items())


@pytest.mark.parametrize("layout", ["features", "full", "wrapped"])
def test_weights_from_a_state_dict_file(tmp_path, features_state, layout):
    path = tmp_path / "vgg.pt"
    if layout == "features":
        state = features_state
    else:
        state = {f"features.{k}": v for k, v in features_state.items()}
        state["classifier.6.weight"] = torch.zeros(1000, 4096)   # the ImageNet head is dropped
    torch.save({"state_dict": state} if layout == "wrapped" else state, path)
    cfg = tiny_config(model="vgg16", vgg16_weights=str(path), vgg16_missing="error")
    net = VGG16Classifier(cfg, (1, 8, 8), 3)
    assert net.weights_path == str(path) and _equal_features(net, features_state)


def test_weights_from_torchvision_cache(features_state):
    path = default_weights_path()
    assert path.startswith(os.environ["TORCH_HOME"])        # the hermetic folder of conftest
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save({f"features.{k}": v for k, v in features_state.items()}, path)
    try:
        net = VGG16Classifier(tiny_config(vgg16_missing="error"), (3, 32, 32), 2)
        assert net.weights_path == path and _equal_features(net, features_state)
    finally:
        os.remove(path)


def test_missing_weights_error_says_where_and_how(tmp_path):
    with pytest.raises(VGG16WeightsMissing) as err:
        build_model(tiny_config(model="vgg16", vgg16_missing="error"), SHAPES["digits"], 3)
    msg = str(err.value)
    assert default_weights_path() in msg and "--vgg16-weights" in msg and "never downloads" in msg
    missing = str(tmp_path / "nope.pth")
    with pytest.raises(VGG16WeightsMissing, match="nope.pth"):
        build_model(tiny_config(model="vgg16", vgg16_missing="error", vgg16_weights=missing),
                    SHAPES["digits"], 3)


def test_missing_weights_scratch_warns_and_trains():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.manual_seed(0)
        net = build_model(tiny_config(model="vgg16", vgg16_missing="scratch"), SHAPES["digits"], 3)
    assert any("from scratch" in str(w.message) for w in caught)
    assert net.classifier.weights_path is None
    loss = net.labelled_loss(images(SHAPES["digits"], 2), labels(2, 3)).loss
    assert torch.isfinite(loss)


def test_a_file_that_is_not_vgg16_is_a_clear_error(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weight": torch.zeros(3)}, path)
    with pytest.raises(ConfigError, match="is not a VGG16 state dict"):
        VGG16Classifier(tiny_config(vgg16_weights=str(path)), (3, 32, 32), 2)


def test_input_adaptation():
    net = VGG16Classifier(tiny_config(), (1, 8, 8), 2)
    out = net.adapt(torch.rand(2, 1, 8, 8))
    assert out.shape == (2, 3, 32, 32)
    assert net.adapt(torch.rand(1, 3, 28, 40)).shape == (1, 3, 32, 46)
    assert net.adapt(torch.rand(1, 3, 64, 64)).shape == (1, 3, 64, 64)
    assert not any(k in net.state_dict() for k in ("mean", "std"))
    with pytest.raises(ConfigError, match=r"vgg16 cannot take the shape \(2, 32, 32\)"):
        VGG16Classifier(tiny_config(), (2, 32, 32), 2)


def test_vgg16_model_ignores_the_classifier_field():
    torch.manual_seed(0)
    net = build_model(tiny_config(model="vgg16", classifier="mlp"), SHAPES["rgb32"], 3)
    assert isinstance(net.classifier, VGG16Classifier) and not net.generative
    assert [s.uses_unlabelled for s in net.stages()] == [False]

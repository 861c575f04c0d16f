"""run_inputs / training_arrays: the arrays fit() trains on, shared with the scripts that replay a run."""
import pytest
import torch

from ssvae.config import TrainConfig
from ssvae.models import build_model
from ssvae.training.inputs import run_inputs, training_arrays, unlabelled_pool


@pytest.fixture(autouse=True)
def _splits(tmp_path, monkeypatch):
    monkeypatch.setenv("SSVAE_SPLIT_DIR", str(tmp_path / "splits"))


def _built(model: str, label_mode: str):
    config = TrainConfig(dataset="digits", model=model, label_mode=label_mode, n_labels=50,
                         hidden_dim=16, latent_dim=4, progress=False)
    data, hierarchy, split = run_inputs(config)
    net = build_model(config, data.image_shape, hierarchy.n_classes(label_mode))
    return config, data, hierarchy, split, net


@pytest.mark.parametrize("model", ["m2", "m1", "gmvae", "supervised"])
@pytest.mark.parametrize("label_mode", ["binary", "subclass"])
def test_arrays_follow_the_split_and_the_label_mode(model, label_mode):
    _, data, hierarchy, split, net = _built(model, label_mode)
    arrays = training_arrays(net, data, split, hierarchy, label_mode)
    assert torch.equal(arrays.x_labelled, data.train_x[split.labelled_idx])
    sub = data.train_y[split.labelled_idx]
    expected = hierarchy.collapse(sub) if label_mode == "binary" else sub
    assert torch.equal(arrays.y_labelled, expected)
    assert int(arrays.y_labelled.max()) < hierarchy.n_classes(label_mode)
    assert torch.equal(arrays.x_val, data.train_x[split.val_idx])
    assert torch.equal(arrays.y_val, data.train_y[split.val_idx])    # sub-class, whatever the mode
    n_unlabelled = len(split.unlabelled_idx) + (len(split.labelled_idx)
                                                if net.labelled_in_unlabelled_pool else 0)
    assert arrays.x_unlabelled.shape[0] == n_unlabelled
    assert arrays.x_unlabelled.dtype == torch.uint8


def test_the_pool_holds_the_labelled_images_only_for_models_that_count_them_there():
    _, data, _, split, m1 = _built("m1", "binary")
    _, _, _, _, m2 = _built("m2", "binary")
    assert m1.labelled_in_unlabelled_pool and not m2.labelled_in_unlabelled_pool
    both = torch.cat([split.unlabelled_idx, split.labelled_idx]).sort().values
    assert torch.equal(unlabelled_pool(m1, data, split), data.train_x[both])
    assert torch.equal(unlabelled_pool(m2, data, split), data.train_x[split.unlabelled_idx])


def test_training_arrays_tell_m2_the_set_sizes_that_scale_alpha():
    _, data, hierarchy, split, m2 = _built("m2", "subclass")
    seen = []
    m2.set_data_sizes = lambda n_l, n_u: seen.append((n_l, n_u))
    arrays = training_arrays(m2, data, split, hierarchy, "subclass")
    assert seen == [(arrays.x_labelled.shape[0], arrays.x_unlabelled.shape[0])]

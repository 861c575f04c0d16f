"""Simulated labelling: a run trains on exactly the chosen images, however unbalanced."""
import numpy as np
import pytest

from ssvae.active.simulate import with_labels
from ssvae.config import TrainConfig
from ssvae.data import load_dataset
from ssvae.data.registry import DATASETS
from ssvae.data.split import make_split, validation_indices
from ssvae.training.inputs import run_inputs


def test_the_split_labels_exactly_the_chosen_images(tmp_path, monkeypatch):
    monkeypatch.setenv("SSVAE_SPLIT_DIR", str(tmp_path))
    base = load_dataset("digits")
    val = validation_indices(base, val_size=300)
    pool = np.setdiff1d(np.arange(len(base.train_y)), val)
    y = base.train_y.numpy()
    # unbalanced: 1 image of each digit, then 9 more of digit 3
    chosen = np.r_[[pool[y[pool] == d][0] for d in range(10)], pool[y[pool] == 3][1:10]]
    data = with_labels(base, chosen, np.setdiff1d(pool, chosen), val, "digits_chosen_test")
    # registered for this test only: the registry is global (tests/data checks its names)
    monkeypatch.setitem(DATASETS._entries, "digits_chosen_test", lambda **_: data)
    config = TrainConfig(dataset="digits_chosen_test", n_labels=None, label_fraction=1.0,
                         model="supervised")
    data2, _, split = run_inputs(config)
    labelled = data2.train_x[split.labelled_idx]
    assert len(labelled) == 19 and np.bincount(data2.train_y[split.labelled_idx].numpy())[3] == 10
    assert sorted(map(bytes, labelled.numpy())) == sorted(map(bytes, base.train_x[chosen].numpy()))
    assert (data2.train_x[split.val_idx] == base.train_x[val]).all()
    assert len(split.unlabelled_idx) == 0 and len(data2.extra_unlabelled_x) == len(pool) - 19
    assert make_split(data2, label_fraction=1.0).hash == split.hash


def test_overlapping_parts_are_refused():
    base = load_dataset("digits")
    with pytest.raises(ValueError, match="disjoint"):
        with_labels(base, np.array([1, 2]), np.array([2, 3]), np.array([4]), "x")

"""Splits: determinism, balance by sub-class, disjointness, budgets, index files."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from ssvae.data import Split, SplitError, make_split, split_hash, validation_indices


def _parts(split: Split) -> list[set[int]]:
    return [set(split.labelled_idx.tolist()), set(split.unlabelled_idx.tolist()),
            set(split.val_idx.tolist())]


def test_same_seed_same_split_other_seed_other(digits, tmp_path) -> None:
    a = make_split(digits, n_labels=50, split_seed=0, cache_dir=tmp_path / "a")
    b = make_split(digits, n_labels=50, split_seed=0, cache_dir=tmp_path / "b")  # fresh draw
    c = make_split(digits, n_labels=50, split_seed=1, cache_dir=tmp_path / "a")
    assert not a.reloaded and not b.reloaded
    assert a.hash == b.hash and torch.equal(a.labelled_idx, b.labelled_idx)
    assert c.hash != a.hash and not torch.equal(c.labelled_idx, a.labelled_idx)
    assert torch.equal(c.val_idx, a.val_idx)                  # validation never follows the seed
    assert a.hash == split_hash("digits", a.labelled_idx.numpy(), a.val_idx.numpy())
    assert len(a.hash) == 16 and int(a.hash, 16) >= 0


def test_balanced_disjoint_sorted(digits, tmp_path) -> None:
    s = make_split(digits, n_labels=100, split_seed=3, cache_dir=tmp_path)
    assert torch.bincount(digits.train_y[s.labelled_idx], minlength=10).tolist() == [10] * 10
    lab, unl, val = _parts(s)
    assert not (lab & unl or lab & val or unl & val)
    assert lab | unl | val == set(range(len(digits.train_y)))
    for idx in (s.labelled_idx, s.unlabelled_idx, s.val_idx):
        assert idx.dtype == torch.int64 and torch.equal(idx, idx.sort().values)
    n = len(digits.train_y)
    assert s.val_idx.tolist() == list(range(n - 288, n))      # the standard part: the last 288
    assert s.n_train == n - 288
    # the test set is a separate array: no index of the split can reach it
    assert int(torch.cat([s.labelled_idx, s.unlabelled_idx, s.val_idx]).max()) < n


def test_split_uses_no_global_rng(digits, tmp_path) -> None:
    torch.manual_seed(123)
    np.random.seed(123)
    t_state, n_state = torch.get_rng_state(), np.random.get_state()
    first = make_split(digits, n_labels=30, split_seed=5, cache_dir=tmp_path / "x")
    assert torch.equal(torch.get_rng_state(), t_state)
    assert np.random.get_state()[1].tolist() == n_state[1].tolist()
    torch.manual_seed(999)
    np.random.seed(999)
    again = make_split(digits, n_labels=30, split_seed=5, cache_dir=tmp_path / "y")
    assert again.hash == first.hash


def test_budgets_are_nested(digits, tmp_path) -> None:
    small = make_split(digits, n_labels=20, split_seed=7, cache_dir=tmp_path)
    large = make_split(digits, n_labels=100, split_seed=7, cache_dir=tmp_path)
    assert set(small.labelled_idx.tolist()) < set(large.labelled_idx.tolist())


def test_label_fraction(digits, tmp_path) -> None:
    s = make_split(digits, label_fraction=0.1, cache_dir=tmp_path)
    pool = torch.bincount(digits.train_y[:-288], minlength=10)
    got = torch.bincount(digits.train_y[s.labelled_idx], minlength=10)
    assert torch.equal(got, torch.floor(pool * 0.1 + 0.5).long())
    assert s.path.name == "digits_frac0.1_seed0.npz" and s.n_labels is None
    one = make_split(digits, label_fraction=0.001, cache_dir=tmp_path)   # at least 1 each
    assert torch.bincount(digits.train_y[one.labelled_idx]).tolist() == [1] * 10
    full = make_split(digits, label_fraction=1.0, cache_dir=tmp_path)
    assert len(full.unlabelled_idx) == 0 and len(full.labelled_idx) == len(digits.train_y) - 288


@pytest.mark.parametrize("kwargs, match", [
    ({"n_labels": 105}, r"n_labels=105 is not divisible by 10 sub-classes .*nearest valid: "
                        r"100 or 110"),
    ({"n_labels": 7}, "nearest valid: 10$"),
    ({"n_labels": 2000}, r"200 per sub-class.*'0' has 113.*'8' has 111.*Largest balanced "
                         r"budget: n_labels=1110"),
    ({"n_labels": 0}, "n_labels=0 must be a positive integer"),
    ({}, "give exactly one of n_labels"),
    ({"n_labels": 10, "label_fraction": 0.5}, "give exactly one of n_labels"),
    ({"label_fraction": 1.5}, r"label_fraction=1.5 must be a number in \(0, 1\]"),
    ({"n_labels": 10, "split_seed": -1}, "split_seed=-1 must be a non-negative integer"),
    ({"n_labels": 10, "val_size": 5000}, r"val_size=5000 must be an integer in 1..1437"),
])
def test_split_errors(digits, tmp_path, kwargs, match) -> None:
    with pytest.raises(SplitError, match=match):
        make_split(digits, cache_dir=tmp_path, **kwargs)


def test_no_standard_validation(digits, tmp_path) -> None:
    data = dataclasses.replace(digits, standard_val_size=None)
    with pytest.raises(SplitError, match="no standard validation part; pass val_size"):
        make_split(data, n_labels=10, cache_dir=tmp_path)


def test_drawn_validation(digits, tmp_path) -> None:
    a = make_split(digits, n_labels=50, val_size=100, split_seed=0, cache_dir=tmp_path)
    b = make_split(digits, n_labels=50, val_size=100, split_seed=1, cache_dir=tmp_path)
    assert len(a.val_idx) == 100 and torch.equal(a.val_idx, b.val_idx)   # same for every draw
    assert torch.bincount(digits.train_y[a.val_idx], minlength=10).min() >= 9  # stratified
    assert a.path.name == "digits_n50_seed0_val100.npz"
    assert np.array_equal(validation_indices(digits, 100), a.val_idx.numpy())
    assert not set(a.labelled_idx.tolist()) & set(a.val_idx.tolist())


def test_reload_verifies(digits, tmp_path) -> None:
    first = make_split(digits, n_labels=40, split_seed=2, cache_dir=tmp_path)
    assert first.path == tmp_path / "digits_n40_seed2.npz" and first.path.exists()
    again = make_split(digits, n_labels=40, split_seed=2, cache_dir=tmp_path)
    assert again.reloaded and again.hash == first.hash
    assert torch.equal(again.unlabelled_idx, first.unlabelled_idx)


def _rewrite(path, **changes) -> None:
    with np.load(path) as f:
        stored = {k: f[k] for k in f.files}
    stored.update(changes)
    with open(path, "wb") as f:
        np.savez(f, **stored)


def test_stale_index_files(digits, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SSVAE_SPLIT_DIR", str(tmp_path))               # cache_dir from env
    s = make_split(digits, n_labels=20, split_seed=0)
    assert s.path.parent == tmp_path
    lab = s.labelled_idx.numpy()
    cases = [
        ({"labelled_idx": lab + 1}, "stored hash .* does not match its indices"),
        ({"n_train": 99}, "written for 99 training images"),
        ({"dataset": "mnist"}, "it is for data set 'mnist'"),
    ]
    for changes, match in cases:
        path = s.path
        make_split(digits, n_labels=20, split_seed=0)                   # valid file again
        _rewrite(path, **changes)
        with pytest.raises(SplitError, match=f"{match}.*delete it"):
            make_split(digits, n_labels=20, split_seed=0)
        path.unlink()
    make_split(digits, n_labels=20, split_seed=0)
    # the data changed under the file: other labels at the labelled positions
    changed = dataclasses.replace(digits, train_y=(digits.train_y + 1) % 10)
    with pytest.raises(SplitError, match="labelled images now have other labels"):
        make_split(changed, n_labels=20, split_seed=0)
    # a different standard validation part
    shorter = dataclasses.replace(digits, standard_val_size=200)
    with pytest.raises(SplitError, match="validation indices differ"):
        make_split(shorter, n_labels=20, split_seed=0)
    s.path.write_bytes(b"not a zip")
    with pytest.raises(SplitError, match="cannot read it.*delete it"):
        make_split(digits, n_labels=20, split_seed=0)


def test_split_dataclass_checks() -> None:
    idx = torch.tensor([1, 2], dtype=torch.int64)
    with pytest.raises(SplitError, match="overlap"):
        Split("d", idx, idx, torch.tensor([5]), "h", 0, 2, None, None)
    with pytest.raises(SplitError, match="sorted"):
        Split("d", torch.tensor([2, 1]), torch.tensor([3]), torch.tensor([5]), "h", 0, 2, None,
              None)
    with pytest.raises(SplitError, match="int64"):
        Split("d", idx.int(), torch.tensor([3]), torch.tensor([5]), "h", 0, 2, None, None)


def test_mnist_standard_split(mnist, tmp_path) -> None:
    s = make_split(mnist, n_labels=100, split_seed=0, cache_dir=tmp_path)
    assert (len(s.labelled_idx), len(s.unlabelled_idx), len(s.val_idx)) == (100, 49900, 10000)
    assert s.val_idx[0].item() == 50000 and s.val_idx[-1].item() == 59999
    assert int(s.labelled_idx.max()) < 50000 and len(mnist.test_y) == 10000
    assert torch.bincount(mnist.train_y[s.labelled_idx]).tolist() == [10] * 10
    again = make_split(mnist, n_labels=100, split_seed=0, cache_dir=tmp_path)
    assert again.reloaded and again.hash == s.hash

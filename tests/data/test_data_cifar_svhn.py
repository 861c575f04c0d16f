"""CIFAR-10 and SVHN loaders on small synthetic files in the official formats."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from ssvae.data import DataError, load_dataset
from ssvae.data.builtin import CIFAR10_CLASSES


def _write_cifar(root: Path, n: int = 20) -> dict[str, tuple[np.ndarray, list[int]]]:
    """Python pickles of {b'data': uint8 [n, 3072], b'labels': [n]}, as the official files."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, n)]
        with open(folder / name, "wb") as f:
            pickle.dump({b"batch_label": name.encode(), b"labels": labels, b"data": data}, f,
                        protocol=2)
        written[name] = (data, labels)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [c.encode() for c in CIFAR10_CLASSES],
                     b"num_cases_per_batch": n}, f, protocol=2)
    return written


def test_cifar10_official_format(tmp_path) -> None:
    written = _write_cifar(tmp_path)
    data = load_dataset("cifar10", root=tmp_path)
    assert data.image_shape == (3, 32, 32) and len(data.train_y) == 100 and len(data.test_y) == 20
    assert data.standard_val_size == 20 and data.default_hierarchy == "vehicles_animals"
    raw, labels = written["data_batch_2"]
    i = 20 + 3                                 # 4th image of the 2nd batch
    assert data.train_y[i].item() == labels[3]
    # rows are R, G, B planes of 32x32, row-major
    for c in range(3):
        assert data.train_x[i, c, 5, 7].item() == raw[3, c * 1024 + 5 * 32 + 7]
    assert torch.equal(data.test_y, torch.tensor(written["test_batch"][1]))
    h = data.hierarchy()
    assert h.collapse(torch.tensor([0, 1, 2, 8, 9])).tolist() == [0, 0, 1, 0, 0]
    gray = load_dataset("cifar10", root=tmp_path, channels=1, image_size=16)
    assert gray.image_shape == (1, 16, 16)


def test_cifar10_missing_and_bad_files(tmp_path) -> None:
    with pytest.raises(DataError,
                       match=r"missing data_batch_1, .*test_batch, batches.meta.*--download"):
        load_dataset("cifar10", root=tmp_path)
    _write_cifar(tmp_path)
    meta = tmp_path / "cifar-10-batches-py" / "batches.meta"
    meta.write_bytes(pickle.dumps({b"label_names": [b"a"] * 10}))
    with pytest.raises(DataError, match="not CIFAR-10's"):
        load_dataset("cifar10", root=tmp_path)
    meta.write_bytes(b"garbage")
    with pytest.raises(DataError, match="cannot read CIFAR-10 file"):
        load_dataset("cifar10", root=tmp_path)


def _write_svhn(folder: Path, name: str, n: int, rng: np.random.Generator) -> tuple:
    from scipy.io import savemat

    folder.mkdir(parents=True, exist_ok=True)
    x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)       # official: [H, W, C, n]
    y = rng.integers(1, 11, (n, 1)).astype(np.uint8)               # 10 means digit 0
    y[0, 0] = 10
    savemat(folder / name, {"X": x, "y": y})
    return x, y


@pytest.mark.parametrize("sub", ["SVHN", ""])                      # <root>/SVHN or <root>
def test_svhn_official_format(tmp_path, sub) -> None:
    rng = np.random.default_rng(2)
    x, y = _write_svhn(tmp_path / sub, "train_32x32.mat", 30, rng)
    _write_svhn(tmp_path / sub, "test_32x32.mat", 10, rng)
    data = load_dataset("svhn", root=tmp_path)
    assert data.image_shape == (3, 32, 32) and len(data.train_y) == 30
    assert data.standard_val_size == 6 and data.extra_unlabelled_x is None
    assert data.train_y[0].item() == 0                              # label 10 -> digit 0
    assert torch.equal(data.train_y, torch.from_numpy(np.where(y[:, 0] == 10, 0, y[:, 0])).long())
    assert data.train_x[4, 2, 7, 9].item() == x[7, 9, 2, 4]        # [n, C, H, W] <- [H, W, C, n]
    assert data.hierarchy().name == "low_high"


def test_svhn_extra_and_missing(tmp_path) -> None:
    with pytest.raises(DataError, match=r"missing train_32x32.mat, test_32x32.mat in .*SVHN"):
        load_dataset("svhn", root=tmp_path)
    rng = np.random.default_rng(3)
    for name, n in (("train_32x32.mat", 20), ("test_32x32.mat", 5), ("extra_32x32.mat", 7)):
        _write_svhn(tmp_path / "SVHN", name, n, rng)
    extra = load_dataset("svhn", root=tmp_path, extra=True).extra_unlabelled_x
    assert extra.shape == (7, 3, 32, 32)
    (tmp_path / "SVHN" / "test_32x32.mat").write_bytes(b"garbage")
    with pytest.raises(DataError, match="cannot read SVHN file"):
        load_dataset("svhn", root=tmp_path)


def test_svhn_without_variables(tmp_path) -> None:
    from scipy.io import savemat

    rng = np.random.default_rng(4)
    _write_svhn(tmp_path / "SVHN", "train_32x32.mat", 10, rng)
    savemat(tmp_path / "SVHN" / "test_32x32.mat", {"images": np.zeros((2, 2))})
    with pytest.raises(DataError, match="lacks the variables X and y"):
        load_dataset("svhn", root=tmp_path)

"""The data-set registry, ``load_dataset`` errors, ``digits`` and ``adapt_images``."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ssvae.data import DATASETS, DataError, adapt_images, load_dataset
from ssvae.registry import UnknownNameError


def test_registry_names() -> None:
    assert set(DATASETS.names()) == {"mnist", "fashion_mnist", "svhn", "cifar10", "digits",
                                     "folder"}


def test_unknown_dataset_lists_known() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown data set 'minst'; known: cifar10, "
                                               r"digits, .*Did you mean 'mnist'"):
        load_dataset("minst")


def test_unknown_option() -> None:
    with pytest.raises(DataError, match=r"takes no option\(s\) \['test_fraction'\]"):
        load_dataset("digits", test_fraction=0.1)


def test_root_required(monkeypatch) -> None:
    monkeypatch.delenv("SSVAE_DATA_ROOT", raising=False)
    with pytest.raises(DataError, match="--data-root DIR .* SSVAE_DATA_ROOT"):
        load_dataset("mnist")
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("mnist", root="/nonexistent/place")


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_missing_files_named(tmp_path, monkeypatch, name, folder) -> None:
    raw = tmp_path / folder / "raw"
    raw.mkdir(parents=True)
    (raw / "train-labels-idx1-ubyte").write_bytes(b"")
    monkeypatch.setenv("SSVAE_DATA_ROOT", str(tmp_path))   # root from the environment
    with pytest.raises(DataError) as err:
        load_dataset(name)
    msg = str(err.value)
    assert "train-images-idx3-ubyte" in msg and "t10k-labels-idx1-ubyte" in msg
    assert "train-labels-idx1-ubyte," not in msg                     # present: not listed
    assert str(raw.resolve()) in msg and "--download" in msg and "copy the official" in msg


def test_missing_files_gz_hint(tmp_path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
              "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / f"{f}.gz").write_bytes(b"")
    with pytest.raises(DataError, match="unpack the .gz files"):
        load_dataset("mnist", root=tmp_path)


def test_digits(digits) -> None:
    assert digits.image_shape == (1, 8, 8)
    assert len(digits.train_y) + len(digits.test_y) == 1797
    assert digits.train_x.dtype == torch.uint8 and int(digits.train_x.max()) == 255
    assert digits.standard_val_size == 288 and len(digits.test_y) == 359
    # stratified: every class in test and validation
    assert (torch.bincount(digits.test_y, minlength=10) >= 35).all()
    assert (torch.bincount(digits.train_y[-288:], minlength=10) >= 28).all()
    again = load_dataset("digits")                               # reproducible carving
    assert torch.equal(again.train_x, digits.train_x) and torch.equal(again.test_y, digits.test_y)
    # train + test is a partition of the 1797 images (compare as a multiset of pixel rows)
    from collections import Counter

    from sklearn.datasets import load_digits

    raw = np.rint(load_digits().images * (255 / 16)).astype(np.uint8).reshape(1797, -1)
    ours = torch.cat([digits.train_x, digits.test_x]).flatten(1).numpy()
    assert Counter(map(bytes, ours)) == Counter(map(bytes, raw))


def test_digits_resized_rgb() -> None:
    data = load_dataset("digits", image_size=16, channels=3)
    assert data.image_shape == (3, 16, 16) and data.test_x.shape[1:] == (3, 16, 16)


def test_adapt_images() -> None:
    x = torch.randint(0, 256, (5, 3, 10, 12), dtype=torch.uint8)
    assert adapt_images(x, None, None) is x
    gray = adapt_images(x, None, 1)
    ref = (0.299 * x[:, 0].float() + 0.587 * x[:, 1].float() + 0.114 * x[:, 2].float()).round()
    assert gray.shape == (5, 1, 10, 12) and torch.equal(gray[:, 0], ref.to(torch.uint8))
    rgb = adapt_images(gray, 6, 3)
    assert rgb.shape == (5, 3, 6, 6) and rgb.dtype == torch.uint8
    assert torch.equal(rgb[:, 0], rgb[:, 2])
    flat = torch.full((2, 1, 9, 9), 77, dtype=torch.uint8)
    assert (adapt_images(flat, 4, None) == 77).all()              # constant stays constant
    with pytest.raises(DataError, match="channels=2"):
        adapt_images(x, None, 2)
    with pytest.raises(DataError, match="image_size=0"):
        adapt_images(x, 0, None)
    assert adapt_images(torch.zeros(0, 1, 8, 8, dtype=torch.uint8), 4, 3).shape == (0, 3, 4, 4)


def test_imagedata_validation(digits) -> None:
    import dataclasses

    with pytest.raises(DataError, match="labels outside 0..9"):
        dataclasses.replace(digits, test_y=digits.test_y + 10)
    with pytest.raises(DataError, match="uint8 tensor"):
        dataclasses.replace(digits, train_x=digits.train_x.float())
    with pytest.raises(DataError, match="default hierarchy 'nope'"):
        dataclasses.replace(digits, default_hierarchy="nope")
    with pytest.raises(DataError, match="standard_val_size=5000"):
        dataclasses.replace(digits, standard_val_size=5000)
    with pytest.raises(DataError, match="image shape"):
        dataclasses.replace(digits, test_x=torch.zeros(len(digits.test_y), 1, 4, 4,
                                                       dtype=torch.uint8))


def test_imagedata_pickles(digits) -> None:
    import pickle

    back = pickle.loads(pickle.dumps(digits))
    assert torch.equal(back.train_x, digits.train_x) and back.hierarchy() == digits.hierarchy()
    with pytest.raises(TypeError):
        back.hierarchies["x"] = None                      # still read-only after the round trip


def test_mnist(mnist) -> None:
    assert mnist.image_shape == (1, 28, 28) and mnist.standard_val_size == 10000
    assert (len(mnist.train_y), len(mnist.test_y)) == (60000, 10000)
    assert torch.bincount(mnist.train_y).tolist()[:3] == [5923, 6742, 5958]   # README counts
    assert abs(mnist.train_x.float().mean().item() / 255 - 0.130660) < 1e-5


def test_fashion_mnist(shared_data_root) -> None:
    if not (shared_data_root / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").is_file():
        pytest.skip(f"Fashion-MNIST absent under {shared_data_root}")
    data = load_dataset("fashion_mnist", root=shared_data_root)
    assert data.default_hierarchy == "mixed" and set(data.hierarchies) == {"mixed", "natural"}
    assert torch.bincount(data.train_y).tolist() == [6000] * 10
    assert data.subclass_names[0] == "T-shirt/top" and data.standard_val_size == 10000

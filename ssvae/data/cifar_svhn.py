"""CIFAR-10 and SVHN, read from their official file formats.

We read the files ourselves (not through torchvision's classes, which check MD5 sums) so that
small synthetic files in the official formats can test the loaders offline; torchvision is used
only to fetch the files when ``download=True``.

- CIFAR-10: ``<root>/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}``, Python
  pickles of ``{data: uint8 [n, 3072] (R, G, B planes of 32x32), labels: [n]}``. The files are
  pickles: only read ones you trust. Validation: the last 5000 training images.
- SVHN: ``<root>/SVHN/{train,test}_32x32.mat`` (or directly under ``<root>``), MATLAB files with
  ``X`` uint8 [32, 32, 3, n] and ``y`` [n, 1] where label 10 means digit 0. Validation: the last
  7325 training images (as in Oliver et al. 2018). ``extra=True`` adds ``extra_32x32.mat`` as
  extra unlabelled images.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ssvae.data.builtin import (CIFAR10_CLASSES, CIFAR10_GROUPS, DIGIT_CLASSES, DIGIT_GROUPS,
                                build_hierarchies)
from ssvae.data.errors import DataError, DataMissing
from ssvae.data.image_data import ImageData, adapt_images
from ssvae.data.registry import DATASETS, PathArg, resolve_root
from ssvae.data.torchvision_sets import missing_files_message, torchvision_call

CIFAR_DIR = "cifar-10-batches-py"
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_FILES = (*CIFAR_TRAIN, "test_batch", "batches.meta")
SVHN_DIR = "SVHN"


def _key(d: dict, name: str) -> Any:
    """Official CIFAR pickles come from Python 2: keys are bytes when read with 'bytes'."""
    for k in (name, name.encode()):
        if k in d:
            return d[k]
    raise DataError(f"CIFAR-10 file lacks the key {name!r}; keys: {sorted(map(str, d))}")


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            d = pickle.load(f, encoding="bytes")
    except (OSError, EOFError, ValueError, pickle.UnpicklingError) as err:
        raise DataError(f"cannot read CIFAR-10 file {path}: {type(err).__name__}: {err}") from None
    if not isinstance(d, dict):
        raise DataError(f"CIFAR-10 file {path} holds a {type(d).__name__}, not a dict")
    return d


def _read_cifar_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    d = _unpickle(path)
    data = np.asarray(_key(d, "data"), dtype=np.uint8)
    labels = np.asarray(_key(d, "labels"), dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise DataError(f"{path}: expected data [n, 3072] and n labels, got {data.shape} and "
                        f"{labels.shape}")
    return torch.from_numpy(data.reshape(-1, 3, 32, 32).copy()), torch.from_numpy(labels)


@DATASETS.register("cifar10")
def load_cifar10(root: PathArg = None, download: bool = False, image_size: int | None = None,
                 channels: int | None = None) -> ImageData:
    """CIFAR-10: 50000 train (last 5000 = validation) + 10000 test, 3x32x32; `vehicles_animals`."""
    base = resolve_root(root, "cifar10")
    folder = base / CIFAR_DIR
    if download:
        from torchvision import datasets

        torchvision_call("cifar10", lambda: datasets.CIFAR10(str(base), train=True, download=True))
    missing = [f for f in CIFAR_FILES if not (folder / f).is_file()]
    if missing:
        raise DataMissing(missing_files_message(
            "cifar10", folder, missing,
            f"unpack the official cifar-10-python.tar.gz into {base.resolve()}"))
    names = tuple(n.decode() if isinstance(n, bytes) else str(n)
                  for n in _key(_unpickle(folder / "batches.meta"), "label_names"))
    if names != CIFAR10_CLASSES:
        raise DataError(f"{folder / 'batches.meta'}: label names {names} are not CIFAR-10's "
                        f"{CIFAR10_CLASSES}")
    train = [_read_cifar_batch(folder / f) for f in CIFAR_TRAIN]
    test_x, test_y = _read_cifar_batch(folder / "test_batch")
    train_x = torch.cat([x for x, _ in train])                      # [50000, 3, 32, 32]
    val = min(5000, len(train_x) // 5)  # 5000 for the official files; small synthetic ones: 20 %
    return ImageData(
        name="cifar10", train_x=adapt_images(train_x, image_size, channels),
        train_y=torch.cat([y for _, y in train]), test_x=adapt_images(test_x, image_size, channels),
        test_y=test_y, extra_unlabelled_x=None, subclass_names=CIFAR10_CLASSES,
        hierarchies=build_hierarchies(CIFAR10_CLASSES, CIFAR10_GROUPS),
        default_hierarchy="vehicles_animals", standard_val_size=val,
        source=str(folder), notes=(f"validation: the last {val} training images",),
    )


def _read_svhn(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        mat = loadmat(str(path))
    except (ValueError, OSError, NotImplementedError, MatReadError) as err:
        raise DataError(f"cannot read SVHN file {path}: {err}") from None
    if "X" not in mat or "y" not in mat:
        raise DataError(f"SVHN file {path} lacks the variables X and y")
    x = np.asarray(mat["X"], dtype=np.uint8)                          # [32, 32, 3, n]
    y = np.asarray(mat["y"], dtype=np.int64).reshape(-1)               # [n], 10 = digit 0
    if x.ndim != 4 or x.shape[2] != 3 or x.shape[3] != len(y):
        raise DataError(f"{path}: expected X [32, 32, 3, n] and y [n, 1], got {x.shape}, {y.shape}")
    y = np.where(y == 10, 0, y)
    if len(y) and (y.min() < 0 or y.max() > 9):
        raise DataError(f"{path}: labels outside 1..10")
    x = np.ascontiguousarray(x.transpose(3, 2, 0, 1))                 # [n, 3, 32, 32]
    return torch.from_numpy(x), torch.from_numpy(y)


@DATASETS.register("svhn")
def load_svhn(root: PathArg = None, download: bool = False, image_size: int | None = None,
              channels: int | None = None, extra: bool = False) -> ImageData:
    """SVHN: 73257 train (last 7325 = validation) + 26032 test, 3x32x32; `low_high`."""
    base = resolve_root(root, "svhn")
    files = ["train_32x32.mat", "test_32x32.mat"] + (["extra_32x32.mat"] if extra else [])
    if download:
        from torchvision import datasets

        for split in [f.split("_")[0] for f in files]:
            torchvision_call("svhn", lambda: datasets.SVHN(str(base / SVHN_DIR), split=split,
                                                            download=True))
    folder = base / SVHN_DIR if (base / SVHN_DIR).is_dir() else base
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise DataMissing(missing_files_message(
            "svhn", base / SVHN_DIR, missing, f"copy the official .mat files into "
            f"{(base / SVHN_DIR).resolve()}"))
    train_x, train_y = _read_svhn(folder / "train_32x32.mat")
    test_x, test_y = _read_svhn(folder / "test_32x32.mat")
    val = min(7325, len(train_x) // 5)  # 7325 for the official files; small synthetic ones: 20 %
    extra_x = adapt_images(_read_svhn(folder / "extra_32x32.mat")[0], image_size, channels) \
        if extra else None
    return ImageData(
        name="svhn", train_x=adapt_images(train_x, image_size, channels), train_y=train_y,
        test_x=adapt_images(test_x, image_size, channels), test_y=test_y,
        extra_unlabelled_x=extra_x, subclass_names=DIGIT_CLASSES,
        hierarchies=build_hierarchies(DIGIT_CLASSES, DIGIT_GROUPS), default_hierarchy="low_high",
        standard_val_size=val, source=str(folder),
        notes=(f"validation: the last {val} training images",),
    )

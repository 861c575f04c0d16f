"""MNIST and Fashion-MNIST, read with torchvision from its own layout under the data root.

``<root>/MNIST/raw/*-ubyte`` and ``<root>/FashionMNIST/raw/*-ubyte``. Nothing is downloaded
unless ``download=True``. Validation is the last 10000 training images (Kingma et al. 2014).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, TypeVar

import torch

from ssvae.data.builtin import (DIGIT_CLASSES, DIGIT_GROUPS, FASHION_CLASSES, FASHION_GROUPS,
                                build_hierarchies)
from ssvae.data.errors import DataError, DataMissing
from ssvae.data.image_data import ImageData, adapt_images
from ssvae.data.registry import DATASETS, PathArg, resolve_root

IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def missing_files_message(dataset: str, folder: Path, missing: list[str], how: str) -> str:
    """The error for absent files: which, where, and how to get them."""
    return (f"data set {dataset!r}: missing {', '.join(missing)} in {folder.resolve()}. "
            f"Get them with --download (download=True) on a machine with internet access, "
            f"or {how}")


def check_idx_files(dataset: str, folder: Path) -> None:
    missing = [f for f in IDX_FILES if not (folder / f).is_file()]
    if not missing:
        return
    how = f"copy the official files into {folder.resolve()} (uncompressed *-ubyte files)"
    if all((folder / f"{f}.gz").is_file() for f in missing):
        how = (f"unpack the .gz files found there (gunzip -k {folder}/*.gz); --download also "
               f"unpacks them without fetching anything")
    raise DataMissing(missing_files_message(dataset, folder, missing, how))


T = TypeVar("T")


def torchvision_call(dataset: str, make: Callable[[], T]) -> T:
    """Run a torchvision data-set constructor; its failures (no network, bad files) become
    a ``DataError`` naming the data set."""
    try:
        return make()
    except (RuntimeError, OSError) as err:
        raise DataError(f"data set {dataset!r}: torchvision failed: {err}") from err


def _load_mnist_like(name: str, cls_name: str, subclass_names: tuple[str, ...], groups: Mapping,
                     default: str, root: PathArg, download: bool, image_size: int | None,
                     channels: int | None) -> ImageData:
    from torchvision import datasets  # lazy: torchvision import costs ~1.5 s

    cls = getattr(datasets, cls_name)
    base = resolve_root(root, name)
    raw = base / cls_name / "raw"
    if not download:
        check_idx_files(name, raw)
    parts = {}
    for train in (True, False):
        ds = torchvision_call(name, lambda: cls(root=str(base), train=train, download=download))
        x = ds.data.unsqueeze(1).contiguous()                 # [N, 1, 28, 28] uint8
        parts[train] = (adapt_images(x, image_size, channels), ds.targets.to(torch.int64))
    return ImageData(
        name=name, train_x=parts[True][0], train_y=parts[True][1],
        test_x=parts[False][0], test_y=parts[False][1], extra_unlabelled_x=None,
        subclass_names=subclass_names, hierarchies=build_hierarchies(subclass_names, groups),
        default_hierarchy=default, standard_val_size=10000, source=str(raw),
        notes=("validation: the last 10000 training images (official order)",),
    )


@DATASETS.register("mnist")
def load_mnist(root: PathArg = None, download: bool = False, image_size: int | None = None,
               channels: int | None = None) -> ImageData:
    """MNIST: 60000 train (last 10000 = validation) + 10000 test, 1x28x28; `low_high`."""
    return _load_mnist_like("mnist", "MNIST", DIGIT_CLASSES, DIGIT_GROUPS, "low_high",
                            root, download, image_size, channels)


@DATASETS.register("fashion_mnist")
def load_fashion_mnist(root: PathArg = None, download: bool = False, image_size: int | None = None,
                       channels: int | None = None) -> ImageData:
    """Fashion-MNIST: like MNIST; hierarchies `mixed` (default) and `natural`."""
    return _load_mnist_like("fashion_mnist", "FashionMNIST", FASHION_CLASSES, FASHION_GROUPS,
                            "mixed", root, download, image_size, channels)

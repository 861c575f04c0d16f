"""scikit-learn's bundled 8x8 digits: the offline data set for smoke tests and the quickstart.

1797 images (values 0-16, scaled to 0-255). Having no official test set, it is carved
reproducibly: a stratified 20 % test part (fixed seed), then a stratified 20 % of the rest as
validation, placed LAST in ``train_x`` so that ``standard_val_size`` means the same as for MNIST.
"""
from __future__ import annotations

import numpy as np
import torch

from ssvae.data.builtin import DIGIT_CLASSES, DIGIT_GROUPS, build_hierarchies
from ssvae.data.image_data import ImageData, adapt_images
from ssvae.data.registry import DATASETS, PathArg
from ssvae.data.sampling import carve

TEST_SEED, VAL_SEED = 20_240_901, 20_240_902  # fixed: every user gets the same parts


@DATASETS.register("digits")
def load_digits(root: PathArg = None, download: bool = False, image_size: int | None = None,
                channels: int | None = None) -> ImageData:
    """1797 8x8 gray digits: train 1150 + validation 288 (last) + test 359; `low_high`.
    ``root`` and ``download`` are ignored (the data ship with scikit-learn)."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    x = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None]  # [1797, 1, 8, 8]
    y = bunch.target.astype(np.int64)                                        # [1797]
    rest, test = carve(y, 0.2, TEST_SEED)
    keep, val = carve(y[rest], 0.2, VAL_SEED)
    train = np.concatenate([rest[keep], rest[val]])  # validation last
    tensor = torch.from_numpy
    return ImageData(
        name="digits",
        train_x=adapt_images(tensor(x[train]), image_size, channels), train_y=tensor(y[train]),
        test_x=adapt_images(tensor(x[test]), image_size, channels), test_y=tensor(y[test]),
        extra_unlabelled_x=None, subclass_names=DIGIT_CLASSES,
        hierarchies=build_hierarchies(DIGIT_CLASSES, DIGIT_GROUPS), default_hierarchy="low_high",
        standard_val_size=len(val), source="sklearn.datasets.load_digits",
        notes=(f"test: stratified 20 % (seed {TEST_SEED}); validation: stratified 20 % of the "
               f"rest (seed {VAL_SEED}), the last {len(val)} training images",),
    )

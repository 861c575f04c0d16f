"""Simulated labelling on a data set whose labels are all known (the active-labelling study).

``with_labels`` makes a data set in which exactly the given images are labelled — however
unbalanced the chosen labels are — by putting them alone in the training part (outside the
validation part) with ``label_fraction=1.0`` to label them all; the rest of the pool becomes the
data set's extra unlabelled images and the validation part stays the base data set's. A study
registers it under a new name and trains with ``ssvae.fit`` as usual.
"""
from __future__ import annotations

import hashlib

import numpy as np
import torch

from ssvae.data.image_data import ImageData


def with_labels(base: ImageData, labelled: np.ndarray, unlabelled: np.ndarray, val: np.ndarray,
                name: str) -> ImageData:
    """``base`` with the training images ``labelled`` (indices into ``base.train_x``) labelled,
    ``unlabelled`` as extra unlabelled images and ``val`` as the standard validation part (last);
    the test part unchanged. The three index sets must be disjoint."""
    labelled, unlabelled, val = (np.asarray(a, dtype=np.int64) for a in (labelled, unlabelled, val))
    every = np.concatenate([labelled, unlabelled, val])
    if len(np.unique(every)) != len(every):
        raise ValueError("labelled, unlabelled and validation indices must be disjoint")
    if not len(labelled) or not len(val):
        raise ValueError(f"need labelled and validation images, got {len(labelled)} and {len(val)}")
    order = torch.from_numpy(np.concatenate([labelled, val]))
    ident = hashlib.sha256(np.sort(labelled).tobytes() + b"|" + np.sort(val).tobytes()).hexdigest()
    return ImageData(
        name=name, train_x=base.train_x[order], train_y=base.train_y[order],
        test_x=base.test_x, test_y=base.test_y,
        extra_unlabelled_x=base.train_x[torch.from_numpy(unlabelled)] if len(unlabelled) else None,
        subclass_names=base.subclass_names, hierarchies=base.hierarchies,
        default_hierarchy=base.default_hierarchy, standard_val_size=len(val),
        source=f"{base.source} ({len(labelled)} chosen labels)", content_id=ident[:8],
        notes=(f"labelled: {len(labelled)} given images of {base.name}; validation: "
               f"{len(val)} of its images",))

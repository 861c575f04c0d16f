"""The split each data set uses, in words, for the report's Protocol section.

The report reads only the results table, so it cannot look at the data; these sentences restate
what the loaders in ``ssvae/data/`` do. Their seeds and folder names are copied here rather than
imported (importing ``ssvae.data`` loads torch, seconds the analysis does not need);
``tests/analysis/test_analysis_protocol.py`` checks that the copies match. A run with
``val_size`` set used a stratified validation draw instead of the standard part.
"""
from __future__ import annotations

from types import SimpleNamespace

# copies of ssvae.data's constants (checked by the tests)
digits = SimpleNamespace(TEST_SEED=20_240_901, VAL_SEED=20_240_902)
folder = SimpleNamespace(TEST_SEED=20_240_911, VAL_SEED=20_240_912, TEST_DIR="test",
                         UNLABELLED_DIR="unlabelled")
split = SimpleNamespace(VAL_SEED=97_531)

_KINGMA = ("train = the first 50,000 images of the official training set, validation = the "
           "last 10,000 (as in Kingma et al. 2014), test = the official 10,000 test images")

STANDARD_SPLITS = {
    "mnist": _KINGMA,
    "fashion_mnist": _KINGMA,
    "digits": ("scikit-learn's 1,797 8×8 digits have no official test set: test = a stratified "
               f"20 % (359 images, seed {digits.TEST_SEED}), validation = a stratified 20 % of "
               f"the rest (288 images, seed {digits.VAL_SEED}), train = the other 1,150"),
    "folder": (f"test = the images under `{folder.TEST_DIR}/` when the tree has that folder, "
               "otherwise a stratified 20 % of the labelled images (seed "
               f"{folder.TEST_SEED}); validation = a stratified 20 % of the rest (seed "
               f"{folder.VAL_SEED}); train = the other labelled images plus `"
               f"{folder.UNLABELLED_DIR}/` (`python -m ssvae.data describe` gives the counts)"),
    "cifar10": ("train = the first 45,000 official training images, validation = the last "
                "5,000, test = the official 10,000 test images"),
    "svhn": ("train = the official training images but the last 7,325, validation = those "
             "7,325, test = the official test images"),
}


def split_sentence(dataset: str, val_sizes: set[int | None]) -> str:
    """How ``dataset``'s runs were split; ``val_sizes``: the runs' ``val_size`` values."""
    standard = STANDARD_SPLITS.get(dataset,
                                   "the data set's standard validation part (the last training "
                                   "images; see `python -m ssvae.data describe`)")
    drawn = sorted(v for v in val_sizes if v is not None)
    if not drawn:
        return standard
    which = "some runs" if None in val_sizes else "every run"
    return (f"{standard}; except that {which} drew validation from the training images instead, "
            f"stratified by sub-class ({', '.join(f'{v:,}' for v in drawn)} images, seed "
            f"{split.VAL_SEED}, the same for every label draw)")

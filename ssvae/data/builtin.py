"""Class names and the built-in hierarchies of the bundled data sets (DESIGN.md §3)."""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping, Sequence

from ssvae.data.hierarchy import LabelHierarchy

DIGIT_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")

# name -> {super-class: [sub-classes]}, per data set; the first entry is the default unless the
# data set says otherwise.
DIGIT_GROUPS = {
    "low_high": {"low": ["0", "1", "2", "3", "4"], "high": ["5", "6", "7", "8", "9"]},
}
FASHION_GROUPS = {
    # The binary-vs-sub-class study uses `mixed`: each side a union of visually unrelated
    # sub-classes, with confusable sub-classes across the boundary (shirts, shoes).
    "mixed": {"target": ["T-shirt/top", "Trouser", "Dress", "Sneaker", "Bag"],
              "other": ["Pullover", "Coat", "Sandal", "Shirt", "Ankle boot"]},
    "natural": {"clothing": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Shirt"],
                "accessories": ["Sandal", "Sneaker", "Bag", "Ankle boot"]},
}
CIFAR10_GROUPS = {
    "vehicles_animals": {"vehicles": ["airplane", "automobile", "ship", "truck"],
                         "animals": ["bird", "cat", "deer", "dog", "frog", "horse"]},
}


def build_hierarchies(subclass_names: Sequence[str],
                      groups: Mapping[str, Mapping[str, Sequence[str]]]
                      ) -> Mapping[str, LabelHierarchy]:
    """Validated ``LabelHierarchy`` objects from ``{name: {super: [subs]}}``."""
    return MappingProxyType({name: LabelHierarchy.from_groups(name, subclass_names, g)
                             for name, g in groups.items()})

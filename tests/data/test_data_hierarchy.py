"""Label hierarchies: built-ins exactly as DESIGN.md §3, collapse, validation, user files."""
from __future__ import annotations

import json

import pytest
import torch

from ssvae.data import DataError, LabelHierarchy, load_dataset
from ssvae.data.builtin import (CIFAR10_CLASSES, CIFAR10_GROUPS, DIGIT_CLASSES, DIGIT_GROUPS,
                                FASHION_CLASSES, FASHION_GROUPS, build_hierarchies)

# DESIGN.md §3, written out again by hand so a change to the built-ins shows up here.
EXPECTED = {
    "digits/low_high": {"low": {"0", "1", "2", "3", "4"}, "high": {"5", "6", "7", "8", "9"}},
    "fashion/natural": {
        "clothing": {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Shirt"},
        "accessories": {"Sandal", "Sneaker", "Bag", "Ankle boot"}},
    "fashion/mixed": {
        "target": {"T-shirt/top", "Trouser", "Dress", "Sneaker", "Bag"},
        "other": {"Pullover", "Coat", "Sandal", "Shirt", "Ankle boot"}},
    "cifar10/vehicles_animals": {
        "vehicles": {"airplane", "automobile", "ship", "truck"},
        "animals": {"bird", "cat", "deer", "dog", "frog", "horse"}},
}
BUILT = {
    **{f"digits/{k}": h for k, h in build_hierarchies(DIGIT_CLASSES, DIGIT_GROUPS).items()},
    **{f"fashion/{k}": h for k, h in build_hierarchies(FASHION_CLASSES, FASHION_GROUPS).items()},
    **{f"cifar10/{k}": h for k, h in build_hierarchies(CIFAR10_CLASSES, CIFAR10_GROUPS).items()},
}


def test_builtin_hierarchies_match_design() -> None:
    assert set(BUILT) == set(EXPECTED)
    for key, h in BUILT.items():
        assert {s: set(h.members(s)) for s in h.superclass_names} == EXPECTED[key], key
    # torchvision's class order (label ids) for Fashion-MNIST and CIFAR-10
    assert FASHION_CLASSES[0] == "T-shirt/top" and FASHION_CLASSES[9] == "Ankle boot"
    assert CIFAR10_CLASSES.index("ship") == 8 and len(CIFAR10_CLASSES) == 10


def test_digits_default_hierarchy(digits) -> None:
    h = digits.hierarchy()
    assert h.name == "low_high" and digits.default_hierarchy == "low_high"
    assert h.collapse(torch.arange(10)).tolist() == [0] * 5 + [1] * 5


def test_collapse_labels_and_probs() -> None:
    h = BUILT["fashion/mixed"]
    y = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9])
    # target: T-shirt, Trouser, Dress, Sneaker, Bag = ids 0, 1, 3, 7, 8
    assert h.collapse(y).tolist() == [0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1]
    p = torch.softmax(torch.randn(6, 10, generator=torch.Generator().manual_seed(0)), dim=1)
    q = h.collapse_probs(p)                                   # [6, 2]
    assert q.shape == (6, 2)
    assert torch.allclose(q.sum(1), torch.ones(6))
    assert torch.allclose(q[:, 0], p[:, [0, 1, 3, 7, 8]].sum(1))
    # the argmax of summed probabilities, not the super-class of the argmax sub-class
    p = torch.tensor([[0.4, 0.0, 0.3, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0]])
    assert h.collapse_probs(p).argmax(1).item() == 1 and h.collapse(p.argmax(1)).item() == 0
    with pytest.raises(ValueError, match="n_sub 10"):
        h.collapse_probs(torch.ones(2, 3))


def test_hierarchy_validation_errors() -> None:
    with pytest.raises(DataError, match="invalid super-class"):
        LabelHierarchy("h", ("a", "b"), ("x", "y"), (0, 2))
    with pytest.raises(DataError, match=r"super-classes \['y'\] have no sub-class"):
        LabelHierarchy("h", ("a", "b"), ("x", "y"), (0, 0))
    with pytest.raises(DataError, match="duplicated sub-class"):
        LabelHierarchy("h", ("a", "a"), ("x",), (0, 0))
    with pytest.raises(DataError, match="2 entries for 3 sub-classes"):
        LabelHierarchy("h", ("a", "b", "c"), ("x",), (0, 0))
    with pytest.raises(DataError, match="non-empty string"):
        LabelHierarchy("", ("a",), ("x",), (0,))


def test_from_groups_names_missing_unknown_and_duplicated() -> None:
    subs = ("a", "b", "c", "d")
    with pytest.raises(DataError) as err:
        LabelHierarchy.from_groups("h", subs, {"x": ["a", "b", "zzz"], "y": ["b"]})
    msg = str(err.value)
    assert "unknown sub-classes ['zzz']" in msg
    assert "'b' (in 'x' and 'y')" in msg
    assert "sub-classes missing: ['c', 'd']" in msg


def test_hierarchy_file_yaml_and_json(digits, tmp_path) -> None:
    yml = tmp_path / "odd.yaml"
    yml.write_text("name: odd_even\nsuperclasses:\n"
                   "  even: [0, 2, 4, 6, 8]\n  odd: [1, 3, 5, 7, 9]\n")
    h = digits.hierarchy(file=yml)
    assert h.name == "odd_even" and h.collapse(torch.tensor([3, 4])).tolist() == [1, 0]
    js = tmp_path / "odd.json"
    js.write_text(json.dumps({"name": "odd_even", "superclasses": h.as_groups()}))
    assert digits.hierarchy(file=js) == h
    data = load_dataset("digits", hierarchy_file=yml)      # the file becomes the default
    assert data.default_hierarchy == "odd_even"
    assert set(data.hierarchies) == {"low_high", "odd_even"}


@pytest.mark.parametrize("text, match", [
    ("name: x\nsuperclasses:\n  a: [0, 1, 2, 3, 4]\n  b: [5, 6, 7, 8]\n", r"missing: \['9'\]"),
    ("name: x\nsuperclasses:\n  a: [0, 1, 2, 3, 4, 5]\n  b: [5, 6, 7, 8, 9]\n", "listed twice"),
    ("name: x\nsuperclasses:\n  a: [0, 1, 2, 3, 4, ten]\n  b: [5, 6, 7, 8, 9]\n", "unknown"),
    ("name: x\nsupers: {}\n", "exactly the keys"),
    ("name: x\nsuperclasses:\n  a: zero\n", "must list its sub-classes"),
    ("name: [unclosed\n", "not valid YAML"),
])
def test_hierarchy_file_errors(digits, tmp_path, text, match) -> None:
    path = tmp_path / "h.yml"
    path.write_text(text)
    with pytest.raises(DataError, match=match):
        digits.hierarchy(file=path)


def test_hierarchy_file_other_errors(digits, tmp_path) -> None:
    with pytest.raises(DataError, match="cannot read hierarchy file"):
        digits.hierarchy(file=tmp_path / "absent.yaml")
    bad = tmp_path / "h.json"
    bad.write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        digits.hierarchy(file=bad)
    clash = tmp_path / "clash.yaml"
    clash.write_text("name: low_high\nsuperclasses:\n  a: [0, 1, 2, 3, 4]\n  b: [5, 6, 7, 8, 9]\n")
    with pytest.raises(DataError, match="clashes with a built-in"):
        load_dataset("digits", hierarchy_file=clash)
    with pytest.raises(DataError, match="defines 'low_high', not the requested 'other'"):
        digits.hierarchy("other", file=clash)


def test_unknown_hierarchy_lists_known(digits) -> None:
    with pytest.raises(DataError,
                       match=r"unknown hierarchy .*'lowhigh'.*known: low_high.*Did you mean"):
        digits.hierarchy("lowhigh")


def test_n_classes_per_label_mode(digits) -> None:
    h = digits.hierarchy()
    assert (h.n_classes("binary"), h.n_classes("subclass")) == (h.n_super, h.n_sub) == (2, 10)
    with pytest.raises(ValueError, match="label_mode='super' is not valid; choose binary, subclass"):
        h.n_classes("super")

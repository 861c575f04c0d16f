"""M1's head stored as tensors and plain data: every kind round-trips through a weights_only
load with the same probabilities, and a stored head cannot name a class outside the allow-list."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from ssvae.models import build_model, head_state

from models_helpers import SHAPES, images, labels, tiny_config


def _safe_round_trip(value):
    buf = io.BytesIO()
    torch.save(value, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


@pytest.mark.parametrize("head, n_labels", [("logreg", 30), ("svm", 30), ("svm", 4), ("mlp", 30)])
def test_every_head_kind_round_trips_through_a_weights_only_load(head, n_labels):
    """svm with 30 labels: calibrated SVC; with 4 (a class seen once): the softmax SVC."""
    torch.manual_seed(0)
    cfg = tiny_config(model="m1", model_options={"head": head, "head_hidden": 8})
    net = build_model(cfg, SHAPES["digits"], 3).eval()
    x, y = images(SHAPES["digits"], n_labels, seed=1), labels(n_labels, 3)
    net.finish_stage(x, y)
    state = _safe_round_trip(net.state_dict())
    stored = state["_extra_state"]
    assert stored["format"] == head_state.FORMAT
    fresh = build_model(cfg, SHAPES["digits"], 3).eval()
    fresh.load_state_dict(state)
    assert type(fresh.head) is type(net.head)
    x_new = images(SHAPES["digits"], 20, seed=7)
    assert torch.equal(fresh.classify(x_new), net.classify(x_new))


def test_a_constant_head_and_no_head_round_trip():
    net = build_model(tiny_config(model="m1"), SHAPES["digits"], 3).eval()
    assert net.get_extra_state() is None
    net.finish_stage(images(SHAPES["digits"], 5, seed=1), torch.full((5,), 2))
    fresh = build_model(tiny_config(model="m1"), SHAPES["digits"], 3).eval()
    fresh.load_state_dict(_safe_round_trip(net.state_dict()))
    assert fresh.head == ("constant", 2)


def test_a_stored_head_naming_another_class_is_refused():
    evil = {"format": head_state.FORMAT,
            "head": {"estimator": "os.system", "state": {}}}
    with pytest.raises(head_state.HeadStateError, match="'os.system' is not one a head may hold"):
        head_state.decode(evil)
    with pytest.raises(head_state.HeadStateError, match="not a stored M1 head"):
        head_state.decode({"format": "pickle"})


def test_encode_refuses_what_is_not_plain_data():
    with pytest.raises(head_state.HeadStateError, match="object arrays"):
        head_state.encode(_with({"weights": np.array([object()], dtype=object)}))
    with pytest.raises(head_state.HeadStateError, match="cannot be stored as plain data"):
        head_state.encode(_with({"generator": np.random.default_rng(0)}))


def _with(attributes: dict):
    from sklearn.linear_model import LogisticRegression

    head = LogisticRegression()
    head.__dict__.update(attributes)
    return head

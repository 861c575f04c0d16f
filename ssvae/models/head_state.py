"""M1's fitted scikit-learn head as tensors and plain data (never a pickle), and back.

``encode(head)`` turns an estimator into nested dicts, lists, strings, numbers and tensors, which
``torch.load(..., weights_only=True)`` reads without running any code. ``decode`` rebuilds the
estimator from an allow-list of classes (``HEAD_CLASSES``): every other class name is refused,
so a checkpoint cannot make ``decode`` build anything else. Attributes that only training needs
(optimiser state, random generators, loss curves) are left out.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

FORMAT = "ssvae.head/1"
# Fitted-attribute names that prediction never reads (and some of which are not plain data).
TRAINING_ONLY = frozenset({"_random_state", "_optimizer", "loss_curve_", "_best_coefs",
                           "_best_intercepts", "validation_scores_"})


class HeadStateError(ValueError):
    """A stored head that cannot be encoded or decoded; the message says why."""


# Estimator classes of ssvae's own that a head may hold; each registers itself where it is
# defined (``allow``), so this module imports no model (M1 imports it).
_OWN_CLASSES: list[type] = []


def allow(cls: type) -> type:
    """Let a stored head hold ``cls`` (a class decorator for ssvae's own estimators)."""
    _OWN_CLASSES.append(cls)
    return cls


def head_classes() -> dict[str, type]:
    """The estimator classes a stored head may contain, by ``module.QualName``."""
    from sklearn.calibration import CalibratedClassifierCV, _CalibratedClassifier, _SigmoidCalibration
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.svm import SVC

    classes = (LogisticRegression, MLPClassifier, SVC, CalibratedClassifierCV,
               _CalibratedClassifier, _SigmoidCalibration, LabelBinarizer, *_OWN_CLASSES)
    return {f"{c.__module__}.{c.__qualname__}": c for c in classes}


def _encode(value: Any, where: str, known: dict[str, type]) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise HeadStateError(f"{where}: object arrays cannot be stored as plain data")
        return {"ndarray": torch.from_numpy(np.ascontiguousarray(value).copy())}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, f"{where}[{i}]", known) for i, v in enumerate(value)]
        return {"tuple": items} if isinstance(value, tuple) else {"list": items}
    name = f"{type(value).__module__}.{type(value).__qualname__}"
    if name in known:
        state = {k: _encode(v, f"{where}.{k}", known)
                 for k, v in vars(value).items() if k not in TRAINING_ONLY}
        return {"estimator": name, "state": state}
    raise HeadStateError(f"{where}: a {name} cannot be stored as plain data (known estimators: "
                         f"{', '.join(sorted(known))})")


def _decode(value: Any, where: str, known: dict[str, type]) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if not isinstance(value, dict) or len(value) not in (1, 2):
        raise HeadStateError(f"{where}: unexpected {type(value).__name__} in a stored head")
    if "ndarray" in value:
        return value["ndarray"].numpy().copy()
    if "list" in value or "tuple" in value:
        items = [_decode(v, f"{where}[{i}]", known)
                 for i, v in enumerate(value.get("list", value.get("tuple")))]
        return items if "list" in value else tuple(items)
    name = value.get("estimator")
    if name not in known:
        raise HeadStateError(f"{where}: estimator {name!r} is not one a head may hold (known: "
                             f"{', '.join(sorted(known))})")
    obj = known[name].__new__(known[name])        # no __init__, no __setstate__: data only
    obj.__dict__.update({k: _decode(v, f"{where}.{k}", known) for k, v in value["state"].items()})
    return obj


def encode(head: Any) -> dict[str, Any]:
    """A fitted head (an allow-listed estimator, or ``("constant", class)``) -> plain data."""
    if isinstance(head, tuple) and len(head) == 2 and head[0] == "constant":
        return {"format": FORMAT, "constant": int(head[1])}
    return {"format": FORMAT, "head": _encode(head, "head", head_classes())}


def decode(state: dict[str, Any]) -> Any:
    """``encode``'s output -> the head. Raises ``HeadStateError`` for anything else."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise HeadStateError(f"not a stored M1 head (expected format {FORMAT!r})")
    if "constant" in state:
        return ("constant", int(state["constant"]))
    return _decode(state["head"], "head", head_classes())

"""Decision thresholds for flag / pass / review, chosen on validation scores only.

A model gives each image a ``score`` (the probability of the positive super-class, in [0, 1])
and a ``rejection`` score (larger = less like what the model was trained on). The decision:

    review  if rejection > review_above          (out of distribution: a person looks)
    flag    elif score >= flag_at
    pass    elif score <  pass_below
    review  otherwise                            (the uncertain band pass_below <= score < flag_at)

``review_above`` sends the ``reject_fraction`` most unusual validation images to review. The
user's ``Goal`` sets ``flag_at`` and ``pass_below`` on the other validation images:

- ``target_precision`` P: ``flag_at`` is the lowest threshold whose flags have precision >= P
  (the most recall at that precision); ``pass_below`` the highest one whose passes hold at least
  a share P of negatives (the same standard for passes); the images between go to review.
- ``target_recall`` R: ``flag_at`` = ``pass_below`` = the highest threshold whose flags catch a
  share R of all validation positives; no uncertain band.
- ``review_budget`` F (the default, 0.05): a share F of validation images goes to review (the
  rejected ones included); the band is the run of adjacent scores whose removal leaves the fewest
  wrong flags and passes.

``choose`` sees validation arrays only; nothing here can read a test set.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DEFAULT_REVIEW_BUDGET = 0.05
DEFAULT_REJECT_FRACTION = 0.01


class ThresholdError(ValueError):
    """A goal that the validation scores cannot meet, or a goal that is not valid."""


def _check_fraction(name: str, value: float | None, low_open: bool, high_open: bool) -> None:
    if value is None:
        return
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > 0 if low_open else value >= 0) and (value < 1 if high_open else value <= 1)
    if not ok:
        rng = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
        raise ThresholdError(f"{name}={value!r} must be a number in {rng}")


@dataclass(frozen=True)
class Goal:
    """What the user asks of the decisions: one of target precision, target recall or review
    budget (none given: review budget 0.05), and the share of unusual images always reviewed."""

    target_precision: float | None = None
    target_recall: float | None = None
    review_budget: float | None = None
    reject_fraction: float = DEFAULT_REJECT_FRACTION

    def __post_init__(self) -> None:
        given = [n for n in ("target_precision", "target_recall", "review_budget")
                 if getattr(self, n) is not None]
        if len(given) > 1:
            raise ThresholdError(f"give one goal, not {' and '.join(given)}: target precision, "
                                 f"target recall or review budget")
        _check_fraction("target_precision", self.target_precision, True, False)
        _check_fraction("target_recall", self.target_recall, True, False)
        _check_fraction("review_budget", self.review_budget, False, True)
        _check_fraction("reject_fraction", self.reject_fraction, False, True)
        if not given:
            object.__setattr__(self, "review_budget", DEFAULT_REVIEW_BUDGET)
        budget = self.review_budget
        if budget is not None and self.reject_fraction > budget:
            raise ThresholdError(f"reject_fraction={self.reject_fraction} is larger than "
                                 f"review_budget={budget}; the rejected images count in the budget")

    @property
    def kind(self) -> str:
        return next(n for n in ("target_precision", "target_recall", "review_budget")
                    if getattr(self, n) is not None)

    def describe(self) -> str:
        return f"{self.kind.replace('_', ' ')} {getattr(self, self.kind):g}"

    def to_dict(self) -> dict[str, float]:
        return {self.kind: getattr(self, self.kind), "reject_fraction": self.reject_fraction}


def _json_float(value: float) -> float | None:
    return None if math.isinf(value) else float(value)


@dataclass(frozen=True)
class Thresholds:
    """The decision rule (module docstring) and what it gave on validation."""

    positive: str
    flag_at: float                  # inf: never flag
    pass_below: float               # 0: never pass
    review_above: float             # inf: no image reviewed for its rejection score
    goal: Goal
    validation: dict[str, Any] = field(default_factory=dict)   # see ``evaluate``

    def decide(self, score: np.ndarray, rejection: np.ndarray) -> np.ndarray:
        """[N] decisions ('flag' | 'pass' | 'review') for [N] scores and rejection scores."""
        out = np.full(score.shape, "review", dtype=object)
        usual = ~(rejection > self.review_above)
        out[usual & (score >= self.flag_at)] = "flag"
        out[usual & (score < self.pass_below) & (score < self.flag_at)] = "pass"
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (an infinite threshold is null)."""
        return {"positive": self.positive, "flag_at": _json_float(self.flag_at),
                "pass_below": float(self.pass_below),
                "review_above": _json_float(self.review_above), "goal": self.goal.to_dict(),
                "validation": self.validation}

    def describe(self) -> str:
        """Two lines: the rule, and the validation precision and recall it gives."""
        v = self.validation
        flag = "never flag" if math.isinf(self.flag_at) else f"flag if score >= {self.flag_at:.4g}"
        rej = ("" if math.isinf(self.review_above)
               else f"; review if rejection > {self.review_above:.4g}")
        prec = "n/a (no flags)" if v["precision"] is None else f"{v['precision']:.3f}"
        band = ("pass otherwise" if self.pass_below >= self.flag_at
                else f"pass if score < {self.pass_below:.4g}; review in between")
        return (f"thresholds for {self.goal.describe()} (positive: {self.positive}): {flag}; "
                f"{band}{rej}\n"
                f"on validation ({v['n']} images, {v['n_positive']} positive): precision "
                f"{prec}, recall {v['recall']:.3f} (flagged or reviewed: "
                f"{v['recall_with_review']:.3f}), flag {v['flag_fraction']:.1%}, review "
                f"{v['review_fraction']:.1%}, pass {v['pass_fraction']:.1%}")


def evaluate(thresholds: Thresholds, score: np.ndarray, positive: np.ndarray,
             rejection: np.ndarray) -> dict[str, Any]:
    """Precision of flags, recall of flags (and of flags plus reviews) over all positives, and
    the share of each decision, on the given (validation) images."""
    decision = thresholds.decide(score, rejection)
    flag, review = decision == "flag", decision == "review"
    n, n_pos = len(score), int(positive.sum())
    tp = int((flag & positive).sum())
    return {"n": n, "n_positive": n_pos,
            "precision": tp / int(flag.sum()) if flag.any() else None,
            "recall": tp / n_pos if n_pos else 0.0,
            "recall_with_review": int(((flag | review) & positive).sum()) / n_pos if n_pos else 0.0,
            "flag_fraction": float(flag.mean()) if n else 0.0,
            "review_fraction": float(review.mean()) if n else 0.0,
            "pass_fraction": float((decision == "pass").mean()) if n else 0.0}


def _levels(score: np.ndarray, positive: np.ndarray):
    """Distinct scores u (descending) with, for the rule 'flag if score >= u', the number of
    flags and of true positives among them."""
    order = np.argsort(-score, kind="stable")
    s, y = score[order], positive[order]
    last = np.r_[s[1:] != s[:-1], True]               # last index of each run of equal scores
    return s[last], np.cumsum(np.ones_like(s))[last], np.cumsum(y)[last]


def _by_precision(score, positive, p: float) -> tuple[float, float]:
    level, n_flag, tp = _levels(score, positive)
    ok = tp / n_flag >= p - 1e-12
    if not ok.any():
        best = int(np.argmax(tp / n_flag))
        raise ThresholdError(f"no threshold reaches validation precision {p:g}; the highest is "
                             f"{tp[best] / n_flag[best]:.3f} (flagging {int(n_flag[best])} of "
                             f"{len(score)} images). Lower the target precision or set a review "
                             f"budget instead")
    flag_at = float(level[np.flatnonzero(ok)[-1]])
    # Passes, 'pass if score < u' for u up to flag_at: negatives must be a share >= p of them.
    order = np.argsort(score, kind="stable")
    neg_below = np.r_[0, np.cumsum(~positive[order])]   # negatives among the i lowest scores
    candidates = np.unique(score)
    candidates = candidates[candidates <= flag_at]
    k = np.searchsorted(score[order], candidates, side="left")   # scores strictly below u
    ok_pass = (k > 0) & (neg_below[k] >= p * k - 1e-9)
    pass_below = float(candidates[np.flatnonzero(ok_pass)[-1]]) if ok_pass.any() else 0.0
    return flag_at, pass_below


def _by_recall(score, positive, r: float, n_positive_all: int) -> float:
    level, _, tp = _levels(score, positive)
    ok = tp >= r * n_positive_all - 1e-9
    if not ok.any():
        raise ThresholdError(f"flags cannot reach validation recall {r:g}: at most "
                             f"{tp[-1] / max(n_positive_all, 1):.3f} of the positives are outside "
                             f"the rejected images. Lower the target recall or the reject fraction")
    return float(level[np.flatnonzero(ok)[0]])


def _by_budget(score, positive, m: int) -> tuple[float, float]:
    order = np.argsort(score, kind="stable")
    s, y = score[order], positive[order].astype(np.int64)
    n = len(s)
    m = min(max(m, 0), n)
    pos_below = np.r_[0, np.cumsum(y)]                 # positives among the first i
    neg_from = np.r_[np.cumsum((1 - y)[::-1])[::-1], 0]   # negatives from index j on
    start = np.arange(n - m + 1)
    errors = pos_below[start] + neg_from[start + m]
    i = int(np.argmin(errors))
    pass_below = float(s[i]) if i < n else math.inf
    flag_at = float(s[i + m]) if i + m < n else math.inf
    return flag_at, min(pass_below, flag_at)


def choose(score: np.ndarray, positive: np.ndarray, rejection: np.ndarray, goal: Goal,
           positive_name: str) -> Thresholds:
    """Thresholds for ``goal`` from validation ``score`` [N], ``positive`` [N] bool (the image is
    of the positive super-class) and ``rejection`` [N] (see the module docstring)."""
    score = np.asarray(score, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    rejection = np.asarray(rejection, dtype=np.float64)
    if not (score.shape == positive.shape == rejection.shape and score.ndim == 1 and len(score)):
        raise ThresholdError(f"validation arrays must be non-empty and of one length, got "
                             f"{score.shape}, {positive.shape}, {rejection.shape}")
    review_above = (math.inf if goal.reject_fraction == 0
                    else float(np.quantile(rejection, 1.0 - goal.reject_fraction)))
    usual = ~(rejection > review_above)
    s, y = score[usual], positive[usual]
    if goal.target_precision is not None:
        flag_at, pass_below = _by_precision(s, y, goal.target_precision)
    elif goal.target_recall is not None:
        flag_at = pass_below = _by_recall(s, y, goal.target_recall, int(positive.sum()))
    else:
        m = int(round(goal.review_budget * len(score))) - int((~usual).sum())
        flag_at, pass_below = _by_budget(s, y, m)
    rule = Thresholds(positive_name, flag_at, pass_below, review_above, goal)
    return Thresholds(positive_name, flag_at, pass_below, review_above, goal,
                      evaluate(rule, score, positive, rejection))


def add_goal_flags(parser: argparse.ArgumentParser) -> None:
    """``--target-precision`` | ``--target-recall`` | ``--review-budget`` (one of them)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--target-precision", type=float, metavar="P",
                       help="flag with at least this validation precision; pass with the same "
                            "share of negatives; review the rest (default: unset; one goal of "
                            "the three)")
    group.add_argument("--target-recall", type=float, metavar="R",
                       help="flag enough to catch this share of validation positives "
                            "(default: unset; one goal of the three)")
    group.add_argument("--review-budget", type=float, metavar="F",
                       help="the share of images a person can review (default: 0.05 when no "
                            "goal is given)")


def goal_from_args(args: argparse.Namespace) -> Goal:
    return Goal(target_precision=args.target_precision, target_recall=args.target_recall,
                review_budget=args.review_budget,
                reject_fraction=getattr(args, "reject_fraction", DEFAULT_REJECT_FRACTION))

"""Decision thresholds: each goal is met on the validation scores it was chosen on, the rule's
order, and the errors of goals that are not valid or cannot be met."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ssvae.deploy.thresholds import Goal, ThresholdError, Thresholds, choose, evaluate


def _scores(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    positive = rng.random(n) < 0.3
    score = np.where(positive, rng.beta(5, 2, n), rng.beta(2, 5, n))
    return score, positive, rng.random(n)


def test_the_default_goal_is_a_review_budget_of_5_percent():
    goal = Goal()
    assert goal.review_budget == 0.05 and goal.kind == "review_budget"
    assert goal.to_dict() == {"review_budget": 0.05, "reject_fraction": 0.01}


@pytest.mark.parametrize("budget", [0.0, 0.05, 0.3])
def test_a_review_budget_reviews_that_share_of_validation(budget):
    score, positive, rejection = _scores()
    t = choose(score, positive, rejection, Goal(review_budget=budget, reject_fraction=0.0), "p")
    assert t.validation["review_fraction"] == pytest.approx(budget, abs=1e-3)
    assert t.pass_below <= t.flag_at


def test_a_larger_review_budget_makes_fewer_automatic_errors():
    score, positive, rejection = _scores()
    errors = []
    for budget in (0.0, 0.1, 0.3):
        t = choose(score, positive, rejection, Goal(review_budget=budget, reject_fraction=0), "p")
        d = t.decide(score, rejection)
        errors.append(int(((d == "flag") & ~positive).sum() + ((d == "pass") & positive).sum()))
    assert errors[0] > errors[1] > errors[2]


@pytest.mark.parametrize("p", [0.8, 0.9, 0.97])
def test_target_precision_is_met_on_validation_with_the_most_recall(p):
    score, positive, rejection = _scores()
    t = choose(score, positive, rejection, Goal(target_precision=p), "p")
    assert t.validation["precision"] >= p
    usual = rejection <= t.review_above
    # One step lower (the next distinct score below flag_at) would miss the target.
    lower = score[usual & (score < t.flag_at)].max()
    flags = usual & (score >= lower)
    assert positive[flags].mean() < p
    passed = t.decide(score, rejection) == "pass"
    assert (~positive[passed]).mean() >= p          # passes hold the same share of negatives


@pytest.mark.parametrize("r", [0.5, 0.9])
def test_target_recall_is_met_on_validation(r):
    score, positive, rejection = _scores()
    t = choose(score, positive, rejection, Goal(target_recall=r), "p")
    assert t.validation["recall"] >= r and t.flag_at == t.pass_below
    assert t.validation["recall"] < r + 0.01         # the highest such threshold


def test_the_rejection_rule_comes_first():
    t = Thresholds("p", flag_at=0.7, pass_below=0.3, review_above=2.0, goal=Goal())
    d = t.decide(np.array([0.9, 0.9, 0.1, 0.5, 0.1]), np.array([1.0, 3.0, 1.0, 1.0, 3.0]))
    assert d.tolist() == ["flag", "review", "pass", "review", "review"]
    assert evaluate(t, np.array([0.9, 0.1]), np.array([True, True]), np.zeros(2))["recall"] == 0.5


def test_the_reject_fraction_sends_the_most_unusual_validation_images_to_review():
    score, positive, rejection = _scores()
    t = choose(score, positive, rejection, Goal(review_budget=0.05, reject_fraction=0.02), "p")
    reviewed = t.decide(score, rejection) == "review"
    assert (rejection > t.review_above).mean() == pytest.approx(0.02, abs=1e-3)
    assert reviewed[rejection > t.review_above].all()
    assert reviewed.mean() == pytest.approx(0.05, abs=1e-3)   # the budget includes them
    assert math.isinf(choose(score, positive, rejection, Goal(reject_fraction=0), "p").review_above)


def test_an_unreachable_precision_says_what_is_reachable():
    score, positive, rejection = _scores()
    with pytest.raises(ThresholdError, match=r"no threshold reaches validation precision 1; "
                                             r"the highest is 0\.\d+"):
        choose(score, ~positive, rejection, Goal(target_precision=1.0), "p")


@pytest.mark.parametrize("kwargs, message", [
    ({"target_precision": 0.9, "review_budget": 0.1}, "give one goal, not target_precision and"),
    ({"target_precision": 0.0}, r"target_precision=0.0 must be a number in \(0, 1\]"),
    ({"target_recall": 1.5}, r"target_recall=1.5 must be a number in \(0, 1\]"),
    ({"review_budget": 1.0}, r"review_budget=1.0 must be a number in \[0, 1\)"),
    ({"review_budget": float("nan")}, "review_budget=nan"),
    ({"reject_fraction": -0.1}, r"reject_fraction=-0.1 must be a number in \[0, 1\)"),
    ({"review_budget": 0.01, "reject_fraction": 0.02}, "larger than review_budget=0.01"),
])
def test_goals_that_are_not_valid_name_the_value(kwargs, message):
    with pytest.raises(ThresholdError, match=message):
        Goal(**kwargs)


def test_mismatched_or_empty_validation_arrays_are_refused():
    with pytest.raises(ThresholdError, match="non-empty and of one length"):
        choose(np.zeros(3), np.zeros(2, bool), np.zeros(3), Goal(), "p")

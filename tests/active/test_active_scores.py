"""Acquisition scores against hand-computed values, and the ranking's order and errors."""
import math

import numpy as np
import pytest

from ssvae.active.scores import acquisition_scores, rank

H91 = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))         # 0.3251


def test_entropy_and_margin_of_one_model_by_hand():
    s = acquisition_scores([np.array([[0.5, 0.5], [0.9, 0.1], [1.0, 0.0]])])
    assert s["entropy"] == pytest.approx([math.log(2), H91, 0.0])
    assert s["margin"] == pytest.approx([1.0, 0.2, 0.0])
    assert s["disagreement"] == pytest.approx([0.0, 0.0, 0.0])


def test_disagreement_is_the_entropy_of_the_mean_minus_the_mean_entropy():
    a = np.array([[0.9, 0.1], [0.5, 0.5]])
    b = np.array([[0.1, 0.9], [0.5, 0.5]])
    s = acquisition_scores([a, b])
    assert s["entropy"] == pytest.approx([math.log(2), math.log(2)])      # a tie on entropy
    assert s["disagreement"] == pytest.approx([math.log(2) - H91, 0.0])
    assert rank(s, "disagreement", 2).tolist() == [0, 1]
    assert rank(s, "entropy", 2).tolist() == [0, 1]                       # ties: by position


def test_rank_orders_by_the_score_then_entropy():
    s = acquisition_scores([np.array([[0.9, 0.1], [0.5, 0.5], [0.6, 0.4], [0.99, 0.01]])])
    assert rank(s, "entropy", 1).tolist() == [1, 2, 0, 3]
    assert rank(s, "margin", 1).tolist() == [1, 2, 0, 3]


def test_errors_name_what_is_wrong():
    s = acquisition_scores([np.array([[0.5, 0.5]])])
    with pytest.raises(ValueError, match="needs two checkpoints or more"):
        rank(s, "disagreement", 1)
    with pytest.raises(ValueError, match="'luck' is not known; choose one of entropy, margin"):
        rank(s, "luck", 1)
    with pytest.raises(ValueError, match="at least one model"):
        acquisition_scores([])
    with pytest.raises(ValueError, match="K >= 2"):
        acquisition_scores([np.array([[1.0], [1.0]])])

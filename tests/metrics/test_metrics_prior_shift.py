"""Evaluation at a stated positive rate and the prior correction, on constructed examples."""
import numpy as np
import pytest

from ssvae.metrics.moderation import pr_auc
from ssvae.metrics.prior_shift import (correct_prior, prevalence_weights, training_prior,
                                       weighted_precision_recall)


def test_weights_by_hand():
    positive = np.array([1, 1, 0, 0, 0, 0, 0, 0], dtype=bool)          # share 1/4
    w = prevalence_weights(positive, 0.5)
    assert w.tolist() == pytest.approx([2, 2] + [2 / 3] * 6) and w.mean() == pytest.approx(1)
    flag = np.array([1, 0, 1, 0, 0, 0, 0, 0], dtype=bool)
    assert weighted_precision_recall(flag, positive, w) == pytest.approx((2 / (2 + 2 / 3), 0.5))


def test_a_balanced_test_set_evaluated_at_one_percent():
    """A rule with true-positive rate 0.8 and false-positive rate 0.05 on a balanced set: at
    prevalence 0.01 its precision is 0.01·0.8 / (0.01·0.8 + 0.99·0.05) (Bayes), its recall 0.8;
    and the weighted metrics equal those of a real set with 1 % positives."""
    positive = np.r_[np.ones(100, bool), np.zeros(100, bool)]
    flag = np.r_[np.arange(100) < 80, np.arange(100) < 5]
    precision, recall = weighted_precision_recall(flag, positive, prevalence_weights(positive, 0.01))
    assert precision == pytest.approx(0.008 / (0.008 + 0.99 * 0.05)) and recall == pytest.approx(0.8)
    # the same population at 1 %: 1 positive block of 100 per 99 negative blocks of 100
    rare_pos = np.r_[np.ones(100, bool), np.zeros(9900, bool)]
    rare_flag = np.r_[np.arange(100) < 80, np.tile(np.arange(100) < 5, 99)]
    tp = (rare_flag & rare_pos).sum()
    assert precision == pytest.approx(tp / rare_flag.sum())
    score = np.r_[np.linspace(1, 0, 100), np.linspace(0.9, -0.1, 100)]
    rare_score = np.r_[score[:100], np.tile(score[100:], 99)]
    assert pr_auc(score, positive, prevalence_weights(positive, 0.01)) == pytest.approx(
        pr_auc(rare_score, rare_pos))


def test_prior_correction_gives_the_bayes_posterior():
    """Two Gaussian classes N(±1, 1): a model trained at prior 1/2 outputs σ(2x); at prior π'
    the true posterior is σ(2x + log(π'/(1 − π')))."""
    x = np.linspace(-4, 4, 41)
    balanced = 1 / (1 + np.exp(-2 * x))
    truth = 1 / (1 + np.exp(-(2 * x + np.log(0.01 / 0.99))))
    assert correct_prior(balanced, 0.01, 0.5) == pytest.approx(truth)
    assert correct_prior(balanced, 0.5, 0.5) == pytest.approx(balanced)
    assert correct_prior([0.9], 0.1, 0.5)[0] == pytest.approx(0.5)      # 0.9·0.2 vs 0.1·1.8


def test_training_prior():
    assert training_prior([0, 0, 1, 1, 1], 0, balanced_by_subclass=True) == pytest.approx(0.4)
    assert training_prior([0, 1], 1, False, np.array([1, 0, 0, 0])) == pytest.approx(0.25)


@pytest.mark.parametrize("rate", [0, 1, 1.5, -0.1, float("nan"), True])
def test_bad_rates_are_named(rate):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        prevalence_weights(np.array([True, False]), rate)
    with pytest.raises(ValueError, match="prior="):
        correct_prior([0.5], rate, 0.5)


def test_one_class_cannot_be_reweighted():
    with pytest.raises(ValueError, match="positive share of 1"):
        prevalence_weights(np.array([True, True]), 0.1)

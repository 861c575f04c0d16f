"""PR-AUC, ROC-AUC and recall at a precision against values worked out by hand."""
import numpy as np
import pytest

from ssvae.metrics.moderation import pr_auc, recall_at_precision, roc_auc

# Thresholds from the top: 0.9 -> P 1, R 1/2; 0.8 -> P 1/2, R 1/2; 0.7 -> P 2/3, R 1; 0.6 -> P 1/2.
SCORE = np.array([0.9, 0.8, 0.7, 0.6])
POSITIVE = np.array([True, False, True, False])


def test_pr_auc_is_the_average_precision_by_hand():
    assert pr_auc(SCORE, POSITIVE) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_roc_auc_is_the_share_of_positive_negative_pairs_in_order():
    assert roc_auc(SCORE, POSITIVE) == pytest.approx(3 / 4)      # 0.7 < 0.8 is the one miss


@pytest.mark.parametrize("precision, recall", [(0.9, 0.5), (0.95, 0.5), (0.6, 1.0), (0.5, 1.0)])
def test_recall_at_precision_by_hand(precision, recall):
    assert recall_at_precision(SCORE, POSITIVE, precision) == pytest.approx(recall)


def test_no_threshold_reaches_the_precision():
    assert recall_at_precision([0.9, 0.1], [False, True], 0.9) == 0.0


def test_one_class_only_gives_none_not_nan():
    assert pr_auc([0.2, 0.3], [False, False]) is None
    assert roc_auc([0.2, 0.3], [True, True]) is None
    assert recall_at_precision([0.2, 0.3], [False, False], 0.9) is None


def test_weights_count_like_repeated_images():
    weight = np.array([2, 1, 1, 3])
    repeated = np.repeat(np.arange(4), weight)
    assert pr_auc(SCORE, POSITIVE, weight) == pytest.approx(pr_auc(SCORE[repeated], POSITIVE[repeated]))
    assert recall_at_precision(SCORE, POSITIVE, 0.7, weight) == pytest.approx(
        recall_at_precision(SCORE[repeated], POSITIVE[repeated], 0.7))


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="precision=1.5"):
        recall_at_precision(SCORE, POSITIVE, 1.5)
    with pytest.raises(ValueError, match="one length"):
        pr_auc(SCORE, POSITIVE[:3])
    with pytest.raises(ValueError, match="non-negative"):
        pr_auc(SCORE, POSITIVE, weight=[1, -1, 1, 1])

"""Expected calibration error (15 bins) and the reliability bins against hand-computed values."""
import numpy as np
import pytest

from ssvae.metrics.calibration import expected_calibration_error, reliability_bins

# confidence, correct: 0.95 right (bin 14), 0.90 wrong and 0.92 right (bin 13: (13/15, 14/15]),
# 0.62 right (bin 9), 0.70 right (bin 10).
PROBS = np.array([[0.95, 0.05], [0.90, 0.10], [0.92, 0.08], [0.62, 0.38], [0.30, 0.70]])
Y = np.array([0, 1, 0, 0, 1])


def test_ece_by_hand():
    # bin 13: mean confidence 0.91, accuracy 0.5
    by_hand = (abs(1 - 0.95) + 2 * abs(0.5 - 0.91) + abs(1 - 0.62) + abs(1 - 0.70)) / 5
    assert expected_calibration_error(PROBS, Y) == pytest.approx(by_hand)      # 0.31


def test_bins_by_hand():
    bins = reliability_bins(PROBS, Y)
    assert len(bins.count) == 15 and bins.count.sum() == 5
    assert bins.count[13] == 2 and bins.confidence[13] == pytest.approx(0.91)
    assert bins.accuracy[13] == pytest.approx(0.5)
    assert np.isnan(bins.accuracy[0])                                          # empty bin


def test_a_calibrated_model_has_zero_ece():
    probs = np.array([[0.75, 0.25]] * 4)
    assert expected_calibration_error(probs, np.array([0, 0, 0, 1])) == pytest.approx(0.0)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="n_bins=0"):
        expected_calibration_error(PROBS, Y, n_bins=0)
    with pytest.raises(ValueError, match=r"probs must be \[N, K\]"):
        expected_calibration_error(PROBS[:, 0], Y)

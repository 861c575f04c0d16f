"""Accuracy at a coverage under the rejection score, against hand-computed values."""
import numpy as np
import pytest

from ssvae.metrics.selective import accuracy_at_coverage, accuracy_coverage_curve

CORRECT = np.array([True, False, True, True, False])
REJECTION = np.array([0.1, 0.9, 0.2, 0.3, 0.4])     # most trusted first: 0, 2, 3, 4, 1


@pytest.mark.parametrize("coverage, accuracy", [(0.8, 3 / 4), (0.6, 1.0), (0.5, 1.0), (1.0, 3 / 5),
                                                (0.95, 3 / 5)])
def test_accuracy_at_coverage_by_hand(coverage, accuracy):
    assert accuracy_at_coverage(CORRECT, REJECTION, coverage) == pytest.approx(accuracy)


def test_the_curve_keeps_the_most_trusted_first():
    coverage, accuracy = accuracy_coverage_curve(CORRECT, REJECTION)
    assert coverage.tolist() == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert accuracy.tolist() == pytest.approx([1, 1, 1, 3 / 4, 3 / 5])


def test_bad_coverage_is_named():
    with pytest.raises(ValueError, match="coverage=0"):
        accuracy_at_coverage(CORRECT, REJECTION, 0)
    assert accuracy_at_coverage([], [], 0.8) is None

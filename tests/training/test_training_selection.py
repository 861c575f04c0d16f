"""Model selection rules (ssvae/training/selection.py): scores, improvements, and replaying a history."""
import math

from ssvae.models.base import Stage
from ssvae.training.selection import improved, replay, score

LOSS, ACC = Stage("vae", select_on="val_loss"), Stage("main")


def test_the_score_is_the_accuracy_or_the_negative_loss():
    assert score(ACC, {"val_acc": 0.9, "val_loss": 3.0}) == 0.9
    assert score(LOSS, {"val_acc": None, "val_loss": 3.0}) == -3.0


def test_loss_stages_need_a_relative_gain_to_count_as_improving():
    assert improved(LOSS, -99.0, -math.inf, 1e-3)
    assert not improved(LOSS, -99.95, -100.0, 1e-3)     # 0.05 % better: converged
    assert improved(LOSS, -99.8, -100.0, 1e-3)          # 0.2 % better
    assert improved(ACC, 0.9001, 0.9, 1e-3)
    assert not improved(ACC, 0.9, 0.9, 1e-3)             # a tie is no gain


def test_replay_gives_the_best_score_and_the_epochs_since_it():
    assert replay(ACC, [0.5, 0.7, 0.6, 0.7, 0.65], 1e-3) == (0.7, 3)
    assert replay(ACC, [], 1e-3) == (-math.inf, 0)
    # a loss stage keeps the last score that counted, not the smallest loss
    assert replay(LOSS, [-100.0, -99.95, -99.9], 1e-3) == (-100.0, 2)

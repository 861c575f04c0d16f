"""Attacks on trained digits models: PGD lowers an undefended model's accuracy; the aware attack
gets more adversarial images past a GMVAE's rejection than naive PGD; the row's columns."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ssvae.adversarial.evaluate import AttackError, AttackSpec, evaluate_attack
from ssvae.deploy.bundle import load_best
from ssvae.data import load_dataset
from ssvae.deploy.thresholds import Goal


def _setup(run, clean_reject=0.05):
    predictor = load_best(run / "best")
    goal = Goal(review_budget=clean_reject, reject_fraction=clean_reject)
    threshold = predictor.thresholds(predictor.hierarchy.superclass_names[0], goal).review_above
    data = load_dataset("digits")
    return predictor, threshold, data.test_x, data.test_y


def test_pgd_lowers_an_undefended_models_accuracy(digits_run):
    predictor, threshold, x, y = _setup(digits_run("supervised"))
    row, x_adv, _ = evaluate_attack(predictor, x, y, AttackSpec("pgd", 0.1, steps=20), threshold)
    assert row["clean_subclass_acc"] > 0.8
    assert row["adv_subclass_acc"] < row["clean_subclass_acc"] - 0.3
    assert row["adv_acc"] < row["clean_acc"]
    assert row["max_linf"] <= 0.1 + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1


def test_the_aware_attack_gets_more_adversarial_images_accepted_by_a_gmvae(digits_run):
    predictor, threshold, x, y = _setup(digits_run("gmvae"))
    naive, _, _ = evaluate_attack(predictor, x, y, AttackSpec("pgd", 0.3, steps=20), threshold)
    aware, _, _ = evaluate_attack(predictor, x, y, AttackSpec("pgd", 0.3, steps=20, aware=True),
                                  threshold)
    assert naive["adv_subclass_acc"] < 0.2              # both attacks fool the classifier ...
    assert aware["adv_subclass_acc"] < 0.2
    assert aware["adv_reject_rate"] < 0.5 * naive["adv_reject_rate"]   # ... the aware one unseen
    assert aware["fooled_accepted"] > naive["fooled_accepted"]


def test_the_threshold_rejects_the_asked_share_of_clean_validation_images(digits_run):
    predictor, threshold, x, y = _setup(digits_run("gmvae"), clean_reject=0.1)
    stored = predictor.validation.rejection.numpy()
    assert np.mean(stored > threshold) == pytest.approx(0.1, abs=0.01)
    row, _, _ = evaluate_attack(predictor, x, y, AttackSpec("fgsm", 0.05), threshold)
    assert row["threshold"] == threshold and 0.02 < row["clean_reject_rate"] < 0.25


def test_a_targeted_attack_leaves_out_the_target_class_and_reports_its_rate(digits_run):
    predictor, threshold, x, y = _setup(digits_run("supervised"))
    row, _, _ = evaluate_attack(predictor, x, y, AttackSpec("pgd", 0.3, steps=20, target=3),
                                threshold)
    assert row["n_images"] == int((y != 3).sum()) and row["target"] == 3
    assert row["target_rate"] > 0.8


def test_no_rejection_accepts_everything(digits_run):
    predictor, _, x, y = _setup(digits_run("m2"))
    row, _, _ = evaluate_attack(predictor, x[:50], y[:50], AttackSpec("fgsm", 0.1), math.inf)
    assert row["adv_reject_rate"] == 0 and row["threshold"] == ""
    assert row["adv_acc_on_accepted"] == row["adv_acc"]
    with pytest.raises(AttackError, match="finite threshold"):
        evaluate_attack(predictor, x[:50], y[:50], AttackSpec("fgsm", 0.1, aware=True), math.inf)


@pytest.mark.parametrize("changes, message", [
    ({"attack": "cw"}, "attack='cw' is not valid; choose fgsm, pgd"),
    ({"eps": 0.0}, r"eps=0.0 must be in \(0, 1\]"), ({"eps": 2}, "eps=2"),
    ({"steps": 0}, "steps=0 must be an integer >= 1"),
    ({"step_size": -1.0}, "step_size=-1.0 must be a positive number"),
    ({"aware_weight": float("nan")}, "aware_weight=nan")])
def test_bad_attack_settings_are_named(changes, message):
    with pytest.raises(AttackError, match=message):
        AttackSpec(**{"attack": "pgd", "eps": 0.1, **changes})

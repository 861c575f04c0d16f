"""The labels-needed fit on synthetic power-law data."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ssvae.analysis.budget import PowerLaw, fit_budget, fit_power_law


def _runs(err_fn, budgets, seeds=4, noise=0.02, seed=0):
    rng = np.random.default_rng(seed)
    rows = [dict(dataset="d", hierarchy="h", model="m2", label_mode="binary", n_labels=n,
                 test_binary_acc=1 - err_fn(n) * math.exp(rng.normal(0, noise)))
            for n in budgets for _ in range(seeds)]
    return pd.DataFrame(rows)


def test_recovers_a_plain_power_law_and_flags_extrapolation():
    data = _runs(lambda n: 2.0 * n ** -0.5, [100, 300, 1000])
    fit, res = fit_budget(data, "test_binary_acc", target=0.99, n_boot=100)
    assert fit.a == pytest.approx(2.0, rel=0.1)
    assert fit.b == pytest.approx(0.5, abs=0.02)
    assert not res.floor and fit.c == 0
    # the bootstrap interval brackets the estimate and lies near the truth (a 95 % interval
    # from 4 runs per budget can miss it by a little)
    assert res.b_ci[0] < fit.b < res.b_ci[1] and res.b_ci[1] - res.b_ci[0] < 0.1
    assert res.b_ci[0] - 0.02 < 0.5 < res.b_ci[1] + 0.02
    # err 0.01 -> n = (0.01 / 2) ** -2 = 40,000: far beyond the largest budget (1000)
    assert res.n_needed == pytest.approx(40_000, rel=0.15)
    assert res.n_ci[0] < res.n_needed < res.n_ci[1]
    assert "EXTRAPOLATION beyond the largest measured budget 1000" in res.status


def test_interpolation_is_not_flagged():
    data = _runs(lambda n: 2.0 * n ** -0.5, [100, 300, 1000, 3000], noise=0.01)
    _, res = fit_budget(data, "test_binary_acc", target=0.9, n_boot=30)   # n = 400
    assert res.n_needed == pytest.approx(400, rel=0.1)
    assert "interpolated" in res.status and "EXTRAPOLATION" not in res.status


def test_floor_recovered_and_target_below_floor_not_reachable():
    true = PowerLaw(3.0, 0.6, 0.02)
    data = _runs(true.error, [100, 300, 1000, 3000, 10000], seeds=3, noise=0.01)
    fit, res = fit_budget(data, "test_binary_acc", target=0.99, n_boot=30)
    assert res.floor
    assert fit.c == pytest.approx(0.02, abs=0.004)
    assert fit.b == pytest.approx(0.6, abs=0.1)
    assert not math.isfinite(res.n_needed)
    assert "not reachable within the model's fitted floor" in res.status


def test_one_budget_cannot_be_fitted():
    data = _runs(lambda n: 0.1, [100])
    fit, res = fit_budget(data, "test_binary_acc", target=0.95)
    assert fit is None and "cannot be fitted" in res.status


def test_power_law_exact_and_labels_for():
    n = np.array([10, 100, 1000])
    fit = fit_power_law(n, 0.5 * n ** -0.25)
    assert (fit.a, fit.b) == pytest.approx((0.5, 0.25))
    assert fit.labels_for(0.5 * 10_000 ** -0.25) == pytest.approx(10_000)
    assert PowerLaw(1.0, -0.1).labels_for(0.01) == math.inf


# Plain answers, never a traceback: fits that are flat, rising or noisy (the quickstart's
# digits tables raised OverflowError in the bootstrap before).

def test_flat_fit_says_it_is_too_flat_to_extrapolate():
    data = _runs(lambda n: 0.2 * n ** -0.01, [50, 200], seeds=3, noise=0.01)
    fit, res = fit_budget(data, "test_binary_acc", target=0.95, n_boot=50)
    assert 0 < fit.b < 0.05
    assert not math.isfinite(res.n_needed)
    assert "fit too flat to extrapolate" in res.status
    assert res.row()["labels_needed"] is None


def test_rising_error_is_not_reachable():
    data = _runs(lambda n: 0.01 * n ** 0.3, [50, 200, 800], seeds=3, noise=0.01)
    fit, res = fit_budget(data, "test_binary_acc", target=0.99, n_boot=50)
    assert fit.b < 0
    assert "does not fall with more labels" in res.status


def test_target_beyond_the_cap_is_not_reached_within_it():
    # err = 0.5·n^-0.1 reaches 1 % only at n = 50^10 ≈ 10^17 labels
    data = _runs(lambda n: 0.5 * n ** -0.1, [100, 1000], seeds=3, noise=0.001)
    _, res = fit_budget(data, "test_binary_acc", target=0.99, n_boot=50)
    assert "not reached within 10^9 labels" in res.status


@pytest.mark.parametrize("target", [0.9, 0.95, 0.97, 0.999])
def test_noisy_two_budget_table_gives_an_answer_for_every_target(target):
    # A digits-like table: two budgets, three draws, noise as large as the gain, so bootstrap
    # refits range from steep through flat to rising.
    rng = np.random.default_rng(3)
    rows = [dict(dataset="digits", hierarchy="low_high", model="m2", label_mode="binary",
                 n_labels=n, test_binary_acc=acc + rng.normal(0, 0.02))
            for n, acc in [(50, 0.83), (200, 0.84)] for _ in range(3)]
    _, res = fit_budget(pd.DataFrame(rows), "test_binary_acc", target=target, n_boot=200)
    assert res.status.startswith(f"{100 * target:.1f} %") or "labels for" in res.status
    if res.n_ci is not None:
        assert res.n_ci[0] <= res.n_ci[1]
    assert "inf" not in res.status and "nan" not in res.status


def test_labels_for_is_capped_instead_of_overflowing():
    law = PowerLaw(0.2, 1e-4)
    assert law.labels_for(0.05) == math.inf
    assert "too flat" in law.why_unreached(0.05)
    assert PowerLaw(0.5, 0.1).labels_for(0.01) == math.inf   # 50^10 > 10^9
    assert PowerLaw(0.5, 0.5).labels_for(0.05) == pytest.approx(100)

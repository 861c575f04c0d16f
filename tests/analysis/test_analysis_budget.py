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

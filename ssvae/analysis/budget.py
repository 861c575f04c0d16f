"""How many labels are needed: a power law err(n) = a·n^(−b) (+ c) fitted per model and mode.

The fit is least squares in log space (log err against log n) on every run, so each label draw
counts once. With 4 or more budgets a floor c >= 0 is fitted as well (the error the model cannot
go below); with 2–3 budgets the plain power law (c = 0). Uncertainty: a bootstrap over runs,
resampling the runs of each budget with replacement (percentile 95 % intervals). The budget for
a target accuracy solves a·n^(−b) + c = 1 − target; it is an EXTRAPOLATION outside the measured
budgets, and "not reachable" when 1 − target is at or below the fitted floor. The solution is
computed in log space and capped at ``MAX_LABELS``: a target the fit reaches only beyond it, or a
fit too flat to extrapolate, gets a plain answer instead of an overflow.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

from ssvae.analysis.style import label_mode_name, model_name

MIN_ERR = 1e-4          # a perfect run (err 0) is clipped here before the log
FLOOR_MIN_BUDGETS = 4
MAX_LABELS_EXP = 9      # labels-needed answers stop at 10^9 labels: beyond that is no budget
MAX_LABELS = 10.0 ** MAX_LABELS_EXP
FLAT_B = 0.05           # exponent below which extrapolating is meaningless (halving the error
                        # would take 2^(1/b) > 10^6 times the labels)


@dataclass
class PowerLaw:
    a: float
    b: float
    c: float = 0.0

    def error(self, n):
        return self.a * np.asarray(n, float) ** (-self.b) + self.c

    def labels_for(self, target_err: float) -> float:
        """Smallest n with err(n) <= target_err; inf when the floor, a flat fit or the cap
        ``MAX_LABELS`` forbids it (``why_unreached`` says which)."""
        if self.b <= 0 or target_err <= self.c:
            return math.inf
        # log space: ((t − c) / a) ** (−1 / b) overflows a float for small b
        log_n = (math.log(self.a) - math.log(target_err - self.c)) / self.b
        return math.exp(log_n) if log_n <= math.log(MAX_LABELS) else math.inf

    def why_unreached(self, target_err: float) -> str:
        """Plain reason why ``labels_for(target_err)`` is inf."""
        if self.b <= 0:
            return "not reachable: the fitted error does not fall with more labels"
        if target_err <= self.c:
            return (f"not reachable within the model's fitted floor ({100 * self.c:.2f} % error "
                    f">= {100 * target_err:.2f} % target error)")
        if self.b < FLAT_B:
            return (f"fit too flat to extrapolate (error ∝ n^{-self.b:.3f}: it barely falls "
                    "with more labels)")
        return f"not reached within 10^{MAX_LABELS_EXP} labels"


def fit_power_law(n, err, floor: bool = False) -> PowerLaw:
    """Fit err = a·n^(−b) (+ c) in log space; n, err: arrays of equal length (runs)."""
    n = np.asarray(n, float)
    logerr = np.log(np.clip(np.asarray(err, float), MIN_ERR, None))
    slope, intercept = np.polyfit(np.log(n), logerr, 1)
    plain = PowerLaw(math.exp(intercept), float(-slope), 0.0)
    if not floor or plain.b <= 0:
        return plain
    emin = float(np.exp(logerr).min())

    def model(x, log_a, b, c):
        return np.log(np.exp(log_a) * x ** (-b) + c)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p, _ = curve_fit(model, n, logerr, p0=[math.log(plain.a), plain.b, 0.3 * emin],
                             bounds=([-20, 0, 0], [20, 5, emin * 0.999]), maxfev=5000)
        return PowerLaw(math.exp(p[0]), float(p[1]), float(p[2]))
    except (RuntimeError, ValueError):
        return plain


@dataclass
class BudgetFit:
    dataset: str
    hierarchy: str
    model: str
    label_mode: str
    metric: str
    budgets: list[int]
    fit: PowerLaw | None
    floor: bool
    b_ci: tuple[float, float] | None
    target: float | None
    n_needed: float | None
    n_ci: tuple[float, float] | None
    status: str                     # plain-language verdict
    boot: list[PowerLaw] = field(default_factory=list, repr=False)   # bootstrap refits (bands)

    def row(self) -> dict:
        f = self.fit
        return {"dataset": self.dataset, "hierarchy": self.hierarchy, "model": self.model,
                "label_mode": self.label_mode, "metric": self.metric,
                "budgets": " ".join(map(str, self.budgets)),
                "a": f.a if f else None, "b": f.b if f else None, "c": f.c if f else None,
                "b_ci95_low": self.b_ci[0] if self.b_ci else None,
                "b_ci95_high": self.b_ci[1] if self.b_ci else None,
                "target": self.target, "labels_needed": _finite(self.n_needed),
                "labels_ci95_low": _finite(self.n_ci[0]) if self.n_ci else None,
                "labels_ci95_high": _finite(self.n_ci[1]) if self.n_ci else None,
                "status": self.status}


def _finite(x):
    return None if x is None or not math.isfinite(x) else math.ceil(x)


def _fmt_n(x: float) -> str:
    return f"> 10^{MAX_LABELS_EXP}" if not math.isfinite(x) else f"{math.ceil(x):,}"


def fit_budget(data: pd.DataFrame, metric: str, target: float | None = None,
               n_boot: int = 400, seed: int = 0) -> tuple[PowerLaw | None, BudgetFit]:
    """Fit one (dataset, hierarchy, model, label mode); ``data`` holds its runs."""
    first = data.iloc[0]
    key = dict(dataset=first["dataset"], hierarchy=first["hierarchy"], model=first["model"],
               label_mode=first["label_mode"], metric=metric)
    data = data.dropna(subset=[metric])
    budgets = sorted(int(b) for b in data["n_labels"].unique())
    if len(budgets) < 2:
        return None, BudgetFit(**key, budgets=budgets, fit=None, floor=False, b_ci=None,
                               target=target, n_needed=None, n_ci=None,
                               status=f"cannot be fitted: {len(budgets)} label budget(s), need >= 2")
    floor = len(budgets) >= FLOOR_MIN_BUDGETS
    n = data["n_labels"].to_numpy(float)
    err = 1.0 - data[metric].to_numpy(float)
    fit = fit_power_law(n, err, floor)
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(n == b) for b in budgets]
    boot_fits = []
    if any(len(g) > 1 for g in groups):
        for _ in range(n_boot):
            idx = np.concatenate([rng.choice(g, len(g)) for g in groups])
            boot_fits.append(fit_power_law(n[idx], err[idx], floor))
    b_ci = tuple(np.percentile([f.b for f in boot_fits], [2.5, 97.5])) if boot_fits else None
    n_needed = n_ci = None
    status = f"fit err = {fit.a:.3g}·n^{-fit.b:.3f}" + (f" + {fit.c:.3g}" if floor else "")
    if not boot_fits:
        status += "; no uncertainty (one run per budget)"
    if target is not None:
        target_err = 1.0 - target
        n_needed = fit.labels_for(target_err)
        if boot_fits:
            draws = np.array([f.labels_for(target_err) for f in boot_fits])
            n_ci = tuple(float(q) for q in np.quantile(draws, [0.025, 0.975], method="inverted_cdf"))
        means = data.groupby("n_labels")[metric].mean()
        reached = [int(b) for b, m in means.items() if m >= target]
        if not math.isfinite(n_needed):
            status = f"{100 * target:.1f} %: {fit.why_unreached(target_err)}; {status}"
        else:
            where = ("EXTRAPOLATION beyond the largest measured budget "
                     f"{budgets[-1]}" if n_needed > budgets[-1] else
                     f"EXTRAPOLATION below the smallest measured budget {budgets[0]}"
                     if n_needed < budgets[0] else "interpolated within the measured budgets")
            ci = (f" (95 % bootstrap interval {_fmt_n(n_ci[0])} – {_fmt_n(n_ci[1])})"
                  if n_ci else " (no interval)")
            status = f"{_fmt_n(n_needed)} labels for {100 * target:.1f} %{ci}: {where}; {status}"
        if reached:
            status += f"; measured mean already >= target at {reached[0]} labels"
    return fit, BudgetFit(**key, budgets=budgets, fit=fit, floor=floor, b_ci=b_ci, target=target,
                          n_needed=n_needed, n_ci=n_ci, status=status, boot=boot_fits)


def fit_budgets(runs: pd.DataFrame, metric: str = "test_binary_acc", target: float | None = None,
                n_boot: int = 400) -> list[BudgetFit]:
    out = []
    for _, g in runs.groupby(["dataset", "hierarchy", "model", "label_mode"], sort=True):
        if g[metric].notna().any():
            out.append(fit_budget(g, metric, target, n_boot)[1])
    return out


def describe(f: BudgetFit) -> str:
    return (f"{f.dataset}/{f.hierarchy} {model_name(f.model)} ({label_mode_name(f.label_mode)}, "
            f"{f.metric}): "
            f"{f.status}")

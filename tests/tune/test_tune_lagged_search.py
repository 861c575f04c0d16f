"""tune/lagged_search.py: proposal k sees exactly the results of trials 0..k-lag, so Optuna's
TPE proposes the same configurations whatever order the trials finish in, and after a restore
of its saved state."""
from __future__ import annotations

import random

import optuna
import pytest
from ray import tune
from ray.tune.search.optuna import OptunaSearch

from tune.lagged_search import INDEX, LaggedSearch

LAG = 2


def searcher() -> LaggedSearch:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    inner = OptunaSearch(space={"lr": tune.loguniform(1e-4, 1e-1)}, metric="objective",
                         mode="max", sampler=optuna.samplers.TPESampler(seed=3,
                                                                          n_startup_trials=2))
    return LaggedSearch(inner, lag=LAG, metric="objective", mode="max")


def score(lr: float) -> float:
    return -abs(lr - 0.01)


def run(n: int, seed: int, restore_at: int | None = None, tmp=None) -> list[float]:
    """Propose n trials with at most LAG running; finish running ones in a random order."""
    s, rng = searcher(), random.Random(seed)
    proposals: list[float] = []
    running: dict[str, float] = {}
    while len(proposals) < n or running:
        config = s.suggest(f"id{len(proposals)}-{seed}") if len(proposals) < n else None
        if config is not None:
            assert config[INDEX] == len(proposals)
            proposals.append(config["lr"])
            running[f"id{len(proposals) - 1}-{seed}"] = config["lr"]
            if restore_at is not None and len(proposals) == restore_at:
                s.save(tmp / "state.pkl")
                s = searcher()
                s.restore(tmp / "state.pkl")
            continue
        trial_id = rng.choice(sorted(running))      # some running trial finishes
        s.on_trial_complete(trial_id, {"objective": score(running.pop(trial_id))})
    return proposals


def test_the_finish_order_does_not_change_the_proposals():
    first = run(8, seed=0)
    assert len(set(first)) == 8
    for seed in range(1, 5):
        assert run(8, seed) == first


def test_a_restored_searcher_proposes_the_same(tmp_path):
    assert run(8, seed=1, restore_at=5, tmp=tmp_path) == run(8, seed=2)


def test_a_proposal_waits_for_the_trial_it_depends_on():
    s = searcher()
    assert s.suggest("a")[INDEX] == 0
    assert s.suggest("b")[INDEX] == 1
    assert s.suggest("c") is None              # needs trial 0's result (lag 2)
    s.on_trial_complete("b", {"objective": 0.1})
    assert s.suggest("c") is None              # trial 1 finishing first does not help
    s.on_trial_complete("a", {"objective": 0.2})
    assert s.suggest("c")[INDEX] == 2


def test_a_stop_without_result_uses_the_last_one_seen():
    s = searcher()
    s.suggest("a")
    s.on_trial_result("a", {"objective": 0.3})
    s.on_trial_complete("a")                   # Tune stops a PAUSED trial without its result
    assert s.results[0] == ({"objective": 0.3}, False)


def test_lag_must_be_positive():
    with pytest.raises(ValueError, match="lag=0"):
        LaggedSearch(searcher().inner, lag=0, metric="objective", mode="max")

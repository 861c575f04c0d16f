"""tune/rungs.py: ASHA's rule decided in trial order. Whatever order the trials' results arrive
in, the same trials stop at the same rungs: those of the rule applied one trial after another.
The trials are Ray Tune's own ``Trial`` objects; the controller below does what Tune's does
with the scheduler's decisions (pause, stop, run again)."""
from __future__ import annotations

import random

import numpy as np
import pytest
from ray.tune.experiment import Trial
from ray.tune.schedulers import TrialScheduler

from tune.lagged_search import INDEX
from tune.rungs import OrderedRungs, rung_values

T = 8                                     # epochs; rungs at 1, 2, 4


class Controller:
    """Applies decisions as Tune's TuneController does (status changes, on_trial_remove)."""

    def __init__(self, scheduler: OrderedRungs, trials: list[Trial]) -> None:
        self.scheduler, self.trials = scheduler, trials

    def get_trials(self) -> list[Trial]:
        return self.trials

    def stop_trial(self, trial: Trial) -> None:
        if trial.status == Trial.PAUSED:
            self.scheduler.on_trial_remove(self, trial)
        trial.set_status(Trial.TERMINATED)


def two_running_trials(mode: str):
    scheduler = OrderedRungs(time_attr="t", metric="v", mode=mode, max_t=T, grace_period=1,
                             reduction_factor=2)
    a, b = (Trial("train", config={INDEX: k}, stub=True) for k in (0, 1))
    ctl = Controller(scheduler, [a, b])
    for t in (a, b):
        scheduler.on_trial_add(ctl, t)
        t.set_status(Trial.RUNNING)
    return scheduler, ctl, a, b


def sequential(values: dict[int, list[float]], rf: float = 2) -> dict[int, int]:
    """The rule applied to trial 0, then 1, ...: the epoch each trial ends at."""
    rungs = [1, 2, 4]
    reached: dict[int, dict[int, float]] = {}
    end = {}
    for k in sorted(values):
        reached[k] = {}
        end[k] = T
        for r in rungs:
            reached[k][r] = values[k][r - 1]
            earlier = [reached[j][r] for j in range(k) if r in reached[j]]
            if earlier and values[k][r - 1] < np.nanpercentile(earlier, (1 - 1 / rf) * 100):
                end[k] = r
                break
    return end


def simulate(values: dict[int, list[float]], seed: int, fail_p: float = 0.0) -> dict[int, int]:
    """Feed the trials' results to the scheduler in a random interleaving. With ``fail_p``, a
    running trial is lost now and then (its node died; sometimes after saving an epoch it had
    not reported) and requeued as Tune does (on_trial_error, PENDING, on_trial_add); when it
    runs again it reports its finished epochs again, as tune.trainable does."""
    scheduler = OrderedRungs(time_attr="t", metric="v", mode="max", max_t=T, grace_period=1,
                             reduction_factor=2)
    trials = [Trial("train", config={INDEX: k}, stub=True, max_failures=5)
              for k in sorted(values)]
    ctl = Controller(scheduler, trials)
    for trial in trials:
        scheduler.on_trial_add(ctl, trial)
        trial.set_status(Trial.RUNNING)
    done = {k: 0 for k in values}
    rng = random.Random(seed)
    failures = 0

    def apply(trial: Trial, decision: str) -> bool:
        """Tune's handling of a decision; True when the trial goes on running."""
        k = trial.config[INDEX]
        if decision == TrialScheduler.STOP or (decision == TrialScheduler.CONTINUE and done[k] == T):
            trial.set_status(Trial.TERMINATED)
            scheduler.on_trial_complete(ctl, trial, {})
        elif decision == TrialScheduler.PAUSE:
            trial.set_status(Trial.PAUSED)
        return trial.status == Trial.RUNNING

    while True:
        running = [t for t in trials if t.status == Trial.RUNNING]
        waiting = any(t.status == Trial.PENDING for t in trials)
        if not running or (waiting and rng.random() < 0.3):
            trial = scheduler.choose_trial_to_run(ctl)
            if trial is None:
                if not running:
                    break
                continue
            restarted = trial.status == Trial.PENDING
            trial.set_status(Trial.RUNNING)
            k = trial.config[INDEX]
            for t in range(1, done[k] + 1) if restarted else ():   # the finished epochs again
                if not apply(trial, scheduler.on_trial_result(ctl, trial, {"t": t, "v": values[k][t - 1]})):
                    break
            continue
        trial = rng.choice(running)
        k = trial.config[INDEX]
        if failures < 4 and rng.random() < fail_p:
            failures += 1
            if done[k] < T - 1 and rng.random() < 0.5:
                done[k] += 1                     # saved, never reported
            trial.run_metadata.num_failures += 1     # what Tune's Trial.handle_error counts
            scheduler.on_trial_error(ctl, trial)
            trial.set_status(Trial.PENDING)
            scheduler.on_trial_add(ctl, trial)
            continue
        done[k] += 1
        apply(trial, scheduler.on_trial_result(ctl, trial, {"t": done[k], "v": values[k][done[k] - 1]}))
    assert all(t.status == Trial.TERMINATED for t in trials), "a trial was left behind"
    return done


@pytest.mark.parametrize("case", range(6))
def test_any_arrival_order_gives_the_rule_in_trial_order(case):
    rng = np.random.default_rng(case)
    values = {k: list(np.maximum.accumulate(rng.random(T))) for k in range(7)}
    expected = sequential(values)
    for seed in range(5):
        assert simulate(values, seed) == expected


@pytest.mark.parametrize("case", range(4))
def test_trials_lost_with_their_node_and_retried_give_the_rule_in_trial_order(case):
    """Tune calls on_trial_error also for a trial it retries: the retried trial is not ended
    (the others wait for it at its rungs), and a rung it reports again keeps its decision."""
    rng = np.random.default_rng(100 + case)
    values = {k: list(np.maximum.accumulate(rng.random(T))) for k in range(5)}
    expected = sequential(values)
    for seed in range(8):
        assert simulate(values, seed, fail_p=0.15) == expected


def test_a_trial_that_ends_before_a_rung_does_not_hold_the_others():
    scheduler, ctl, a, b = two_running_trials("max")
    assert scheduler.on_trial_result(ctl, a, {"t": 1, "v": 0.5}) == TrialScheduler.CONTINUE
    assert scheduler.on_trial_result(ctl, b, {"t": 1, "v": 0.9}) == TrialScheduler.CONTINUE
    # b reaches rung 2 before a: it waits for a ...
    assert scheduler.on_trial_result(ctl, b, {"t": 2, "v": 0.9}) == TrialScheduler.PAUSE
    b.set_status(Trial.PAUSED)
    assert scheduler.choose_trial_to_run(ctl) is None
    # ... which ends (early stopping on validation) before rung 2: b goes on.
    a.set_status(Trial.TERMINATED)
    scheduler.on_trial_complete(ctl, a, {})
    assert scheduler.choose_trial_to_run(ctl) is b


def test_min_mode_and_the_time_axis():
    history = [{"val_loss": 3.0}, {"val_loss": None}, {"val_loss": 2.0}, {"val_loss": 2.5}]
    assert rung_values(history, "val_loss", "min") == [(1, 3.0), (2, 2.0), (3, 2.0)]
    scheduler, ctl, a, b = two_running_trials("min")
    scheduler.on_trial_result(ctl, a, {"t": 1, "v": 1.0})
    assert scheduler.on_trial_result(ctl, b, {"t": 1, "v": 2.0}) == TrialScheduler.STOP


def test_a_trial_without_an_index_is_a_clear_error():
    scheduler = OrderedRungs(time_attr="t", metric="v", mode="max", max_t=T, grace_period=1,
                             reduction_factor=2)
    with pytest.raises(ValueError, match="LaggedSearch"):
        scheduler.on_trial_add(None, Trial("train", config={}, stub=True))

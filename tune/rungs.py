"""ASHA's promotion rule, decided in trial order instead of arrival order.

Ray's ``ASHAScheduler`` compares a trial reaching a rung with the trials that happened to reach
that rung before it: with trials running at once, which trials those are depends on machine load,
and after a restore Ray's scheduler starts empty and the restored trials' rungs are skipped. This
scheduler (Ray's public ``TrialScheduler`` API) keeps ASHA's rule (one bracket; rungs at
``grace_period * reduction_factor**i`` < ``max_t``; a trial goes on at a rung iff its value is
at least the ``(1 - 1/reduction_factor)`` percentile of the values recorded there) but fixes
*which* values it compares with: those of the trials with a lower proposal index
(``tune.lagged_search.INDEX``) that reached the rung. Every decision is then a function of the
trials' histories alone.

A trial whose lower-index trials have not yet all passed the rung (reached it, stopped before
it, or ended) is PAUSED there and resumed or stopped once they have. The lowest-index trial
never waits, so the study always moves on. After a restore the scheduler is rebuilt from the
trials' own replayed histories (``tune.trainable`` reports a resumed trial's finished epochs
again, from its checkpoint), and from the folders of trials that had already ended.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from tune.lagged_search import INDEX
from tune.trainable import Objective


@dataclass
class _Track:
    """What the scheduler knows of one trial."""

    values: dict[int, float] = field(default_factory=dict)   # rung -> value recorded there
    decided: dict[int, str] = field(default_factory=dict)    # rung -> CONTINUE / STOP
    waiting: int | None = None     # the rung it is paused at, undecided
    released: bool = False         # paused, decided to go on: may run again
    doomed: bool = False           # paused, decided to stop: stopped once Tune has paused it
    ended: bool = False            # finished, stopped or failed: it will reach no further rung


class OrderedRungs(FIFOScheduler):
    """ASHA's rule with each rung decided among lower-index trials (see the module docstring).

    ``time_attr`` and ``metric`` name result keys; ``ended`` maps a trial that was already
    TERMINATED or ERROR when the scheduler first sees it (a restore) to its history as
    ``[(time, value), ...]``; ``on_stop(trial, rung)`` is called when the rule stops a trial.
    """

    def __init__(self, time_attr: str, metric: str, mode: str, max_t: int, grace_period: int,
                 reduction_factor: float,
                 ended: Callable[[Trial], list[tuple[int, float | None]]] | None = None,
                 on_stop: Callable[[Trial, int], None] | None = None) -> None:
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError(f"mode={mode!r}: must be 'max' or 'min'")
        self._metric, self._mode, self.time_attr = metric, mode, time_attr
        self.rf = float(reduction_factor)
        n = int(math.log(max_t / grace_period) / math.log(self.rf) + 1) if max_t >= grace_period else 0
        self.rungs = [int(round(grace_period * self.rf ** k)) for k in range(n)]
        self.rungs = [r for r in self.rungs if r < max_t]     # at max_t a trial ends anyway
        self.ended, self.on_stop = ended, on_stop
        self.tracks: dict[int, _Track] = {}
        self.trials: dict[int, Trial] = {}

    # --- what Tune calls ------------------------------------------------------------------
    def set_search_properties(self, metric, mode, **spec) -> bool:
        return True                       # metric and mode are the scheduler's own

    def on_trial_add(self, tune_controller, trial: Trial) -> None:
        k = self._index(trial)
        self.trials[k] = trial
        track = self.tracks.setdefault(k, _Track())
        if trial.status == Trial.PAUSED:
            # Restored paused: it runs again, reports its history again and is decided anew.
            track.released = True
        if trial.status in (Trial.TERMINATED, Trial.ERROR) and self.ended is not None:
            for t, value in self.ended(trial):
                self._record(track, t, value)
            track.ended = True

    def on_trial_result(self, tune_controller, trial: Trial, result: dict) -> str:
        k = self._index(trial)
        track = self.tracks.setdefault(k, _Track())
        self.trials[k] = trial
        t, value = result.get(self.time_attr), result.get(self._metric)
        decision = TrialScheduler.CONTINUE
        if t is not None and value is not None:
            rung = self._record(track, int(t), float(value))
            if rung is None and int(t) in track.values:
                # A restarted trial reports a rung again: the decision taken there holds (a
                # trial stopped at it must not train on), or is taken now if it was pending.
                rung = int(t)
            if rung is not None:
                decision = self._decide(k, rung)
                if decision is None:               # lower trials not past the rung yet
                    track.waiting, track.released = rung, False
                    decision = TrialScheduler.PAUSE
        self._resolve(tune_controller)
        return decision

    def on_trial_complete(self, tune_controller, trial: Trial, result: dict) -> None:
        self._end(trial)
        self._resolve(tune_controller)

    def on_trial_error(self, tune_controller, trial: Trial) -> None:
        # Tune calls this also for a trial it is about to retry (lost with its node; it is
        # requeued and runs again, replaying its epochs): that trial has not ended.
        if trial.should_recover():
            return
        self._end(trial)
        self._resolve(tune_controller)

    def on_trial_remove(self, tune_controller, trial: Trial) -> None:
        self._end(trial)
        self._resolve(tune_controller)

    def choose_trial_to_run(self, tune_controller) -> Trial | None:
        self._stop_doomed(tune_controller)
        # Released paused trials first (lowest index: others may wait on them), then new ones.
        for k in sorted(self.tracks):
            trial = self.trials.get(k)
            if trial is not None and trial.status == Trial.PAUSED and self.tracks[k].released:
                return trial
        pending = [t for t in tune_controller.get_trials() if t.status == Trial.PENDING]
        # Lowest index first: a restore requeues trials by the time of their last result.
        return min(pending, key=self._index, default=None)

    def debug_string(self) -> str:
        waiting = {k: t.waiting for k, t in self.tracks.items() if t.waiting is not None}
        return f"OrderedRungs: rungs {self.rungs}, paused at a rung: {waiting or 'none'}"

    # --- the rule -------------------------------------------------------------------------
    def _index(self, trial: Trial) -> int:
        try:
            return int(trial.config[INDEX])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"trial {trial.trial_id} has no {INDEX!r} in its config: "
                             f"OrderedRungs needs tune.lagged_search.LaggedSearch") from None

    def _record(self, track: _Track, t: int, value: float | None) -> int | None:
        """Record ``value`` at the highest rung ``t`` has reached and that has no value yet;
        returns that rung, or None (no new rung reached)."""
        if value is None:
            return None
        new = [r for r in self.rungs if r <= t and r not in track.values]
        if not new:
            return None
        # The rungs in between were not reported (cannot happen with one report per epoch):
        # a value counts at the highest one, as in Ray's ASHA.
        track.values[new[-1]] = value if self._mode == "max" else -value
        return new[-1]

    def _passed(self, j: int, rung: int) -> bool:
        """Has lower-index trial j passed ``rung``: reached it, stopped before it, or ended?"""
        track = self.tracks.get(j)
        if track is None:
            return False
        if rung in track.values:
            return True
        if track.ended:
            return True
        return any(d == TrialScheduler.STOP for r, d in track.decided.items() if r < rung)

    def _decide(self, k: int, rung: int) -> str | None:
        track = self.tracks[k]
        if rung in track.decided:
            return track.decided[rung]
        if not all(self._passed(j, rung) for j in range(k)):
            return None
        recorded = [self.tracks[j].values[rung] for j in range(k) if rung in self.tracks[j].values]
        decision = TrialScheduler.CONTINUE
        if recorded:
            cutoff = np.nanpercentile(recorded, (1 - 1 / self.rf) * 100)
            if track.values[rung] < cutoff:
                decision = TrialScheduler.STOP
        track.decided[rung] = decision
        if decision == TrialScheduler.STOP and self.on_stop is not None and k in self.trials:
            self.on_stop(self.trials[k], rung)
        return decision

    def _end(self, trial: Trial) -> None:
        track = self.tracks.setdefault(self._index(trial), _Track())
        track.ended, track.waiting = True, None

    def _resolve(self, tune_controller) -> None:
        """Decide, in index order, every paused trial whose lower-index trials have passed its
        rung: release it, or stop it (Tune then completes it with its rung result)."""
        changed = True
        while changed:
            changed = False
            for k in sorted(self.tracks):
                track, trial = self.tracks[k], self.trials.get(k)
                if track.waiting is None or track.released or trial is None:
                    continue
                decision = self._decide(k, track.waiting)
                if decision is None:
                    continue
                if decision == TrialScheduler.STOP:
                    track.waiting, track.doomed = None, True
                    self._end(trial)
                    self._stop_doomed(tune_controller)
                else:
                    track.waiting, track.released = None, True
                changed = True

    def _stop_doomed(self, tune_controller) -> None:
        """Stop the trials decided to stop while paused, once Tune has finished pausing them
        (a trial still saving for its pause is not PAUSED yet)."""
        for k, track in self.tracks.items():
            trial = self.trials.get(k)
            if track.doomed and trial is not None and trial.status == Trial.PAUSED \
                    and not trial.is_saving:
                track.doomed = False
                tune_controller.stop_trial(trial)


def rung_values(history: list[dict[str, Any]], metric: str, mode: str) -> list[tuple[int, float]]:
    """``[(metric_epoch, best value so far), ...]`` of a trial's per-epoch history: the time
    axis and objective that ``tune.trainable`` reports (epochs without the metric do not
    count)."""
    objective, out = Objective(metric, mode), []
    for entry in history:
        if objective.update(entry.get(metric)):
            out.append((objective.metric_epoch, objective.best))
    return out

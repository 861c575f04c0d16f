"""A searcher whose proposals do not depend on which trial happens to finish first.

Ray Tune asks its searcher for a new configuration whenever a slot frees, and Optuna's TPE
proposes from whatever trials have completed at that moment: with several trials running at
once, the proposals (and so the study's answer) depend on machine load, and after an
interruption on how far each trial had got. ``LaggedSearch`` wraps Ray's ``OptunaSearch``
(public ``Searcher`` API) and fixes what the sampler sees:

    trial k is proposed after exactly the results of trials 0 .. k - lag (in proposal order)

have been told to Optuna, in that order, and no others. ``suggest`` returns ``None`` (Tune
asks again later) while one of those trials is still running. With ``lag`` at least the number
of TPE's random start-up trials, the first ``lag`` proposals wait for nothing.

The trial's index goes into its config (``INDEX``): the scheduler (``tune.rungs``) and the
trial's folder (``tune.trainable``) are keyed by it, so they are the same after a restore.

Ray's own ``ConcurrencyLimiter(batch=True)`` gives a deterministic order too, but makes every
batch wait for its slowest trial; this keeps the lag and lets the other slots run.
"""
from __future__ import annotations

import pickle
from typing import Any

from ray.tune.search import Searcher

INDEX = "_trial_index"      # the trial's position in proposal order, in its config


class LaggedSearch(Searcher):
    """Wraps a ``Searcher`` so that proposal k sees exactly the results of trials 0..k-lag."""

    def __init__(self, inner: Searcher, lag: int, metric: str, mode: str) -> None:
        if lag < 1:
            raise ValueError(f"lag={lag}: must be >= 1")
        super().__init__(metric=metric, mode=mode)
        self.inner, self.lag = inner, int(lag)
        self.index: dict[str, int] = {}         # Tune trial id -> proposal index
        self.results: dict[int, tuple[dict | None, bool]] = {}   # index -> (result, error)
        self.last: dict[int, dict] = {}         # index -> last intermediate result seen
        self.told = 0                           # trials 0..told-1 have been told to the inner

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        return self.inner.set_search_properties(metric, mode, config, **spec)

    def suggest(self, trial_id: str) -> dict | None:
        k = len(self.index)
        need = k - self.lag + 1                 # trials 0..need-1 must be told first
        if any(i not in self.results for i in range(self.told, need)):
            return None                         # a trial this proposal depends on still runs
        while self.told < need:
            result, error = self.results[self.told]
            self.inner.on_trial_complete(self._inner_id(self.told), result=result, error=error)
            self.told += 1
        config = self.inner.suggest(self._inner_id(k))
        if config is None or config is Searcher.FINISHED:
            return config
        self.index[trial_id] = k
        return {**config, INDEX: k}

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if trial_id in self.index:
            self.last[self.index[trial_id]] = dict(result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        k = self.index.get(trial_id)
        if k is None or k in self.results:
            return
        # Tune completes a trial stopped while PAUSED without its result: use its last one, so
        # the value told to Optuna does not depend on whether the stop came at once or later.
        self.results[k] = (dict(result) if result else self.last.get(k), bool(error))
        self.last.pop(k, None)

    @staticmethod
    def _inner_id(k: int) -> str:
        # The inner searcher keys trials by index, not Tune's id: a trial Tune re-creates after
        # a restore under a new id is the same proposal.
        return f"t{k:05d}"

    def get_state(self) -> dict[str, Any]:
        return {"lag": self.lag, "index": self.index, "results": self.results,
                "last": self.last, "told": self.told, "inner": self.inner.__dict__.copy()}

    def set_state(self, state: dict[str, Any]) -> None:
        self.lag, self.index, self.results = state["lag"], state["index"], state["results"]
        self.last, self.told = state["last"], state["told"]
        self.inner.__dict__.update(state["inner"])

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as handle:
            pickle.dump(self.get_state(), handle)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as handle:
            self.set_state(pickle.load(handle))

"""The study's console view: one line per event that matters (a trial or cell ends, a final run
ends), each saying how far the study is (cells searched, trials running and ended, final runs
finished) and an ETA, plus the folder where the results go. Tune's own trial tables stay off.

The search side is a Ray Tune ``Callback`` (public API); the ETA is the elapsed time scaled by
what is left, counted in epochs (trials) and runs (final evaluation), so it is rough early and
sharpens as the study goes on.
"""
from __future__ import annotations

import time
from typing import Any

from ray.tune import Callback


def clock(seconds: float) -> str:
    """``1:05`` or ``2:03:04``."""
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def eta(elapsed_s: float, done: float, total: float) -> str:
    """Time left if the rest goes at the pace so far; '?' before anything is done."""
    if done <= 0 or total <= 0:
        return "?"
    return clock(elapsed_s * max(0.0, total - done) / done)


PRINT_EVERY_S = 60.0   # a search's progress line at most this often (its end has a line of its own)


class SearchProgress(Callback):
    """Prints a line when a trial of the cell ends, at most every ``PRINT_EVERY_S`` and not for
    the last trial (the cell's own line follows): trials ended / running / to start, the
    elapsed time and the search's ETA (in epochs, upper bound ``trials x max_epochs``: ASHA's
    early stops make the real end come sooner). The counts come from Tune's own list of trials,
    so they hold after ``Tuner.restore`` too (which brings back this object as it was made)."""

    def __init__(self, cell: str, trials: int, max_epochs: int, study_line: str) -> None:
        self.cell, self.trials, self.max_epochs = cell, trials, max_epochs
        self.study_line = study_line        # e.g. "cell 2/4"
        self.started = time.time()

    def setup(self, **info: Any) -> None:
        self.started = time.time()          # this driver's start (also after a restore)
        self.printed = self.started         # the first line comes after PRINT_EVERY_S
        self.done_before: int | None = None  # epochs done before it (by an earlier driver)

    def _epochs_done(self, trials: list) -> int:
        return sum(self.max_epochs if t.status in ("TERMINATED", "ERROR")
                   else int((t.last_result or {}).get("epoch") or 0) for t in trials)

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        if self.done_before is None:
            self.done_before = self._epochs_done(trials)

    def _ended(self, trials: list, how: str) -> None:
        ended = [t for t in trials if t.status in ("TERMINATED", "ERROR")]
        running = [t for t in trials if t.status == "RUNNING"]
        if how == "ended" and (len(ended) >= self.trials
                               or time.time() - self.printed < PRINT_EVERY_S):
            return
        self.printed = time.time()
        before = self.done_before or 0
        elapsed = time.time() - self.started
        left = eta(elapsed, self._epochs_done(trials) - before,
                   self.trials * self.max_epochs - before)
        print(f"[tune] {self.study_line} {self.cell}: trial {len(ended)}/{self.trials} {how}; "
              f"{len(running)} running, {max(0, self.trials - len(ended) - len(running))} to "
              f"start | elapsed {clock(elapsed)}, search ETA {left}", flush=True)

    def on_trial_complete(self, iteration: int, trials: list, trial, **info: Any) -> None:
        self._ended(trials, "ended")

    def on_trial_error(self, iteration: int, trials: list, trial, **info: Any) -> None:
        self._ended(trials, "FAILED")


class FinalProgress:
    """Counts the final runs; a cell's line comes when its last run ends, with the mean and
    spread of test binary accuracy over its runs, the runs done and the evaluation's ETA."""

    def __init__(self, runs_per_cell: dict[str, int]) -> None:
        self.left = dict(runs_per_cell)
        self.total, self.done, self.started = sum(runs_per_cell.values()), 0, time.time()
        self.accuracies: dict[str, list[float]] = {}

    def status(self) -> str:
        elapsed = time.time() - self.started
        return (f"{self.done}/{self.total} runs | elapsed {clock(elapsed)}, ETA "
                f"{eta(elapsed, self.done, self.total)}")

    def one_ended(self, cell: str, accuracy: float | None) -> str | None:
        """Count one run of ``cell`` (accuracy None: it failed); the cell's line once its runs
        have all ended, else None."""
        self.done += 1
        self.left[cell] -= 1
        if accuracy is not None:
            self.accuracies.setdefault(cell, []).append(100 * accuracy)
        if self.left[cell] > 0:
            return None
        accs = self.accuracies.get(cell, [])
        if not accs:
            shown = "no run finished"
        elif len(accs) == 1:
            shown = f"test binary accuracy {accs[0]:.1f} %"
        else:
            mean = sum(accs) / len(accs)
            sd = (sum((a - mean) ** 2 for a in accs) / (len(accs) - 1)) ** 0.5
            shown = f"test binary accuracy {mean:.1f} ± {sd:.1f} % over {len(accs)} runs"
        return f"final runs of {cell}: {shown} | {self.status()}"

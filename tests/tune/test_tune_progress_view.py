"""The console's progress figures (tune/progress_view.py): clocks, ETAs and the counts of a
search's trials as Tune lists them."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from tune.progress_view import PRINT_EVERY_S, FinalProgress, SearchProgress, clock, eta


@pytest.mark.parametrize("seconds, text", [(0, "0:00"), (65, "1:05"), (3599.6, "1:00:00"),
                                           (7384, "2:03:04"), (-3, "0:00")])
def test_clock(seconds, text):
    assert clock(seconds) == text


def test_eta_scales_elapsed_time_by_the_work_left():
    assert eta(60, 1, 4) == "3:00"          # a quarter took a minute: three more
    assert eta(60, 4, 4) == "0:00"
    assert eta(60, 0, 4) == "?"             # nothing done yet: no pace to go by


def trial(status, epoch=None):
    return SimpleNamespace(status=status, last_result={"epoch": epoch} if epoch else {})


def test_search_progress_counts_from_tunes_trial_list(capsys, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("tune.progress_view.time.time", lambda: now[0])
    view = SearchProgress("m2-n100", trials=4, max_epochs=10, study_line="cell 1/2")
    view.setup()
    # a restored search: one trial had ended before this driver started (its 10 epochs are
    # not this driver's pace)
    view.on_step_begin(0, [trial("TERMINATED", 10), trial("PENDING")])
    trials = [trial("TERMINATED", 10), trial("TERMINATED", 4), trial("RUNNING", 5),
              trial("PENDING")]
    now[0] += 30
    view.on_trial_complete(0, trials, trials[1])
    assert capsys.readouterr().out == ""          # under PRINT_EVERY_S since the start
    now[0] += PRINT_EVERY_S
    view.on_trial_complete(0, trials, trials[1])
    out = capsys.readouterr().out
    # done by this driver: 10 (ended, counts in full) + 5 = 15 of 30 left: as long again
    assert out.strip() == ("[tune] cell 1/2 m2-n100: trial 2/4 ended; 1 running, 1 to start | "
                           "elapsed 1:30, search ETA 1:30")
    now[0] += 2 * PRINT_EVERY_S
    view.on_trial_error(0, trials, trials[2])     # a failure is always told
    assert "FAILED" in capsys.readouterr().out
    done = [trial("TERMINATED", 10)] * 4
    now[0] += 2 * PRINT_EVERY_S
    view.on_trial_complete(0, done, done[3])      # the last trial: the cell's line follows
    assert capsys.readouterr().out == ""


def test_final_progress_prints_a_cell_when_its_runs_have_ended(monkeypatch):
    now = [0.0]
    monkeypatch.setattr("tune.progress_view.time.time", lambda: now[0])
    progress = FinalProgress({"a": 2, "b": 1})
    now[0] = 10
    assert progress.one_ended("a", 0.9) is None
    now[0] = 20
    assert progress.one_ended("b", None) == ("final runs of b: no run finished | 2/3 runs | "
                                             "elapsed 0:20, ETA 0:10")
    now[0] = 30
    assert progress.one_ended("a", 0.8) == ("final runs of a: test binary accuracy 85.0 ± 7.1 % "
                                            "over 2 runs | 3/3 runs | elapsed 0:30, ETA 0:00")

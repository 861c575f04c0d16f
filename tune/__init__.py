"""Studies: ablation specs searched with Ray Tune + Optuna and evaluated over label draws.

Entry points: ``python -m tune.search`` (run a study), ``python -m tune.submit`` (render a
cluster job). ``ssvae/`` never imports this package; it imports ``ssvae``. The files, by stage:

- the spec: ``spec.py`` (schema, loading), ``spec_checks.py`` (its validation), ``cells.py``
  (the factor grid as cells and their configurations);
- the study: ``runner.py`` (the order of work), ``study_paths.py`` (its folders and files),
  ``describe.py`` (the dry run), ``preflight.py`` (data checked before Ray), ``ray_start.py``;
- the search of one cell: ``cell_search.py``, ``lagged_search.py`` (proposals in trial order),
  ``rungs.py`` (ASHA in trial order), ``trainable.py`` (one trial, resumable),
  ``trial_records.py`` (history and best trial from the trials' folders);
- the final evaluation: ``final_runs.py``;
- stopping and failing: ``failures.py``, ``stop_signals.py``, ``ray_session.py``, ``faults.py``;
- checks of the answer: ``reference.py``, ``soak.py``; clusters: ``submit.py``, ``cluster/``.
"""

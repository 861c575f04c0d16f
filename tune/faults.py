"""Fault injection for the interruption tests and the soak (``tune.soak``): a place in the
study's code, reached for the n-th time, holds still until the test kills the study there.

``SSVAE_FAULT=POINT:N`` and ``SSVAE_FAULT_DIR=DIR``: the process that reaches ``POINT`` for the
``N``-th time (counted across every process of the study, through files in ``DIR``) creates
``DIR/POINT-N.reached`` and sleeps until it is killed. A test waits for that file and then kills
the driver, so the kill lands exactly there. Points:

- ``report``: a search trial has saved an epoch's checkpoint and not yet reported it to Tune;
- ``final_run``: a final run has finished training and not yet returned its metrics;
- ``analysis``: the driver is about to write the analysis.

``SSVAE_SLOW_TRIAL=INDEX:SECONDS`` delays every report of search trial INDEX (artificial load
for the test that trials arriving in another order give the same answer); INDEX ``*`` delays
every trial's (a trial then stays long enough on its node for the multi-node tests to lose the
node while it trains).

Unset (the normal case), ``reached`` and ``slow`` do nothing.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

POINTS = ("report", "final_run", "analysis")
ENV = ("SSVAE_FAULT", "SSVAE_FAULT_DIR", "SSVAE_SLOW_TRIAL")


def reached(point: str) -> None:
    """Count one visit of ``point``; hold still at the configured visit."""
    spec, folder = os.environ.get("SSVAE_FAULT"), os.environ.get("SSVAE_FAULT_DIR")
    if not spec or not folder:
        return
    name, _, n = spec.partition(":")
    if name not in POINTS:
        raise ValueError(f"SSVAE_FAULT={spec!r}: the point must be one of {POINTS}")
    if name != point:
        return
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    visit = 1
    while True:                      # take the next visit number atomically (O_EXCL)
        try:
            os.close(os.open(root / f"{point}.visit{visit}", os.O_CREAT | os.O_EXCL))
            break
        except FileExistsError:
            visit += 1
    if visit != int(n or 1):
        return
    (root / f"{point}-{visit}.reached").write_text(str(os.getpid()))
    while True:
        time.sleep(60)


def slow(index: int) -> None:
    """Delay a report of search trial ``index`` when ``SSVAE_SLOW_TRIAL`` names it."""
    spec = os.environ.get("SSVAE_SLOW_TRIAL")
    if spec:
        which, _, seconds = spec.partition(":")
        if which == "*" or int(which) == index:
            time.sleep(float(seconds or 1))


def env_vars() -> dict[str, str]:
    """The fault settings of this process, for Ray's workers (``runtime_env``)."""
    return {k: os.environ[k] for k in ENV if os.environ.get(k)}

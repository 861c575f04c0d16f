"""How a study stops on Ctrl+C (SIGINT) and on SIGTERM (what Slurm sends at a job's end).

Both stop the study cleanly, so the same command resumes it: ``TunerStop`` while a Tuner runs
(it asks Tune to stop gracefully through Tune's SIGUSR1 handler, which snapshots the experiment
with the running trials still RUNNING, so they resume, then stops them), ``PlainStop`` elsewhere
(the final evaluation: a KeyboardInterrupt that the caller turns into a truthful message), and
``DeferredStop`` around Ray's start-up (raised once Ray is up, so it can be shut down). Each
records which signal came. Handlers are installed only in the main thread.
"""
from __future__ import annotations

import os
import signal
import threading
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SIGNAL_NAMES = {signal.SIGINT: "Ctrl+C (SIGINT)", signal.SIGTERM: "SIGTERM"}


class _StopOn:
    """Install ``self._handle`` for SIGINT and SIGTERM inside a ``with`` block."""

    def __enter__(self):
        self.previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self.previous[sig] = signal.getsignal(sig)
                signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        raise NotImplementedError

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


class TunerStop(_StopOn):
    """During ``Tuner.fit``: the first signal asks Tune to stop gracefully; ``signal`` is that
    signal (None: none came). A second signal raises KeyboardInterrupt at once."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def _handle(self, signum, frame) -> None:
        if self.signal is not None:
            raise KeyboardInterrupt
        self.signal = signum
        print(f"\n[tune] {SIGNAL_NAMES[signum]}: stopping the search cleanly and saving its "
              f"state (send it again to stop at once)", flush=True)
        os.kill(os.getpid(), signal.SIGUSR1)


class PlainStop(_StopOn):
    """Outside a Tuner: SIGTERM stops the study as Ctrl+C does (KeyboardInterrupt);
    ``PlainStop.signum`` says which signal it was."""

    signum: int | None = None

    def _handle(self, signum, frame) -> None:
        PlainStop.signum = signum
        raise KeyboardInterrupt


class DeferredStop(_StopOn):
    """Around Ray's start-up: a signal is remembered and raised as KeyboardInterrupt once the
    block is over, so Ray is either not started or started and recorded (then shut down)."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def _handle(self, signum, frame) -> None:
        self.signum = signum

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        if self.signum is not None and exc[0] is None:
            PlainStop.signum = self.signum
            raise KeyboardInterrupt

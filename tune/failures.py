"""How a study fails and stops: its exception types, the retry budget for lost nodes, and an
error's one-line text for tables and messages."""
from __future__ import annotations

from typing import Any

NODE_LOSS_RETRIES = 5     # retries of a trial or final run whose worker or node died


class StudyInterrupted(Exception):
    """Ctrl+C (or a stopped Tuner): the study stopped cleanly and can be resumed."""


class StudyError(RuntimeError):
    """The study could not go on (e.g. Ray could not start)."""


def error_text(err: Any) -> str:
    if err is None:
        return ""
    cause = getattr(err, "cause", None) or err
    text = f"{type(cause).__name__}: {cause}".strip().splitlines()
    # A Ray error carries the remote traceback; keep its last line (the exception itself).
    last = [line for line in text if line.strip()]
    return (last[-1] if last else str(err))[:500]

"""Errors and warnings of the data layer; every message names the bad value and what is valid."""
from __future__ import annotations


class DataError(ValueError):
    """A data set that cannot be loaded as asked (missing files, bad folder tree, bad hierarchy)."""


class DataMissing(DataError):
    """A data set whose files are not on this machine (no data folder, files absent)."""


class SplitError(DataError):
    """A split or label budget that cannot be made (indivisible budget, tiny class, stale file)."""


class DataWarning(UserWarning):
    """Something in the data was skipped (e.g. unreadable image files); the message says what."""

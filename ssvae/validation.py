"""Checks of single settings, shared by every validated config: ``TrainConfig``, the models'
option dataclasses and ``tune``'s ablation specs.

Each check names the setting, the bad value and what would be valid, and raises ``error`` (a
``ConfigError`` unless the caller names its own subclass of ``ValueError``, e.g. ``SpecError``),
so a config and a spec word the same mistake the same way.
"""
from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from ssvae.registry import did_you_mean


class ConfigError(ValueError):
    """A configuration value or key that is not valid; the message says what would be."""


def _range(low: float, high: float | None, low_open: bool = False, high_open: bool = False) -> str:
    text = f"> {low}" if low_open else f">= {low}"
    if high is not None:
        text += f" and < {high}" if high_open else f" and <= {high}"
    return text


def check_choice(name: str, value: Any, choices: Sequence[str], *,
                 error: type[ValueError] = ConfigError) -> None:
    """``value`` is one of ``choices``."""
    if value not in choices:
        raise error(f"{name}={value!r} is not valid; choose one of {', '.join(map(str, choices))}."
                    + did_you_mean(str(value), [str(c) for c in choices]))


def check_int(name: str, value: Any, low: int, high: int | None = None, *, optional: bool = False,
              error: type[ValueError] = ConfigError) -> None:
    """``value`` is an integer (not a bool) in ``[low, high]``; None passes when ``optional``."""
    if value is None and optional:
        return
    if (isinstance(value, bool) or not isinstance(value, int) or value < low
            or (high is not None and value > high)):
        raise error(f"{name}={value!r} must be an integer {_range(low, high)}")


def check_float(name: str, value: Any, low: float, high: float | None = None, *,
                low_open: bool = False, high_open: bool = False, optional: bool = False,
                error: type[ValueError] = ConfigError) -> None:
    """``value`` is a finite number (int or float, not a bool) in the given interval; None
    passes when ``optional``."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise error(f"{name}={value!r} must be a finite number {_range(low, high, low_open, high_open)}")
    bad_low = value <= low if low_open else value < low
    bad_high = high is not None and (value >= high if high_open else value > high)
    if bad_low or bad_high:
        raise error(f"{name}={value!r} must be a number {_range(low, high, low_open, high_open)}")


def check_bool(name: str, value: Any, *, error: type[ValueError] = ConfigError) -> None:
    """``value`` is True or False (not 0/1, not a string)."""
    if not isinstance(value, bool):
        raise error(f"{name}={value!r} is not valid; choose true or false")


def freeze(value: Any) -> Any:
    """A read-only copy: mappings become sorted read-only mappings, lists tuples (recursively),
    so a frozen config cannot be changed through a field that holds a container."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): freeze(v) for k, v in sorted(value.items())})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def plain(value: Any) -> Any:
    """Frozen (or YAML) containers back to JSON-able dicts with string keys and lists."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value

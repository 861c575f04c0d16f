"""One registry per extension point (models, data sets): a name -> factory table.

An unknown name raises ``UnknownNameError`` listing every known name and the closest match,
so a typo on the command line or in an ablation spec is caught before any work starts.
"""
from __future__ import annotations

import difflib
from typing import Callable, Generic, Iterable, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """A name that is not in a registry (or not a known config key)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """' Did you mean 'x'?' for the closest known name, or '' when nothing is close."""
    match = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    return f" Did you mean {match[0]!r}?" if match else ""


def unknown_name_message(kind: str, name: object, known: Iterable[str]) -> str:
    known = sorted(known)
    return f"unknown {kind} {name!r}; known: {', '.join(known)}.{did_you_mean(str(name), known)}"


class Registry(Generic[T]):
    """Maps names to factories. ``register`` is a decorator; ``get`` raises on unknown names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(entry: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = entry
            return entry

        return add

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(unknown_name_message(self.kind, name, self._entries)) from None

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._entries))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

"""A CSV table written row by row into ``OUT.partial`` and renamed to ``OUT`` once it is whole.

The commands that write one row per image, attack or ranked file (``ssvae.predict``,
``ssvae.attack``, ``ssvae.label_next``) share this policy: each batch of rows is flushed as it is
written, so an interrupted command leaves its finished rows in ``OUT.partial``; ``OUT`` appears
only when the block that writes the table ends without an error, so a half-written table never
looks complete.
"""
from __future__ import annotations

import csv
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

WriteRows = Callable[[Iterable[Mapping[str, Any]]], None]


def partial_path(out: str | os.PathLike) -> Path:
    """Where the rows of ``out`` wait until the table is whole."""
    out = Path(out)
    return out.with_name(out.name + ".partial")


@contextmanager
def partial_csv(out: str | os.PathLike, columns: Sequence[str],
                restval: Any = "") -> Iterator[WriteRows]:
    """Yield ``write(rows)``: each call appends dict rows under ``columns`` to ``OUT.partial``
    and flushes them; on a clean exit the file becomes ``out``. A row key outside ``columns``
    raises (``csv.DictWriter``'s check); a missing one is written as ``restval``."""
    partial = partial_path(out)
    with open(partial, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), restval=restval)
        writer.writeheader()

        def write(rows: Iterable[Mapping[str, Any]]) -> None:
            writer.writerows(rows)
            handle.flush()

        yield write
    partial.replace(out)

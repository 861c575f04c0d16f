"""Label hierarchies: named sub-classes mapped onto named super-classes.

Models can train on sub-class labels and predict the super-class by summing sub-class
probabilities (``collapse_probs``); the binary metric uses ``collapse`` on the labels.
A user's own hierarchy comes from a small YAML or JSON file::

    name: my_split
    superclasses:
      target: [T-shirt/top, Trouser, Dress, Sneaker, Bag]
      other: [Pullover, Coat, Sandal, Shirt, Ankle boot]
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import torch
import yaml

from ssvae.config import LABEL_MODES
from ssvae.data.errors import DataError



@dataclass(frozen=True)
class LabelHierarchy:
    """``sub_to_super[i]`` is the super-class index of sub-class ``i``."""

    name: str
    subclass_names: tuple[str, ...]
    superclass_names: tuple[str, ...]
    sub_to_super: tuple[int, ...]
    _table: torch.Tensor = field(init=False, repr=False, compare=False)  # [n_sub] int64

    def __post_init__(self) -> None:
        for attr in ("subclass_names", "superclass_names", "sub_to_super"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))
        subs, supers, table = self.subclass_names, self.superclass_names, self.sub_to_super
        if not isinstance(self.name, str) or not self.name:
            raise DataError(f"hierarchy name {self.name!r} must be a non-empty string")
        for kind, names in (("sub-class", subs), ("super-class", supers)):
            if not names:
                raise DataError(f"hierarchy {self.name!r} has no {kind}es")
            dup = sorted(n for n, c in Counter(names).items() if c > 1)
            if dup:
                raise DataError(f"hierarchy {self.name!r}: duplicated {kind} names {dup}")
        if len(table) != len(subs):
            raise DataError(f"hierarchy {self.name!r}: sub_to_super has {len(table)} entries "
                            f"for {len(subs)} sub-classes")
        bad = [(subs[i], s) for i, s in enumerate(table)
               if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < len(supers)]
        if bad:
            raise DataError(f"hierarchy {self.name!r}: sub-classes map to invalid super-class "
                            f"indices {bad}; valid: 0..{len(supers) - 1}")
        empty = [supers[k] for k in range(len(supers)) if k not in table]
        if empty:
            raise DataError(f"hierarchy {self.name!r}: super-classes {empty} have no sub-class")
        object.__setattr__(self, "_table", torch.tensor(table, dtype=torch.int64))

    @property
    def n_sub(self) -> int:
        return len(self.subclass_names)

    @property
    def n_super(self) -> int:
        return len(self.superclass_names)

    def n_classes(self, label_mode: str) -> int:
        """Classes a model predicts in ``label_mode``: super-classes (binary) or sub-classes."""
        if label_mode not in LABEL_MODES:
            raise ValueError(f"label_mode={label_mode!r} is not valid; choose {', '.join(LABEL_MODES)}")
        return self.n_super if label_mode == "binary" else self.n_sub

    def members(self, superclass: str) -> tuple[str, ...]:
        """The sub-class names of one super-class, in sub-class order."""
        k = self.superclass_names.index(superclass)
        return tuple(n for n, s in zip(self.subclass_names, self.sub_to_super) if s == k)

    def as_groups(self) -> dict[str, list[str]]:
        """``{super-class: [sub-classes]}``, the file format's ``superclasses`` mapping."""
        return {s: list(self.members(s)) for s in self.superclass_names}

    def collapse(self, y_sub: torch.Tensor) -> torch.Tensor:
        """Sub-class labels [...] (int64) -> super-class labels [...] (int64)."""
        return self._table.to(y_sub.device)[y_sub.long()]

    def collapse_probs(self, p_sub: torch.Tensor) -> torch.Tensor:
        """Sub-class probabilities [B, n_sub] -> super-class probabilities [B, n_super] (sums)."""
        if p_sub.shape[-1] != self.n_sub:
            raise ValueError(f"collapse_probs: last dim {p_sub.shape[-1]} != n_sub {self.n_sub}")
        out = p_sub.new_zeros(*p_sub.shape[:-1], self.n_super)
        return out.index_add_(-1, self._table.to(p_sub.device), p_sub)

    @classmethod
    def from_groups(cls, name: str, subclass_names: Sequence[str],
                    groups: Mapping[str, Sequence[str]], source: str = "") -> "LabelHierarchy":
        """Build from ``{super: [sub, ...]}``; every sub-class must appear exactly once."""
        where = f" ({source})" if source else ""
        subclass_names = tuple(subclass_names)
        if not isinstance(groups, Mapping) or not groups:
            raise DataError(f"hierarchy {name!r}{where}: 'superclasses' must be a non-empty "
                            f"mapping of super-class name -> list of sub-class names")
        seen: dict[str, str] = {}
        dup, unknown = [], []
        for sup, subs in groups.items():
            if isinstance(subs, (str, bytes)) or not isinstance(subs, Sequence):
                raise DataError(f"hierarchy {name!r}{where}: super-class {sup!r} must list its "
                                f"sub-classes, got {subs!r}")
            for sub in map(str, subs):
                if sub in seen:
                    dup.append(f"{sub!r} (in {seen[sub]!r} and {str(sup)!r})")
                elif sub not in subclass_names:
                    unknown.append(sub)
                seen.setdefault(sub, str(sup))
        missing = [s for s in subclass_names if s not in seen]
        problems = []
        if unknown:
            problems.append(f"unknown sub-classes {unknown}")
        if dup:
            problems.append(f"sub-classes listed twice: {', '.join(dup)}")
        if missing:
            problems.append(f"sub-classes missing: {missing}")
        if problems:
            raise DataError(f"hierarchy {name!r}{where} must list every sub-class exactly once: "
                            f"{'; '.join(problems)}. Known sub-classes: {list(subclass_names)}")
        supers = tuple(str(s) for s in groups)
        table = tuple(supers.index(seen[s]) for s in subclass_names)
        return cls(name, subclass_names, supers, table)


def load_hierarchy_file(path: str | Path, subclass_names: Sequence[str]) -> LabelHierarchy:
    """Read ``{name, superclasses: {super: [subs]}}`` from YAML (.yaml/.yml) or JSON."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise DataError(f"cannot read hierarchy file {str(path)!r}: {err}") from None
    kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
    try:
        spec = json.loads(text) if kind == "JSON" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as err:
        raise DataError(f"hierarchy file {str(path)!r} is not valid {kind}: {err}") from None
    if not isinstance(spec, Mapping) or set(spec) != {"name", "superclasses"}:
        keys = sorted(map(str, spec)) if isinstance(spec, Mapping) else type(spec).__name__
        raise DataError(f"hierarchy file {str(path)!r} must hold exactly the keys 'name' and "
                        f"'superclasses', found {keys}")
    return LabelHierarchy.from_groups(str(spec["name"]), subclass_names, spec["superclasses"],
                                      source=str(path))

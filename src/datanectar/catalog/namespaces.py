"""Namespaces as the catalog declares them: the partitions of an entry.

```yaml
namespaces: [paris, lyon, oslo]                 # static: one dimension named `namespace`
namespaces: {dynamic: scenarios}                # added at run time, named `namespace`
namespaces: {daily: {start: "2024-01-01"}}      # time: one dimension named `date`
namespaces: {city: [paris, lyon], date: {daily: {start: "2024-01-01"}}}   # two dimensions
```

Keys end up in paths and predicates, so every key, static or added later, must match `KEY`:
letters, digits, `_`, `-`, `.`, `:` and `+` (time keys), never `/`, never `..`, never quotes.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import NamespaceKeyError

KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:+\-]{0,127}")
DIMENSION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
CADENCES = ("hourly", "daily", "weekly", "monthly")
Cadence = Literal["hourly", "daily", "weekly", "monthly"]
SINGLE_STATIC = "namespace"
SINGLE_TIME = "date"


class TimeSpan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str = Field(description="First partition, e.g. 2024-01-01 (or 2024-01-01-00:00 hourly).")
    end: str | None = Field(default=None, description="End (exclusive); open-ended if left out.")
    timezone: str | None = Field(default=None, description="IANA timezone of the partition bounds.")
    end_offset: int = Field(default=0, description="Partitions past the current one to include.")


class Dimension(BaseModel):
    """One partition dimension: static values, a dynamic set by name, or a time cadence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    values: list[str] | None = None
    dynamic: str | None = None
    cadence: Cadence | None = None
    span: TimeSpan | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Dimension:
        kinds = [self.values is not None, self.dynamic is not None, self.cadence is not None]
        if sum(kinds) != 1:
            raise ValueError(
                f"dimension '{self.name}' must be a list, {{dynamic: NAME}} or a time cadence"
            )
        if not DIMENSION_NAME.fullmatch(self.name):
            raise ValueError(f"dimension name '{self.name}' must use letters, digits and '_'")
        for key in self.values or []:
            check_key(key, where=f"dimension '{self.name}'")
        if self.values is not None and len(set(self.values)) != len(self.values):
            raise ValueError(f"dimension '{self.name}' lists a value twice")
        if self.dynamic is not None and not DIMENSION_NAME.fullmatch(self.dynamic):
            raise ValueError(
                f"dynamic namespace name '{self.dynamic}' must use letters, digits and '_'"
            )
        return self

    @property
    def is_time(self) -> bool:
        return self.cadence is not None


def check_key(key: str, *, where: str) -> str:
    """Refuse a key that could escape a store root or break a predicate."""
    if not isinstance(key, str) or not KEY.fullmatch(key) or ".." in key:
        raise NamespaceKeyError(
            f"{where}: namespace key {key!r} is not allowed; a key is 1 to 128 characters, "
            "ASCII letters, digits, '_', '-', '.', ':' and '+', starting with a letter, a digit "
            "or '_' (not '-', '+' or '.'), without '..' (so it can never leave a store's root "
            "nor break a predicate)"
        )
    if _DRIVE_LIKE.match(key):
        raise NamespaceKeyError(
            f"{where}: namespace key {key!r} is not allowed: a letter then a colon starts a "
            "Windows drive path where a path starts with the key. Fix: put another character "
            f"before the colon ({key[0]}_{key[1:]}, say), or drop it."
        )
    return key


_DRIVE_LIKE = re.compile(r"[A-Za-z]:")  # matched at the start of a key


def parse_namespaces(raw: Any) -> list[Dimension]:
    """The YAML forms above, or an already parsed list of dimensions, to dimensions."""
    if isinstance(raw, list) and all(
        isinstance(item, Dimension | dict) and "name" in _as_dict(item) for item in raw
    ):
        return [
            item if isinstance(item, Dimension) else Dimension.model_validate(item) for item in raw
        ]
    if isinstance(raw, list):
        return [Dimension(name=SINGLE_STATIC, values=[str(value) for value in raw])]
    if not isinstance(raw, dict) or not raw:
        raise ValueError(
            "namespaces is a list of keys, or a mapping (dynamic, a time cadence, or dimensions)"
        )
    single = _single_dimension(raw, name=None)
    if single is not None:
        return [single]
    if len(raw) == 1 and isinstance(next(iter(raw.values())), list):
        name, values = next(iter(raw.items()))
        raise ValueError(
            f"{{{name}: [...]}} reads as several dimensions, and has one. Fix: name a single "
            f"dimension as [{{name: {name}, values: {values}}}], or give a second dimension"
        )
    if len(raw) != 2:
        raise ValueError(
            f"namespaces with several dimensions take exactly two, got {len(raw)}: {', '.join(raw)}"
        )
    dimensions = []
    for name, spec in raw.items():
        if isinstance(spec, list):
            dimensions.append(Dimension(name=str(name), values=[str(value) for value in spec]))
            continue
        dimension = _single_dimension(spec, name=str(name)) if isinstance(spec, dict) else None
        if dimension is None:
            raise ValueError(
                f"dimension '{name}' must be a list, {{dynamic: NAME}} or a time cadence"
            )
        dimensions.append(dimension)
    return dimensions


def _single_dimension(spec: dict[str, Any], *, name: str | None) -> Dimension | None:
    if set(spec) == {"dynamic"}:
        return Dimension(name=name or SINGLE_STATIC, dynamic=str(spec["dynamic"]))
    if len(spec) == 1 and next(iter(spec)) in CADENCES:
        cadence = next(iter(spec))
        span = spec[cadence]
        if not isinstance(span, dict):
            raise ValueError(f"{cadence} takes a mapping with at least 'start'")
        return Dimension(
            name=name or SINGLE_TIME, cadence=cadence, span=TimeSpan.model_validate(span)
        )
    return None


def _as_dict(item: Any) -> dict[str, Any]:
    return (
        item.model_dump() if isinstance(item, BaseModel) else item if isinstance(item, dict) else {}
    )

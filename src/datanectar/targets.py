"""What one read or write addresses: an entry, where in which store, and which part of it.

A catalog `Entry` is a declaration and stays one. A `Target` is one object (or one part of an
object) that `EntryStorage` reads or writes: the entry it belongs to, its store and path there,
and, for one namespace of a partitioned entry, a `Slice` naming the namespace keys and, for a
time namespace, its window. Partitions, cached calls and cache levels each derive a target from
another with `at(...)` instead of copying fields onto the entry, as dagster-deltalake passes a
`TableSlice` down to its handlers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # formats name `Slice` and the catalog imports formats: no cycle at runtime
    from .catalog import Entry
    from .catalog.namespaces import Dimension


@dataclass(frozen=True)
class Period:
    """Where a time namespace lies among its dimension's periods: what a format that keeps
    every period along one time axis (a zarr store) needs to place a period there."""

    index: int
    """Its position among the dimension's periods, 0 for the first."""
    dimension: Dimension = field(compare=False, repr=False)
    """The time dimension (cadence, start, timezone): any other period's start, from it."""

    def start_of(self, index: int) -> str:
        """The start of the dimension's period at position `index` (ISO, with its offset)."""
        from .catalog.time_keys import period_start

        return period_start(self.dimension, index).isoformat()


@dataclass(frozen=True)
class Slice:
    """One namespace of a partitioned entry."""

    keys: Mapping[str, str] = field(hash=False)
    """Dimension name -> key, in the entry's dimension order."""
    window: tuple[str, str] | None = None
    """The [start, end) of a time namespace as Dagster computes it: ISO format with the offset
    of the dimension's timezone (UTC unless it names one)."""
    period: Period | None = None
    """For a time namespace of a catalog entry: its place among the dimension's periods."""
    in_place: bool = False
    """True when the namespace lives inside an object shared by all namespaces (a delta or sql
    table's partition, a period of one zarr store): the format reads and writes that part.
    False when each namespace is an object of its own, at the target's path."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))

    def label(self) -> str:
        return ", ".join(f"{name}={key}" for name, key in self.keys.items())


@dataclass(frozen=True)
class Target:
    """One object in a store, or one namespace inside one, as a read or write addresses it."""

    entry: Entry
    """The declaration: format, options, checks, and the names used in errors."""
    store: str
    """The name of the store the object is in."""
    path: str
    """The object's path relative to that store's root."""
    slice: Slice | None = None
    """The namespace addressed, for a partitioned entry."""

    @classmethod
    def of(cls, entry: Entry) -> Target:
        """The entry's own object, whole."""
        return cls(entry, str(entry.store), entry.path or "")

    @property
    def format(self) -> str | None:
        return self.entry.format

    @property
    def keys(self) -> dict[str, str] | None:
        return dict(self.slice.keys) if self.slice is not None else None

    @property
    def in_place(self) -> bool:
        """Whether the format addresses a part of the object rather than all of it."""
        return self.slice is not None and self.slice.in_place

    def at(
        self, *, path: str | None = None, store: str | None = None, whole: bool = False
    ) -> Target:
        """The same target at another path or in another store (`whole`: the object itself,
        not the namespace inside it)."""
        return dataclasses.replace(
            self,
            path=self.path if path is None else path,
            store=self.store if store is None else store,
            slice=None if whole else self.slice,
        )

"""Where one call's result lives: its segment (under the entry, where its record is kept) and
its object's target, from the entry, the call's key and its namespace."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..catalog import Entry
from ..errors import DatanectarError
from ..formats import get_format
from ..partitions import target_for
from ..targets import Target
from .keys import key_of_canonical
from .records import Record


def object_of(
    entry: Entry,
    key: str | None,
    *,
    namespace: str | None,
    partition: Mapping[str, str] | None,
) -> tuple[str, Target]:
    """(segment, target) of one call's result: where under the entry its record lives, and
    what its object is. `key`: the call's cache key, None for a function
    without cache arguments."""
    segment = _segment(key, namespace)
    if partition:
        # Exactly where Dagster's partition lives; cache arguments key objects beside it.
        base = target_for(entry, partition)
        return segment, base.at(path=_object_path(base, key or "_"))
    whole = Target.of(entry)
    return segment, whole.at(path=_object_path(whole, segment))


def default_object(
    entry: Entry,
    *,
    function: str,
    arguments: Mapping[str, Any],
    partition: Mapping[str, str] | None = None,
) -> tuple[str, Target]:
    """(segment, target) of the result a plain call with the function's default cache
    arguments (given in canonical form) stores: what its asset means when no run said
    otherwise."""
    label = namespace_label(entry, partition)
    return object_of(
        entry, key_of_canonical(function, arguments, label), namespace=label, partition=partition
    )


def namespace_label(entry: Entry, partition: Mapping[str, str] | None) -> str | None:
    """A partition's keys as one namespace label (dimension order), as plain calls key them."""
    if not partition:
        return None
    return "/".join(partition[dimension.name] for dimension in entry.namespaces or [])


def _segment(key: str | None, namespace: str | None) -> str:
    parts = [part for part in (namespace, key) if part]
    return "/".join(parts) if parts else "_"


def _object_path(target: Target, segment: str) -> str:
    """Where one call's result lives: the target's path itself for an argument-less call,
    else a key-named object beside it, named as its format names objects."""
    if segment == "_":
        return target.path
    return get_format(str(target.format)).keyed_path(target.path, segment)


def namespace_of_record(entry: Entry, label: str | None) -> dict[str, str] | None:
    """The namespace keys a record's label names ('paris', or 'paris/2024-01-01' in the
    entry's dimension order)."""
    if not label or not entry.namespaces:
        return None
    return dict(
        zip((dimension.name for dimension in entry.namespaces), label.split("/"), strict=True)
    )


def is_this_projects(entries: Mapping[str, Entry], record: Record) -> bool:
    """Whether a record is of this project's result: a database (or a store root) that
    several projects share holds their records side by side, and an entry of the same name
    in another project keeps its objects elsewhere. The record's object must be where this
    project's entry would store that call's result."""
    entry = entries.get(record.entry)
    if entry is None:
        return False
    try:
        keys = namespace_of_record(entry, record.namespace)
        _, target = object_of(
            entry,
            record.key if record.arguments else None,
            namespace=record.namespace,
            partition=keys,
        )
    except (DatanectarError, ValueError):
        return False
    return target.path == record.path

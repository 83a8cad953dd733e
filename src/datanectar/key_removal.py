"""Removing the stored data of one key of a dynamic namespace, from every entry it partitions.

`datanectar namespaces remove NAME KEY` calls it before the key leaves the Dagster instance.
For each entry partitioned by NAME (its only dimension, or one of two) it removes:

- the results of a cached function, found by their records under the entry (the entry's
  folder of records, or its rows, not the whole book), at the root and local levels: each
  namespace with that key, and each call keyed by cache arguments in it, object and record;
- the entry's own objects (what a plain function or a Dagster run wrote): the namespace's
  object, or, with a second dimension, each namespace with that key, whatever the other key.
  A table keeping its namespaces in place (delta, sql) deletes them by the one column, in one
  transaction; files are found by listing the one folder level that holds the other
  dimension's keys when the path gives it a level of its own, else by trying the other
  dimension's declared keys (static values, periods, the instance's dynamic keys).

Mirrors, and entries in read-only stores, are not touched. Nothing here imports Dagster: the caller gives the
keys of dynamic namespaces.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from .cache.levels import levels_for
from .cache.objects import is_this_projects, namespace_of_record
from .catalog import Entry
from .catalog.namespaces import Dimension, check_key
from .catalog.time_keys import time_key_problem, time_keys
from .discovery import dynamic_namespaces
from .errors import NamespaceKeyError
from .formats import get_format
from .partitions import keeps_in_place, placeholders, target_for
from .project import Catalog
from .stores import normalize_prefix
from .targets import Target

DynamicKeys = Callable[[str], Iterable[str]]
"""The keys a dynamic namespace has now (in the Dagster instance)."""


@dataclass
class RemovedData:
    """What the removal of one key took away."""

    key: str
    entries: list[str] = field(default_factory=list)
    """The entries partitioned by the namespace, whether or not they held data of the key."""
    objects: list[tuple[str, str]] = field(default_factory=list)
    """Each object (or set of namespaces inside a table) removed, as (entry, where)."""
    records: int = 0
    """Records of cached results removed."""
    read_only: list[str] = field(default_factory=list)
    """Entries whose store is read only: their data of the key is left as it is."""
    sources: list[str] = field(default_factory=list)
    """Entries nothing produces (inputs): their data of the key is kept unless asked."""


def remove_key_data(
    catalog: Catalog,
    namespace: str,
    key: str,
    *,
    dynamic_keys: DynamicKeys,
    include_sources: bool = False,
) -> RemovedData:
    """Remove every stored value of key `key` of dynamic namespace `namespace` that the
    project produced; `include_sources`: the inputs of the key too (a source's data is
    nobody's output, so it is kept unless asked)."""
    check_key(key, where=f"dynamic namespace '{namespace}'")
    removed = RemovedData(key=key, entries=dynamic_namespaces(catalog).get(namespace, []))
    for name in removed.entries:
        entry = catalog.entries[name]
        store = catalog.stores.get(str(entry.store))
        if store is not None and store.read_only:  # not this project's to change
            removed.read_only.append(name)
            continue
        if name not in catalog.producers and not include_sources:
            removed.sources.append(name)
            continue
        for dimension in entry.namespaces or []:
            if dimension.dynamic == namespace:
                _cached_results(catalog, entry, dimension.name, key, removed)
                _own_objects(catalog, entry, dimension.name, key, removed, dynamic_keys)
    return removed


def _cached_results(
    catalog: Catalog, entry: Entry, dimension: str, key: str, removed: RemovedData
) -> None:
    producer = catalog.producers.get(entry.name)
    if producer is None or producer.cached is None:
        return
    for level in levels_for(catalog, entry).readable(("local", "root")):
        for record in level.records.of_entry(entry.name):
            if record.entry != entry.name or not is_this_projects(catalog.entries, record):
                continue
            keys = namespace_of_record(entry, record.namespace)
            if not keys or keys.get(dimension) != key:
                continue
            target = level.target(target_for(entry, keys).at(path=record.path))
            if not record.is_null and level.storage.exists(target):
                level.storage.remove(target)
                removed.objects.append(_described(target, level.name))
            level.records.remove(entry.name, record.segment)
            removed.records += 1


def _own_objects(
    catalog: Catalog,
    entry: Entry,
    dimension: str,
    key: str,
    removed: RemovedData,
    dynamic_keys: DynamicKeys,
) -> None:
    dimensions = list(entry.namespaces or [])
    whole = Target.of(entry)
    storage = catalog.storage
    in_place = keeps_in_place(get_format(str(entry.format)), dimensions, whole.path)
    if in_place and len(dimensions) > 1:
        held = storage.remove_namespaces_with(whole, {dimension: key})
        if held is not None:
            if held:
                removed.objects.append((entry.name, f"{whole.path} where {dimension}={key}"))
            return
    for keys in _namespaces_with(catalog, entry, dimension, key, dynamic_keys, in_place):
        target = target_for(entry, keys)
        if storage.exists(target):
            storage.remove(target)
            removed.objects.append(_described(target))


def _namespaces_with(
    catalog: Catalog,
    entry: Entry,
    dimension: str,
    key: str,
    dynamic_keys: DynamicKeys,
    in_place: bool,
) -> Iterator[dict[str, str]]:
    """The namespaces of `entry` whose `dimension` is `key`, every other key of a second
    dimension among them (dimension order kept)."""
    dimensions = list(entry.namespaces or [])
    others = [other for other in dimensions if other.name != dimension]
    if not others:
        yield {dimension: key}
        return
    (other,) = others
    listed = None if in_place else _listed_keys(catalog, entry, dimension, key, other)
    candidates = listed if listed is not None else _declared_keys(other, dynamic_keys)
    for candidate in candidates:
        keys = {dimension: key, other.name: candidate}
        yield {name.name: keys[name.name] for name in dimensions}


def _declared_keys(dimension: Dimension, dynamic_keys: DynamicKeys) -> list[str]:
    if dimension.values is not None:
        return list(dimension.values)
    if dimension.is_time:
        return time_keys(dimension)
    return sorted(dynamic_keys(str(dimension.dynamic)))


def _listed_keys(
    catalog: Catalog, entry: Entry, dimension: str, key: str, other: Dimension
) -> list[str] | None:
    """The other dimension's keys that have an object beside `key`'s, read off the one folder
    level whose names hold them, when the path gives it one (`{city}/{date}.parquet`, or the
    folder levels of a path without placeholders); None when it does not (`{city}_{date}`).
    Names that are not keys of that dimension are no namespace of the entry, and stay."""
    components = _template(entry, dimension, other.name).split("/")
    holding = [index for index, part in enumerate(components) if f"{{{other.name}}}" in part]
    if len(holding) != 1:
        return None
    index = holding[0]
    before, _, after = components[index].partition(f"{{{other.name}}}")
    if placeholders(before + after) or not all(
        set(placeholders(part)) <= {dimension} for part in components[:index]
    ):
        return None
    folder = "/".join(components[:index]).replace(f"{{{dimension}}}", key)
    store = catalog.stores.get(str(entry.store))
    if store is None or not store.holds_files:
        return None
    root = store.full_path(normalize_prefix(folder))
    filesystem = store.filesystem
    filesystem.invalidate_cache(root)
    try:
        listing = filesystem.ls(root, detail=False)
    except FileNotFoundError:
        return []
    found = []
    for path in listing:
        name = posixpath.basename(str(path).rstrip("/"))
        if not (name.startswith(before) and name.endswith(after)):
            continue
        candidate = name[len(before) : len(name) - len(after)]
        if _is_key_of(other, candidate):
            found.append(candidate)
    return sorted(found)


def _template(entry: Entry, dimension: str, other: str) -> str:
    """The entry's path with a placeholder per dimension, as `partition_path` fills it."""
    path = entry.path or ""
    if placeholders(path):
        return path
    names = [name.name for name in entry.namespaces or []]
    folder, name = posixpath.split(path)
    stem, dot, suffix = name.partition(".")
    levels = [f"{{{name}}}" for name in names]
    return posixpath.join(folder, stem, *levels) + (f"{dot}{suffix}" if dot else "")


def _is_key_of(dimension: Dimension, candidate: str) -> bool:
    try:
        check_key(candidate, where=f"dimension '{dimension.name}'")
    except NamespaceKeyError:
        return False
    if dimension.values is not None:
        return candidate in dimension.values
    if dimension.is_time:
        return time_key_problem(dimension, candidate) is None
    return True


def _described(target: Target, level: str = "root") -> tuple[str, str]:
    where = target.path
    if target.in_place and target.keys:
        where += " where " + ", ".join(f"{name}={key}" for name, key in target.keys.items())
    note = "" if level == "root" else f" ({level} cache)"
    return target.entry.name, f"{where}{note}"


def objects_by_entry(removed: RemovedData, *, shown: int = 3) -> str:
    """`entry: where, where; other: where` (the first `shown` of an entry, then how many more)."""
    by_entry: dict[str, list[str]] = {}
    for entry, where in removed.objects:
        by_entry.setdefault(entry, []).append(where)
    parts = []
    for entry, places in by_entry.items():
        more = f" and {len(places) - shown} more" if len(places) > shown else ""
        parts.append(f"{entry}: {', '.join(places[:shown])}{more}")
    return "; ".join(parts)

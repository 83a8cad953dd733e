"""Whether a stored result is stale: the code that computed it, and everything it read, through
the whole chain of cached results below it.

A result is stale when its function is at another version, when an object it read changed
since, or when a cached result it read is itself stale (a bumped version or changed data any
number of levels down), so that a recall never returns what a recompute from today's inputs
and code would not give. The reasons name the root cause and the path to it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .levels import levels_for
from .records import Record, UpstreamRead

if TYPE_CHECKING:
    from ..project import Catalog

INTERRUPTED = "its write was interrupted (the stored object may not be the one recorded)"


def stale_reasons(
    catalog: Catalog,
    function: Any,
    record: Record | None,
    *,
    seen: dict[tuple[str, str], list[str]] | None = None,
) -> list[str]:
    """Why `record` (of cached function `function`) is stale; empty when it is fresh. `seen`
    holds the verdicts on results already judged (each is judged once, cycles stop)."""
    if record is None:  # data written by another tool: nothing to compare
        return []
    if not record.complete:
        return [INTERRUPTED]
    reasons = []
    if record.version != function.version:
        reasons.append(
            f"it was computed by version {record.version!r} and the code is at version "
            f"{function.version!r}"
        )
    seen = {} if seen is None else seen
    for read in record.upstream:
        found = current_record(catalog, read) if read.segment is not None else None
        now = found.data_version if found is not None else _fingerprint(catalog, read)
        if now != read.fingerprint:
            reasons.append(f"upstream '{read.entry}' changed since it was computed")
            continue
        if found is None:
            continue
        key = (read.entry, str(read.segment))
        if key not in seen:
            seen[key] = []  # a cycle reads as fresh rather than looping
            upstream = function_of(catalog, found)
            if upstream is not None:
                seen[key] = stale_reasons(catalog, upstream, found, seen=seen)
        reasons += [f"upstream '{read.entry}' is stale: {reason}" for reason in seen[key]]
    return reasons


def current_record(catalog: Catalog, read: UpstreamRead) -> Record | None:
    """The record of a cached upstream result a recall would find first."""
    for level in levels_for(catalog, read.as_target().entry).readable(("local", "root", "mirror")):
        record = level.records.read(read.entry, str(read.segment))
        if record is not None:
            return record
    return None


def function_of(catalog: Catalog, record: Record) -> Any:
    """The cached function that wrote `record`, if it can be found (the catalog's producer of
    the entry, else the module-level function the record names)."""
    producer = catalog.producers.get(record.entry)
    cached = producer.cached if producer is not None else None
    if cached is not None and cached.qualified_name == record.function:
        return cached
    module_name, _, name = record.function.rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), name, None)
    except ImportError:
        return None
    return found if hasattr(found, "version") and hasattr(found, "producer") else None


def _fingerprint(catalog: Catalog, read: UpstreamRead) -> str | None:
    if read.segment is not None:
        return None  # a cached result with no record left: changed
    return catalog.storage.fingerprint(read.as_target())

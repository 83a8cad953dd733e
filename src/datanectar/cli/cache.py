"""`datanectar cache ls` and `datanectar cache clear`: the stored results of cached functions."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from ..cache.levels import Level, levels_for
from ..cache.objects import is_this_projects, namespace_of_record
from ..cache.records import Record
from ..partitions import target_for
from ..project import Catalog
from ..targets import Target
from .output import Progress, age, print_json, print_table


def register(commands: argparse._SubParsersAction) -> None:
    cache = commands.add_parser("cache", help="list or remove stored results of cached functions")
    actions = cache.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "ls", help="list stored results: key, namespace, version, size, age"
    )
    listing.add_argument("entry", metavar="ENTRY", nargs="?", help="only this entry")
    listing.add_argument("--json", action="store_true", help="a JSON list, for machines")
    listing.set_defaults(run=list_results)
    clearing = actions.add_parser("clear", help="remove an entry's stored results and records")
    clearing.add_argument("entry", metavar="ENTRY", help="the entry whose results to remove")
    clearing.add_argument("--key", help="only the result with this cache key")
    clearing.add_argument(
        "--namespace", help="only the results of this namespace (as `cache ls` shows it)"
    )
    clearing.add_argument(
        "--local", action="store_true", help="clear the local cache level instead of the root store"
    )
    clearing.set_defaults(run=clear_results)


@dataclass(frozen=True)
class Stored:
    level: Level
    record: Record


def stored_results(
    catalog: Catalog, entry: str | None, *, kinds: tuple[str, ...]
) -> Iterator[Stored]:
    """Records of cached results, per level, for one entry or all of them."""
    names = [entry] if entry else sorted({*catalog.entries, *catalog.producers})
    seen: set[tuple[str, str]] = set()
    for name in names:
        entry_model = catalog.entry(name) if name in catalog.entries else None
        if entry_model is None:
            continue
        for level in levels_for(catalog, entry_model).readable(kinds):
            # Entries sharing a store share its record book: read each book once.
            book = (level.name, level.store_name)
            if book in seen and entry is None:
                continue
            seen.add(book)
            for record in level.records.all():
                if (entry is None or record.entry == entry) and is_this_projects(
                    catalog.entries, record
                ):
                    yield Stored(level, record)


def list_results(arguments: argparse.Namespace) -> int:
    catalog = Catalog.open(arguments.project)
    if arguments.entry:
        catalog.entry(arguments.entry)
    found = list(stored_results(catalog, arguments.entry, kinds=("local", "root", "mirror")))
    if arguments.json:
        print_json([_as_json(stored) for stored in found])
        return 0
    rows = [
        (
            stored.level.name,
            stored.record.entry,
            stored.record.key if stored.record.arguments else "-",
            stored.record.namespace or "-",
            stored.record.version or "-",
            _size(stored.record),
            age(stored.record.created_at),
            ", ".join(f"{k}={v}" for k, v in stored.record.arguments.items()) or "-",
        )
        for stored in found
    ]
    header = ("LEVEL", "ENTRY", "KEY", "NAMESPACE", "VERSION", "SIZE", "AGE", "ARGUMENTS")
    print_table(header, rows)
    return 0


def clear_results(arguments: argparse.Namespace) -> int:
    catalog = Catalog.open(arguments.project)
    entry = catalog.entry(arguments.entry)
    kind = "local" if arguments.local else "root"
    producer = catalog.producers.get(entry.name)
    if producer is None or producer.cached is None:
        print(
            f"entry '{entry.name}' is not produced by a cached function: it has no stored "
            "results to clear (its data is the catalog's; remove it with your storage tools).",
            file=sys.stderr,
        )
        return 1
    stored_here = list(stored_results(catalog, entry.name, kinds=(kind,)))
    chosen = [
        stored
        for stored in stored_here
        if (not arguments.key or stored.record.key == arguments.key)
        and (not arguments.namespace or stored.record.namespace == arguments.namespace)
    ]
    if (arguments.key or arguments.namespace) and not chosen:
        asked = " and ".join(
            f"{name} '{value}'"
            for name, value in (("key", arguments.key), ("namespace", arguments.namespace))
            if value
        )
        print(
            f"no stored result of '{entry.name}' at the {kind} level has {asked}; it holds "
            f"{len(stored_here)}. See `datanectar cache ls {entry.name}`.",
            file=sys.stderr,
        )
        return 1
    removed = 0
    # the progress line is cleared before any error is told, hence the explicit context
    with Progress(f"removing stored results of '{entry.name}'", len(chosen)) as shown:
        for stored in chosen:
            keys = namespace_of_record(entry, stored.record.namespace)
            # A namespace kept inside a table is removed from it, the others' rows untouched.
            base = target_for(entry, keys) if keys else Target.of(entry)
            target = stored.level.target(base.at(path=stored.record.path))
            if not stored.record.is_null:
                stored.level.storage.remove(target)
            stored.level.records.remove(entry.name, stored.record.segment)
            removed += 1
            shown.advance()
    print(f"removed {removed} stored result(s) of '{entry.name}' from the {kind} level")
    return 0


def _as_json(stored: Stored) -> dict[str, object]:
    record = stored.record
    return {
        "name": record.entry,
        "level": stored.level.name,
        "key": record.key,
        "namespace": record.namespace,
        "version": record.version,
        "bytes": None if record.is_null else record.bytes_written,
        "created_at": record.created_at.isoformat(),
        "arguments": record.arguments,
        "path": record.path,
    }


def _size(record: Record) -> str:
    if record.is_null:
        return "None"
    if record.bytes_written is None:
        return "-"
    size = float(record.bytes_written)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return "-"

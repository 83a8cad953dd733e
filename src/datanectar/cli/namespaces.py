"""`datanectar namespaces add|list|discover|remove`: the keys of dynamic namespaces.

They are kept by the Dagster instance at $DAGSTER_HOME, the one the Dagster UI and daemon use,
and so are the keys removed (the set `NAME:removed`, see `discovery.removed_set`), which
discovery does not add again. Keys are untrusted: every key is checked before any is used.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..catalog.namespaces import check_key
from ..catalog.time_keys import time_keys
from ..discovery import (
    check_dynamic_namespace,
    discovery_for,
    dynamic_namespaces,
    new_keys,
    removed_set,
    skipped_keys,
)
from ..errors import DatanectarError, did_you_mean
from ..key_removal import RemovedData, objects_by_entry, remove_key_data
from ..project import Catalog
from .output import print_json

if TYPE_CHECKING:
    import dagster as dg


def register(commands: argparse._SubParsersAction) -> None:
    namespaces = commands.add_parser(
        "namespaces", help="add, list, discover or remove the keys of dynamic namespaces"
    )
    actions = namespaces.add_subparsers(dest="action", required=True, metavar="ACTION")
    adding = actions.add_parser("add", help="add keys to a dynamic namespace")
    adding.add_argument("name", metavar="NAME", help="the dynamic namespace ({dynamic: NAME})")
    adding.add_argument("keys", metavar="KEY", nargs="+", help="keys to add")
    adding.set_defaults(run=add_keys)
    listing = actions.add_parser(
        "list",
        help="list the keys of a dynamic namespace, or of every dimension of an entry",
    )
    listing.add_argument(
        "name",
        metavar="NAME",
        help="a dynamic namespace ({dynamic: NAME}) or an entry with namespaces",
    )
    listing.add_argument(
        "--json", action="store_true", help="a JSON list of {dimension, key}, for machines"
    )
    listing.set_defaults(run=list_keys)
    discovering = actions.add_parser(
        "discover", help="print the keys discovery finds that the namespace does not have yet"
    )
    discovering.add_argument("name", metavar="NAME", help="the dynamic namespace")
    discovering.add_argument("--add", action="store_true", help="also add the new keys")
    discovering.add_argument(
        "--include-removed",
        action="store_true",
        help="also count keys removed with `namespaces remove` as new (with --add: add them "
        "again, their removal forgotten)",
    )
    discovering.set_defaults(run=discover_keys)
    removing = actions.add_parser(
        "remove",
        help="remove keys of a dynamic namespace and their stored data; discovery does not "
        "add them again",
    )
    removing.add_argument("name", metavar="NAME", help="the dynamic namespace")
    removing.add_argument("keys", metavar="KEY", nargs="+", help="keys to remove")
    removing.add_argument(
        "--keep-data",
        action="store_true",
        help="leave the keys' data where it is (ignored: no Dagster key reads it)",
    )
    removing.add_argument(
        "--absent-ok",
        action="store_true",
        help="also remove the data of keys the Dagster instance does not have (deleted in "
        "the Dagster UI, say)",
    )
    removing.add_argument(
        "--include-sources",
        action="store_true",
        help="also remove the key's data from source entries (inputs nothing produces), "
        "which are kept otherwise",
    )
    removing.set_defaults(run=remove_keys)


def add_keys(arguments: argparse.Namespace) -> int:
    catalog = Catalog.open(arguments.project)
    check_dynamic_namespace(catalog, arguments.name)
    keys = list(dict.fromkeys(arguments.keys))
    for key in keys:  # all checked before any is added
        check_key(key, where=f"dynamic namespace '{arguments.name}'")
    with _instance() as instance:
        existing = set(instance.get_dynamic_partitions(arguments.name))
        added = [key for key in keys if key not in existing]
        if added:
            instance.add_dynamic_partitions(arguments.name, added)
        forgotten = _forget_removal(instance, arguments.name, keys)
    present = [key for key in keys if key in existing]
    print(
        f"added {len(added)} key(s) to '{arguments.name}'"
        + (f": {', '.join(added)}" if added else "")
        + (f" (already present: {', '.join(present)})" if present else "")
        + (f" (removed before, removal forgotten: {', '.join(forgotten)})" if forgotten else "")
    )
    return 0


def _forget_removal(instance: dg.DagsterInstance, name: str, keys: list[str]) -> list[str]:
    """Forget that these keys were removed (those that were): discovery may add them again."""
    removed = set(instance.get_dynamic_partitions(removed_set(name)))
    forgotten = [key for key in keys if key in removed]
    for key in forgotten:
        instance.delete_dynamic_partition(removed_set(name), key)
    return forgotten


def list_keys(arguments: argparse.Namespace) -> int:
    """Keys one per line: a dynamic namespace's (from the instance), or an entry's, whatever
    its dimensions (static values, the periods of a time cadence, dynamic keys); an entry of
    two dimensions gets `dimension<TAB>key` lines."""
    catalog = Catalog.open(arguments.project)
    found = _keys_of(catalog, arguments.name)
    if arguments.json:
        print_json([{"dimension": dimension, "key": key} for dimension, key in found])
        return 0
    entry = catalog.entries.get(arguments.name)
    several = entry is not None and len(entry.namespaces or []) > 1
    for dimension, key in found:
        print(f"{dimension}\t{key}" if several else key)
    return 0


def _keys_of(catalog: Catalog, name: str) -> list[tuple[str | None, str]]:
    """(dimension, key) pairs: a dynamic namespace's keys (no dimension), or an entry's."""
    entry = catalog.entries.get(name)
    if entry is None or not entry.namespaces:
        if name not in dynamic_namespaces(catalog):
            raise DatanectarError(_unknown_namespace(catalog, name))
        return [(None, key) for key in sorted(_dynamic_keys(name))]
    found: list[tuple[str | None, str]] = []
    for dimension in entry.namespaces:
        if dimension.values is not None:
            keys = list(dimension.values)
        elif dimension.is_time:
            keys = time_keys(dimension)
        else:
            keys = sorted(_dynamic_keys(str(dimension.dynamic)))
        found += [(dimension.name, key) for key in keys]
    return found


def _dynamic_keys(name: str) -> list[str]:
    with _instance() as instance:
        return list(instance.get_dynamic_partitions(name))


def _unknown_namespace(catalog: Catalog, name: str) -> str:
    partitioned = sorted(entry.name for entry in catalog.entries.values() if entry.namespaces)
    dynamic = list(dynamic_namespaces(catalog))
    problem = (
        f"entry '{name}' has no namespaces"
        if name in catalog.entries
        else f"'{name}' is neither a dynamic namespace nor a catalog entry"
    )
    return (
        f"{problem}.{did_you_mean(name, [*partitioned, *dynamic])} Entries with namespaces: "
        f"{', '.join(partitioned) or '(none)'}; dynamic namespaces: {', '.join(dynamic) or '(none)'}."
    )


def discover_keys(arguments: argparse.Namespace) -> int:
    catalog = Catalog.open(arguments.project)
    discovery = discovery_for(catalog, arguments.name)
    discovered = discovery.discover(catalog)
    for key in discovered.rejected:
        print(f"datanectar: refused key {key!r} (not a valid namespace key)", file=sys.stderr)
    name = arguments.name
    with _instance() as instance:
        existing = instance.get_dynamic_partitions(name)
        removed = instance.get_dynamic_partitions(removed_set(name))
        skipped = skipped_keys(discovered, existing, removed)
        if arguments.include_removed:
            new = new_keys(discovered, existing)
        else:
            new = new_keys(discovered, existing, removed=removed)
        if arguments.add and new:
            instance.add_dynamic_partitions(name, new)
            _forget_removal(instance, name, new)
    for key in new:
        print(key)
    if skipped and arguments.include_removed:
        print(
            f"included {len(skipped)} removed key(s): {', '.join(skipped)}"
            + (" (added again, their removal forgotten)" if arguments.add else ""),
            file=sys.stderr,
        )
    elif skipped:
        print(
            f"skipped {len(skipped)} removed key(s): {', '.join(skipped)} (removed with "
            f"`datanectar namespaces remove`; --include-removed counts them, and `datanectar "
            f"namespaces add {name} KEY` adds one again)",
            file=sys.stderr,
        )
    if arguments.add:
        print(f"added {len(new)} key(s) to '{name}'", file=sys.stderr)
    return 0


def remove_keys(arguments: argparse.Namespace) -> int:
    """Each key, in turn: recorded as removed (so that a discovery running meanwhile does not
    add it back), its data removed (unless --keep-data), then deleted from the instance. All
    keys are checked before anything is touched."""
    catalog = Catalog.open(arguments.project)
    name = arguments.name
    entries = check_dynamic_namespace(catalog, name)
    keys = list(dict.fromkeys(arguments.keys))
    for key in keys:
        check_key(key, where=f"dynamic namespace '{name}'")
    with _instance() as instance:
        existing = set(instance.get_dynamic_partitions(name))
        removed_before = set(instance.get_dynamic_partitions(removed_set(name)))
        unknown = [key for key in keys if key not in existing | removed_before]
        if unknown and not arguments.absent_ok:
            raise DatanectarError(_not_keys(name, unknown, sorted(existing)))
        done: list[str] = []
        for key in keys:
            if key not in removed_before:
                instance.add_dynamic_partitions(removed_set(name), [key])
            try:
                removal = (
                    RemovedData(key=key, entries=entries)
                    if arguments.keep_data
                    else remove_key_data(
                        catalog,
                        name,
                        key,
                        dynamic_keys=lambda other: instance.get_dynamic_partitions(other),
                        include_sources=arguments.include_sources,
                    )
                )
            except DatanectarError as exc:
                raise DatanectarError(_stopped(name, key, done, keys, exc)) from exc
            instance.delete_dynamic_partition(name, key)
            done.append(key)
            print(_removal_line(name, removal, kept=arguments.keep_data, absent=key in unknown))
    return 0


def _not_keys(name: str, unknown: list[str], existing: list[str]) -> str:
    hint = did_you_mean(unknown[0], existing) if len(unknown) == 1 else ""
    return (
        f"dynamic namespace '{name}' has no key {', '.join(repr(key) for key in unknown)} in "
        f"the Dagster instance at DAGSTER_HOME={os.environ.get('DAGSTER_HOME')}.{hint} Its "
        f"keys: {', '.join(existing) or '(none)'}. Nothing was removed. Fix: name keys "
        f"`datanectar namespaces list {name}` shows, or pass --absent-ok to remove the data "
        "of a key Dagster no longer has (deleted in the Dagster UI, say)."
    )


def _stopped(name: str, key: str, done: list[str], keys: list[str], exc: Exception) -> str:
    left = keys[keys.index(key) :]
    return (
        f"removing key '{key}' of dynamic namespace '{name}' stopped: {exc} "
        + (f"Removed already: {', '.join(done)}. " if done else "")
        + f"Still in the Dagster instance: {', '.join(left)} ('{key}' is recorded as removed, "
        "so discovery does not add it back meanwhile; its data may be partly removed). Fix: "
        f"remove the cause and run `datanectar namespaces remove {name} {' '.join(left)}` "
        f"again, or `datanectar namespaces add {name} {key}` to keep '{key}'."
    )


def _removal_line(name: str, removal: RemovedData, *, kept: bool, absent: bool) -> str:
    head = f"removed key '{removal.key}' from dynamic namespace '{name}'"
    if absent:
        head += " (not in the Dagster instance)"
    entries = ", ".join(removal.entries)
    if kept:
        return (
            f"{head}; data kept and ignored (no Dagster key reads it, discovery does not add "
            f"it again) in entries {entries}"
        )
    untouched = (
        f"; kept, in read-only stores: {', '.join(removal.read_only)}" if removal.read_only else ""
    ) + (
        f"; kept, sources (inputs; --include-sources removes them): {', '.join(removal.sources)}"
        if removal.sources
        else ""
    )
    if not removal.objects and not removal.records:
        return f"{head}; no stored data of it in entries {entries}{untouched}"
    objects = f"{len(removal.objects)} object(s)" + (
        f" ({objects_by_entry(removal)})" if removal.objects else ""
    )
    records = f", {removal.records} cache record(s)" if removal.records else ""
    return f"{head}; removed {objects}{records}{untouched}"


@contextmanager
def _instance() -> Iterator[dg.DagsterInstance]:
    """The Dagster instance at $DAGSTER_HOME (a clear error when it is unset or unusable)."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise DatanectarError(
            "DAGSTER_HOME is not set; dynamic namespace keys live in the Dagster instance. "
            "Fix: export DAGSTER_HOME=/path/to/dagster_home (the folder with dagster.yaml)."
        )
    import dagster as dg

    try:
        instance = dg.DagsterInstance.get()
    except dg.DagsterError as exc:
        raise DatanectarError(
            f"cannot open the Dagster instance at DAGSTER_HOME={home}: {exc}"
        ) from None
    with instance:
        yield instance

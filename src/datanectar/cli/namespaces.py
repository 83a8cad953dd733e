"""`datanectar namespaces add|list|discover`: the keys of dynamic namespaces.

They are kept by the Dagster instance at $DAGSTER_HOME, the one the Dagster UI and daemon use.
Keys are untrusted: every key is checked before any is added.
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
from ..discovery import check_dynamic_namespace, discovery_for, dynamic_namespaces, new_keys
from ..errors import DatanectarError, did_you_mean
from ..project import Catalog

if TYPE_CHECKING:
    import dagster as dg


def register(commands: argparse._SubParsersAction) -> None:
    namespaces = commands.add_parser(
        "namespaces", help="add, list or discover the keys of dynamic namespaces"
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
    listing.set_defaults(run=list_keys)
    discovering = actions.add_parser(
        "discover", help="print the keys discovery finds that the namespace does not have yet"
    )
    discovering.add_argument("name", metavar="NAME", help="the dynamic namespace")
    discovering.add_argument("--add", action="store_true", help="also add the new keys")
    discovering.set_defaults(run=discover_keys)


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
    present = [key for key in keys if key in existing]
    print(
        f"added {len(added)} key(s) to '{arguments.name}'"
        + (f": {', '.join(added)}" if added else "")
        + (f" (already present: {', '.join(present)})" if present else "")
    )
    return 0


def list_keys(arguments: argparse.Namespace) -> int:
    """Keys one per line: a dynamic namespace's (from the instance), or an entry's, whatever
    its dimensions (static values, the periods of a time cadence, dynamic keys); an entry of
    two dimensions gets `dimension<TAB>key` lines."""
    catalog = Catalog.open(arguments.project)
    name = arguments.name
    entry = catalog.entries.get(name)
    if entry is None or not entry.namespaces:
        if name not in dynamic_namespaces(catalog):
            raise DatanectarError(_unknown_namespace(catalog, name))
        for key in sorted(_dynamic_keys(name)):
            print(key)
        return 0
    several = len(entry.namespaces) > 1
    for dimension in entry.namespaces:
        if dimension.values is not None:
            keys = list(dimension.values)
        elif dimension.is_time:
            keys = time_keys(dimension)
        else:
            keys = sorted(_dynamic_keys(str(dimension.dynamic)))
        for key in keys:
            print(f"{dimension.name}\t{key}" if several else key)
    return 0


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
    with _instance() as instance:
        new = new_keys(discovered, instance.get_dynamic_partitions(arguments.name))
        if arguments.add and new:
            instance.add_dynamic_partitions(arguments.name, new)
    for key in new:
        print(key)
    if arguments.add:
        print(f"added {len(new)} key(s) to '{arguments.name}'", file=sys.stderr)
    return 0


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

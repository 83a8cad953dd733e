"""`datanectar quarantine list` and `datanectar quarantine clear`: the values blocking checks
rejected, kept by entry, run and partition (`datanectar.quarantine`)."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys

from ..project import Catalog
from ..quarantine import Quarantined, kept, remove
from .output import age, print_table


def register(commands: argparse._SubParsersAction) -> None:
    quarantine = commands.add_parser(
        "quarantine", help="list or remove the values blocking checks rejected"
    )
    actions = quarantine.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list", help="list rejected values: entry, partition, run, age, where"
    )
    listing.add_argument("entry", metavar="ENTRY", nargs="?", help="only this entry's")
    listing.add_argument("--json", action="store_true", help="a JSON list, for machines")
    listing.set_defaults(run=list_quarantined)
    clearing = actions.add_parser("clear", help="remove rejected values and their records")
    clearing.add_argument("entry", metavar="ENTRY", nargs="?", help="only this entry's")
    clearing.add_argument(
        "--run", dest="run_id", help="only those a run (id, or a plain write's tag) rejected"
    )
    clearing.add_argument(
        "--older-than", type=float, metavar="DAYS", help="only those older than DAYS days"
    )
    clearing.add_argument(
        "--all", action="store_true", help="every entry's (required when nothing else is given)"
    )
    clearing.set_defaults(run=clear_quarantined)


def _chosen(catalog: Catalog, arguments: argparse.Namespace) -> list[Quarantined]:
    if arguments.entry:
        catalog.entry(arguments.entry)  # an unknown name: a clear error, with suggestions
    found = kept(catalog, [arguments.entry] if arguments.entry else None)
    run = getattr(arguments, "run_id", None)
    older_than = getattr(arguments, "older_than", None)
    if run:
        found = [item for item in found if item.run == run]
    if older_than is not None:
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=older_than)
        found = [item for item in found if item.created_at < cutoff]
    return found


def list_quarantined(arguments: argparse.Namespace) -> int:
    catalog = Catalog.open(arguments.project)
    found = _chosen(catalog, arguments)
    if arguments.json:
        shown = [
            {key: value for key, value in dataclasses.asdict(item).items() if key != "record_store"}
            for item in found
        ]
        print(json.dumps(shown, indent=2))
        return 0
    rows = [
        (item.entry, item.partition_label or "-", item.run, age(item.created_at), item.uri)
        for item in found
    ]
    print_table(("ENTRY", "PARTITION", "RUN", "AGE", "WHERE"), rows)
    return 0


def clear_quarantined(arguments: argparse.Namespace) -> int:
    if not (
        arguments.entry or arguments.run_id or arguments.older_than is not None or arguments.all
    ):
        print(
            "datanectar quarantine clear: name an entry, --run RUN or --older-than DAYS, or "
            "give --all to remove every rejected value.",
            file=sys.stderr,
        )
        return 2
    catalog = Catalog.open(arguments.project)
    removed = remove(catalog.storage, _chosen(catalog, arguments), catalog=catalog)
    print(f"removed {len(removed)} rejected value(s) from quarantine")
    return 0

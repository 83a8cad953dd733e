"""`datanectar versions ENTRY`: a versioned entry's versions (or a Delta table's history),
one manifest with `--show`, and pruning with `--prune` (`--dry-run` says what would go)."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import sys
from typing import Any

from ..errors import DatanectarError
from ..project import Catalog
from .output import Progress, age, on_terminal, print_table


def register(commands: argparse._SubParsersAction) -> None:
    versions = commands.add_parser(
        "versions", help="list a versioned entry's versions (a delta table's history)"
    )
    versions.add_argument("entry", metavar="ENTRY", help="the catalog entry")
    versions.add_argument("--namespace", help="one namespace of a partitioned entry")
    versions.add_argument("--json", action="store_true", help="a JSON list, for machines")
    versions.add_argument("--show", metavar="LABEL", help="print one version's manifest")
    versions.add_argument(
        "--prune", action="store_true", help="remove old versions (the entry's keep, or --keep)"
    )
    versions.add_argument("--keep", type=int, metavar="N", help="versions --prune keeps")
    versions.add_argument(
        "--pin", action="append", default=[], metavar="LABEL", help="a version --prune spares"
    )
    versions.add_argument(
        "--dry-run", action="store_true", help="with --prune: say what would go, remove nothing"
    )
    versions.set_defaults(run=run_versions)


def run_versions(arguments: argparse.Namespace) -> int:
    if arguments.keep is not None and arguments.keep < 1:
        return _usage("--keep is at least 1 (the latest is always kept)")
    if not arguments.prune and (arguments.keep is not None or arguments.pin or arguments.dry_run):
        return _usage("--keep, --pin and --dry-run go with --prune")
    catalog = Catalog.open(arguments.project)
    entry = catalog.entry(arguments.entry)
    if entry.namespaces and not arguments.namespace:
        return _usage(
            f"entry '{entry.name}' has namespaces ({', '.join(d.name for d in entry.namespaces)}): "
            "give --namespace KEY"
        )
    if entry.versioning is None:
        history = _table_history(catalog, arguments)
        if history is None:
            raise DatanectarError(
                f"entry '{entry.name}' is not versioned: it keeps one value. Fix: add "
                "'versioned: true' to it in the catalog."
            )
        if arguments.show or arguments.prune:
            return _usage(
                f"entry '{entry.name}' is a Delta table: its versions are its commits, listed "
                "here; --show and --prune are for versioned entries"
            )
        return _print_history(history, arguments)
    if arguments.prune:
        return _prune(catalog, arguments)
    manifests = catalog.versions(entry.name, namespace=arguments.namespace)
    if arguments.show:
        chosen = next((m for m in manifests if m.label == arguments.show), None)
        if chosen is None:
            known = ", ".join(m.label for m in manifests[-10:]) or "none yet"
            raise DatanectarError(
                f"entry '{entry.name}' has no version '{arguments.show}' (versions: {known})"
            )
        print(chosen.to_json().decode())
        return 0
    if arguments.json:
        print(json.dumps([_as_json(m) for m in manifests], indent=2))
        return 0
    labels = {m.label for m in manifests}
    rows = [
        (
            m.label,
            age(dt.datetime.fromisoformat(m.created)),
            _size(m.size),
            m.content_hash[:12],
            _bytes_of(m, labels),
            ", ".join(f"{k}={v}" for k, v in sorted(m.properties.items())),
        )
        for m in manifests
    ]
    print_table(("LABEL", "AGE", "SIZE", "CONTENT", "BYTES", "PROPERTIES"), rows)
    return 0


def _as_json(manifest: Any) -> dict[str, Any]:
    body = dataclasses.asdict(manifest)
    body["size"] = manifest.size
    return body


def _prune(catalog: Catalog, arguments: argparse.Namespace) -> int:
    entry = catalog.entry(arguments.entry)
    keep = arguments.keep or (entry.versioning.keep if entry.versioning else None)
    if keep is None:
        print(
            f"datanectar versions --prune: entry '{entry.name}' sets no keep. Fix: give --keep N.",
            file=sys.stderr,
        )
        return 2
    known = {m.label for m in catalog.versions(entry.name, namespace=arguments.namespace)}
    unknown = sorted(set(arguments.pin) - known)
    if unknown:
        return _usage(f"--pin {unknown[0]}: entry '{entry.name}' has no such version")
    pinned = frozenset(arguments.pin)
    if arguments.dry_run or not on_terminal(sys.stderr):
        going = catalog.prune(
            entry.name,
            keep=keep,
            namespace=arguments.namespace,
            pinned=pinned,
            dry_run=arguments.dry_run,
        )
    else:
        going = _prune_counted(catalog, entry.name, keep, arguments.namespace, pinned)
    verb = "would remove" if arguments.dry_run else "removed"
    print(f"{verb} {len(going)} version(s) of {entry.name}" + (":" if going else ""))
    for label in going:
        print(f"  {label}")
    return 0


PRUNE_STEPS = 20
"""How many times `--prune` on a terminal reports progress: each step lists the versions
again, so their number is bounded, not one per version."""


def _prune_counted(
    catalog: Catalog, name: str, keep: int, namespace: str | None, pinned: frozenset[str]
) -> list[str]:
    """`Catalog.prune`, in steps counted on the terminal: each step spares (pins) the
    versions of later steps, so together they remove what one call would."""
    plan = catalog.prune(name, keep=keep, namespace=namespace, pinned=pinned, dry_run=True)
    step = max(1, math.ceil(len(plan) / PRUNE_STEPS))
    removed: list[str] = []
    with Progress(f"pruning versions of '{name}'", len(plan)) as shown:
        for start in range(0, len(plan), step):
            later = frozenset(plan[start + step :])
            done = catalog.prune(name, keep=keep, namespace=namespace, pinned=pinned | later)
            removed += done
            shown.advance(len(done))
    return removed


def _table_history(catalog: Catalog, arguments: argparse.Namespace) -> list[dict] | None:
    """A delta table's commits, newest first, or None for a format with no history."""
    from ..formats import TableVersions, get_format
    from ..formats.base import capable

    entry = catalog.entry(arguments.entry)
    fmt = get_format(entry.format or "")
    if not capable(fmt, TableVersions):
        return None
    return fmt.history(catalog.location(entry.name))


def _print_history(history: list[dict], arguments: argparse.Namespace) -> int:
    if arguments.json:
        print(json.dumps(history, indent=2, default=str))
        return 0
    rows = [
        (str(h.get("version")), str(h.get("timestamp", "")), str(h.get("operation", "")))
        for h in history
    ]
    print_table(("VERSION", "TIMESTAMP", "OPERATION"), rows)
    return 0


def _size(size: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def _bytes_of(manifest: Any, labels: set[str]) -> str:
    """Whose bytes a version reads: "= LABEL" of a version still listed, "reused" of one
    pruned since (its bytes kept for this one)."""
    if manifest.stored_with is None:
        return ""
    return f"= {manifest.stored_with}" if manifest.stored_with in labels else "reused"


def _usage(problem: str) -> int:
    print(f"datanectar versions: {problem}.", file=sys.stderr)
    return 2

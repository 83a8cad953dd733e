"""`datanectar catalog list|show|validate|schema`: the entries as the project resolves them,
every problem of its catalog files at once, and the JSON Schema editors check them with."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

from ..catalog import Entry, load_variables
from ..catalog.json_schema import catalog_file_schema
from ..catalog.loader import flat_errors, read_catalog
from ..catalog.namespaces import Dimension
from ..catalog.resolve import resolve_catalog
from ..catalog.time_keys import time_keys
from ..config import load_project
from ..errors import CatalogError, DatanectarError
from ..partitions import target_for
from ..project import Catalog
from ..project_modules import import_producers
from ..targets import Target
from .output import print_json, print_table

SHOWN_KEYS = 5
"""Namespaces `catalog show` gives a location for; a time dimension may have thousands."""


def register(commands: argparse._SubParsersAction) -> None:
    catalog = commands.add_parser(
        "catalog", help="list, show or validate catalog entries, or print the catalog's JSON Schema"
    )
    actions = catalog.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list", help="list entries: name, format, store, namespaces, checks, group"
    )
    listing.add_argument("--json", action="store_true", help="a JSON list, for machines")
    listing.set_defaults(run=list_entries)
    showing = actions.add_parser(
        "show",
        help="show one entry as resolved: store and location per namespace in the active "
        "environment (DATANECTAR_ENV), schema, checks, producer, upstreams",
    )
    showing.add_argument("entry", metavar="ENTRY", help="the catalog entry")
    showing.add_argument("--json", action="store_true", help="a JSON object, for machines")
    showing.set_defaults(run=show_entry)
    validating = actions.add_parser(
        "validate",
        help="report every problem of the catalog files at once (file, entry, field); exit 1 "
        "when there is any",
    )
    validating.add_argument("--json", action="store_true", help="a JSON list, for machines")
    validating.set_defaults(run=validate_catalog)
    schema = actions.add_parser(
        "schema", help="print the JSON Schema of catalog files, for editors (yaml-language-server)"
    )
    schema.add_argument("-o", "--output", help="write the schema to this file (default: stdout)")
    schema.set_defaults(run=print_schema)


# -- list ---------------------------------------------------------------------------------


def list_entries(arguments: argparse.Namespace) -> int:
    catalog = Catalog.open(arguments.project)
    entries = [catalog.entries[name] for name in sorted(catalog.entries)]
    if arguments.json:
        print_json([_summary(catalog, entry) for entry in entries])
        return 0
    rows = [
        (
            entry.name,
            entry.format or "-",
            entry.store or "-",
            "; ".join(_dimension_text(d) for d in entry.namespaces or []) or "-",
            ", ".join(_check_names(entry)) or "-",
            entry.group or "-",
        )
        for entry in entries
    ]
    print_table(("NAME", "FORMAT", "STORE", "NAMESPACES", "CHECKS", "GROUP"), rows)
    return 0


def _summary(catalog: Catalog, entry: Entry) -> dict[str, Any]:
    producer = catalog.producers.get(entry.name)
    return {
        "name": entry.name,
        "format": entry.format,
        "store": entry.store,
        "namespaces": [_dimension_json(d) for d in entry.namespaces or []],
        "checks": _check_names(entry),
        "group": entry.group,
        "source": entry.source,
        "producer": producer.qualified_name if producer else None,
    }


def _check_names(entry: Entry) -> list[str]:
    names = [rule.check_name for rule in entry.checks]
    return ["table_schema", *names] if entry.schema_ is not None else names


def _dimension_text(dimension: Dimension) -> str:
    if dimension.values is not None:
        return f"{dimension.name}: {', '.join(dimension.values)}"
    if dimension.dynamic is not None:
        return f"{dimension.name}: dynamic {dimension.dynamic}"
    span = dimension.span
    start = f" from {span.start}" if span else ""
    return f"{dimension.name}: {dimension.cadence}{start}"


def _dimension_json(dimension: Dimension) -> dict[str, Any]:
    return dimension.model_dump(exclude_none=True)


# -- show ---------------------------------------------------------------------------------


def show_entry(arguments: argparse.Namespace) -> int:
    catalog = Catalog.open(arguments.project)
    entry = catalog.entry(arguments.entry)
    shown = _resolved(catalog, entry)
    if arguments.json:
        print_json(shown)
        return 0
    for label, value in shown.items():
        if value in (None, [], {}):
            continue
        if label == "locations":
            print("locations:")
            for location in value:
                print(f"  {location['namespace'] or '-'}: {location['uri']}")
        elif label == "checks":
            print("checks:")
            for check in value:
                print(f"  {check['name']} ({check['severity']}): {json.dumps(check['rule'])}")
        elif isinstance(value, list):
            print(f"{label}: {', '.join(str(item) for item in value)}")
        elif isinstance(value, dict):
            print(f"{label}: {json.dumps(value, default=str)}")
        else:
            print(f"{label}: {value}")
    return 0


def _resolved(catalog: Catalog, entry: Entry) -> dict[str, Any]:
    store = catalog.stores.get(str(entry.store))
    producer = catalog.producers.get(entry.name)
    signature = catalog.signature_of(producer) if producer else None
    return {
        "name": entry.name,
        "description": entry.description,
        "source": entry.source,
        "environment": catalog.config.environment or "(base settings)",
        "format": entry.format,
        "store": entry.store,
        "store_type": store.type_name if store else None,
        "path": entry.path,
        "namespaces": [_dimension_text(d) for d in entry.namespaces or []],
        "locations": _locations(catalog, entry),
        "schema": entry.schema_,
        "checks": [
            {"name": rule.check_name, "severity": rule.severity, "rule": {rule.kind: _plain(rule)}}
            for rule in entry.checks
        ],
        "producer": _producer_text(producer),
        "upstreams": list(signature.upstream) if signature else [],
        "group": entry.group,
        "owners": entry.owners,
        "tags": entry.tags,
        "versioned": entry.versioning.model_dump() if entry.versioning else None,
        "automation": entry.automation
        if isinstance(entry.automation, str)
        else (entry.automation.model_dump() if entry.automation else None),
    }


def _plain(rule: Any) -> Any:
    value = rule.value
    return value.model_dump(exclude_none=True) if hasattr(value, "model_dump") else value


def _producer_text(producer: Any) -> str | None:
    if producer is None:
        return None
    kind = "cached function" if producer.cached is not None else "asset function"
    return f"{producer.qualified_name} ({kind})"


def _locations(catalog: Catalog, entry: Entry) -> list[dict[str, Any]]:
    """Where the entry lives in the active environment: one location, or one per namespace
    (the first few; a dynamic dimension's keys live in the Dagster instance: its path's
    pattern instead)."""
    if entry.query is not None:
        return [{"namespace": None, "uri": f"query on store '{entry.store}'"}]
    if not entry.namespaces:
        return [{"namespace": None, "uri": catalog.location(entry.name).uri}]
    if any(d.dynamic is not None for d in entry.namespaces):
        uri = catalog.storage.location(Target.of(entry)).uri
        return [{"namespace": "(keys of the Dagster instance)", "uri": uri}]
    keys = [d.values if d.values is not None else time_keys(d) for d in entry.namespaces]
    combinations = itertools.islice(itertools.product(*keys), SHOWN_KEYS)
    found = []
    for combination in combinations:
        partition = {d.name: key for d, key in zip(entry.namespaces, combination, strict=True)}
        target = target_for(entry, partition)
        uri = catalog.storage.location(target).uri
        if target.slice is not None and target.slice.in_place:
            uri += f" (partition {target.slice.label()})"
        found.append({"namespace": ", ".join(combination), "uri": uri})
    total = 1
    for dimension_keys in keys:
        total *= len(dimension_keys)
    if total > SHOWN_KEYS:
        found.append({"namespace": "...", "uri": f"{total - SHOWN_KEYS} more namespace(s)"})
    return found


# -- validate -----------------------------------------------------------------------------


def validate_catalog(arguments: argparse.Namespace) -> int:
    problems = catalog_problems(arguments.project)
    if arguments.json:
        print_json([_problem_json(problem) for problem in problems])
    elif problems:
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s) in the catalog", file=sys.stderr)
    else:
        print("the catalog is valid")
    return 1 if problems else 0


def catalog_problems(project: str | None) -> list[CatalogError]:
    """Every problem of the project's catalog: each file read to its end, then the entries
    that parsed resolved against the functions and stores (what `Catalog.open` does, without
    stopping at the first stage that fails)."""
    config = load_project(project)
    settings = config.settings
    try:
        variables = load_variables(
            config.path(settings.configuration) if settings.configuration else None
        )
        read = read_catalog(
            config.path(settings.catalog), variables=variables, project_root=config.root
        )
        producers = import_producers(config, settings.modules)
    except CatalogError as exc:  # the configuration or the modules: nothing more to check
        return flat_errors([exc])
    problems = list(read.errors)
    try:
        resolve_catalog(config, config.open_stores(), read.entries, producers, unparsed=read.broken)
    except CatalogError as exc:
        problems.append(exc)
    # by file, in the order found within each (parsing, then resolving)
    return sorted(
        flat_errors(problems), key=lambda problem: (problem.file is None, problem.file or "")
    )


def _problem_json(problem: CatalogError) -> dict[str, Any]:
    return {
        "name": problem.entry,
        "file": problem.file,
        "entry": problem.entry,
        "field": problem.field,
        "line": problem.line,
        "problem": problem.problem,
        "fix": problem.fix or None,
        "message": str(problem),
    }


# -- schema -------------------------------------------------------------------------------


def print_schema(arguments: argparse.Namespace) -> int:
    text = json.dumps(catalog_file_schema(), indent=2, ensure_ascii=False) + "\n"
    if arguments.output:
        try:
            Path(arguments.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise DatanectarError(f"cannot write {arguments.output}: {exc.strerror}.") from None
        print(f"wrote {arguments.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0

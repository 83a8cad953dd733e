"""frictionless as the test oracle: its errors in the shape the tests compare."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import frictionless as fl
from frictionless.formats import CsvControl

Error = tuple[str, int | None, str | None, str]


def frictionless_errors(report: fl.Report) -> tuple[bool, list[Error]]:
    """(valid, [(type, row number, field name, message)]) of a frictionless report."""
    found = report.tasks[0].errors if report.tasks else report.errors
    return report.valid, [
        (
            error.type,
            getattr(error, "row_number", None),
            # as frictionless names it: "" for an extra cell or label
            getattr(error, "field_name", None),
            error.message,
        )
        for error in found
    ]


def frictionless_csv(
    path: Path, schema: Mapping[str, Any], *, others: Mapping[str, tuple[Path, Mapping]] = {}
) -> tuple[bool, list[Error]]:
    """frictionless on a CSV file; `others` are the tables foreign keys point to."""
    options = {
        "basepath": str(path.parent),
        "encoding": "utf-8",
        # the sniffer may take a ';' or '|' inside a cell for the delimiter: tell it
        "dialect": fl.Dialect(controls=[CsvControl(delimiter=",")]),
        # a v2 schema (exclusiveMinimum...) is only accepted inside a v2 resource
        **({"datapackage_version": "v2"} if "$schema" in schema else {}),
    }
    resource = fl.Resource(
        path=path.name, name="main", schema=fl.Schema.from_descriptor(dict(schema)), **options
    )
    if others:
        resources = [resource] + [
            fl.Resource(
                path=other.name,
                name=name,
                schema=fl.Schema.from_descriptor(dict(other_schema)),
                **options,
            )
            for name, (other, other_schema) in others.items()
        ]
        fl.Package(resources=resources, basepath=str(path.parent))
    return frictionless_errors(resource.validate(limit_errors=10**6))


def frictionless_detected_csv(
    path: Path, schema: Mapping[str, Any], *, dialect: Mapping[str, Any] | None = None
) -> tuple[bool, list[Error]]:
    """frictionless on a CSV file as `frictionless validate` reads it: the encoding and the
    dialect detected, save what `dialect` (a Table Dialect descriptor) pins."""
    resource = fl.Resource(
        path=path.name,
        basepath=str(path.parent),
        name="main",
        schema=fl.Schema.from_descriptor(dict(schema)),
        **({"dialect": fl.Dialect.from_descriptor(dict(dialect))} if dialect else {}),
    )
    return frictionless_errors(resource.validate(limit_errors=10**6))

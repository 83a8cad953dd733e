"""`datanectar infer ENTRY_OR_PATH`: a Table Schema inferred from data, to start a schema from.

A catalog entry stored as csv, or a file path, is described by frictionless itself (as
`frictionless describe` would); other table entries are loaded and their DataFrame described.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import DatanectarError
from ..project import Catalog
from ..targets import Target
from .output import status


def register(commands: argparse._SubParsersAction) -> None:
    infer = commands.add_parser(
        "infer", help="write a Table Schema inferred from an entry or a file"
    )
    infer.add_argument(
        "source", metavar="ENTRY_OR_PATH", help="a catalog entry name, or a data file"
    )
    infer.add_argument("-o", "--output", help="write the schema to this file (default: stdout)")
    infer.set_defaults(run=infer_schema)


def infer_schema(arguments: argparse.Namespace) -> int:
    descriptor = describe(arguments.source, project=arguments.project)
    text = json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n"
    if arguments.output:
        Path(arguments.output).write_text(text, encoding="utf-8")
        print(f"wrote {arguments.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def describe(source: str, *, project: str | None) -> dict[str, Any]:
    import frictionless

    path = Path(source)
    if path.is_file():
        return _describe_file(frictionless, path)
    catalog = Catalog.open(project)
    entry = catalog.entry(source)
    target = Target.of(entry)
    location = catalog.storage.location(target)
    if catalog.storage.stores_text(target) and location.store.is_local:  # frictionless reads it
        return _describe_file(frictionless, Path(location.path))
    with status(f"loading '{source}'"):
        value = catalog.load(source)
    frame = value.to_pandas() if hasattr(value, "num_rows") else value
    if not hasattr(frame, "columns"):
        raise DatanectarError(
            f"entry '{source}' holds {type(value).__name__}, not a table; a Table Schema describes tables."
        )
    resource = frictionless.Resource(frame)
    with status(f"describing '{source}'"):
        resource.infer()
    return resource.schema.to_descriptor()


def _describe_file(frictionless: Any, path: Path) -> dict[str, Any]:
    # frictionless refuses absolute paths unless given the folder they are safe within.
    with status(f"describing {path.name}"):
        resource = frictionless.describe(path.name, basepath=str(path.resolve().parent))
    return resource.schema.to_descriptor()

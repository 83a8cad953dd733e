"""The JSON Schema of catalog files, generated from the typed models (`EntryFields`), so that
editors validate and complete catalog YAML (`datanectar catalog schema`).

pydantic describes what the models hold once parsed; a few fields accept shorter YAML forms
that a `mode="before"` validator turns into that (`versioned: true`, `namespaces: [a, b]`,
`headerRows: 2`). Those forms are added here, built from the same models and constants, so
that the schema accepts what the loader accepts: no hand-kept copy of any field.
"""

from __future__ import annotations

from typing import Any

from ..formats import format_names
from ..formats.csv_dialect import CsvDialect
from .models import NAME_PATTERN, EntryFields
from .namespaces import CADENCES, DIMENSION_NAME, KEY
from .rules import RULES

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_REF = "#/$defs/{model}"


def catalog_file_schema() -> dict[str, Any]:
    """A catalog file: a mapping from entry name to entry (an entry may be left empty)."""
    entry = EntryFields.model_json_schema(by_alias=True, ref_template=_REF)
    defs: dict[str, Any] = entry.pop("$defs", {})
    entry["title"] = "Catalog entry"
    entry["type"] = ["object", "null"]  # `name:` alone: an entry of defaults
    defs["Entry"] = entry
    _short_forms(entry, defs)
    return {
        "$schema": DIALECT,
        "title": "datanectar catalog file",
        "description": "A mapping from entry name to entry; see `datanectar catalog schema` "
        "and the README's catalog entry fields.",
        "type": ["object", "null"],
        "propertyNames": {"pattern": _whole(NAME_PATTERN.pattern)},
        "additionalProperties": {"$ref": "#/$defs/Entry"},
        "$defs": defs,
    }


def _short_forms(entry: dict[str, Any], defs: dict[str, Any]) -> None:
    fields = entry["properties"]
    fields["format"] = {
        **_described(fields["format"]),
        "anyOf": [{"enum": format_names()}, {"type": "null"}],
    }
    fields["versioned"] = {
        **_described(fields["versioned"]),
        "anyOf": [{"type": "boolean"}, {"$ref": "#/$defs/Versioning"}, {"type": "null"}],
    }
    fields["namespaces"] = {**_described(fields["namespaces"]), "anyOf": _namespace_forms()}
    _one_rule_per_check(defs["Rule"])
    _single_row_numbers(defs[CsvDialect.__name__])


def _namespace_forms() -> list[dict[str, Any]]:
    """`parse_namespaces`'s forms: keys, {dynamic: NAME}, {CADENCE: span}, two named
    dimensions of those, or the parsed list of dimensions."""
    keys = {
        "type": "array",
        "items": {
            "anyOf": [{"type": "string", "pattern": _whole(KEY.pattern)}, {"type": "integer"}]
        },
    }
    dynamic = {
        "type": "object",
        "properties": {"dynamic": {"type": "string", "pattern": _whole(DIMENSION_NAME.pattern)}},
        "required": ["dynamic"],
        "additionalProperties": False,
    }
    cadence = {
        "type": "object",
        "properties": {name: {"$ref": "#/$defs/TimeSpan"} for name in CADENCES},
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": False,
    }
    two = {
        "type": "object",
        "propertyNames": {"pattern": _whole(DIMENSION_NAME.pattern)},
        "additionalProperties": {"anyOf": [keys, dynamic, cadence]},
        "minProperties": 2,
        "maxProperties": 2,
    }
    parsed = {"type": "array", "items": {"$ref": "#/$defs/Dimension"}, "minItems": 1}
    return [keys, parsed, dynamic, cadence, two, {"type": "null"}]


def _one_rule_per_check(rule: dict[str, Any]) -> None:
    """A check names exactly one rule (`Rule`'s own validator): one of them is required."""
    rule["oneOf"] = [{"required": [name]} for name in RULES]


def _single_row_numbers(dialect: dict[str, Any]) -> None:
    """`headerRows: 2` is `headerRows: [2]`."""
    for name in ("header_rows", "comment_rows"):
        key = CsvDialect.model_fields[name].alias or name
        field = dialect["properties"][key]
        field["anyOf"] = [{"type": "integer", "minimum": 1}, *field.get("anyOf", [field])]


def _described(field: dict[str, Any]) -> dict[str, Any]:
    return {key: field[key] for key in ("title", "description", "default") if key in field}


def _whole(pattern: str) -> str:
    return f"^(?:{pattern})$"

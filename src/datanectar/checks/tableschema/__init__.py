"""The Table Schema validator: frictionless's verdict on a table, evaluated column by column.

`validate_table` is the entry point (see `validator` for where the result can differ from
frictionless, on purpose). It owns its cell reading too: `csv_text` reads a CSV's cells as
text into a `TextTable`, as frictionless reads the file, for the csv format to hand over.
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use: the validator loads frictionless, which a process that only reads a
# table's cells (or only imports datanectar) need not pay for.
_PUBLIC = {
    "ForeignTable": ".table_view",
    "RaggedRecords": ".text_table",
    "TableSchemaError": ".schema_error",
    "TextTable": ".text_table",
    "load_schema": ".validator",
    "read_csv_as_text": ".csv_text",
    "validate_table": ".validator",
}

__all__ = list(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Checks: rules evaluated on a value, returning structured results. No Dagster here.

`validate_table` gives frictionless's Table Schema verdict, evaluated column by column.
"""

from __future__ import annotations

import importlib
from typing import Any

from .results import DEFAULT_FAILURE_LIMIT, CheckFailure, CheckResult, ReportMode

# The Table Schema names are imported on first use: they load frictionless, which a process
# that only evaluates rules (or only imports datanectar) need not pay for.
_TABLE_SCHEMA = (
    "ForeignTable",
    "TableSchemaError",
    "load_schema",
    "read_csv_as_text",
    "validate_table",
)

__all__ = ["DEFAULT_FAILURE_LIMIT", "CheckFailure", "CheckResult", "ReportMode", *_TABLE_SCHEMA]


def __getattr__(name: str) -> Any:
    if name in _TABLE_SCHEMA:
        return getattr(importlib.import_module(".table_schema", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

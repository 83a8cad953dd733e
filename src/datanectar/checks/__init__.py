"""Checks: rules evaluated on a value, returning structured results. No Dagster here.

`validate_table` gives frictionless's Table Schema verdict, evaluated column by column.
"""

from __future__ import annotations

from .results import DEFAULT_FAILURE_LIMIT, CheckFailure, CheckResult, ReportMode
from .table_schema import (
    ForeignTable,
    TableSchemaError,
    load_schema,
    read_csv_as_text,
    validate_table,
)

__all__ = [
    "DEFAULT_FAILURE_LIMIT",
    "CheckFailure",
    "CheckResult",
    "ForeignTable",
    "ReportMode",
    "TableSchemaError",
    "load_schema",
    "read_csv_as_text",
    "validate_table",
]

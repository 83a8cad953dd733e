"""Checks: rules evaluated on a value, returning structured results. No Dagster here.

Two engines share the result types (`results`): `rules/`, the catalog's quick rules, and
`tableschema/`, which gives frictionless's Table Schema verdict, evaluated column by column,
and reads a CSV's cells as text the way frictionless does. `audit` runs an entry's checks.
"""

from __future__ import annotations

from typing import Any

from . import tableschema
from .results import DEFAULT_FAILURE_LIMIT, CheckFailure, CheckResult, ReportMode

# The Table Schema names are the subpackage's, imported on first use: they load frictionless,
# which a process that only evaluates rules (or only imports datanectar) need not pay for.
__all__ = [
    "DEFAULT_FAILURE_LIMIT",
    "CheckFailure",
    "CheckResult",
    "ReportMode",
    *tableschema.__all__,
]


def __getattr__(name: str) -> Any:
    if name in tableschema.__all__:
        return getattr(tableschema, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

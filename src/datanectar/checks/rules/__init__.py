"""The catalog's rules engine: the quick rules a catalog entry lists under `checks`.

Table rules (row_count, not_null, unique, values_in, range) on data frames, xarray rules (dims,
coords, variables, range, max_nan_fraction) on grids, and custom checks, a user's function.
Each evaluates to a `CheckResult`; `checks.audit` runs them after the Table Schema.
"""

from __future__ import annotations

from .custom import CustomCheckError, evaluate_custom_rule, resolve_custom
from .grids import evaluate_grid_rule
from .tables import evaluate_table_rule

__all__ = [
    "CustomCheckError",
    "evaluate_custom_rule",
    "evaluate_grid_rule",
    "evaluate_table_rule",
    "resolve_custom",
]

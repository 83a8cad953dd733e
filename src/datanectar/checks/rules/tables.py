"""The quick table rules (row_count, not_null, unique, values_in, range), vectorized.

Rows are numbered as frictionless numbers them (the header is row 1), so failures of these
rules and of a Table Schema line up in one report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ...catalog.range_bounds import parse_bounds
from ...catalog.rules import Rule
from ..results import CheckFailure, CheckResult
from .ranges import TypeMismatch, not_among_times, outside, series_observed, type_described

FIRST_DATA_ROW = 2


def evaluate_table_rule(rule: Rule, frame: pd.DataFrame, *, cap: int | None) -> CheckResult:
    failures, by_type = _RULES[rule.kind](rule.value, frame)
    count = sum(by_type.values())
    return CheckResult(
        name=rule.check_name,
        passed=count == 0,
        error_count=count,
        errors_by_type=by_type,
        failures=failures if cap is None else failures[:cap],
        metadata=_observed(rule, frame),
    )


def _observed(rule: Rule, frame: pd.DataFrame) -> dict[str, Any]:
    """A range rule's observed min and max per column: how close the data came to the
    bounds, worth seeing when the check passes too."""
    if rule.kind != "range":
        return {}
    found: dict[str, Any] = {}
    for column in rule.value:
        if column in frame.columns:
            found.update(series_observed(frame[column], column))
    return found


Found = tuple[list[CheckFailure], dict[str, int]]
"""The failures built (the first rows only), and the count of every error, by type."""


def _row_count(spec: Any, frame: pd.DataFrame) -> Found:
    rows = len(frame)
    if spec.min is not None and rows < spec.min:
        message = f"the table has {rows} rows, fewer than the minimum {spec.min}"
    elif spec.max is not None and rows > spec.max:
        message = f"the table has {rows} rows, more than the maximum {spec.max}"
    else:
        return [], {}
    return [CheckFailure(type="row-count", message=message)], {"row-count": 1}


def _not_null(columns: list[str], frame: pd.DataFrame) -> Found:
    return _per_column(
        frame,
        columns,
        lambda series: series.isna().to_numpy(),
        "null-value",
        lambda c, v: f"'{c}' is missing",
    )


def _values_in(allowed: dict[str, list[Any]], frame: pd.DataFrame) -> Found:
    def outside(column: str) -> Callable[[pd.Series], np.ndarray]:
        def among(series: pd.Series) -> np.ndarray:
            as_times = not_among_times(series, allowed[column])
            if as_times is not None:
                return as_times
            return (~series.isin(allowed[column]) & series.notna()).to_numpy()

        return among

    found = [
        _per_column(
            frame,
            [column],
            outside(column),
            "value-not-allowed",
            lambda c, v: f"'{c}' is {_shown(v)}, not one of {allowed[c]!r}",
        )
        for column in allowed
    ]
    return _merge(found)


def _range(pairs: dict[str, Any], frame: pd.DataFrame) -> Found:
    found = []
    for column, bounds in {c: parse_bounds(pair) for c, pair in pairs.items()}.items():
        if column in frame.columns:
            try:
                outside(frame[column], bounds)
            except TypeMismatch as mismatch:
                described = type_described(frame[column])
                needs = "numbers" if bounds.kind == "number" else "dates or times"
                failure = CheckFailure(
                    type="type-mismatch",
                    message=f"'{column}' holds {described}{mismatch}: range "
                    f"{bounds.describe()} needs {needs}",
                    field_name=column,
                )
                found.append(([failure], {"type-mismatch": 1}))
                continue

        def out_of_range(series: pd.Series, bounds: Any = bounds) -> np.ndarray:
            return outside(series, bounds)

        found.append(
            _per_column(
                frame,
                [column],
                out_of_range,
                "out-of-range",
                lambda c, v, bounds=bounds: f"'{c}' is {_shown(v)}, outside {bounds.describe()}",
            )
        )
    return _merge(found)


def _unique(columns: list[str], frame: pd.DataFrame) -> Found:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        return [_missing_column(missing[0])], {"missing-column": 1}
    duplicated = frame.duplicated(subset=columns, keep="first").to_numpy()
    positions = np.flatnonzero(duplicated)
    label = ", ".join(columns)
    failures = [
        CheckFailure(
            type="unique-error",
            message=f"({label}) = ({', '.join(_shown(frame.iloc[p][c]) for c in columns)}) repeats an earlier row",
            row_number=int(p) + FIRST_DATA_ROW,
            field_name=label,
        )
        for p in positions[:_KEEP]
    ]
    return failures, ({"unique-error": len(positions)} if len(positions) else {})


def _per_column(
    frame: pd.DataFrame,
    columns: list[str],
    mask_of: Callable[[pd.Series], np.ndarray],
    error_type: str,
    message: Callable[[str, Any], str],
) -> Found:
    failures: list[CheckFailure] = []
    counts: dict[str, int] = {}
    for column in columns:
        if column not in frame.columns:
            failures.append(_missing_column(column))
            counts["missing-column"] = counts.get("missing-column", 0) + 1
            continue
        series = frame[column]
        positions = np.flatnonzero(mask_of(series))
        if len(positions):
            counts[error_type] = counts.get(error_type, 0) + len(positions)
        field_number = int(frame.columns.get_loc(column)) + 1
        failures += [
            CheckFailure(
                type=error_type,
                message=message(column, series.iloc[p]),
                row_number=int(p) + FIRST_DATA_ROW,
                field_name=column,
                field_number=field_number,
                cell=str(series.iloc[p]),
            )
            for p in positions[:_KEEP]
        ]
    return failures, counts


def _missing_column(column: str) -> CheckFailure:
    return CheckFailure(
        type="missing-column", message=f"the table has no column '{column}'", field_name=column
    )


def _shown(value: Any) -> str:
    plain = value.item() if hasattr(value, "item") else value
    return repr(plain) if isinstance(plain, str) else str(plain)


def _merge(found: list[Found]) -> Found:
    failures: list[CheckFailure] = []
    counts: dict[str, int] = {}
    for some, their_counts in found:
        failures += some
        for kind, n in their_counts.items():
            counts[kind] = counts.get(kind, 0) + n
    return failures, counts


# Failures built per rule and column; the report keeps at most the configured number.
_KEEP = 10_000
_RULES: dict[str, Callable[[Any, pd.DataFrame], Found]] = {
    "row_count": _row_count,
    "not_null": _not_null,
    "unique": _unique,
    "values_in": _values_in,
    "range": _range,
}

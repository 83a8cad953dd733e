"""Which values of a column lie outside a `range` rule's bounds, whatever the column holds.

Numbers against number bounds; times against time bounds, every time compared as a UTC
instant (datetime64 of any unit, aware or naive, `datetime.date` and `datetime` objects, ISO
text as a csv stores them: a naive time is taken as UTC). Missing values (NaN, NaT, None)
are never out of range, whatever the type: `not_null` is the rule for them. A column whose
values do not fit the bounds (text against numbers, numbers against dates) is a failure
naming the column and its type, never a silent pass.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from ...catalog.range_bounds import Bounds

_NUMBER_KINDS = ("integer", "floating", "mixed-integer-float", "decimal")
_TIME_KINDS = ("datetime64", "datetime", "date")


class TypeMismatch(Exception):
    """The column's values are of no type the bounds can be compared with (its text, when
    set, says more: "text that is not ISO dates or times")."""

    def __str__(self) -> str:
        return f", {self.args[0]}" if self.args else ""


def outside(series: pd.Series, bounds: Bounds) -> np.ndarray:
    """Which rows lie outside `bounds`; TypeMismatch saying why when the column cannot be
    compared with them. A categorical column is judged by its values (numbers, times)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(series.cat.categories.dtype)
    values = _numbers(series) if bounds.kind == "number" else _instants(series)
    mask = np.zeros(len(series), dtype=bool)
    if bounds.low is not None:
        mask |= _compare(values, bounds.low, below=True, open_=False)
    if bounds.high is not None:
        mask |= _compare(values, bounds.high, below=False, open_=bounds.high_open)
    return mask


def grid_outside(values: Any, bounds: Bounds) -> Any:
    """The same for an xarray variable (lazily, when it is dask-backed): numbers against
    numbers, datetime64 (naive: UTC) against times."""
    is_time = np.issubdtype(values.dtype, np.datetime64)
    is_number = np.issubdtype(values.dtype, np.number) and not np.issubdtype(values.dtype, np.bool_)
    if (bounds.kind == "time" and not is_time) or (bounds.kind == "number" and not is_number):
        raise TypeMismatch

    def limit(bound: Any) -> Any:
        if isinstance(bound, float):
            return bound
        return np.datetime64(pd.Timestamp(bound).tz_convert("UTC").tz_localize(None), "ns")

    found = values.isnull() & False  # NaN and NaT compare False: never out of range
    if bounds.low is not None:
        found = found | (values < limit(bounds.low))
    if bounds.high is not None:
        high = limit(bounds.high)
        found = found | ((values >= high) if bounds.high_open else (values > high))
    return found


def observed(low: Any, high: Any, name: str) -> dict[str, Any]:
    """A range check's metadata: the smallest and largest value seen (a time as ISO text),
    under `NAME min` and `NAME max`; nothing when every value is missing."""
    if low is None or pd.isna(low):
        return {}

    def shown(value: Any) -> Any:
        if isinstance(value, np.datetime64 | pd.Timestamp | dt.date):
            return pd.Timestamp(value).isoformat()
        return value.item() if hasattr(value, "item") else value

    return {f"{name} min": shown(low), f"{name} max": shown(high)}


def series_observed(series: pd.Series, name: str) -> dict[str, Any]:
    """`observed` of a table column (missing values aside); nothing for one that is not
    numbers or times, whose failure says so."""
    kinds = pd.api.types
    if not (
        (kinds.is_numeric_dtype(series.dtype) and not kinds.is_bool_dtype(series.dtype))
        or kinds.is_datetime64_any_dtype(series.dtype)
    ):
        return {}
    present = series.dropna()
    if present.empty:
        return {}
    return observed(present.min(), present.max(), name)


def not_among_times(series: pd.Series, allowed: list[Any]) -> np.ndarray | None:
    """For `values_in` on times: which values are none of `allowed`, compared as UTC
    instants (a date column, its datetime64 reading back from SQL, its ISO text in a csv
    and allowed values given as dates or ISO text all agree); None when the column or the
    allowed values are not times, for a plain comparison."""
    temporal_column = pd.api.types.is_datetime64_any_dtype(series.dtype) or (
        pd.api.types.infer_dtype(series, skipna=True) in _TIME_KINDS
    )
    dated = any(isinstance(value, dt.date) for value in allowed)
    if not (temporal_column or dated):
        return None
    try:
        instants = _instants(series)
        wanted = pd.to_datetime(pd.Series(allowed, dtype=object), utc=True, format="ISO8601")
    except (TypeMismatch, ValueError, TypeError):
        return None
    found = instants.isin(wanted) | instants.isna()
    return ~found.to_numpy(dtype=bool)


def type_described(series: pd.Series) -> str:
    kind = pd.api.types.infer_dtype(series, skipna=True)
    plain = {"string": "text", "mixed": "mixed values", "boolean": "booleans"}.get(kind, kind)
    return f"{plain} ({series.dtype})"


def _numbers(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series.dtype):
        raise TypeMismatch
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype("float64")
    if pd.api.types.infer_dtype(series, skipna=True) in (*_NUMBER_KINDS, "empty"):
        return pd.to_numeric(series, errors="coerce").astype("float64")
    raise TypeMismatch


def _instants(series: pd.Series) -> pd.Series:
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        times = series
    else:
        kind = pd.api.types.infer_dtype(series, skipna=True)
        if kind == "empty":
            return pd.Series(pd.NaT, index=series.index, dtype="datetime64[us, UTC]")
        if kind not in (*_TIME_KINDS, "string"):
            raise TypeMismatch
        try:
            # ISO text is how a csv keeps times; mixed offsets and naive text alike
            times = pd.to_datetime(series, utc=True, format="ISO8601")
        except (ValueError, TypeError):
            raise TypeMismatch("not all ISO dates or times") from None
    if times.dt.tz is None:
        return times.dt.tz_localize("UTC")
    return times.dt.tz_convert("UTC")


def _compare(values: pd.Series, bound: Any, *, below: bool, open_: bool) -> np.ndarray:
    if isinstance(bound, float):
        limit: Any = bound
    else:
        limit = pd.Timestamp(bound)
    if below:
        found = values < limit
    else:
        found = values >= limit if open_ else values > limit
    # a missing value compares False: never out of range
    return found.to_numpy(dtype=bool, na_value=False)

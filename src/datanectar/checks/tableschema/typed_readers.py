"""Fast readers of typed columns (as loaded from parquet or delta), one per field type.

Each mirrors the isinstance() ladder of the frictionless value reader for the Python object
pandas hands it: int, float, bool or datetime. A value of a type frictionless refuses for the
field is a type error; one it would convert with a loss of precision is left to it.
"""

from __future__ import annotations

import numpy as np
from frictionless import Field

from . import temporal
from .cells import Column
from .fast_read import FastRead, FastReader, read_nothing

_EXACT_FLOAT_INT = 2**53  # integers beyond it have no exact float64


def _typed_wrong(field_: Field, column: Column, candidates: np.ndarray) -> FastRead:
    return FastRead(fast=np.zeros(len(candidates), bool), type_error=candidates)


def _typed_any(field_: Field, column: Column, candidates: np.ndarray) -> FastRead:
    if column.kind == "datetime" or field_.constraints.get("enum") is not None:
        return read_nothing(field_, column, candidates)
    return FastRead(fast=candidates, values=column.numbers)


def _typed_integers(field_: Field, column: Column, candidates: np.ndarray) -> FastRead:
    if column.kind == "integer":
        values = column.numbers
        if values.dtype == np.uint64:
            fast = values <= np.iinfo(np.int64).max  # larger ones: frictionless reads them
            return FastRead(fast=fast, values=np.where(fast, values, 0).astype(np.int64))
        return FastRead(fast=candidates, values=values)
    if column.kind == "float":
        values = column.numbers
        integral = np.isfinite(values) & (np.floor(values) == values)
        fast = integral & (np.abs(values) < 2.0**63)
        safe = np.where(fast, values, 0).astype(np.int64)
        return FastRead(fast=fast, values=safe, type_error=~integral)
    return _typed_wrong(field_, column, candidates)


def _typed_numbers(field_: Field, column: Column, candidates: np.ndarray) -> FastRead:
    if column.kind == "integer":
        values = column.numbers
        fast = values <= _EXACT_FLOAT_INT
        if values.dtype != np.uint64:
            fast &= values >= -_EXACT_FLOAT_INT
        return FastRead(fast=fast, values=values.astype(np.float64))
    if column.kind == "float":
        # frictionless reads Decimal(str(x)): equal and ordered exactly as x itself
        return FastRead(fast=candidates, values=column.numbers)
    return _typed_wrong(field_, column, candidates)


def _typed_booleans(field_: Field, column: Column, candidates: np.ndarray) -> FastRead:
    if column.kind == "boolean":
        return FastRead(fast=candidates, values=column.numbers)
    return _typed_wrong(field_, column, candidates)


def _typed_years(field_: Field, column: Column, candidates: np.ndarray) -> FastRead:
    if column.kind in ("integer", "boolean"):  # bool is an int to isinstance()
        values = column.numbers.astype(np.int64) if column.kind == "boolean" else column.numbers
        if values.dtype == np.uint64:
            values = np.minimum(values, 10_000).astype(np.int64)
        in_range = (values >= 0) & (values <= 9999)
        return FastRead(fast=in_range, values=values, type_error=~in_range)
    return _typed_wrong(field_, column, candidates)


def _typed_dates(field_: Field, column: Column, candidates: np.ndarray) -> FastRead:
    if column.kind != "datetime":
        return _typed_wrong(field_, column, candidates)
    wall, _ = temporal.typed_datetimes(column.series)
    # frictionless accepts a datetime as a date when its hour, minute and second are 0
    midnight = (wall % temporal.MICROS_PER_DAY) < 1_000_000
    return FastRead(fast=midnight, values=temporal.days_of(wall), type_error=~midnight)


def _typed_datetimes(field_: Field, column: Column, candidates: np.ndarray) -> FastRead:
    if column.kind != "datetime":
        return _typed_wrong(field_, column, candidates)
    _, utc = temporal.typed_datetimes(column.series)
    aware = np.full(len(utc), getattr(column.series.dtype, "tz", None) is not None)
    return FastRead(fast=candidates, values=utc, aware=aware)


TYPED_READERS: dict[str, FastReader] = {
    "string": _typed_wrong,
    "any": _typed_any,
    "integer": _typed_integers,
    "number": _typed_numbers,
    "boolean": _typed_booleans,
    "year": _typed_years,
    "date": _typed_dates,
    "datetime": _typed_datetimes,
    "time": _typed_wrong,
}

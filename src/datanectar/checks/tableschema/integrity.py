"""unique, primaryKey and foreignKeys over whole columns.

frictionless keeps, row by row, a dict of the values seen so far and reports a row whose value
(or key tuple) is already in it, naming the latest earlier row with that value. That is
`duplicated(keep="first")` over the rows whose value is not None, and a grouped shift for the
"same as in the row at position" note. Values compare as frictionless's Python values do:
fast values are compared in their numpy form when both sides have the same form (which keeps
equality exact, see `field_types`), and as Python objects otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .field_types import ParsedColumn

_FEW_REPEATS = 8
_DOMAINS = {
    "integer": "int",
    "year": "int",
    "number": "number",
    "boolean": "bool",
    "string": "text",
    "date": "date",
    "datetime": "datetime",
    "time": "time",
}


@dataclass(frozen=True)
class Duplicates:
    rows: np.ndarray
    """Rows whose value was seen in an earlier row, ascending."""
    previous: np.ndarray
    """For each of `rows`, the latest earlier row with the same value."""


@dataclass(frozen=True)
class KeyColumn:
    """One field's values at some rows, as arrays pandas hashes and compares like the
    Python values frictionless compares."""

    domain: str
    none: np.ndarray
    arrays: tuple[Any, ...]


def key_column(parsed: ParsedColumn, rows: np.ndarray, *, as_objects: bool = False) -> KeyColumn:
    none = parsed.value_missing[rows]
    domain = _domain(parsed)
    if as_objects or domain == "object":
        return KeyColumn("object", none, (_python_values(parsed, rows),))
    values = parsed.values
    every_row = len(rows) == parsed.size  # rows are distinct and ascending: all of them
    if domain == "text":
        # blank cells hold their raw text (or null): give them all one value, as None is one
        text = values if every_row else values.take(pa.array(rows))
        if none.any():
            text = pc.if_else(pa.array(none), pa.scalar("", text.type), text)
        return KeyColumn(domain, none, (text.to_pandas(),))
    picked = values if every_row else values[rows]
    arrays: tuple[Any, ...] = (np.where(none, 0, picked) if none.any() else picked,)
    if domain == "datetime":
        aware = np.zeros(parsed.size, bool) if parsed.aware is None else parsed.aware
        arrays += (aware[rows],)
    return KeyColumn(domain, none, arrays)


def unique_duplicates(parsed: ParsedColumn) -> Duplicates:
    """frictionless's unique-error rows: values seen before (None is never compared)."""
    domain = _domain(parsed)
    if domain in ("int", "date", "time") and parsed.values.dtype.kind == "i":
        # every row at once, blank and wrong cells set apart: no gather of the others
        involved = _repeated_integers(parsed.values, skip=parsed.value_missing)
        return _duplicates([parsed], np.flatnonzero(involved), with_none=False)
    eligible = np.flatnonzero(~parsed.value_missing)
    if domain == "text":
        # dictionary codes hash faster than strings and keep string equality
        codes = pc.dictionary_encode(parsed.values.take(pa.array(eligible))).indices
        involved = pd.Series(codes.to_numpy(zero_copy_only=False)).duplicated(keep=False)
    elif domain == "object":
        involved = pd.Series(_python_values(parsed, eligible)).duplicated(keep=False)
    else:
        key = key_column(parsed, eligible)
        if len(key.arrays) == 1:
            involved = pd.Series(key.arrays[0]).duplicated(keep=False)
        else:
            involved = _frame([key], with_none=False).duplicated(keep=False)
    return _duplicates([parsed], eligible[involved.to_numpy()], with_none=False)


def _repeated_integers(values: np.ndarray, skip: np.ndarray | None = None) -> np.ndarray:
    """duplicated(keep=False) of integers, the `skip` rows left out (and never repeated); by
    counting when the values span a small range (ids)."""
    skipped = np.zeros(0, np.int64) if skip is None else np.flatnonzero(skip)
    kept = None if not len(skipped) else ~skip
    if len(skipped) == len(values):
        return np.zeros(len(values), bool)
    info = np.iinfo(np.int64)
    low = int(values.min(where=kept, initial=info.max)) if kept is not None else int(values.min())
    high = int(values.max(where=kept, initial=info.min)) if kept is not None else int(values.max())
    if high - low > 4 * len(values) + 1024:
        found = np.zeros(len(values), bool)
        rows = np.flatnonzero(kept) if kept is not None else np.arange(len(values))
        found[rows] = pd.Series(values[rows]).duplicated(keep=False).to_numpy()
        return found
    # ids from 0 or 1 up are counted as they are; others from their lowest
    shift = 0 if 0 <= low <= len(values) else low
    bucket = high - shift + 1  # where skipped rows are counted, apart from every value
    if len(skipped):
        shifted = values - shift
        shifted[skipped] = bucket
    else:  # never written to: typed values may be a read-only view of arrow's buffer
        shifted = values - shift if shift else values
    counts = np.bincount(shifted)
    counts[bucket:] = 0
    repeated = np.flatnonzero(counts > 1)
    if not len(repeated):  # the usual case for ids: no repeat to locate
        return np.zeros(len(values), bool)
    if len(repeated) <= _FEW_REPEATS:  # a comparison per repeated value beats a gather
        found = shifted == repeated[0]
        for value in repeated[1:]:
            found |= shifted == value
        return found
    return (counts > 1)[shifted]


def primary_key_errors(parsed: Sequence[ParsedColumn]) -> tuple[np.ndarray, Duplicates]:
    """(rows whose key cells are all None, rows repeating an earlier key)."""
    all_none = np.logical_and.reduce([column.value_missing for column in parsed])
    eligible = np.flatnonzero(~all_none)
    frame = _frame([key_column(column, eligible) for column in parsed])
    involved = frame.duplicated(keep=False).to_numpy()
    return np.flatnonzero(all_none), _duplicates(parsed, eligible[involved])


def foreign_key_failures(
    target: Sequence[ParsedColumn], source: Sequence[ParsedColumn]
) -> np.ndarray:
    """Rows whose key (not all None) is not among the source's keys (all-None ones skipped)."""
    all_none = np.logical_and.reduce([column.value_missing for column in target])
    eligible = np.flatnonzero(~all_none)
    source_none = np.logical_and.reduce([column.value_missing for column in source])
    lookup_rows = np.flatnonzero(~source_none)
    # Typed arrays only when both sides hold the same kind of exact value; Python objects
    # (frictionless's values) otherwise.
    typed = all(
        _domain(a) == _domain(b) != "object" and a.floats_exact and b.floats_exact
        for a, b in zip(target, source, strict=True)
    )
    wanted = _frame([key_column(c, eligible, as_objects=not typed) for c in target])
    lookup = _frame([key_column(c, lookup_rows, as_objects=not typed) for c in source])
    if wanted.shape[1] == 1:
        found = wanted.iloc[:, 0].isin(lookup.iloc[:, 0]).to_numpy()
    else:
        index = pd.MultiIndex.from_frame(wanted)
        found = index.isin(pd.MultiIndex.from_frame(lookup.drop_duplicates()))
    return eligible[~found]


def _domain(parsed: ParsedColumn) -> str:
    if parsed.values is None:
        return "object"
    if len(parsed.slow_rows) and any(value is not None for value in parsed.slow_targets):
        return "object"  # values frictionless read itself: compare as Python objects
    if parsed.field.type == "any":
        if isinstance(parsed.values, pa.Array):
            return "text"
        return {"b": "bool", "i": "int", "u": "int", "f": "number"}.get(parsed.values.dtype.kind)
    return _DOMAINS.get(parsed.field.type, "object")


def _frame(keys: Sequence[KeyColumn], *, with_none: bool = True) -> pd.DataFrame:
    columns: dict[str, Any] = {}
    for number, key in enumerate(keys):
        if with_none:
            columns[f"none{number}"] = key.none
        for part, array in enumerate(key.arrays):
            columns[f"value{number}_{part}"] = array
    return pd.DataFrame(columns)


def _duplicates(
    parsed: Sequence[ParsedColumn], rows: np.ndarray, *, with_none: bool = True
) -> Duplicates:
    """The repeats among `rows`, rows whose key occurs more than once by the typed arrays.

    Those are few, so their keys are rebuilt as frictionless's Python values when a float
    stands for a longer decimal (two such can be equal as floats and differ as decimals).
    """
    empty = np.zeros(0, dtype=np.int64)
    if not len(rows):
        return Duplicates(rows=empty, previous=empty)
    exact = all(column.floats_exact for column in parsed)
    frame = _frame([key_column(c, rows, as_objects=not exact) for c in parsed], with_none=with_none)
    if not exact:
        involved = frame.duplicated(keep=False).to_numpy()
        rows, frame = rows[involved], frame.iloc[np.flatnonzero(involved)]
        if not len(rows):
            return Duplicates(rows=empty, previous=empty)
    groups = frame.groupby(list(frame.columns), sort=False, dropna=False).ngroup()
    positions = pd.Series(rows)
    previous = positions.groupby(groups.to_numpy()).shift(1).to_numpy()
    repeated = ~np.isnan(previous)
    return Duplicates(
        rows=positions.to_numpy()[repeated], previous=previous[repeated].astype(np.int64)
    )


def _python_values(parsed: ParsedColumn, rows: np.ndarray) -> np.ndarray:
    """The values at `rows` as frictionless's Python objects (None where it reads None)."""
    out = np.empty(len(rows), dtype=object)
    fast = parsed.fast[rows]
    if fast.any():
        out[fast] = _fast_python(parsed, rows[fast])
    slow = np.isin(rows, parsed.slow_rows)
    if slow.any():
        out[slow] = _object_array(parsed.frictionless_values(rows[slow]))
    out[parsed.value_missing[rows]] = None
    return out


def _object_array(values: list[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values  # element-wise even when the values are lists
    return array


def _fast_python(parsed: ParsedColumn, rows: np.ndarray) -> list[Any]:
    kind = parsed.field.type
    values = parsed.values
    if isinstance(values, pa.Array):
        return values.take(pa.array(rows)).to_pylist()
    if not parsed.floats_exact:
        return parsed.frictionless_values(rows)  # a float stands for a longer decimal
    picked = values[rows]
    if kind == "number" and not parsed.field.float_number:
        # repr() gives back the decimal a float read fast stands for (see field_types)
        return [Decimal(repr(value)) for value in picked.tolist()]
    if kind == "date":
        return picked.astype("datetime64[D]").astype(object).tolist()
    if kind == "datetime":
        moments = picked.astype("datetime64[us]").astype(object).tolist()
        aware = parsed.aware[rows] if parsed.aware is not None else np.zeros(len(rows), bool)
        return [
            moment.replace(tzinfo=dt.UTC) if is_aware else moment
            for moment, is_aware in zip(moments, aware.tolist(), strict=True)
        ]
    if kind == "time":
        return [(dt.datetime.min + dt.timedelta(microseconds=m)).time() for m in picked.tolist()]
    return picked.tolist()

"""Field constraints evaluated on a whole parsed column at once.

frictionless checks a cell's constraints only when the cell has no type error, in the order of
the field type's `supported_constraints`, and reports every one that fails. Here each
constraint gives a boolean mask over the rows: vectorized on the cells read fast, taken from
frictionless's own notes on the cells it read itself, and `required` on the blank cells.
Constraint values are read with the field's value reader, as frictionless does.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from frictionless import Field

from .byte_pattern import byte_classes, fixed_width_matches
from .cells import text_in
from .field_types import ParsedColumn, compile_pattern

_BOUNDS: dict[str, Callable[[Any, Any], Any]] = {
    "minimum": operator.ge,
    "maximum": operator.le,
    "exclusiveMinimum": operator.gt,
    "exclusiveMaximum": operator.lt,
}
_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_MICRO = dt.timedelta(microseconds=1)
_EXACT_FLOAT_INT = 2**53
# Pattern syntax RE2 reads differently from Python's re even on printable ASCII text.
_DISTINCT_SAMPLE = 1 << 14
_RE2_UNSAFE = re.compile(r"\{,|\[:|\[\]|\[\^\]|\(\?[^:P]|\\[0-9bBAZzpPQEGXRKCNuU]")


def constraint_failures(parsed: ParsedColumn) -> list[tuple[str, np.ndarray]]:
    """(constraint name, failing rows mask) for each constraint the field sets, in order."""
    field = parsed.field
    reader = field.create_value_reader()
    slow_failures: dict[str, list[int]] = {}
    for row, notes in zip(parsed.slow_rows.tolist(), parsed.slow_notes, strict=True):
        for name in notes or {}:
            slow_failures.setdefault(name, []).append(row)
    failures = []
    for name in field.supported_constraints:
        constraint = field.constraints.get(name)
        if constraint is None:
            continue
        if name == "required":
            failing = parsed.missing.copy() if constraint else np.zeros(parsed.size, bool)
        else:
            failing = _fast_failures(parsed, name, constraint, reader) & parsed.fast
        failing[slow_failures.get(name, [])] = True
        failures.append((name, failing))
    for name in _item_constraints(field):
        # Only frictionless's reader reads array cells, so its notes hold every item failure.
        failing = np.zeros(parsed.size, bool)
        failing[slow_failures.get(name, [])] = True
        failures.append((ITEM_PREFIX + name, failing))
    return failures


ITEM_PREFIX = "arrayItem."
"""Names the constraints of an array field's items: frictionless reports an item breaking its
constraint as a constraint-error of the array's cell, after the array's own constraints."""


def constraint_order(field: Field) -> list[str]:
    """The constraints a field's cells are checked against, in frictionless's order."""
    item = _item_field(field)
    return list(field.supported_constraints) + (
        [ITEM_PREFIX + name for name in item.supported_constraints] if item else []
    )


def constraint_note(field: Field, name: str) -> str:
    """frictionless's note for a cell breaking constraint `name` (see `constraint_order`)."""
    if name.startswith(ITEM_PREFIX):
        name = name.removeprefix(ITEM_PREFIX)
        item = cast(Field, _item_field(field))
        return f'array item constraint "{name}" is "{item.constraints[name]}"'
    return f'constraint "{name}" is "{field.constraints[name]}"'


def _item_constraints(field: Field) -> list[str]:
    item = _item_field(field)
    if item is None:
        return []
    return [name for name in item.supported_constraints if name in item.constraints]


def _item_field(field: Field) -> Field | None:
    """The field an array's items are read with (none but for arrays with `arrayItem`),
    built as frictionless's ArrayField builds it."""
    descriptor = dict(getattr(field, "array_item", None) or {})
    if not descriptor:
        return None
    descriptor.pop("arrayItem", None)
    descriptor.setdefault("name", field.name)
    descriptor.setdefault("type", "any")
    return Field.from_descriptor(descriptor)


def _fast_failures(parsed: ParsedColumn, name: str, constraint: Any, reader: Callable) -> Any:
    if not parsed.fast.any():
        return np.zeros(parsed.size, bool)
    if name in _BOUNDS:
        return ~_within(parsed, _BOUNDS[name], reader(constraint))
    if name == "enum":
        return ~_member(parsed, [reader(item) for item in constraint])
    if name == "pattern":
        return ~_pattern_matches(parsed, constraint)
    lengths = pc.fill_null(pc.utf8_length(parsed.values), 0).to_numpy(zero_copy_only=False)
    if name == "minLength":
        return lengths < constraint
    if name == "maxLength":
        return lengths > constraint
    raise ValueError(f"constraint {name!r} has no vectorized check")  # schema rejected it


# Bounds ---------------------------------------------------------------------------------------


def _within(parsed: ParsedColumn, compare: Callable, bound: Any) -> np.ndarray:
    kind = parsed.field.type
    values = parsed.values
    if kind in ("integer", "year"):
        return compare(values, _clamp(bound))
    if kind == "number":
        return _number_within(parsed, compare, bound)
    if kind == "date":
        return compare(values, (bound - dt.date(1970, 1, 1)).days)
    if kind == "datetime":
        micros, bound_aware = _datetime_micros(bound)
        aware = parsed.aware if parsed.aware is not None else np.zeros(parsed.size, bool)
        # frictionless cannot order a naive and an aware datetime (it raises); fail the cell
        return compare(values, micros) & (aware == bound_aware)
    if kind == "time":
        if bound.utcoffset() is not None:
            return np.zeros(parsed.size, bool)  # fast times are naive: not comparable
        return compare(values, _time_micros(bound))
    raise ValueError(f"bounds on a {kind!r} field have no vectorized check")


def _clamp(bound: int) -> int:
    info = np.iinfo(np.int64)
    return min(max(bound, info.min), info.max)


def _number_within(parsed: ParsedColumn, compare: Callable, bound: Any) -> np.ndarray:
    """float64 decides every cell except those equal to the bound as floats: rounding is
    monotonic, so a strict float order is the exact order; the ties are read exactly."""
    as_float = float(bound)
    result = compare(parsed.values, as_float)
    ties = np.flatnonzero(parsed.fast & (parsed.values == as_float))
    if len(ties):
        exact = parsed.frictionless_values(ties)
        result[ties] = [bool(compare(value, bound)) for value in exact]
    return result


def _datetime_micros(value: dt.datetime) -> tuple[int, bool]:
    if value.utcoffset() is None:
        return (value - _EPOCH) // _ONE_MICRO, False
    return (value - _EPOCH_UTC) // _ONE_MICRO, True


def _time_micros(value: dt.time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


# Enum -----------------------------------------------------------------------------------------


def _member(parsed: ParsedColumn, members: list[Any]) -> np.ndarray:
    kind = parsed.field.type
    values = parsed.values
    if isinstance(values, pa.Array):  # string and any: compare the text
        return text_in(values, [item for item in members if isinstance(item, str)])
    if kind in ("integer", "year"):
        wanted = [m for m in members if _is_int(m) and abs(m) < 2**63]
        return np.isin(values, np.array(wanted, dtype=np.int64))
    if kind == "boolean":
        return np.isin(values, np.array([m for m in members if isinstance(m, bool)], bool))
    if kind == "number":
        return _number_member(parsed, members)
    if kind == "date":
        days = [(item - dt.date(1970, 1, 1)).days for item in members if _is_date(item)]
        return np.isin(values, days)
    if kind == "datetime":
        aware = parsed.aware if parsed.aware is not None else np.zeros(parsed.size, bool)
        pairs = [_datetime_micros(item) for item in members if isinstance(item, dt.datetime)]
        naive = np.isin(values, [m for m, is_aware in pairs if not is_aware]) & ~aware
        return naive | (np.isin(values, [m for m, is_aware in pairs if is_aware]) & aware)
    if kind == "time":
        naive = [_time_micros(t) for t in members if isinstance(t, dt.time) and not t.tzinfo]
        return np.isin(values, naive)
    raise ValueError(f"enum on a {kind!r} field has no vectorized check")


def _is_int(item: Any) -> bool:
    return isinstance(item, int) and not isinstance(item, bool)


def _is_date(item: Any) -> bool:
    return isinstance(item, dt.date) and not isinstance(item, dt.datetime)


def _number_member(parsed: ParsedColumn, members: list[Any]) -> np.ndarray:
    numbers = [item for item in members if isinstance(item, int | float | Decimal)]
    floats = [float(item) for item in numbers if not _is_nan(item)]
    found = np.isin(parsed.values, floats)
    if parsed.floats_exact and all(_float_exact(item) for item in numbers):
        return found
    rows = np.flatnonzero(found & parsed.fast)
    exact = parsed.frictionless_values(rows)
    found[rows] = [value in members for value in exact]
    return found


def _is_nan(item: Any) -> bool:
    return item != item


def _float_exact(item: Any) -> bool:
    """Whether float equality with this member is exact equality for the cells read fast
    (those have at most 15 significant digits, or are floats)."""
    if isinstance(item, bool | float):
        return True
    if isinstance(item, int):
        return abs(item) <= _EXACT_FLOAT_INT
    if not item.is_finite():
        return item.is_infinite()
    digits = item.normalize().as_tuple().digits
    return len(digits) <= 15 and -300 < item.adjusted() < 300


# Pattern --------------------------------------------------------------------------------------


def _pattern_matches(parsed: ParsedColumn, pattern: str) -> np.ndarray:
    """Python's `re.match("^pattern$", cell)`, which frictionless uses: on the bytes for a
    pattern of one width, RE2 (pyarrow) where it reads the same, Python's re once per
    distinct cell elsewhere."""
    text: pa.Array = parsed.values
    result = np.zeros(len(text), bool)
    python_rows = parsed.fast.copy()
    classes = byte_classes(pattern)
    if classes is not None:
        plain = parsed.column.printable & parsed.fast
        result = fixed_width_matches(parsed.column, classes, plain)
        python_rows &= ~plain
    elif _re2_reads_like_python(pattern):
        plain = parsed.column.printable & parsed.fast
        anchored = "\\A(?:^" + pattern + "$)"  # re.match anchors at the start only
        result = _re2_matches(text, anchored) & plain
        python_rows &= ~plain
    rows = np.flatnonzero(python_rows)
    if len(rows):
        compiled = compile_pattern(pattern)
        cells = pd.Series(text.take(pa.array(rows)).to_pylist(), dtype=object)
        distinct = {cell: compiled.match(cell) is not None for cell in cells.unique()}
        result[rows] = cells.map(distinct).to_numpy(dtype=bool)
    return result


def _re2_matches(text: pa.Array, regex: str) -> np.ndarray:
    """Which cells match: on the distinct values when a sample shows few (codes, categories),
    where hashing each cell once beats running the regex on each."""
    sample = text.slice(0, _DISTINCT_SAMPLE)
    if len(text) < 16 * _DISTINCT_SAMPLE or pc.count_distinct(sample).as_py() > 0.9 * len(sample):
        return _bools(pc.match_substring_regex(text, regex))
    distinct = pc.unique(text)
    failing = distinct.filter(
        pc.invert(pc.fill_null(pc.match_substring_regex(distinct, regex), True))
    )
    if not len(failing):
        return ~np.asarray(text.is_null())
    return ~_bools(pc.is_in(text, value_set=failing)) & ~np.asarray(text.is_null())


def _re2_reads_like_python(pattern: str) -> bool:
    if not pattern.isascii() or _RE2_UNSAFE.search(pattern):
        return False
    for brace in re.finditer(r"\{", pattern):
        if not re.match(r"\{[0-9]+(,[0-9]*)?\}", pattern[brace.start() :]):
            return False  # a literal brace: Python and RE2 disagree on which are literal
    try:
        pc.match_substring_regex(pa.array(["x"]), "\\A(?:^" + pattern + "$)")
    except pa.ArrowInvalid:
        return False
    return True


def _bools(array: pa.Array) -> np.ndarray:
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False)

"""Reading one column with one Table Schema field, vectorized, to frictionless's verdict.

For each field type there is a fast reader over the whole column: pyarrow/numpy expressions
that read the common spellings (see `temporal` for dates and times) and flag the cells that
are certainly of the wrong type (an int column read as a string field...). Every other cell
that is not missing goes to frictionless's own cell reader (`Field.create_cell_reader`), once
per distinct value: its verdict, type error and constraint notes, is frictionless's by
construction. That split is what makes the result exact without reading row by row: the fast
readers only claim cells whose reading is unambiguous.

Fast values are numpy arrays: int64 for integer and year, float64 for number (exact for the
cells read here, see `_NUMBER`), bool for boolean, int64 days/microseconds for dates and times,
and the pyarrow text itself for string and any.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from frictionless import Field

from . import temporal
from .cells import Column, cast_chunks, text_in

# What Python's str.strip() removes from an ASCII string (frictionless strips numbers first).
_PY_ASCII_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_INTEGER_DIGITS = 18  # what int64 surely holds; longer integers are left to frictionless
# Plain decimals with a short exponent (no overflow, no underflow): float64 (correctly
# rounded, so monotonic) orders them as frictionless's Decimals do, except for ties, which
# are read exactly. Equality is exact too while no number has more than 15 significant
# digits (DBL_DIG); a column with longer ones has its equal floats checked as Decimals.
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,2})?$"
_NUMBER_DIGITS = 15
_EXACT_FLOAT_INT = 2**53
_SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)  # below: subnormal, or an underflow to 0
# frictionless's bareNumber=false pattern (fields/integer.py, fields/number.py)
_BARE_NUMBER_JUNK = r"((^[^-\d]*)|(\D*$))"


@dataclass(eq=False)
class ParsedColumn:
    """One column read with one field: which cells are missing, wrong, or read to what."""

    field: Field
    column: Column | None
    """None for a column the table does not have (every cell then reads as None)."""
    missing: np.ndarray
    """Blank cells: None after missing values, which only `required` can fault."""
    type_error: np.ndarray
    fast: np.ndarray
    """Cells read here, whose values are in `values`."""
    values: Any
    aware: np.ndarray | None = None
    """For datetime values: which are UTC instants (had an offset) rather than wall times."""
    slow_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    slow_targets: list[Any] = field(default_factory=list)
    slow_notes: list[dict[str, str] | None] = field(default_factory=list)

    @cached_property
    def floats_exact(self) -> bool:
        """Whether equal float64 values here are equal Decimals in frictionless: true but for
        text numbers longer than 15 significant digits."""
        if self.field.type not in ("number", "any") or self.column is None:
            return True
        if self.column.kind != "text" or isinstance(self.values, pa.Array):
            return True
        text = self.column.text.filter(pa.array(self.fast))
        if not len(text) or pc.max(pc.utf8_length(text)).as_py() <= _NUMBER_DIGITS:
            return True
        digits = pc.count_substring_regex(pc.replace_substring_regex(text, "[eE].*$", ""), "[0-9]")
        return pc.max(digits).as_py() <= _NUMBER_DIGITS

    @property
    def size(self) -> int:
        return len(self.missing)

    @property
    def value_missing(self) -> np.ndarray:
        """Cells frictionless reads as None: blank or of the wrong type."""
        return self.missing | self.type_error

    @cached_property
    def _slow_targets_by_row(self) -> dict[int, Any]:
        return dict(zip(self.slow_rows.tolist(), self.slow_targets, strict=True))

    def frictionless_values(self, rows: np.ndarray) -> list[Any]:
        """The values frictionless reads at `rows` (None when blank or wrong), for the few
        places that need them as Python objects: ties, messages, mixed keys."""
        if self.column is None:
            return [None] * len(rows)
        reader = self.field.create_value_reader()
        slow = self._slow_targets_by_row
        cells = self.column.python_cells(rows)
        out = []
        for row, cell in zip(rows.tolist(), cells, strict=True):
            if row in slow:
                out.append(slow[row])
            elif self.missing[row] or self.type_error[row]:
                out.append(None)
            else:
                out.append(reader(cell))
        return out


@dataclass
class _Fast:
    fast: np.ndarray
    values: Any = None
    type_error: np.ndarray | None = None
    aware: np.ndarray | None = None


def read_column(field_: Field, column: Column) -> ParsedColumn:
    missing = column.null | _missing_values(field_, column)
    candidates = ~missing
    if column.kind == "text":
        reader = _TEXT_READERS.get(field_.type, _nothing)
    elif column.kind == "object":
        reader = _nothing
    else:
        reader = _TYPED_READERS.get(field_.type, _nothing)
    fast = reader(field_, column, candidates)
    type_error = np.zeros(len(candidates), bool) if fast.type_error is None else fast.type_error
    type_error = type_error & candidates
    fast_rows = fast.fast & candidates & ~type_error
    slow_rows = np.flatnonzero(candidates & ~fast_rows & ~type_error)
    targets, notes = _read_slow(field_, column, slow_rows)
    slow_type = [
        row for row, note in zip(slow_rows.tolist(), notes, strict=True) if note and "type" in note
    ]
    type_error[slow_type] = True
    return ParsedColumn(
        field=field_,
        column=column,
        missing=missing,
        type_error=type_error,
        fast=fast_rows,
        values=fast.values,
        aware=fast.aware,
        slow_rows=slow_rows,
        slow_targets=targets,
        slow_notes=notes,
    )


def absent_column(field_: Field, size: int) -> ParsedColumn:
    """A field the table lacks: frictionless reads None for it in every row."""
    nothing = np.zeros(size, bool)
    return ParsedColumn(
        field=field_, column=None, missing=~nothing, type_error=nothing, fast=nothing, values=None
    )


def missing_values(field_: Field) -> list[str]:
    """The field's missingValues, or the schema's when the field declares none (as frictionless)."""
    if not field_.has_defined("missing_values") and field_.schema is not None:
        return list(field_.schema.missing_values)
    return list(field_.missing_values)


def _missing_values(field_: Field, column: Column) -> np.ndarray:
    values = missing_values(field_)
    size = len(column.series)
    if not values:
        return np.zeros(size, bool)
    if column.kind == "text" and values == [""]:
        return column.empty
    if column.kind == "text":
        return text_in(column.text, values)
    if values == [""]:
        return np.zeros(size, bool)  # str() of a non-text cell is never empty
    # A typed cell is missing when its str() is a missing value ("0", "nan"...): rare, so
    # read cell by cell.
    rows = np.flatnonzero(~column.null)
    texts = {str(cell) for cell in values}
    found = np.zeros(size, bool)
    found[rows] = [str(cell) in texts for cell in column.python_cells(rows)]
    return found


def _read_slow(field_: Field, column: Column, rows: np.ndarray) -> tuple[list, list]:
    """frictionless's own (value, notes) for each of `rows`, once per distinct cell."""
    if not len(rows):
        return [], []
    reader = field_.create_cell_reader()
    seen: dict[Any, tuple[Any, dict | None]] = {}
    targets, notes = [], []
    for cell in column.python_cells(rows):
        try:
            key = (type(cell), cell)  # so that 1, 1.0 and True stay apart
            result = seen.get(key)
            if result is None:
                result = seen[key] = reader(cell)
        except TypeError:  # unhashable cell (list, dict): read it every time
            result = reader(cell)
        targets.append(result[0])
        notes.append(result[1])
    return targets, notes


# Readers of text columns ------------------------------------------------------------------


def _nothing(field_: Field, column: Column, candidates: np.ndarray) -> _Fast:
    return _Fast(fast=np.zeros(len(candidates), bool))


def _text_as_is(field_: Field, column: Column, candidates: np.ndarray) -> _Fast:
    if field_.type == "string" and field_.format != "default":
        return _nothing(field_, column, candidates)  # email, uri, uuid...: frictionless reads
    return _Fast(fast=candidates, values=column.text)


def _ascii_candidates(column: Column, candidates: np.ndarray) -> np.ndarray:
    return candidates & column.ascii


def _numeric_text(field_: Field, text: pa.Array, *, number: bool) -> pa.Array:
    """The text frictionless casts, after its strip and its number options."""
    text = pc.ascii_trim(text, characters=_PY_ASCII_SPACE)  # only ASCII cells are read here
    defined = set(field_.list_defined())
    if not number:
        if "bare_number" in defined and not field_.bare_number:
            text = pc.replace_substring_regex(text, _BARE_NUMBER_JUNK, "")
        return text
    if not {"group_char", "decimal_char", "bare_number"} & defined:
        return text
    if not field_.bare_number:
        text = pc.replace_substring_regex(text, _BARE_NUMBER_JUNK, "")
    if field_.group_char:
        text = pc.replace_substring(text, field_.group_char, "")
    if field_.decimal_char != ".":
        # frictionless rejects a cell holding "." when another decimal char is set; leave
        # those to it (null here means "not read fast").
        text = pc.if_else(pc.match_substring(text, "."), pa.scalar(None, text.type), text)
        text = pc.replace_substring(text, field_.decimal_char, ".")
    return text


def _text_integers(field_: Field, column: Column, candidates: np.ndarray) -> _Fast:
    if "bare_number" in field_.list_defined() and not field_.bare_number:
        return _careful_integers(field_, column.text, candidates & column.ascii)
    # arrow's cast grammar (-?[0-9]+ within int64, and hexadecimal 0x..., which int() refuses
    # and which arrow may wrap round) is otherwise a subset of Python's int(), with the same
    # values: the chunks it takes are read, the others read carefully.
    castable = candidates & ~_hexadecimal(column)
    values, taken = cast_chunks(column.text, castable, pa.int64())
    values = values.astype(np.int64, copy=False)
    fast = castable & taken
    return _with_careful(field_, column, candidates, _Fast(fast, values), _careful_integers)


def _hexadecimal(column: Column) -> np.ndarray:
    """Cells spelled as arrow's hexadecimal integers, 0x10: those whose second byte is an x
    after a 0 (arrow takes no sign or space before them), found from where the x bytes are."""
    offsets, data = column.text_bytes
    found = np.zeros(len(column.series), bool)
    if not column.holds_byte(ord("x"), ord("X")):
        return found  # the usual case, seen by memchr
    cells = data[offsets[0] : offsets[-1]]  # the array's own bytes, if it is a slice
    exes = np.flatnonzero((cells | 0x20) == ord("x")) + offsets[0]  # x or X: bit 0x20 is case
    rows = np.searchsorted(offsets, exes, side="right") - 1
    second = (exes - offsets[rows] == 1) & (data[exes - 1] == ord("0"))
    found[rows[second]] = True
    return found & ~column.null


def _text_numbers(field_: Field, column: Column, candidates: np.ndarray) -> _Fast:
    if {"group_char", "decimal_char", "bare_number"} & set(field_.list_defined()):
        return _careful_numbers(field_, column.text, candidates & column.ascii)
    # What arrow's cast takes is a numeric literal Decimal() takes too, correctly rounded,
    # except the words (inf, nan, nan(1)...) and what under- or overflows: those, and the
    # chunks arrow refuses, are read carefully.
    values, taken = cast_chunks(column.text, candidates, pa.float64())
    normal = np.isfinite(values) & (np.abs(values) >= _SMALLEST_NORMAL)
    fast = candidates & taken & normal
    return _with_careful(field_, column, candidates, _Fast(fast, values), _careful_numbers)


def _with_careful(
    field_: Field,
    column: Column,
    candidates: np.ndarray,
    quick: _Fast,
    careful: Callable[[Field, pa.Array, np.ndarray], _Fast],
) -> _Fast:
    """`quick`, plus the ASCII candidates it did not read, read by `careful`."""
    rows = np.flatnonzero(candidates & column.ascii & ~quick.fast)
    if len(rows):
        found = careful(field_, column.text.take(pa.array(rows)), np.ones(len(rows), bool))
        quick.fast[rows] = found.fast
        quick.values[rows] = found.values
    return quick


def _careful_integers(field_: Field, text: pa.Array, candidates: np.ndarray) -> _Fast:
    """[+-]?[0-9]{1,18} after frictionless's strip (and bareNumber), of ASCII `candidates`."""
    text = _numeric_text(field_, text, number=False)
    # without a regex: strip the signs, then digits only, one sign at most
    digits = pc.ascii_ltrim(text, characters="+-")
    signs = _integers(pc.binary_length(text)) - _integers(pc.binary_length(digits))
    length = _integers(pc.binary_length(digits))
    fast = candidates & _bool(pc.ascii_is_decimal(digits))
    fast &= (signs <= 1) & (length <= _INTEGER_DIGITS)
    if pc.any(pc.starts_with(text, "+")).as_py():
        text = pc.replace_substring_regex(text, r"^\+", "")  # int() takes it, arrow does not
    return _Fast(fast=fast, values=_cast(text, fast, pa.int64(), "0").astype(np.int64))


def _careful_numbers(field_: Field, text: pa.Array, candidates: np.ndarray) -> _Fast:
    """The `_NUMBER` grammar after frictionless's strip and number options."""
    text = _numeric_text(field_, text, number=True)
    fast = candidates & _matches(text, _NUMBER)
    return _Fast(fast=fast, values=_cast(text, fast, pa.float64(), "0"))


def _text_booleans(field_: Field, column: Column, candidates: np.ndarray) -> _Fast:
    text = column.text
    true = _bool(pc.is_in(text, value_set=pa.array(field_.true_values, text.type)))
    false = _bool(pc.is_in(text, value_set=pa.array(field_.false_values, text.type)))
    known = true | false
    # frictionless maps the true values first, then the false ones: a value in both is False
    return _Fast(fast=known, values=~false, type_error=candidates & ~known)


def _text_years(field_: Field, column: Column, candidates: np.ndarray) -> _Fast:
    fast = _ascii_candidates(column, candidates) & _matches(column.text, r"^[0-9]{4}$")
    return _Fast(fast=fast, values=_cast(column.text, fast, pa.int64(), "0").astype(np.int64))


def _text_temporal(read: Callable[..., temporal.Temporal]) -> Callable[..., _Fast]:
    def reader(field_: Field, column: Column, candidates: np.ndarray) -> _Fast:
        if field_.format == "any":
            return _nothing(field_, column, candidates)  # dateutil's guesswork: frictionless
        found = read(column, candidates, field_.format)
        return _Fast(fast=found.fast, values=found.values, aware=found.aware)

    return reader


_TEXT_READERS: dict[str, Callable[[Field, Column, np.ndarray], _Fast]] = {
    "string": _text_as_is,
    "any": _text_as_is,
    "integer": _text_integers,
    "number": _text_numbers,
    "boolean": _text_booleans,
    "year": _text_years,
    "date": _text_temporal(temporal.read_dates),
    "datetime": _text_temporal(temporal.read_datetimes),
    "time": _text_temporal(temporal.read_times),
}


# Readers of typed columns (as loaded from parquet or delta) ---------------------------------
# Each mirrors the isinstance() ladder of the frictionless value reader for the Python object
# pandas hands it: int, float, bool or datetime.


def _typed_wrong(field_: Field, column: Column, candidates: np.ndarray) -> _Fast:
    return _Fast(fast=np.zeros(len(candidates), bool), type_error=candidates)


def _typed_any(field_: Field, column: Column, candidates: np.ndarray) -> _Fast:
    if column.kind == "datetime" or field_.constraints.get("enum") is not None:
        return _nothing(field_, column, candidates)
    return _Fast(fast=candidates, values=column.numbers)


def _typed_integers(field_: Field, column: Column, candidates: np.ndarray) -> _Fast:
    if column.kind == "integer":
        values = column.numbers
        if values.dtype == np.uint64:
            fast = values <= np.iinfo(np.int64).max  # larger ones: frictionless reads them
            return _Fast(fast=fast, values=np.where(fast, values, 0).astype(np.int64))
        return _Fast(fast=candidates, values=values)
    if column.kind == "float":
        values = column.numbers
        integral = np.isfinite(values) & (np.floor(values) == values)
        fast = integral & (np.abs(values) < 2.0**63)
        safe = np.where(fast, values, 0).astype(np.int64)
        return _Fast(fast=fast, values=safe, type_error=~integral)
    return _typed_wrong(field_, column, candidates)


def _typed_numbers(field_: Field, column: Column, candidates: np.ndarray) -> _Fast:
    if column.kind == "integer":
        values = column.numbers
        fast = values <= _EXACT_FLOAT_INT
        if values.dtype != np.uint64:
            fast &= values >= -_EXACT_FLOAT_INT
        return _Fast(fast=fast, values=values.astype(np.float64))
    if column.kind == "float":
        # frictionless reads Decimal(str(x)): equal and ordered exactly as x itself
        return _Fast(fast=candidates, values=column.numbers)
    return _typed_wrong(field_, column, candidates)


def _typed_booleans(field_: Field, column: Column, candidates: np.ndarray) -> _Fast:
    if column.kind == "boolean":
        return _Fast(fast=candidates, values=column.numbers)
    return _typed_wrong(field_, column, candidates)


def _typed_years(field_: Field, column: Column, candidates: np.ndarray) -> _Fast:
    if column.kind in ("integer", "boolean"):  # bool is an int to isinstance()
        values = column.numbers.astype(np.int64) if column.kind == "boolean" else column.numbers
        if values.dtype == np.uint64:
            values = np.minimum(values, 10_000).astype(np.int64)
        in_range = (values >= 0) & (values <= 9999)
        return _Fast(fast=in_range, values=values, type_error=~in_range)
    return _typed_wrong(field_, column, candidates)


def _typed_dates(field_: Field, column: Column, candidates: np.ndarray) -> _Fast:
    if column.kind != "datetime":
        return _typed_wrong(field_, column, candidates)
    wall, _ = temporal.typed_datetimes(column.series)
    # frictionless accepts a datetime as a date when its hour, minute and second are 0
    midnight = (wall % temporal.MICROS_PER_DAY) < 1_000_000
    return _Fast(fast=midnight, values=temporal.days_of(wall), type_error=~midnight)


def _typed_datetimes(field_: Field, column: Column, candidates: np.ndarray) -> _Fast:
    if column.kind != "datetime":
        return _typed_wrong(field_, column, candidates)
    _, utc = temporal.typed_datetimes(column.series)
    aware = np.full(len(utc), getattr(column.series.dtype, "tz", None) is not None)
    return _Fast(fast=candidates, values=utc, aware=aware)


_TYPED_READERS: dict[str, Callable[[Field, Column, np.ndarray], _Fast]] = {
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


# Small pyarrow helpers -----------------------------------------------------------------------


def _bool(array: pa.Array) -> np.ndarray:
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False)


def _matches(text: pa.Array, regex: str) -> np.ndarray:
    return _bool(pc.match_substring_regex(text, regex))


def _integers(array: pa.Array) -> np.ndarray:
    return pc.fill_null(array, 0).to_numpy(zero_copy_only=False)


def _cast(text: pa.Array, where: np.ndarray, to: pa.DataType, filler: str) -> np.ndarray:
    """Cast the rows `where` holds; the others get `filler` (never read, never an error)."""
    safe = pc.if_else(pa.array(where), text, pa.scalar(filler, text.type))
    return pc.fill_null(pc.cast(safe, to), 0).to_numpy(zero_copy_only=False)


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The regex frictionless matches a `pattern` constraint with (note: no group around it)."""
    return re.compile(f"^{pattern}$")

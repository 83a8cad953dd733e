"""Fast readers of text columns (a CSV's cells, every one a string), one per field type.

Each reads the spellings whose value is certain with pyarrow/numpy over the whole column
(dates and times through `temporal`) and leaves every other cell to frictionless: odd
spellings (`1_000`, ` 2020-01-05`), numbers int64 or float64 do not hold exactly, and the
string formats only frictionless checks (email, uri...).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from frictionless import Field

from . import temporal
from .cells import Column, cast_chunks
from .fast_read import FastRead, FastReader, read_nothing

# What Python's str.strip() removes from an ASCII string (frictionless strips numbers first).
_PY_ASCII_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_INTEGER_DIGITS = 18  # what int64 surely holds; longer integers are left to frictionless
# Plain decimals with a short exponent (no overflow, no underflow): float64 (correctly
# rounded, so monotonic) orders them as frictionless's Decimals do, except for ties, which
# are read exactly. Equality is exact too while no number has more than 15 significant
# digits (DBL_DIG); a column with longer ones has its equal floats checked as Decimals.
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,2})?$"
_SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)  # below: subnormal, or an underflow to 0
# frictionless's bareNumber=false pattern (fields/integer.py, fields/number.py)
_BARE_NUMBER_JUNK = r"((^[^-\d]*)|(\D*$))"


def _text_as_is(field_: Field, column: Column, candidates: np.ndarray) -> FastRead:
    if field_.type == "string" and field_.format != "default":
        return read_nothing(field_, column, candidates)  # email, uri, uuid...: frictionless reads
    return FastRead(fast=candidates, values=column.text)


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


def _text_integers(field_: Field, column: Column, candidates: np.ndarray) -> FastRead:
    if "bare_number" in field_.list_defined() and not field_.bare_number:
        return _careful_integers(field_, column.text, candidates & column.ascii)
    # arrow's cast grammar (-?[0-9]+ within int64, and hexadecimal 0x..., which int() refuses
    # and which arrow may wrap round) is otherwise a subset of Python's int(), with the same
    # values: the chunks it takes are read, the others read carefully.
    castable = candidates & ~_hexadecimal(column)
    values, taken = cast_chunks(column.text, castable, pa.int64())
    values = values.astype(np.int64, copy=False)
    fast = castable & taken
    return _with_careful(field_, column, candidates, FastRead(fast, values), _careful_integers)


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


def _text_numbers(field_: Field, column: Column, candidates: np.ndarray) -> FastRead:
    if {"group_char", "decimal_char", "bare_number"} & set(field_.list_defined()):
        return _careful_numbers(field_, column.text, candidates & column.ascii)
    # What arrow's cast takes is a numeric literal Decimal() takes too, correctly rounded,
    # except the words (inf, nan, nan(1)...) and what under- or overflows: those, and the
    # chunks arrow refuses, are read carefully.
    values, taken = cast_chunks(column.text, candidates, pa.float64())
    normal = np.isfinite(values) & (np.abs(values) >= _SMALLEST_NORMAL)
    fast = candidates & taken & normal
    return _with_careful(field_, column, candidates, FastRead(fast, values), _careful_numbers)


def _with_careful(
    field_: Field,
    column: Column,
    candidates: np.ndarray,
    quick: FastRead,
    careful: Callable[[Field, pa.Array, np.ndarray], FastRead],
) -> FastRead:
    """`quick`, plus the ASCII candidates it did not read, read by `careful`."""
    rows = np.flatnonzero(candidates & column.ascii & ~quick.fast)
    if len(rows):
        found = careful(field_, column.text.take(pa.array(rows)), np.ones(len(rows), bool))
        quick.fast[rows] = found.fast
        quick.values[rows] = found.values
    return quick


def _careful_integers(field_: Field, text: pa.Array, candidates: np.ndarray) -> FastRead:
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
    return FastRead(fast=fast, values=_cast(text, fast, pa.int64(), "0").astype(np.int64))


def _careful_numbers(field_: Field, text: pa.Array, candidates: np.ndarray) -> FastRead:
    """The `_NUMBER` grammar after frictionless's strip and number options."""
    text = _numeric_text(field_, text, number=True)
    fast = candidates & _matches(text, _NUMBER)
    return FastRead(fast=fast, values=_cast(text, fast, pa.float64(), "0"))


def _text_booleans(field_: Field, column: Column, candidates: np.ndarray) -> FastRead:
    text = column.text
    true = _bool(pc.is_in(text, value_set=pa.array(field_.true_values, text.type)))
    false = _bool(pc.is_in(text, value_set=pa.array(field_.false_values, text.type)))
    known = true | false
    # frictionless maps the true values first, then the false ones: a value in both is False
    return FastRead(fast=known, values=~false, type_error=candidates & ~known)


def _text_years(field_: Field, column: Column, candidates: np.ndarray) -> FastRead:
    fast = _ascii_candidates(column, candidates) & _matches(column.text, r"^[0-9]{4}$")
    return FastRead(fast=fast, values=_cast(column.text, fast, pa.int64(), "0").astype(np.int64))


def _text_temporal(read: Callable[..., temporal.Temporal]) -> Callable[..., FastRead]:
    def reader(field_: Field, column: Column, candidates: np.ndarray) -> FastRead:
        if field_.format == "any":
            return read_nothing(field_, column, candidates)  # dateutil's guesswork: frictionless
        found = read(column, candidates, field_.format)
        return FastRead(fast=found.fast, values=found.values, aware=found.aware)

    return reader


TEXT_READERS: dict[str, FastReader] = {
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

"""Vectorized reading of date, datetime and time cells.

frictionless reads these with `datetime.strptime` (the `default` date format and every custom
format) and with dateutil's `isoparse` (the `default` datetime and time formats). Here each
format becomes a strict grammar over ASCII text whose cells those functions are known to read,
to the same value: fixed-width, zero-padded numbers, the literal separators of the format, no
surrounding space. A cell that fits and holds a real calendar value is read here; any other
cell is left to frictionless's own reader (see `field_types`), so a lenient spelling such as
`2020-1-5` or `24:00:00` gets frictionless's verdict, just more slowly.

The fixed-width part of a grammar is checked and read byte by byte on the column's UTF-8
buffer (numpy gathers, no regex, no string slicing); only cells longer than it (a fraction of
a second, a zone offset) go through a regex, and there are few of those in most data.

Values are int64: days since 1970-01-01 for dates, microseconds since the epoch for datetimes
(UTC for those with an offset, wall time for naive ones, told apart by an `aware` mask), and
microseconds since midnight for times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .cells import Column, cast_chunks

_DIRECTIVES = {
    "Y": ("year", 4),
    "m": ("month", 2),
    "d": ("day", 2),
    "H": ("hour", 2),
    "M": ("minute", 2),
    "S": ("second", 2),
}
_REGEX_SPECIAL = set(".^$*+?()[]{}|\\")
_ISO_TIME = (
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,6}))?"
)
_ISO_DATETIME = (
    r"^(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[T ]"
    + _ISO_TIME
    + r"(?P<zone>Z|[+-][0-9]{2}:[0-9]{2})?$"
)
_DEFAULT_DATE_FORMAT = "%Y-%m-%d"  # frictionless's settings.DEFAULT_DATE_PATTERN
MICROS_PER_DAY = 86_400_000_000
_FIRST_DAY = (np.datetime64("0001-01-01") - np.datetime64("1970-01-01")).astype(np.int64)


@dataclass(frozen=True)
class Temporal:
    fast: np.ndarray
    """Rows read here; the others are left to frictionless."""
    values: np.ndarray
    aware: np.ndarray | None = None


@dataclass(frozen=True)
class Grammar:
    length: int
    """Bytes of the fixed-width part."""
    parts: dict[str, tuple[int, int]]
    """name -> (offset, width) of the zero-padded numbers"""
    literals: dict[int, bytes]
    """offset -> the bytes allowed there"""
    tail: str | None = None
    """A regex for the whole cell when it may be longer than `length`."""
    tail_parts: tuple[str, ...] = field(default=())


def strptime_grammar(format: str) -> Grammar | None:
    """The cells `datetime.strptime(cell, format)` surely reads, or None when the format uses
    a directive other than %Y %m %d %H %M %S %% (those are left to strptime)."""
    parts: dict[str, tuple[int, int]] = {}
    literals: dict[int, bytes] = {}
    offset = position = 0
    while position < len(format):
        char = format[position]
        if char == "%":
            directive = format[position + 1 : position + 2]
            named = _DIRECTIVES.get(directive)
            if directive == "%":
                literals[offset] = b"%"
                offset += 1
            elif named and named[0] not in parts:
                parts[named[0]] = (offset, named[1])
                offset += named[1]
            else:
                return None  # other directives, or one twice (strptime refuses that)
            position += 2
            continue
        if not char.isascii():
            return None
        literals[offset] = char.encode()
        offset += 1
        position += 1
    return Grammar(length=offset, parts=parts, literals=literals)


_ISO_DATETIME_GRAMMAR = Grammar(
    length=19,
    parts={
        "year": (0, 4),
        "month": (5, 2),
        "day": (8, 2),
        "hour": (11, 2),
        "minute": (14, 2),
        "second": (17, 2),
    },
    literals={4: b"-", 7: b"-", 10: b"T ", 13: b":", 16: b":"},
    tail=_ISO_DATETIME,
    tail_parts=("fraction", "zone"),
)
_ISO_TIME_GRAMMAR = Grammar(
    length=8,
    parts={"hour": (0, 2), "minute": (3, 2), "second": (6, 2)},
    literals={2: b":", 5: b":"},
    tail="^" + _ISO_TIME + "$",
    tail_parts=("fraction",),
)


def read_dates(column: Column, candidates: np.ndarray, format: str) -> Temporal:
    format = _DEFAULT_DATE_FORMAT if format == "default" else format
    if format == _DEFAULT_DATE_FORMAT and candidates.any():
        return _iso_dates(column, candidates)
    return _grammar_dates(column, candidates, format)


def _iso_dates(column: Column, candidates: np.ndarray) -> Temporal:
    """Arrow's date cast first: what it takes (exactly YYYY-MM-DD, a real calendar day, year
    1 on) strptime reads to the same day; the chunks it refuses are read by the grammar."""
    days, taken = cast_chunks(column.text, candidates, pa.date32(), filler="1970-01-01")
    taken &= candidates & (days >= _FIRST_DAY)
    rest = np.flatnonzero(candidates & ~taken)
    if len(rest):  # a column of its own: the grammar's work scales with its length
        refused = Column(series=column.text.take(pa.array(rest)).to_pandas(), kind="text")
        found = _grammar_dates(refused, np.ones(len(rest), bool), _DEFAULT_DATE_FORMAT)
        taken[rest] = found.fast
        days[rest] = found.values
    return Temporal(fast=taken, values=days)


def _grammar_dates(column: Column, candidates: np.ndarray, format: str) -> Temporal:
    grammar = strptime_grammar(format)
    parts = _extract(column, candidates, grammar)
    if parts is None:
        return _nothing(len(candidates))
    return Temporal(fast=parts["ok"] & _calendar_ok(parts), values=_days(parts))


def read_datetimes(column: Column, candidates: np.ndarray, format: str) -> Temporal:
    grammar = _ISO_DATETIME_GRAMMAR if format == "default" else strptime_grammar(format)
    parts = _extract(column, candidates, grammar)
    if parts is None:
        return _nothing(len(candidates))
    fast = parts["ok"] & _calendar_ok(parts)
    micros = _days(parts) * MICROS_PER_DAY + _micros_of_day(parts)
    offset, aware, zone_ok = _offsets(parts)
    return Temporal(fast=fast & zone_ok, values=micros - offset, aware=aware)


def read_times(column: Column, candidates: np.ndarray, format: str) -> Temporal:
    grammar = _ISO_TIME_GRAMMAR if format == "default" else strptime_grammar(format)
    parts = _extract(column, candidates, grammar)
    if parts is None:
        return _nothing(len(candidates))
    return Temporal(fast=parts["ok"] & _calendar_ok(parts), values=_micros_of_day(parts))


def typed_datetimes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(wall, utc) microseconds of a datetime64 column; equal for naive columns.

    frictionless reads a pandas Timestamp through `to_pydatetime`, which drops nanoseconds.
    """
    if getattr(series.dtype, "tz", None) is None:
        wall = _micros(series)
        return wall, wall
    return _micros(series.dt.tz_localize(None)), _micros(series.dt.tz_convert("UTC"))


def days_of(micros: np.ndarray) -> np.ndarray:
    return np.floor_divide(micros, MICROS_PER_DAY)


def _micros(series: pd.Series) -> np.ndarray:
    naive = series.dt.tz_localize(None) if getattr(series.dtype, "tz", None) else series
    values = naive.to_numpy(dtype="datetime64[us]", na_value=np.datetime64(0, "us"))
    return values.astype(np.int64)


def _nothing(size: int) -> Temporal:
    return Temporal(fast=np.zeros(size, dtype=bool), values=np.zeros(size, dtype=np.int64))


def _extract(column: Column, candidates: np.ndarray, grammar: Grammar | None) -> dict | None:
    """The grammar's numbers in every candidate cell that fits it, as int64 arrays."""
    if grammar is None or not candidates.any():
        return None
    size = len(candidates)
    lengths = column.byte_lengths
    longer = np.zeros(size, bool)
    if grammar.tail is not None:
        longer = candidates & (lengths > grammar.length)
    rows = np.flatnonzero(candidates & (lengths == grammar.length) | longer)
    if len(rows) == size and column.all_of_width(grammar.length):
        # the common case, every cell of the grammar's width: one (rows x width) byte view
        ok, parts = _read_matrix(column.byte_matrix(grammar.length), grammar)
    else:
        fits, parts = _read_matrix(column.byte_matrix(grammar.length, rows), grammar)
        ok = _scatter(size, rows, fits)
        parts = {name: _scatter(size, rows, value) for name, value in parts.items()}
    if grammar.tail is not None and longer.any():
        tails = np.flatnonzero(longer & ok)  # only those whose fixed part fits: worth a regex
        ok[longer] = False
        _read_tails(column, tails, grammar.tail, grammar.tail_parts, parts, ok)
    parts["ok"] = ok
    return parts


def _read_matrix(matrix: np.ndarray, grammar: Grammar) -> tuple[np.ndarray, dict[str, Any]]:
    """(cells that fit, their numbers) from the first `grammar.length` bytes of each cell.

    Column by column on purpose: numpy is much faster on one strided byte column at a time
    than on a reduction across a row's bytes."""
    fits = np.ones(len(matrix), bool)
    for offset, allowed in grammar.literals.items():
        found = matrix[:, offset]
        fits &= found == allowed[0] if len(allowed) == 1 else np.isin(found, list(allowed))
    parts: dict[str, Any] = {}
    for name, (offset, width) in grammar.parts.items():
        value = np.zeros(len(matrix), np.int32)
        for index in range(offset, offset + width):
            digit = matrix[:, index] - np.uint8(48)  # wraps round below "0": > 9 as well
            fits &= digit <= 9
            value = value * 10 + digit
        parts[name] = value.astype(np.int64)  # microseconds overflow int32
    return fits, parts


def _read_tails(
    column: Column, rows: np.ndarray, regex: str, names: tuple[str, ...], parts: dict, ok: Any
) -> None:
    """Cells with a fraction of a second or a zone: the whole cell must match the regex."""
    if not len(rows):
        return
    text = column.text.take(pa.array(rows))
    matched = pc.fill_null(pc.match_substring_regex(text, regex), False)
    ok[rows] = matched.to_numpy(zero_copy_only=False)
    struct = pc.extract_regex(text, regex)
    groups = [struct.type.field(i).name for i in range(struct.type.num_fields)]
    for name in names:
        strings = pc.fill_null(pc.struct_field(struct, [groups.index(name)]), "")
        if name == "zone":
            zone = np.full(len(ok), "", dtype=object)
            zone[rows] = strings.to_numpy(zero_copy_only=False)
            parts[name] = pa.array(zone, pa.string())
        else:  # fraction: "5" is 500000 microseconds
            fraction = np.zeros(len(ok), dtype=np.int64)
            fraction[rows] = _integers(pc.utf8_rpad(strings, width=6, padding="0"))
            parts[name] = fraction


def _scatter(size: int, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.zeros(size, dtype=values.dtype)
    out[rows] = values
    return out


def _integers(strings: pa.Array) -> np.ndarray:
    strings = pc.if_else(pc.equal(strings, ""), pa.scalar("0", strings.type), strings)
    return pc.fill_null(pc.cast(strings, pa.int64()), 0).to_numpy(zero_copy_only=False)


def _part(parts: dict, name: str, default: int) -> Any:
    # strptime's defaults for what a format leaves out: 1900-01-01T00:00:00
    return parts.get(name, default)


# Calendar lookups for the years 0..9999, computed once by numpy's own calendar.
_YEARS = np.arange(10_000)
_YEAR_START = (_YEARS - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
_LEAP = ((_YEARS % 4 == 0) & ((_YEARS % 100 != 0) | (_YEARS % 400 == 0))).astype(np.int64)
_MONTH_LENGTH = np.array(
    [
        [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31],
        [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31],
    ]
)
_MONTH_START = np.concatenate([np.zeros((2, 1), np.int64), _MONTH_LENGTH.cumsum(axis=1)], axis=1)


def _calendar(parts: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day, leap) clipped into the calendar's range, to index the lookups."""
    shape = parts["ok"].shape
    year = np.broadcast_to(np.clip(_part(parts, "year", 1900), 0, 9999), shape)
    month = np.broadcast_to(np.clip(_part(parts, "month", 1), 1, 12), shape)
    day = np.broadcast_to(_part(parts, "day", 1), shape)
    return year, month, day, _LEAP[year]


def _calendar_ok(parts: dict) -> np.ndarray:
    _, month, day, leap = _calendar(parts)
    ok = (np.asarray(_part(parts, "year", 1900)) >= 1) & (day >= 1)
    ok &= day <= _MONTH_LENGTH[leap, month - 1]
    raw_month = np.asarray(_part(parts, "month", 1))
    ok &= (raw_month >= 1) & (raw_month <= 12)
    ok &= np.asarray(_part(parts, "hour", 0)) <= 23
    ok &= np.asarray(_part(parts, "minute", 0)) <= 59
    ok &= np.asarray(_part(parts, "second", 0)) <= 59
    return np.broadcast_to(ok, parts["ok"].shape)


def _days(parts: dict) -> np.ndarray:
    """Days since 1970-01-01 (proleptic Gregorian); rows not read here get some value."""
    year, month, day, leap = _calendar(parts)
    return _YEAR_START[year] + _MONTH_START[leap, month - 1] + day - 1


def _micros_of_day(parts: dict) -> np.ndarray:
    seconds = (
        np.asarray(_part(parts, "hour", 0)) * 3600
        + np.asarray(_part(parts, "minute", 0)) * 60
        + np.asarray(_part(parts, "second", 0))
    )
    micros = seconds * 1_000_000 + np.asarray(_part(parts, "fraction", 0))
    return np.broadcast_to(micros, parts["ok"].shape).astype(np.int64)


def _offsets(parts: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offset in microseconds, aware, offset valid) from `Z` / `+HH:MM` zones."""
    shape = parts["ok"].shape
    zone = parts.get("zone")
    if zone is None:
        return np.zeros(shape, np.int64), np.zeros(shape, bool), np.ones(shape, bool)
    aware = pc.not_equal(zone, "").to_numpy(zero_copy_only=False)
    negative = pc.starts_with(zone, "-").to_numpy(zero_copy_only=False)
    numeric = pc.match_substring_regex(zone, "^[+-]")
    hours = _integers(pc.if_else(numeric, pc.utf8_slice_codeunits(zone, 1, 3), "0"))
    minutes = _integers(pc.if_else(numeric, pc.utf8_slice_codeunits(zone, 4, 6), "0"))
    offset = np.where(negative, -1, 1) * (hours * 3600 + minutes * 60) * 1_000_000
    return offset.astype(np.int64), aware, (hours <= 23) & (minutes <= 59)

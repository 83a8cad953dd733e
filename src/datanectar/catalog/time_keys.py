"""Which keys a namespace declares: static values, or the periods of a time cadence.

Dagster knows its partitions; a plain call or `catalog.load/save` must refuse the same keys
without importing it. A time dimension's keys are the periods Dagster would list: formatted as
Dagster formats them, aligned to the cadence (hours on the hour, weeks from Sunday, months
from the 1st), from `start` up to `end` (exclusive), or up to the last period that has ended
(plus `end_offset` periods) in the dimension's timezone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

from ..errors import NamespaceKeyError, did_you_mean
from .namespaces import Dimension

KEY_FORMATS = {
    "hourly": "%Y-%m-%d-%H:%M",
    "daily": "%Y-%m-%d",
    "weekly": "%Y-%m-%d",
    "monthly": "%Y-%m-%d",
}
_SHOWN_KEYS = 10


_STEPS = {
    "hourly": dt.timedelta(hours=1),
    "daily": dt.timedelta(days=1),
    "weekly": dt.timedelta(days=7),
}


def period_end(cadence: str, start: dt.datetime) -> dt.datetime:
    """The end (exclusive) of the period that starts at `start`."""
    return _advance(cadence, start, 1)


def parse_time_key(cadence: str, key: str) -> dt.datetime | None:
    """The start of the period a key names, or None if it is no key of this cadence (keys are
    written exactly as Dagster writes them: `2024-1-1` is not `2024-01-01`)."""
    try:
        start = dt.datetime.strptime(key, KEY_FORMATS[cadence])
    except ValueError:
        return None
    if start.strftime(KEY_FORMATS[cadence]) != key or not _aligned(cadence, start):
        return None
    return start


def _aligned(cadence: str, start: dt.datetime) -> bool:
    if cadence == "hourly":
        return start.minute == 0
    if cadence == "weekly":
        return start.weekday() == 6  # Dagster's weeks start on Sunday
    if cadence == "monthly":
        return start.day == 1
    return True


def _is_boundary(cadence: str, moment: dt.datetime) -> bool:
    """Whether a period of the cadence starts at `moment`."""
    on_the_hour = moment.minute == moment.second == moment.microsecond == 0
    if cadence == "hourly":
        return on_the_hour
    return on_the_hour and moment.hour == 0 and _aligned(cadence, moment)


def first_period(dimension: Dimension) -> dt.datetime:
    """The start of the first period: `start`, or the first period boundary after it."""
    cadence = str(dimension.cadence)
    start = _bound(dimension, str(dimension.span.start if dimension.span else ""))
    return start if _is_boundary(cadence, start) else _next_boundary(cadence, start)


def last_period_end(dimension: Dimension, *, now: dt.datetime | None = None) -> dt.datetime:
    """The end of the last period the dimension has: `end`, or that of the last period that
    has ended by now in its timezone, moved on by `end_offset` periods."""
    span = dimension.span
    cadence = str(dimension.cadence)
    if span is not None and span.end is not None:
        return _bound(dimension, span.end)
    zone = ZoneInfo(span.timezone) if span is not None and span.timezone else dt.UTC
    local = (now or dt.datetime.now(dt.UTC)).astimezone(zone).replace(tzinfo=None)
    first = first_period(dimension)
    ended = max(_whole_periods(cadence, first, local), 0)
    return _advance(cadence, first, ended + (span.end_offset if span is not None else 0))


def _whole_periods(cadence: str, first: dt.datetime, moment: dt.datetime) -> int:
    """How many whole periods lie between `first` and `moment`."""
    if cadence == "monthly":
        count = (moment.year - first.year) * 12 + moment.month - first.month
        return count if _advance(cadence, first, count) <= moment else count - 1
    return int((moment - first) // _STEPS[cadence])


def _advance(cadence: str, start: dt.datetime, periods: int) -> dt.datetime:
    if cadence != "monthly":
        return start + periods * _STEPS[cadence]
    months = start.year * 12 + start.month - 1 + periods
    return start.replace(year=months // 12, month=months % 12 + 1)


def time_key_problem(
    dimension: Dimension, key: str, *, now: dt.datetime | None = None
) -> str | None:
    """Why `key` is not one of the dimension's periods, or None when it is."""
    cadence = str(dimension.cadence)
    start = parse_time_key(cadence, key)
    if start is None:
        return f"is not a {cadence} key (written like {_example(dimension)})"
    first = first_period(dimension)
    if start < first:
        return f"is before the first period, {first.strftime(KEY_FORMATS[cadence])}"
    if period_end(cadence, start) > last_period_end(dimension, now=now):
        return f"is after the last period ({_last_key(dimension, now=now)})"
    return None


def time_keys(dimension: Dimension, *, now: dt.datetime | None = None) -> list[str]:
    """Every key of a time dimension, in order."""
    cadence = str(dimension.cadence)
    end = last_period_end(dimension, now=now)
    keys, start = [], first_period(dimension)
    while period_end(cadence, start) <= end:
        keys.append(start.strftime(KEY_FORMATS[cadence]))
        start = period_end(cadence, start)
    return keys


def check_declared(where: str, dimensions: Sequence[Dimension], keys: Mapping[str, str]) -> None:
    """Refuse a key that a static or time dimension does not declare, naming the declared
    ones (dynamic keys live in the Dagster instance and are not known here)."""
    for dimension in dimensions:
        key = keys.get(dimension.name)
        if key is None:
            continue
        if dimension.values is not None and key not in dimension.values:
            shown = ", ".join(dimension.values[:_SHOWN_KEYS])
            more = len(dimension.values) - _SHOWN_KEYS
            raise NamespaceKeyError(
                f"{where}: namespace {key!r} is not declared for dimension "
                f"'{dimension.name}'.{did_you_mean(key, dimension.values)} Declared: {shown}"
                + (f" (and {more} more)" if more > 0 else "")
                + ". Fix: use a declared key, or add it to the entry's namespaces."
            )
        if dimension.is_time:
            problem = time_key_problem(dimension, key)
            if problem is not None:
                raise NamespaceKeyError(
                    f"{where}: namespace {key!r} of {dimension.cadence} dimension "
                    f"'{dimension.name}' {problem}. Its keys run from "
                    f"{first_period(dimension).strftime(KEY_FORMATS[str(dimension.cadence)])} "
                    f"to {_last_key(dimension)}."
                )


def _last_key(dimension: Dimension, *, now: dt.datetime | None = None) -> str:
    cadence = str(dimension.cadence)
    end = last_period_end(dimension, now=now)
    last = _advance(cadence, end, -1)
    if last < first_period(dimension):
        return "none yet"
    return last.strftime(KEY_FORMATS[cadence])


def _example(dimension: Dimension) -> str:
    return first_period(dimension).strftime(KEY_FORMATS[str(dimension.cadence)])


def _bound(dimension: Dimension, text: str) -> dt.datetime:
    """A `start`/`end` as written in the catalog (Dagster's formats)."""
    for layout in (KEY_FORMATS[str(dimension.cadence)], "%Y-%m-%d", "%Y-%m-%d-%H:%M"):
        try:
            return dt.datetime.strptime(text, layout)
        except ValueError:
            continue
    raise NamespaceKeyError(
        f"dimension '{dimension.name}': {text!r} is not a date (YYYY-MM-DD) or an hour "
        "(YYYY-MM-DD-HH:MM)"
    )


def _next_boundary(cadence: str, moment: dt.datetime) -> dt.datetime:
    if cadence == "hourly":
        return moment.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if cadence == "daily":
        return day + dt.timedelta(days=1)
    if cadence == "weekly":
        return day + dt.timedelta(days=(6 - day.weekday()) % 7 or 7)
    return period_end("monthly", day.replace(day=1))

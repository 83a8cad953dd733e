"""Which keys a namespace declares: static values, or the periods of a time cadence.

Dagster knows its partitions; a plain call or `catalog.load/save` must refuse the same keys
without importing it. A time dimension's keys are the periods Dagster would list: formatted as
Dagster formats them, aligned to the cadence (hours on the hour, weeks from Sunday, months
from the 1st), from `start` up to `end` (exclusive), or up to the last period that has ended
(plus `end_offset` periods) in the dimension's timezone.
"""

from __future__ import annotations

import datetime as dt
import re
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
    """The start of the period a key names (its wall time), or None if it is no key of this
    cadence (keys are written exactly as Dagster writes them: `2024-1-1` is not `2024-01-01`;
    the second of a repeated hour carries its offset, `2024-10-27-02:00+0100`)."""
    if cadence == "hourly":
        key = _OFFSET.sub("", key)
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
    zone = ZoneInfo(span.timezone) if span is not None and span.timezone else dt.UTC
    local = (now or dt.datetime.now(dt.UTC)).astimezone(zone).replace(tzinfo=None)
    first = first_period(dimension)
    ended = max(_whole_periods(cadence, first, local), 0)
    current = _advance(cadence, first, ended + (span.end_offset if span is not None else 0))
    if span is not None and span.end is not None:
        return min(current, _bound(dimension, span.end))  # Dagster lists no period to come
    return current


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
    if _zoned_hours(dimension):
        return _zoned_hour_problem(dimension, key, now=now)
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
    if _zoned_hours(dimension):
        return _zoned_hour_keys(dimension, now=now)
    cadence = str(dimension.cadence)
    end = last_period_end(dimension, now=now)
    keys, start = [], first_period(dimension)
    while period_end(cadence, start) <= end:
        keys.append(start.strftime(KEY_FORMATS[cadence]))
        start = period_end(cadence, start)
    return keys


_OFFSET = re.compile(r"[+-][0-9]{4}$")


def _zoned_hours(dimension: Dimension) -> bool:
    """Hours in a time zone: the only periods a change of clocks can skip or repeat."""
    span = dimension.span
    return dimension.cadence == "hourly" and span is not None and span.timezone is not None


def _zoned_hour_keys(dimension: Dimension, *, now: dt.datetime | None = None) -> list[str]:
    """The hours of a zoned hourly dimension, as Dagster lists them: every hour that passes
    there, named by its wall time; an hour the clocks skip is none, and the second of a
    repeated hour is named with its offset (`2024-10-27-02:00+0100`)."""
    zone, first, end = _zoned_span(dimension, now=now)
    keys = []
    hour = first
    while hour + _STEPS["hourly"] <= end:
        keys.append(_hour_key(hour, zone))
        hour += _STEPS["hourly"]
    return keys


def _zoned_hour_problem(dimension: Dimension, key: str, *, now: dt.datetime | None) -> str | None:
    """Why `key` names no hour of a zoned hourly dimension (None when it names one)."""
    wall = parse_time_key("hourly", key)
    if wall is None:
        return f"is not a hourly key (written like {_example(dimension)})"
    zone, first, end = _zoned_span(dimension, now=now)
    instant = wall.replace(tzinfo=zone, fold=1 if _OFFSET.search(key) else 0).astimezone(dt.UTC)
    if _hour_key(instant, zone) != key:  # skipped by the clocks, or a wrong offset
        return (
            f"is no hour in {zone.key} (an hour the clocks skip, or a repeated hour's second "
            f"time without its offset or with another: that one is {_hour_key(instant, zone)})"
        )
    if instant < first:
        return f"is before the first hour, {_hour_key(first, zone)}"
    if instant + _STEPS["hourly"] > end:
        last = _hour_key(end - _STEPS["hourly"], zone) if end > first else "none yet"
        return f"is after the last hour ({last})"
    return None


def _zoned_span(
    dimension: Dimension, *, now: dt.datetime | None
) -> tuple[ZoneInfo, dt.datetime, dt.datetime]:
    """(zone, first hour, end of the last hour), the two in UTC."""
    span = dimension.span
    zone = ZoneInfo(str(span.timezone))  # type: ignore[union-attr]
    first = first_period(dimension).replace(tzinfo=zone).astimezone(dt.UTC)
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    hours = max(int((moment - first) // _STEPS["hourly"]), 0)
    end = first + (hours + (span.end_offset if span is not None else 0)) * _STEPS["hourly"]
    if span is not None and span.end is not None:  # Dagster lists no hour to come
        end = min(end, _bound(dimension, span.end).replace(tzinfo=zone).astimezone(dt.UTC))
    return zone, first, end


def _hour_key(instant: dt.datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    key = local.strftime(KEY_FORMATS["hourly"])
    return key + local.strftime("%z") if local.fold else key


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


def _zone_of(timezone: str | None) -> dt.tzinfo:
    return ZoneInfo(timezone) if timezone else dt.UTC


def period_window(
    cadence: str, key: str, *, timezone: str | None = None
) -> tuple[dt.datetime, dt.datetime] | None:
    """The [start, end) of the period a key names, as Dagster computes it: aware datetimes in
    the timezone (UTC when none is given), so a day the clocks change lasts 23 or 25 hours and
    the second of a repeated hour (`2024-10-27-02:00+0100`) is the hour after the first. None
    when `key` names no period of the cadence there."""
    wall = parse_time_key(cadence, key)
    if wall is None:
        return None
    zone = _zone_of(timezone)
    if cadence == "hourly":
        instant = wall.replace(tzinfo=zone, fold=1 if _OFFSET.search(key) else 0)
        hour = instant.astimezone(dt.UTC)
        if _hour_key(hour, zone) != key:  # skipped by the clocks, or a wrong offset
            return None
        return hour.astimezone(zone), (hour + _STEPS["hourly"]).astimezone(zone)
    return wall.replace(tzinfo=zone), period_end(cadence, wall).replace(tzinfo=zone)


def period_index(dimension: Dimension, start: dt.datetime) -> int:
    """The position among the dimension's periods (0 for the first) of the one starting at
    `start` (aware, as `period_window` gives it)."""
    cadence = str(dimension.cadence)
    zone = _zone_of(dimension.span.timezone if dimension.span else None)
    first = first_period(dimension)
    if cadence == "hourly":
        origin = first.replace(tzinfo=zone).astimezone(dt.UTC)
        return int((start.astimezone(dt.UTC) - origin) // _STEPS["hourly"])
    return _whole_periods(cadence, first, start.astimezone(zone).replace(tzinfo=None))


def period_start(dimension: Dimension, index: int) -> dt.datetime:
    """The start (aware, in the dimension's timezone) of its period at position `index`."""
    cadence = str(dimension.cadence)
    zone = _zone_of(dimension.span.timezone if dimension.span else None)
    first = first_period(dimension)
    if cadence == "hourly":
        origin = first.replace(tzinfo=zone).astimezone(dt.UTC)
        return (origin + index * _STEPS["hourly"]).astimezone(zone)
    return _advance(cadence, first, index).replace(tzinfo=zone)

"""The bounds of a `range` rule: numbers, or dates and times.

```yaml
checks:
  - range: {temperature: [-60, 60]}                      # numbers
  - range: {observed: ["2020-01-01", "2020-12-31"]}      # dates: the whole last day is in
  - range: {stamp: ["2020-01-01T00:00:00+01:00", null]}  # instants; null: open
```

A pair is of one kind: two numbers, or two ISO dates/timestamps (YAML's own dates count).
Times are compared as UTC instants: an aware value or bound is converted, a naive one is
taken as UTC (what a store without time zones, such as sqlite, keeps of an aware value). A
date-only high bound includes its whole day. Pure data: no pandas here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

BoundKind = Literal["number", "time"]


@dataclass(frozen=True)
class Bounds:
    """One column's or variable's range, typed."""

    kind: BoundKind
    low: float | dt.datetime | None
    high: float | dt.datetime | None
    """For times: UTC instants; a date-only high bound is the start of the next day,
    excluded (`high_open`)."""
    high_open: bool = False
    shown: tuple[Any, Any] = (None, None)
    """The bounds as the catalog gives them, for messages."""

    def describe(self) -> str:
        low, high = (_shown(value) for value in self.shown)
        return f"[{low}, {high}]"


def parse_bounds(pair: Any) -> Bounds:
    """The typed bounds of one `[low, high]`; ValueError naming what is wrong."""
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        raise ValueError(f"{pair!r} is not a pair [low, high] (null for an open end)")
    low, high = pair
    kinds = {_kind(value) for value in (low, high) if value is not None}
    if not kinds:
        raise ValueError("both bounds are null: give at least one")
    if len(kinds) > 1:
        raise ValueError(f"[{low!r}, {high!r}] mixes a number and a date/time")
    kind = kinds.pop()
    if kind == "number":
        bounds = Bounds("number", _number(low), _number(high), shown=(low, high))
    else:
        high_instant, open_ = _instant(high, end=True)
        bounds = Bounds("time", _instant(low)[0], high_instant, open_, shown=(low, high))
    if bounds.low is not None and bounds.high is not None and bounds.low > bounds.high:
        raise ValueError(f"the low bound {low!r} is above the high bound {high!r}")
    return bounds


def _kind(value: Any) -> BoundKind:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is no bound: give a number or an ISO date/time")
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dt.date | str):
        _instant(value)  # an unreadable text is an error here, where the catalog names it
        return "time"
    raise ValueError(f"{value!r} is no bound: give a number or an ISO date/time")


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _instant(value: Any, *, end: bool = False) -> tuple[dt.datetime | None, bool]:
    """(the UTC instant, whether it is an excluded end: a date-only high bound)."""
    if value is None:
        return None, False
    if isinstance(value, str):
        text = value.strip()
        try:
            value = (
                dt.date.fromisoformat(text)
                if len(text) == 10
                else dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            )
        except ValueError:
            raise ValueError(
                f"{value!r} is neither a number nor an ISO date (2020-01-31) or timestamp "
                "(2020-01-31T12:00:00+01:00)"
            ) from None
    if not isinstance(value, dt.datetime):  # a date: its day
        start = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
        return (start + dt.timedelta(days=1), True) if end else (start, False)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC), False
    return value.astimezone(dt.UTC), False


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    return value.isoformat() if isinstance(value, dt.date) else str(value)

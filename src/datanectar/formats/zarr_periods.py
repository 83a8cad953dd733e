"""Where the periods of a time-partitioned zarr store lie along its `time` axis.

The axis is a fixed grid that starts at the dimension's first period, so every period has its
own region, known from its window before anything is written: periods are written in any order,
a skipped one leaves a gap of unwritten chunks (fill values) that it can fill later, and no write
shifts or rewrites another period's chunks. Two layouts, chosen by the first period written:

- `step`: times every `step` from `origin` (a period's region is the grid times in its window):
  hourly values in daily periods, daily values in monthly ones, in any time zone (in UTC, where
  the store keeps them, the steps are even across changes of clocks);
- `period`: one time per period (monthly means, one value per day at midnight in Paris): slot
  `i` is period `i`, whatever its length.

Stored times are UTC: tz-aware pandas times are converted to naive UTC when written, naive ones
are taken as UTC, and a period's window is converted to UTC to find its region.

The store's attribute `datanectar_time_axis` records the grid and which periods are complete.
A write marks its period as being written, writes its region, then marks it complete; each mark
is one write of the attributes and of the consolidated metadata (one object each, replaced
whole). A killed write thus leaves its period marked as being written: it reads as missing, and
a load names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from .base import Refused

if TYPE_CHECKING:
    from ..targets import Slice

RECORD = "datanectar_time_axis"
TIME = "time"
_US = "datetime64[us]"


def utc(moment: str | Any) -> Any:
    """A time as the store keeps it: naive UTC, microseconds (a naive one is taken as UTC)."""
    import numpy as np
    import pandas as pd

    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return np.datetime64(stamp.to_datetime64(), "us")


def utc_window(part: Slice) -> tuple[Any, Any]:
    if part.window is None:
        raise ValueError("a time partition needs its time window")
    start, end = part.window
    return utc(start), utc(end)


def in_utc(dataset: Any, part: Slice) -> Any:
    """The value with its times in UTC (naive): tz-aware pandas times are converted."""
    import pandas as pd

    index = dataset.indexes.get(TIME)
    if index is not None and index.inferred_type in ("datetime", "datetime64"):
        index = pd.DatetimeIndex(pd.to_datetime(index, utc=True))  # datetimes as objects
    if not isinstance(index, pd.DatetimeIndex):
        kind = type(index).__name__ if index is not None else "no index"
        raise Refused(
            f"namespace {dict(part.keys)}: its '{TIME}' coordinate ({kind}) holds no datetimes; "
            "the periods of one zarr store are placed by their times (datetime64 or pandas "
            "times; naive ones are taken as UTC). Fix: give it datetimes."
        )
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return dataset.assign_coords({TIME: index})


def _iso(moment: Any) -> str:
    import pandas as pd

    return pd.Timestamp(moment).isoformat()


@dataclass(frozen=True)
class Axis:
    """The time grid of one store and the record of its periods (all times naive UTC)."""

    layout: Literal["step", "period"]
    origin: Any
    """Slot 0: its time (`step`), or the start of the dimension's first period (`period`)."""
    step_us: int | None = None
    complete: tuple[tuple[str, str], ...] = field(default=())
    """The windows of the periods written whole, contiguous ones merged."""
    writing: tuple[tuple[str, str], ...] = field(default=())
    """The windows of the periods whose write began and did not finish."""

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any]) -> Axis | None:
        """The store's axis, or None for a store without the record (written by other tools,
        or by a datanectar that appended periods in order)."""
        record = attrs.get(RECORD)
        if not isinstance(record, Mapping):
            return None
        return cls(
            layout=record["layout"],
            origin=utc(record["origin"]),
            step_us=record.get("step_us"),
            complete=tuple(tuple(pair) for pair in record.get("complete", [])),  # type: ignore[misc]
            writing=tuple(tuple(pair) for pair in record.get("writing", [])),  # type: ignore[misc]
        )

    def attrs(self) -> dict[str, Any]:
        return {
            RECORD: {
                "layout": self.layout,
                "origin": _iso(self.origin),
                "step_us": self.step_us,
                "complete": [list(pair) for pair in self.complete],
                "writing": [list(pair) for pair in self.writing],
            }
        }

    @classmethod
    def for_first(cls, times: Any, part: Slice) -> Axis:
        """The grid the first period written sets: its own step, from the dimension's start."""
        import numpy as np

        first = utc(part.period.start_of(0)) if part.period is not None else utc_window(part)[0]
        if len(times) == 1:
            if part.period is None:
                raise ValueError("a period of one time needs its place among the periods")
            return cls("period", first)
        steps = np.unique(np.diff(times))
        if len(steps) != 1 or steps[0] <= np.timedelta64(0, "us"):
            raise Refused(
                f"namespace {dict(part.keys)}: its times are not evenly spaced and in order "
                f"(steps {', '.join(str(step) for step in steps[:3])}); the periods of one zarr "
                "store lie on one time grid. Fix: give the period evenly spaced times, or put "
                "the dimension in the path (`grid/{date}.zarr`) to keep each period as a store "
                "of its own."
            )
        step = steps[0].astype("timedelta64[us]")
        phase = (times[0] - first) % step
        return cls("step", first + phase, int(step.astype("int64")))

    def region(self, part: Slice) -> slice:
        """The slots of the period `part` names."""
        import numpy as np

        if self.layout == "period":
            if part.period is None:
                raise ValueError("a period of this store needs its place among the periods")
            first = utc(part.period.start_of(0))
            if first != self.origin:
                raise Refused(
                    f"namespace {dict(part.keys)}: the store's periods start at "
                    f"{_iso(self.origin)} (UTC) and the entry's namespaces at {_iso(first)}: "
                    "its periods would land on other periods' slots. Fix: restore the "
                    "namespaces' start, or remove the store and write it again."
                )
            return slice(part.period.index, part.period.index + 1)
        start, end = utc_window(part)
        step = np.timedelta64(self.step_us, "us")
        if start <= self.origin - step:
            raise Refused(
                f"namespace {dict(part.keys)}: its window starts at {_iso(start)} (UTC), before "
                f"the store's first time, {_iso(self.origin)}. Fix: remove the store and write "
                "it again (it then starts at the namespaces' first period)."
            )
        return slice(-(-(start - self.origin) // step), -(-(end - self.origin) // step))

    def times(self, slots: range, part: Slice) -> Any:
        """The times of the slots (for a period not written yet: its start)."""
        import numpy as np

        if self.layout == "step":
            return self.origin + np.arange(slots.start, slots.stop) * np.timedelta64(
                self.step_us, "us"
            )
        period = part.period
        return np.array([utc(period.start_of(slot)) for slot in slots], dtype=_US)  # type: ignore[union-attr]

    def check_fits(self, times: Any, region: slice, part: Slice) -> None:
        """Refuse a period whose times are not its region's slots."""
        import numpy as np

        start, end = utc_window(part)
        if self.layout == "period":
            fits = len(times) == 1 and start <= times[0] < end
            expected = f"one time in its window, {_iso(start)} to {_iso(end)}"
        else:
            wanted = self.times(range(region.start, region.stop), part)
            fits = len(times) == len(wanted) and bool(np.all(times == wanted))
            expected = (
                f"{len(wanted)} times every {np.timedelta64(self.step_us, 'us')} from "
                f"{_iso(wanted[0]) if len(wanted) else _iso(start)}, its window's steps on the "
                "store's grid"
            )
        if not fits:
            shown = f"{_iso(times[0])} .. {_iso(times[-1])}" if len(times) else "none"
            raise Refused(
                f"namespace {dict(part.keys)}: its {len(times)} times ({shown}, UTC) are not the "
                f"store's for its period: {expected} (UTC; stored times are UTC, naive ones are "
                "taken as UTC). Fix: give the period exactly those times (fill gaps with NaN; "
                "localize local times, e.g. `.tz_localize('Europe/Paris')`), or put the "
                "dimension in the path (`grid/{date}.zarr`) to keep each period as a store of "
                "its own."
            )

    def state(self, part: Slice) -> Literal["complete", "writing", "missing"]:
        window = tuple(_iso(moment) for moment in utc_window(part))
        if _covers(self.writing, window):
            return "writing"
        return "complete" if _covers(self.complete, window) else "missing"

    def begun(self, part: Slice) -> Axis:
        """The record once the period's write has begun: no longer complete, being written."""
        window = tuple(_iso(moment) for moment in utc_window(part))
        return replace(
            self,
            complete=_without(self.complete, window),
            writing=_with(self.writing, window),
        )

    def finished(self, part: Slice) -> Axis:
        window = tuple(_iso(moment) for moment in utc_window(part))
        return replace(
            self,
            complete=_with(self.complete, window),
            writing=_without(self.writing, window),
        )

    def removed(self, part: Slice) -> Axis:
        window = tuple(_iso(moment) for moment in utc_window(part))
        return replace(
            self,
            complete=_without(self.complete, window),
            writing=_without(self.writing, window),
        )


Windows = tuple[tuple[str, str], ...]


def _covers(windows: Windows, window: tuple[str, ...]) -> bool:
    start, end = (utc(moment) for moment in window)
    return any(utc(a) <= start and end <= utc(b) for a, b in windows)


def _with(windows: Windows, window: tuple[str, ...]) -> Windows:
    """`windows` and `window`, overlapping or touching ones merged, in order."""
    spans = sorted([(utc(a), utc(b)) for a, b in windows] + [(utc(window[0]), utc(window[1]))])
    merged: list[list[Any]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((_iso(a), _iso(b)) for a, b in merged)


def _without(windows: Windows, window: tuple[str, ...]) -> Windows:
    cut_start, cut_end = utc(window[0]), utc(window[1])
    kept = []
    for a, b in windows:
        start, end = utc(a), utc(b)
        if end <= cut_start or cut_end <= start:
            kept.append((a, b))
            continue
        if start < cut_start:
            kept.append((a, _iso(cut_start)))
        if cut_end < end:
            kept.append((_iso(cut_end), b))
    return tuple(kept)

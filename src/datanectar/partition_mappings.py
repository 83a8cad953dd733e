"""Which namespaces of an upstream entry one computation reads: the partition mapping Dagster
infers for the dependency, computed from the catalog's namespace declarations without Dagster,
so that a plain call reads exactly what a Dagster run of the same namespace loads.

Dagster infers, for a downstream asset reading an upstream one:

- an unpartitioned downstream reads every upstream partition (`AllPartitionMapping`);
- one dimension against two (either way round): the two-dimensional side's dimension declared
  as the single one is, key for key; failing that, its time dimension against a single time
  dimension, window by window (`MultiToSingleDimensionPartitionMapping`); the other
  dimension's keys all;
- a time dimension against a time dimension: every upstream period whose window overlaps the
  downstream period's window, each in its own time zone (`TimeWindowPartitionMapping`):
  the 24 hours of a day (23 or 25 when the clocks change), the week or the month holding a
  day, the one or two months a week overlaps;
- anything else, the same key (`IdentityPartitionMapping`; two dimensions against two, key for
  key by dimension name).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

from .catalog import Entry
from .catalog.namespaces import Dimension
from .catalog.time_keys import (
    KEY_FORMATS,
    parse_time_key,
    period_end,
    time_key_problem,
    time_keys,
)
from .errors import DatanectarError

Partition = Mapping[str, str]
_OFFSET = re.compile(r"[+-][0-9]{4}$")


def upstream_partitions(
    upstream: Entry,
    downstream: Sequence[Dimension] | None,
    partition: Partition | None,
    *,
    reader: str = "the computation reading it",
) -> list[dict[str, str]] | None:
    """The namespaces of `upstream` that a computation of `partition` (a namespace of
    `downstream`'s dimensions; None when unpartitioned) reads, in the upstream's order. None
    when `upstream` has no namespaces (its whole object is read)."""
    ups = list(upstream.namespaces or [])
    downs = list(downstream or [])
    if not ups:
        return None
    if not downs or not partition:
        return _every_partition(upstream, ups, reader=reader)
    _require_keys(downs, partition, upstream, reader)
    if len(ups) != len(downs):
        single, multi = (ups[0], downs) if len(ups) == 1 else (downs[0], ups)
        matched = _matching_dimension(single, multi, upstream, reader)
        if len(ups) == 1:  # one upstream dimension, read from a two-dimensional namespace
            keys = _mapped_keys(matched, partition[matched.name], single, upstream)
            return [{single.name: key} for key in keys]
        # two upstream dimensions read from a one-dimensional namespace: every key of the other
        mapped = _mapped_keys(single, partition[single.name], matched, upstream)
        [other] = [dimension for dimension in ups if dimension.name != matched.name]
        others = _every_key(other, upstream, reader=reader)
        return [
            {dimension.name: by[dimension.name] for dimension in ups}
            for by in (
                {matched.name: key, other.name: other_key}
                for key, other_key in itertools.product(mapped, others)
            )
        ]
    if len(ups) == 1:
        return [
            {ups[0].name: key}
            for key in _mapped_keys(downs[0], partition[downs[0].name], ups[0], upstream)
        ]
    missing = [dimension.name for dimension in ups if dimension.name not in partition]
    if missing:
        raise DatanectarError(
            f"{upstream.subject} is partitioned by {', '.join(d.name for d in ups)}, and "
            f"{reader} runs for {dict(partition)}; dimension {missing[0]} is not given, and "
            "Dagster maps two dimensions to two key for key by name. Fix: name the dimensions "
            "alike, or pass the upstream value explicitly."
        )
    return [{dimension.name: str(partition[dimension.name]) for dimension in ups}]


def _require_keys(
    dimensions: Sequence[Dimension], partition: Partition, upstream: Entry, reader: str
) -> None:
    missing = [dimension.name for dimension in dimensions if dimension.name not in partition]
    if missing:
        raise DatanectarError(
            f"{reader} reading {upstream.subject} runs for {dict(partition)}; its dimension "
            f"{missing[0]} is not given. Fix: pass a key for each of its dimensions "
            f"({', '.join(d.name for d in dimensions)})."
        )


def _matching_dimension(
    single: Dimension, multi: Sequence[Dimension], upstream: Entry, reader: str
) -> Dimension:
    """The dimension of the two-dimensional side that maps to the single one, as Dagster
    infers it: the one declared alike (its name aside), else the time dimension when the
    single one is a time dimension."""
    alike = [dimension for dimension in multi if _declared_alike(dimension, single)]
    if len(alike) == 1:
        return alike[0]
    times = [dimension for dimension in multi if dimension.is_time]
    if not alike and single.is_time and len(times) == 1:
        return times[0]
    why = (
        f"both {alike[0].name} and {alike[1].name} are declared as {single.name} is"
        if len(alike) > 1
        else f"none of {', '.join(d.name for d in multi)} is declared as {single.name} is"
        + (" (nor is there one time dimension to map to it)" if single.is_time else "")
    )
    raise DatanectarError(
        f"{upstream.subject} and {reader} are partitioned by one dimension against two, and "
        f"Dagster cannot tell which of the two maps to the single one: {why}. Fix: declare "
        "the single dimension exactly as one of the two (the same keys, or the same time "
        "cadence and span), or pass the upstream value explicitly."
    )


def _declared_alike(one: Dimension, other: Dimension) -> bool:
    """Whether two dimensions have the same keys (Dagster's equal partitions definitions)."""
    return one.model_dump(exclude={"name"}) == other.model_dump(exclude={"name"})


def _mapped_keys(downstream: Dimension, key: str, upstream: Dimension, entry: Entry) -> list[str]:
    """The keys of upstream dimension `upstream` that downstream key `key` reads."""
    if not (downstream.is_time and upstream.is_time):
        return [str(key)]  # the identity mapping
    if _zone_name(downstream) != _zone_name(upstream):
        raise DatanectarError(
            f"{entry.subject}: its {upstream.cadence} dimension '{upstream.name}' is in "
            f"{_zone_name(upstream)} and the reading {downstream.cadence} dimension "
            f"'{downstream.name}' in {_zone_name(downstream)}; Dagster maps time partitions "
            "only within one time zone. Fix: give both the same timezone."
        )
    start, end = period_instants(downstream, key)
    return [
        found
        for found, _ in _periods_overlapping(upstream, start, end)
        if _exists(upstream, entry, found)
    ]


def _exists(dimension: Dimension, entry: Entry, key: str) -> bool:
    """Refuse a mapped period the upstream does not have (Dagster refuses such a run)."""
    problem = time_key_problem(dimension, key)
    if problem is None:
        return True
    raise DatanectarError(
        f"{entry.subject}: the computation reads its {dimension.cadence} period {key}, which "
        f"{problem}; Dagster refuses such a run too. Fix: widen the upstream's span, or start "
        "the reading entry's namespaces where the upstream's start."
    )


def period_instants(dimension: Dimension, key: str) -> tuple[dt.datetime, dt.datetime]:
    """The [start, end) of the period `key` names, as instants (aware, in UTC): a period is
    wall-clock time in its dimension's time zone (UTC when it declares none)."""
    cadence = str(dimension.cadence)
    wall = parse_time_key(cadence, key)
    if wall is None:
        raise DatanectarError(f"namespace key {key!r} is not a {cadence} partition key")
    zone = _zone(dimension)
    if cadence == "hourly":
        repeated = _OFFSET.search(key)
        start = _wall_instant(wall, zone, repeated.group() if repeated else None)
        return start, start + dt.timedelta(hours=1)
    return _wall_instant(wall, zone), _wall_instant(period_end(cadence, wall), zone)


def _periods_overlapping(
    dimension: Dimension, start: dt.datetime, end: dt.datetime
) -> list[tuple[str, tuple[dt.datetime, dt.datetime]]]:
    """The keys (with their windows) of the dimension's periods that overlap [start, end)."""
    cadence = str(dimension.cadence)
    zone = _zone(dimension)
    found = []
    if cadence == "hourly":
        local = start.astimezone(zone)
        hour = local.replace(minute=0, second=0, microsecond=0).astimezone(dt.UTC)
        while hour < end:
            found.append((_hour_key(hour, zone), (hour, hour + dt.timedelta(hours=1))))
            hour += dt.timedelta(hours=1)
        return found
    wall = _period_start(cadence, start.astimezone(zone).replace(tzinfo=None))
    while _wall_instant(wall, zone) < end:
        following = period_end(cadence, wall)
        window = (_wall_instant(wall, zone), _wall_instant(following, zone))
        found.append((wall.strftime(KEY_FORMATS[cadence]), window))
        wall = following
    return found


def _period_start(cadence: str, wall: dt.datetime) -> dt.datetime:
    """The start (wall time) of the period of `cadence` holding `wall`."""
    day = wall.replace(hour=0, minute=0, second=0, microsecond=0)
    if cadence == "weekly":
        return day - dt.timedelta(days=(day.weekday() + 1) % 7)  # weeks start on Sunday
    if cadence == "monthly":
        return day.replace(day=1)
    return day


def _zone_name(dimension: Dimension) -> str:
    span = dimension.span
    return span.timezone if span is not None and span.timezone else "UTC"


def _zone(dimension: Dimension) -> dt.tzinfo:
    span = dimension.span
    return ZoneInfo(span.timezone) if span is not None and span.timezone else dt.UTC


def _wall_instant(wall: dt.datetime, zone: dt.tzinfo, offset: str | None = None) -> dt.datetime:
    """The instant a wall time names in `zone`: the first of a repeated hour unless `offset`
    (`+0100`) names the second."""
    instant = wall.replace(tzinfo=zone).astimezone(dt.UTC)
    if offset is not None:
        second = wall.replace(tzinfo=zone, fold=1).astimezone(dt.UTC)
        if second.astimezone(zone).strftime("%z") == offset:
            return second
    return instant


def _hour_key(instant: dt.datetime, zone: dt.tzinfo) -> str:
    """An hour's key as Dagster writes it: its wall time, with the offset for the second of a
    repeated hour."""
    local = instant.astimezone(zone)
    key = local.strftime(KEY_FORMATS["hourly"])
    return key + local.strftime("%z") if local.fold else key


def _every_partition(
    upstream: Entry, dimensions: Sequence[Dimension], *, reader: str
) -> list[dict[str, str]]:
    keys = [_every_key(dimension, upstream, reader=reader) for dimension in dimensions]
    return [
        {dimension.name: key for dimension, key in zip(dimensions, combination, strict=True)}
        for combination in itertools.product(*keys)
    ]


def _every_key(dimension: Dimension, upstream: Entry, *, reader: str) -> list[str]:
    """Every key of a dimension the catalog declares (dynamic keys live in Dagster)."""
    if dimension.values is not None:
        return list(dimension.values)
    if dimension.is_time:
        return time_keys(dimension)
    raise DatanectarError(
        f"{reader} reads every namespace of dimension '{dimension.name}' of "
        f"{upstream.subject}, whose keys are dynamic ({dimension.dynamic}): they live in the "
        "Dagster instance, not in the catalog. Fix: pass the upstream value explicitly, or "
        "give the reading function the upstream's namespaces."
    )

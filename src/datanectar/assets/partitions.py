"""Namespaces as Dagster partitions, and Dagster partition keys as namespace keys."""

from __future__ import annotations

from typing import Any

import dagster as dg

from ..catalog import Entry
from ..catalog.namespaces import Dimension

_TIME = {
    "hourly": dg.HourlyPartitionsDefinition,
    "daily": dg.DailyPartitionsDefinition,
    "weekly": dg.WeeklyPartitionsDefinition,
    "monthly": dg.MonthlyPartitionsDefinition,
}


def partitions_def(entry: Entry) -> dg.PartitionsDefinition | None:
    dimensions = entry.namespaces or []
    if not dimensions:
        return None
    if len(dimensions) == 1:
        return _dimension_def(dimensions[0])
    return dg.MultiPartitionsDefinition({d.name: _dimension_def(d) for d in dimensions})


def _dimension_def(dimension: Dimension) -> dg.PartitionsDefinition:
    if dimension.values is not None:
        return dg.StaticPartitionsDefinition(dimension.values)
    if dimension.dynamic is not None:
        return dg.DynamicPartitionsDefinition(name=dimension.dynamic)
    span = dimension.span
    if span is None:  # a validated time dimension always has one
        raise ValueError(f"time dimension '{dimension.name}' has no start")
    options: dict[str, Any] = {
        "start_date": _as_dagster_writes(dimension, span.start),
        "end_offset": span.end_offset,
    }
    if span.end is not None:
        options["end_date"] = _as_dagster_writes(dimension, span.end)
    if span.timezone is not None:
        options["timezone"] = span.timezone
    return _TIME[str(dimension.cadence)](**options)


def keys_of(entry: Entry, partition_key: str | dg.MultiPartitionKey) -> dict[str, str]:
    """A Dagster partition key as {dimension: key}."""
    dimensions = [d.name for d in entry.namespaces or []]
    if isinstance(partition_key, dg.MultiPartitionKey):
        return dict(partition_key.keys_by_dimension)
    if len(dimensions) > 1:  # a multi-partition key given as its string form
        parts = str(partition_key).split("|")
        names = sorted(dimensions)  # Dagster orders multi-partition dimensions by name
        return dict(zip(names, parts, strict=True))
    return {dimensions[0]: str(partition_key)}


def _as_dagster_writes(dimension: Dimension, bound: Any) -> Any:
    """A bound of an hourly span given as a day (the catalog takes it) as its first hour, in
    the form Dagster's hourly partitions parse."""
    text = str(bound)
    if dimension.cadence == "hourly" and len(text) == len("2024-01-01"):
        return f"{text}-00:00"
    return bound

"""Namespace keys to where one partition lives: the one place paths are built from keys.

File formats store one object per partition: the entry's path template filled in
(`grid/{namespace}.zarr`), or, without placeholders, one folder level per dimension beside the
path (`observations/paris.parquet`). Table formats (delta, sql) keep one table and write each
partition in place, with the keys as partition columns.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .catalog import Entry
from .catalog.namespaces import Dimension, check_key
from .catalog.time_keys import period_index, period_window
from .errors import DatanectarError, DataNotFoundError
from .formats import Format, get_format
from .formats.base import PartitionsInPlace, capable, wants
from .targets import Period, Slice, Target

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
Partition = Mapping[str, str]


@dataclass(frozen=True)
class PartitionedOutput:
    """Several namespaces' values computed in one step, on their way to the IO manager."""

    values: list[tuple[dict[str, str], Any]]


@dataclass(frozen=True)
class NamespaceInputs:
    """An upstream entry's namespaces as one input of a single-run backfill step: each is
    loaded when the namespace it feeds is computed, so the range is never all in memory."""

    storage: Any
    entry: Entry
    as_type: Any = None
    objects: Callable[[Partition], Target] | None = None
    """The object of each namespace (default: the entry's own for those keys)."""

    def load(self, partition: Partition) -> Any:
        keys = upstream_partition(self.entry, partition)
        objects = self.objects or (lambda keys: target_for(self.entry, keys))
        return self.storage.load(objects(keys), as_type=self.as_type)


def upstream_partition(upstream: Entry, partition: Partition | None) -> dict[str, str] | None:
    """The partition of `upstream` that a computation of `partition` reads: the same keys,
    dimension by dimension (Dagster's identity mapping). None when `upstream` is not
    partitioned; an error when `partition` does not name each of its dimensions."""
    names = dimension_names(upstream)
    if not names:
        return None
    missing = [name for name in names if name not in (partition or {})]
    if missing:
        raise DatanectarError(
            f"{upstream.subject} is partitioned "
            f"by {', '.join(names)}, and the computation "
            f"reading it {'has no namespace' if not partition else f'runs for {dict(partition)}'}"
            f"; dimension {missing[0]} is not given. Fix: pass the upstream value explicitly, "
            "or give the reading function the same namespaces."
        )
    return {name: str(partition[name]) for name in names}  # type: ignore[index]


def same_namespaces(one: Entry, other: Entry) -> bool:
    """Whether two entries are partitioned alike (Dagster then maps partition to partition)."""
    return bool(one.namespaces) and one.namespaces == other.namespaces


def dimension_names(entry: Entry) -> list[str]:
    return [dimension.name for dimension in entry.namespaces or []]


def placeholders(path: str) -> list[str]:
    return PLACEHOLDER.findall(path)


def target_for(entry: Entry, partition: Partition | None) -> Target:
    """What a read or write of one namespace of `entry` addresses (keys checked, path
    resolved); the entry's whole object when it has no namespaces."""
    if not partition:
        if entry.namespaces:
            raise DatanectarError(
                f"entry '{entry.name}' has namespaces ({', '.join(dimension_names(entry))}); "
                "name the partition to read or write (namespace=... in a plain call)."
            )
        return Target.of(entry)
    expected = dimension_names(entry)
    if sorted(partition) != sorted(expected):
        raise DatanectarError(
            f"entry '{entry.name}': partition {dict(partition)} does not name its namespace "
            f"dimensions {', '.join(expected) or '(none)'}."
        )
    for name, key in partition.items():
        check_key(key, where=f"entry '{entry.name}', dimension '{name}'")
    keys = {name: partition[name] for name in expected}
    dimensions = list(entry.namespaces or [])
    window = period = None
    if len(dimensions) == 1 and dimensions[0].is_time:
        window, period = time_period(dimensions[0], keys[dimensions[0].name])
    whole = Target.of(entry)
    if keeps_in_place(get_format(str(entry.format)), dimensions, whole.path):
        return replace(whole, slice=Slice(keys, window, period, in_place=True))
    return replace(whole, path=partition_path(whole.path, keys), slice=Slice(keys, window, period))


def keeps_in_place(fmt: Format, dimensions: Sequence[Any], path: str) -> bool:
    """Whether an entry of this format, namespaces and path keeps all its namespaces in one
    object (a table's partitions, a zarr store's periods) rather than one object each."""
    return capable(fmt, PartitionsInPlace) and fmt.keeps_partitions_in_place(dimensions, path)


def time_window(cadence: str | None, key: str, *, timezone: str | None = None) -> tuple[str, str]:
    """The [start, end) of a time partition, from its key as Dagster formats it: the window
    Dagster computes for that key, in the dimension's timezone (UTC unless it names one), as
    ISO strings with their offsets (a day the clocks change lasts 23 or 25 hours)."""
    window = period_window(str(cadence), key, timezone=timezone)
    if window is None:
        raise DatanectarError(
            f"namespace key {key!r} is not a {cadence} partition key"
            + (f" in {timezone}" if timezone else "")
        )
    start, end = window
    return start.isoformat(), end.isoformat()


def time_period(dimension: Dimension, key: str) -> tuple[tuple[str, str], Period]:
    """A time namespace's window and its place among the dimension's periods."""
    span = dimension.span
    timezone = span.timezone if span is not None else None
    start, end = time_window(dimension.cadence, key, timezone=timezone)
    index = period_index(dimension, dt.datetime.fromisoformat(start))
    return (start, end), Period(index, dimension)


def partition_path(path: str, keys: Mapping[str, str]) -> str:
    """`path` with its `{dimension}` placeholders filled, or a folder level per dimension."""
    if placeholders(path):
        return PLACEHOLDER.sub(lambda match: keys[match.group(1)], path)
    folder, name = posixpath.split(path)
    stem, dot, suffix = name.partition(".")
    return posixpath.join(folder, stem, *keys.values()) + (f"{dot}{suffix}" if dot else "")


def partition_label(keys: Mapping[str, str]) -> str:
    """One partition as a single string: the key, or Dagster's `a|b` for two dimensions
    (ordered by dimension name, as Dagster orders them)."""
    return (
        "|".join(keys[name] for name in sorted(keys))
        if len(keys) > 1
        else next(iter(keys.values()))
    )


def load_partitions(
    storage: Any,
    entry: Entry,
    partitions: list[dict[str, str]],
    *,
    as_type: Any,
    objects: Callable[[Partition], Target] | None = None,
) -> Any:
    """Several partitions of an entry: a dict by partition, or one concatenated value when the
    caller asked for the plain type (a DataFrame / Arrow table / xarray object). `objects`
    gives each partition's object (default: the entry's own for those keys)."""
    values: dict[str, Any] = {}
    missing = []
    for keys in partitions:
        target = objects(keys) if objects is not None else target_for(entry, keys)
        if not storage.exists(target):
            missing.append(partition_label(keys))
            continue
        values[partition_label(keys)] = storage.load(target, as_type=as_type)
    if missing and not entry.allow_missing_namespaces:
        raise DataNotFoundError(
            f"entry '{entry.name}': namespaces {', '.join(missing)} have no data. Fix: "
            "materialize them, or set allow_missing_namespaces: true on the entry to skip them."
        )
    return combine(values, entry, as_type=as_type)


def combine(
    values: Mapping[str, Any],
    entry: Entry,
    *,
    as_type: Any,
    keys: Mapping[str, Mapping[str, str]] | None = None,
    time_series: bool | None = None,
) -> Any:
    """Several partitions' values as the caller asked: one DataFrame / Arrow table (rows gain
    the dimension columns), one xarray object (along `time` for time partitions of data with a
    time dimension, else along a new dimension named after the partition dimension), or a
    dict by partition. `keys` (label -> {dimension: key}) and `time_series` (one time
    dimension) default to what the entry's namespaces say."""
    dimensions = dimension_names(entry)
    if keys is not None:
        dimensions = list(next(iter(keys.values()), {}))
    if wants(as_type, "pandas.DataFrame", "pyarrow.Table"):
        import pandas as pd

        _require(
            values,
            entry,
            as_type,
            lambda value: hasattr(value, "columns") or hasattr(value, "num_rows"),
        )
        frames = []
        for label, value in values.items():
            frame = value.to_pandas() if hasattr(value, "num_rows") else value
            labelled = (
                keys[label]
                if keys is not None
                else dict(zip(sorted(dimensions), label.split("|"), strict=True))
                if len(dimensions) > 1
                else {dimensions[0]: label}
            )
            frames.append(
                frame.assign(
                    **{name: key for name, key in labelled.items() if name not in frame.columns}
                )
            )
        from .formats.table_values import informative_index

        # Row positions restart in each partition; an index that holds data is kept.
        kept = any(informative_index(frame) for frame in frames)
        combined = pd.concat(frames, ignore_index=not kept) if frames else pd.DataFrame()
        if wants(as_type, "pyarrow.Table"):
            import pyarrow as pa

            return pa.Table.from_pandas(combined, preserve_index=False)
        return combined
    if wants(as_type, "xarray.Dataset", "xarray.DataArray"):
        import pandas as pd
        import xarray as xr

        _require(values, entry, as_type, lambda value: isinstance(value, xr.Dataset | xr.DataArray))
        parts = list(values.values())
        time_partitions = (
            time_series
            if time_series is not None
            else len(entry.namespaces or []) == 1 and entry.namespaces[0].is_time
        )
        if time_partitions and parts and all("time" in part.dims for part in parts):
            # Each period holds its own window of times: joined in order, one time series.
            return xr.concat([values[label] for label in sorted(values)], dim="time")
        name = dimensions[0] if len(dimensions) == 1 else "namespace"
        return xr.concat(parts, dim=pd.Index(list(values), name=name))
    return dict(values)


def _require(values: Mapping[str, Any], entry: Entry, as_type: Any, fits: Any) -> None:
    wrong = sorted({type(value).__name__ for value in values.values() if not fits(value)})
    if wrong:
        wanted = getattr(as_type, "__name__", as_type)
        raise DatanectarError(
            f"{entry.subject} (format "
            f"{entry.format}): its namespaces hold {', '.join(wrong)} values, which cannot be "
            f"combined into one {wanted}. Fix: annotate the reading parameter as dict (a value "
            "per namespace), or drop the annotation."
        )

"""Where a Dagster asset that no catalog declares lives, when one of datanectar's IO managers
stores it: the asset key as a path under the IO manager's store, and its own partitions.

As with Dagster's `UPathIOManager`, an asset `a/b` is stored at `a/b` plus the format's suffix
(`datanectar/path` metadata chooses another path), a partition of a file format is one object
at `a/b/<key>` (one folder level per dimension, in dimension name order), and a table format
(delta, sql) keeps every partition in one table, the key in the column that the asset's
`partition_expr` metadata names, as dagster-deltalake does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import ValidationError

from ..catalog import Entry
from ..catalog.namespaces import check_key
from ..errors import DatanectarError
from ..formats import get_format
from ..partitions import keeps_in_place, partition_path, placeholders
from ..targets import Slice, Target

PATH_METADATA = "datanectar/path"
"""Definition metadata of an asset: its path in the IO manager's store, instead of the key's."""
PARTITION_EXPR = "partition_expr"
"""Definition metadata of a partitioned asset stored in a table format: the column holding
the partition key (for several dimensions, a mapping of dimension name to column)."""
SINGLE_DIMENSION = "partition"
"""The dimension name of a one-dimensional asset without `partition_expr` (a path template's
placeholder: `{partition}`)."""

_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")


def asset_entry(
    asset_key: dg.AssetKey,
    metadata: Mapping[str, Any] | None,
    *,
    format_name: str,
    store: str,
    save_options: Mapping[str, Any],
    load_options: Mapping[str, Any],
) -> Entry:
    """The declaration datanectar's storage code needs for a user's asset."""
    shown = asset_key.to_user_string()
    fmt = get_format(format_name)
    given = _raw((metadata or {}).get(PATH_METADATA))
    if given is not None and not isinstance(given, str):
        raise DatanectarError(
            f"asset '{shown}': metadata '{PATH_METADATA}' is {given!r}; it must be a path "
            "relative to the IO manager's root."
        )
    if given is not None:
        path = given
    elif fmt.medium == "database":  # a table name: identifiers only
        path = "__".join(_NOT_NAME.sub("_", part) for part in asset_key.path)
    else:
        path = "/".join(asset_key.path) + fmt.suffix
    name = "__".join(_NOT_NAME.sub("_", part) for part in asset_key.path)
    try:
        fmt.check_path(path)
        return Entry(
            name=name if not name[:1].isdigit() else f"_{name}",
            asset=shown,
            format=format_name,
            store=store,
            path=path,
            save_options=dict(save_options),
            load_options=dict(load_options),
        )
    except (ValueError, ValidationError) as exc:
        problem = (
            "; ".join(error["msg"].removeprefix("Value error, ") for error in exc.errors())
            if isinstance(exc, ValidationError)
            else str(exc)
        )
        where = f"metadata '{PATH_METADATA}'" if given is not None else "its key as a path"
        raise DatanectarError(
            f"asset '{shown}': {where} ({path!r}) cannot be a {format_name} path: {problem}. "
            f"Fix: set metadata {{'{PATH_METADATA}': ...}} on the asset to a path relative to "
            "the IO manager's root."
        ) from None


def asset_target(
    entry: Entry,
    partitions_def: dg.PartitionsDefinition | None,
    partition_key: str | dg.MultiPartitionKey | None,
    metadata: Mapping[str, Any] | None,
) -> Target:
    """The object (or part of one) that one partition of a user's asset addresses; the whole
    object when it is not partitioned."""
    whole = Target.of(entry)
    if partitions_def is None or partition_key is None:
        return whole
    fmt = get_format(str(entry.format))
    in_place = keeps_in_place(fmt, [], whole.path)
    columns = _dimension_columns(entry, partitions_def, metadata, required=in_place)
    by_dimension = _keys_by_dimension(partitions_def, partition_key)
    keys: dict[str, str] = {}
    for dimension in sorted(by_dimension):  # Dagster's order, and UPathIOManager's folders
        key = by_dimension[dimension]
        check_key(key, where=f"asset '{entry.asset}', partition dimension '{dimension}'")
        keys[columns.get(dimension, dimension)] = key
    named = placeholders(whole.path)
    if named and (set(named) != set(keys) or in_place):
        raise DatanectarError(
            f"asset '{entry.asset}': metadata '{PATH_METADATA}' ({whole.path!r}) has the "
            f"placeholders {', '.join(named)}, and its partitions are named by "
            f"{', '.join(keys)}"
            + (f"; a {entry.format} table keeps every partition in itself" if in_place else "")
            + ". Fix: "
            + (
                "drop the placeholders."
                if in_place
                else f"use exactly {', '.join('{' + key + '}' for key in keys)}, or none."
            )
        )
    window = None
    if isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        span = partitions_def.time_window_for_partition_key(str(partition_key))
        window = (span.start.isoformat(), span.end.isoformat())
    if in_place:
        return Target(entry, whole.store, whole.path, Slice(keys, window, in_place=True))
    return Target(entry, whole.store, partition_path(whole.path, keys), Slice(keys, window))


def _keys_by_dimension(
    partitions_def: dg.PartitionsDefinition, partition_key: str | dg.MultiPartitionKey
) -> dict[str, str]:
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        if not isinstance(partition_key, dg.MultiPartitionKey):
            partition_key = partitions_def.get_partition_key_from_str(str(partition_key))
        return dict(partition_key.keys_by_dimension)
    return {SINGLE_DIMENSION: str(partition_key)}


def _dimension_columns(
    entry: Entry,
    partitions_def: dg.PartitionsDefinition,
    metadata: Mapping[str, Any] | None,
    *,
    required: bool,
) -> dict[str, str]:
    """Dimension name -> the name its key goes by: the table column (`partition_expr`), which
    also names a path template's placeholder."""
    expr = _raw((metadata or {}).get(PARTITION_EXPR))
    multi = isinstance(partitions_def, dg.MultiPartitionsDefinition)
    dimensions = [d.name for d in partitions_def.partitions_defs] if multi else [SINGLE_DIMENSION]
    if expr is None:
        if required and not multi:
            raise DatanectarError(
                f"asset '{entry.asset}' is partitioned and stored as {entry.format}, which keeps "
                "every partition in one table, but it names no column for the partition key. "
                "Fix: add metadata={'partition_expr': 'COLUMN'} to the asset."
            )
        return {}
    if isinstance(expr, str) and not multi:
        columns = {SINGLE_DIMENSION: expr}
    elif isinstance(expr, Mapping) and multi and set(expr) <= set(dimensions):
        columns = {str(name): str(column) for name, column in expr.items()}
    else:
        wanted = (
            f"a mapping of its dimensions ({', '.join(dimensions)}) to columns"
            if multi
            else "a column name"
        )
        raise DatanectarError(
            f"asset '{entry.asset}': metadata '{PARTITION_EXPR}' is {expr!r}; it must be {wanted}."
        )
    for column in columns.values():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", column):
            raise DatanectarError(
                f"asset '{entry.asset}': metadata '{PARTITION_EXPR}' names column {column!r}; "
                "a partition column uses letters, digits and '_', starting with a letter or '_'."
            )
    return columns


def _raw(value: Any) -> Any:
    """A definition metadata value as given (Dagster may wrap it in a MetadataValue)."""
    value = getattr(value, "value", value)
    return getattr(value, "data", value)

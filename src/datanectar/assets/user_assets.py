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
from .metadata import raw_value

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
        path = _table_name(asset_key, format_name)
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


_TABLE_PART = re.compile(r"[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*")


def _table_name(asset_key: dg.AssetKey, format_name: str) -> str:
    """The table of an asset stored in a database: its key's parts joined by `__`. Only keys
    whose parts hold no `__` of their own (nor start or end with `_`) are joined, so that two
    keys never name one table (`weather/stations` and `weather__stations` would)."""
    parts = asset_key.path
    if len(parts) == 1 and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", parts[0]):
        if len(parts[0]) <= 63 and "__" not in parts[0]:
            return parts[0]
    if all(_TABLE_PART.fullmatch(part) for part in parts) and not parts[0][:1].isdigit():
        joined = "__".join(parts)
        if len(joined) <= 63:
            return joined
    raise DatanectarError(
        f"asset '{asset_key.to_user_string()}': its key cannot name a {format_name} table by "
        "itself: a table name joins the key's parts with '__', and needs parts of letters and "
        "digits separated by single '_' (at most 63 characters, not starting with a digit), "
        "so that no two keys name one table. Fix: set metadata "
        f"{{'{PATH_METADATA}': 'TABLE'}} (or 'SCHEMA.TABLE') on the asset."
    )


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
        if placeholders(whole.path):
            raise DatanectarError(
                f"asset '{entry.asset}': metadata '{PATH_METADATA}' ({whole.path!r}) has "
                f"placeholders ({', '.join(placeholders(whole.path))}), but the asset is not "
                "partitioned. Fix: drop them, or give the asset a partitions_def."
            )
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
        columns = {name: str(expr.get(name, name)) for name in dimensions}
    else:
        wanted = (
            f"a mapping of its dimensions ({', '.join(dimensions)}) to columns"
            if multi
            else "a column name"
        )
        example = (
            "{" + ", ".join(f"'{name}': '{name}'" for name in dimensions) + "}"
            if multi
            else "'COLUMN'"
        )
        raise DatanectarError(
            f"asset '{entry.asset}': metadata '{PARTITION_EXPR}' is {expr!r}; it must be "
            f"{wanted}. Fix: metadata={{'{PARTITION_EXPR}': {example}}}."
        )
    for column in columns.values():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", column):
            raise DatanectarError(
                f"asset '{entry.asset}': metadata '{PARTITION_EXPR}' names column {column!r}; "
                "a partition column uses letters, digits and '_', starting with a letter or "
                "'_'. Fix: name another column."
            )
    named = list(columns.values())
    if len(set(named)) != len(named):
        repeated = next(column for column in named if named.count(column) > 1)
        raise DatanectarError(
            f"asset '{entry.asset}': metadata '{PARTITION_EXPR}' ({expr!r}) gives two "
            f"dimensions the column '{repeated}': their keys would overwrite each other. Fix: "
            "one column per dimension."
        )
    return columns


def _raw(value: Any) -> Any:
    """A definition metadata value as given, a JSON one's data included."""
    value = raw_value(value)
    return getattr(value, "data", value)

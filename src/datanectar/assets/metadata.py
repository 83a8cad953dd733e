"""Materialization metadata, as the Dagster UI shows it, from a storage write report."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from ..cache.objects import default_object, namespace_label, object_of
from ..cache.records import Record
from ..catalog import Entry
from ..errors import DataNotFoundError
from ..partitions import partition_label, target_for
from ..pictures import data_uri
from ..storage import WriteReport
from ..summaries import GridSummary, ObjectSummary, TableSummary
from ..targets import Target

ENTRY_KEY = "datanectar/entry"
PATH_KEY = "datanectar/path"
SEGMENT_KEY = "datanectar/segment"
"""Recorded by earlier versions; read back from their materializations only."""
CACHE_KEY = "datanectar/cache_key"
ARGUMENTS_KEY = "arguments"
FUNCTION_KEY = "cached_function"
"""On a cached function's asset: the function whose results it stores."""
DEFAULTS_KEY = "default_cache_arguments"
"""On a cached function with cache arguments (one object per set of them): the defaults, in
canonical form, or null when one of them has none. Its presence says the asset is keyed."""
STORE_KEY = "datanectar/store"
ENVIRONMENT_KEY = "datanectar/environment"
VERSION_KEY = "datanectar/version"


def materialization_metadata(report: WriteReport) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "dagster/uri": dg.MetadataValue.text(report.uri),
        "format": dg.MetadataValue.text(report.format),
    }
    if report.store:
        metadata[STORE_KEY] = dg.MetadataValue.text(report.store)
    if report.environment is not None:
        metadata[ENVIRONMENT_KEY] = dg.MetadataValue.text(report.environment)
    if report.bytes_written is not None:
        metadata["bytes_written"] = dg.MetadataValue.int(report.bytes_written)
    if report.version is not None:
        metadata[VERSION_KEY] = dg.MetadataValue.text(report.version)
        metadata["datanectar/manifest"] = dg.MetadataValue.path(report.manifest_uri or "")
        metadata["datanectar/content_hash"] = dg.MetadataValue.text(report.content_hash or "")
        metadata["datanectar/deduplicated"] = dg.MetadataValue.bool(report.deduplicated)
    if report.table_version is not None:
        # The Delta version this materialization committed: `Catalog.load(..., version=)`
        # reads the table as it was then.
        metadata[f"{report.format}_version"] = dg.MetadataValue.int(report.table_version)
    summary = report.summary
    if isinstance(summary, TableSummary):
        metadata["dagster/row_count"] = dg.MetadataValue.int(summary.rows)
        metadata["dagster/column_schema"] = dg.TableSchema(
            columns=[dg.TableColumn(name=name, type=dtype) for name, dtype in summary.columns]
        )
        metadata["preview"] = dg.MetadataValue.md(summary.preview_markdown)
        if summary.profile is not None:
            metadata["profile"] = profile_table(summary.profile)
        if summary.histograms:
            metadata["histograms"] = dg.MetadataValue.md(histograms_markdown(summary))
    elif isinstance(summary, GridSummary):
        metadata["dims"] = dg.MetadataValue.json(summary.dims)
        metadata["variables"] = dg.MetadataValue.json(summary.variables)
        metadata["coords"] = dg.MetadataValue.json(summary.coords)
        if summary.shape is not None:
            metadata["shape"] = dg.MetadataValue.json(summary.shape)
        if summary.quick_look is not None:
            metadata["quick_look"] = dg.MetadataValue.md(summary.quick_look.markdown())
    elif isinstance(summary, ObjectSummary):
        metadata["type"] = dg.MetadataValue.text(summary.type_name)
        if summary.length is not None:
            metadata["length"] = dg.MetadataValue.int(summary.length)
    return metadata


_PROFILE_COLUMNS = (
    ("column", "string"),
    ("dtype", "string"),
    ("nulls", "int"),
    ("distinct", "int"),
    ("min", "string"),
    ("max", "string"),
    ("mean", "string"),
)


def histograms_markdown(summary: TableSummary) -> str:
    """The profiled numeric columns' histograms beside their range, as a markdown table."""
    stats = {row["column"]: row for row in summary.profile or []}
    lines = ["| column | histogram | min | max |", "| --- | --- | --- | --- |"]
    for name, png in summary.histograms.items():
        row = stats.get(name, {})
        lines.append(
            f"| {name} | ![histogram of {name}]({data_uri(png)}) "
            f"| {row.get('min') or ''} | {row.get('max') or ''} |"
        )
    return "\n".join(lines)


def profile_table(profile: list[dict[str, Any]]) -> dg.TableMetadataValue:
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord(
                {
                    key: (
                        None
                        if row[key] is None
                        else row[key]
                        if kind != "string"
                        else str(row[key])
                    )
                    for key, kind in _PROFILE_COLUMNS
                }
            )
            for row in profile
        ],
        schema=dg.TableSchema(
            columns=[dg.TableColumn(name, kind) for name, kind in _PROFILE_COLUMNS]
        ),
    )


def schema_columns(entry: Entry, project_root: Path) -> dg.TableSchema | None:
    """The columns an entry's Table Schema declares, as Dagster shows them before anything is
    materialized: type (and format), description (or title), and constraints."""
    if entry.schema_ is None:
        return None
    from ..checks.tableschema import load_schema

    schema = load_schema(entry.schema_, basepath=project_root)
    primary_key = set(schema.primary_key or [])
    columns = []
    for field in schema.fields:
        constraints = dict(field.constraints or {})
        kind = field.type + (f" ({field.format})" if field.format not in (None, "default") else "")
        single_key = primary_key == {field.name}
        columns.append(
            dg.TableColumn(
                name=field.name,
                type=kind,
                description=field.description or field.title,
                constraints=dg.TableColumnConstraints(
                    nullable=not (constraints.pop("required", False) or field.name in primary_key),
                    unique=bool(constraints.pop("unique", False) or single_key),
                    other=[f"{name}: {value}" for name, value in constraints.items()]
                    + (
                        ["part of the primary key"]
                        if field.name in primary_key and not single_key
                        else []
                    ),
                ),
            )
        )
    return dg.TableSchema(columns=columns)


_SHOWN_FIELDS = ("format", "store", "path")
"""Entry fields an asset's definition metadata shows under their own names."""


def definition_metadata(
    entry: Entry,
    *,
    cached: bool = False,
    keyed: bool = False,
    function: str | None = None,
    default_arguments: dict[str, Any] | None = None,
    columns: dg.TableSchema | None = None,
) -> dict[str, Any]:
    """What an asset carries so its IO manager needs no catalog: the resolved entry itself,
    and for a cached function with cache arguments (one object per set of arguments) its
    name and default arguments (canonical), which say where the object of a plain call with
    the defaults lives.

    Users read the format, store and path; the rest of the entry, which the IO manager
    reads back (`entry_from_metadata`), is kept to what the catalog declares beyond the
    defaults, in the catalog's own field names (the Dagster UI shows every definition
    metadata key, so it cannot be hidden)."""
    metadata: dict[str, Any] = {
        # the keys datanectar reads back are its own, never the user's free metadata
        **{k: v for k, v in entry.metadata.items() if k not in (FUNCTION_KEY, DEFAULTS_KEY)},
        **{key: getattr(entry, key) for key in _SHOWN_FIELDS},
        ENTRY_KEY: dg.MetadataValue.json(
            entry.model_dump(
                mode="json", by_alias=True, exclude_defaults=True, exclude=set(_SHOWN_FIELDS)
            )
        ),
    }
    if columns is not None:
        metadata["dagster/column_schema"] = columns
    if cached:
        metadata[FUNCTION_KEY] = function
    if keyed:
        metadata[DEFAULTS_KEY] = (
            None if default_arguments is None else dg.MetadataValue.json(default_arguments)
        )
    return metadata


def cached_metadata(record: Record, report: WriteReport | None) -> dict[str, Any]:
    """A cached function's materialization: the usual metadata plus which call it stored."""
    metadata = (
        materialization_metadata(report)
        if report
        else {
            "format": dg.MetadataValue.text(record.format),
            "result": dg.MetadataValue.text("None (stored as a null marker)"),
        }
    )
    metadata[PATH_KEY] = dg.MetadataValue.text(record.path)
    # The segment (where the record lives) is the namespace and the cache key: what
    # `current_object` reads it back from, so it is no key of its own.
    if record.key:
        metadata[CACHE_KEY] = dg.MetadataValue.text(record.key)
    if record.arguments:
        metadata[ARGUMENTS_KEY] = dg.MetadataValue.json(record.arguments)
    return metadata


def is_cached(metadata: Any) -> bool:
    return bool(raw_value((metadata or {}).get(FUNCTION_KEY)))


def is_keyed(metadata: Any) -> bool:
    return is_cached(metadata) and DEFAULTS_KEY in (metadata or {})


def current_object(
    entry: Entry,
    metadata: Any,
    *,
    partition: Mapping[str, str] | None,
    instance: dg.DagsterInstance | None,
) -> tuple[Target, str | None]:
    """The object an upstream asset means for one of its partitions (None: unpartitioned),
    and, for a cached function, the segment of its record. A cached function with cache
    arguments writes one object per set of arguments: downstream reads the one its latest
    materialization wrote, else, when the instance records none (a CLI run without
    DAGSTER_HOME, say), the one a plain call with the default arguments stores."""
    if not is_cached(metadata):
        return (target_for(entry, partition) if partition else Target.of(entry)), None
    label = namespace_label(entry, partition)
    if not is_keyed(metadata):
        segment, target = object_of(entry, None, namespace=label, partition=partition)
        return target, segment
    recorded = latest_materialization(entry, partition, instance)
    if recorded is not None and PATH_KEY in recorded.metadata:
        base = target_for(entry, partition) if partition else Target.of(entry)
        path = raw_value(recorded.metadata[PATH_KEY])
        segment = raw_value(recorded.metadata.get(SEGMENT_KEY)) or record_segment(
            raw_value(recorded.metadata.get(CACHE_KEY)), label
        )
        return base.at(path=path), segment
    defaults = raw_value((metadata or {}).get(DEFAULTS_KEY))
    if defaults is None:
        raise DataNotFoundError(
            f"{entry.subject}: no materialization "
            "of it is recorded in this Dagster instance, and one of its cache arguments has no "
            "default, so there is no object to read by default. Fix: materialize it with its "
            "cache arguments as run config (with DAGSTER_HOME set, so the instance keeps it)."
        )
    data = getattr(defaults, "data", defaults)
    function = str(raw_value(metadata[FUNCTION_KEY]))
    segment, target = default_object(entry, function=function, arguments=data, partition=partition)
    return target, segment


def record_segment(key: str | None, label: str | None) -> str:
    """Where a call's record lives under its entry: its namespace and cache key, as
    `cache.objects` names it."""
    return "/".join(part for part in (label, key) if part) or "_"


def latest_materialization(
    entry: Entry, partition: Mapping[str, str] | None, instance: dg.DagsterInstance | None
) -> dg.AssetMaterialization | None:
    """The latest materialization of an entry's asset (of one partition) that the instance
    records, if any."""
    if instance is None:
        return None
    key = dg.AssetKey(entry.name)
    if partition:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition_label(partition)]),
            limit=1,
        ).records
        return records[0].asset_materialization if records else None
    event = instance.get_latest_materialization_event(key)
    return event.asset_materialization if event is not None else None


def raw_value(value: Any) -> Any:
    """A definition metadata value as given (Dagster may wrap it in a MetadataValue)."""
    return getattr(value, "value", value)


def entry_from_metadata(metadata: Any, asset_key: dg.AssetKey) -> Entry:
    raw = (metadata or {}).get(ENTRY_KEY)
    if raw is None:
        raise dg.DagsterInvariantViolationError(
            f"asset {asset_key.to_user_string()} was not built by datanectar (no '{ENTRY_KEY}' "
            "metadata); give it its own IO manager."
        )
    data = dict(getattr(raw, "data", raw))
    for key in _SHOWN_FIELDS:
        if key in metadata and key not in data:
            data[key] = raw_value(metadata[key])
    return Entry.model_validate(data)

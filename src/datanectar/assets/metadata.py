"""Materialization metadata, as the Dagster UI shows it, from a storage write report."""

from __future__ import annotations

from typing import Any

import dagster as dg

from ..cache.records import Record
from ..catalog import Entry
from ..storage import WriteReport
from ..summaries import GridSummary, ObjectSummary, TableSummary

ENTRY_KEY = "datanectar/entry"
PATH_KEY = "datanectar/path"
SEGMENT_KEY = "datanectar/segment"
CACHED_KEY = "datanectar/cached"
KEYED_KEY = "datanectar/keyed"


def materialization_metadata(report: WriteReport) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "dagster/uri": dg.MetadataValue.text(report.uri),
        "format": dg.MetadataValue.text(report.format),
    }
    if report.bytes_written is not None:
        metadata["bytes_written"] = dg.MetadataValue.int(report.bytes_written)
    summary = report.summary
    if isinstance(summary, TableSummary):
        metadata["dagster/row_count"] = dg.MetadataValue.int(summary.rows)
        metadata["dagster/column_schema"] = dg.TableSchema(
            columns=[dg.TableColumn(name=name, type=dtype) for name, dtype in summary.columns]
        )
        metadata["preview"] = dg.MetadataValue.md(summary.preview_markdown)
        if summary.profile is not None:
            metadata["profile"] = profile_table(summary.profile)
    elif isinstance(summary, GridSummary):
        metadata["dims"] = dg.MetadataValue.json(summary.dims)
        metadata["variables"] = dg.MetadataValue.json(summary.variables)
        metadata["coords"] = dg.MetadataValue.json(summary.coords)
        if summary.shape is not None:
            metadata["shape"] = dg.MetadataValue.json(summary.shape)
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


def definition_metadata(
    entry: Entry, *, cached: bool = False, keyed: bool = False
) -> dict[str, Any]:
    """What an asset carries so its IO manager needs no catalog: the resolved entry itself,
    and whether a cached function writes one object per set of arguments."""
    metadata: dict[str, Any] = {
        **entry.metadata,
        "format": entry.format,
        "store": entry.store,
        "path": entry.path,
        ENTRY_KEY: dg.MetadataValue.json(entry.model_dump(mode="json")),
    }
    if cached:
        metadata[CACHED_KEY] = True
    if keyed:
        metadata[KEYED_KEY] = True
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
    metadata[SEGMENT_KEY] = dg.MetadataValue.text(record.segment)
    metadata["datanectar/cache_key"] = dg.MetadataValue.text(record.key)
    metadata["datanectar/arguments"] = dg.MetadataValue.json(record.arguments)
    return metadata


def is_cached(metadata: Any) -> bool:
    return bool(raw_value((metadata or {}).get(CACHED_KEY)))


def is_keyed(metadata: Any) -> bool:
    return bool(raw_value((metadata or {}).get(KEYED_KEY)))


def current_object(entry: Entry, *, keyed: bool, instance: dg.DagsterInstance | None) -> Entry:
    """The object an upstream asset's latest materialization wrote. A cached function with
    cache arguments writes one object per set of arguments; downstream reads the latest."""
    if not keyed or instance is None:
        return entry
    event = instance.get_latest_materialization_event(dg.AssetKey(entry.name))
    if event is None or event.asset_materialization is None:
        return entry
    recorded = event.asset_materialization.metadata
    if PATH_KEY not in recorded:
        return entry
    return entry.model_copy(
        update={
            "path": raw_value(recorded[PATH_KEY]),
            "metadata": {**entry.metadata, SEGMENT_KEY: raw_value(recorded.get(SEGMENT_KEY))},
        }
    )


def segment_of(entry: Entry) -> str:
    return entry.metadata.get(SEGMENT_KEY) or "_"


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
    data = getattr(raw, "data", raw)
    return Entry.model_validate(data)

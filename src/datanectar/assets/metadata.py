"""Materialization metadata, as the Dagster UI shows it, from a storage write report."""

from __future__ import annotations

from typing import Any

import dagster as dg

from ..catalog import Entry
from ..storage import WriteReport
from ..summaries import GridSummary, ObjectSummary, TableSummary

ENTRY_KEY = "datanectar/entry"


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


def definition_metadata(entry: Entry) -> dict[str, Any]:
    """What an asset carries so its IO manager needs no catalog: the resolved entry itself."""
    return {
        **entry.metadata,
        "format": entry.format,
        "store": entry.store,
        "path": entry.path,
        ENTRY_KEY: dg.MetadataValue.json(entry.model_dump(mode="json")),
    }


def entry_from_metadata(metadata: Any, asset_key: dg.AssetKey) -> Entry:
    raw = (metadata or {}).get(ENTRY_KEY)
    if raw is None:
        raise dg.DagsterInvariantViolationError(
            f"asset {asset_key.to_user_string()} was not built by datanectar (no '{ENTRY_KEY}' "
            "metadata); give it its own IO manager."
        )
    data = getattr(raw, "data", raw)
    return Entry.model_validate(data)

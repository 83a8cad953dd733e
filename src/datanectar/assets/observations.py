"""Observations of source entries: what a stored source holds (its fingerprint as the
DataVersion, files, bytes and rows), so the UI shows sources as something rather than "Never
materialized". The source-change sensor records one when a listing changed; a run checking a
source records one for what it checked."""

from __future__ import annotations

from typing import Any

import dagster as dg

FINGERPRINT_KEY = "datanectar/fingerprint"
DATA_VERSION_TAG = "dagster/data_version"


def source_observation(
    name: str,
    partition: str | None,
    fingerprint: str,
    *,
    files: int,
    size: int | None,
    rows: int | None,
) -> dg.AssetObservation:
    """`size` None: not known (an HTTP HEAD gives a change token only)."""
    metadata: dict[str, Any] = {FINGERPRINT_KEY: fingerprint, "datanectar/files": files}
    if size is not None:
        metadata["datanectar/bytes"] = size
    if rows is not None:
        metadata["dagster/row_count"] = rows
    return dg.AssetObservation(
        asset_key=dg.AssetKey(name),
        partition=partition,
        metadata=metadata,
        tags={DATA_VERSION_TAG: fingerprint},
    )


def row_count(value: Any) -> int | None:
    """The rows of a table value (pyarrow, pandas, a csv read as text); None for the rest."""
    if value is None:
        return None
    if hasattr(value, "num_rows"):
        return int(value.num_rows)
    frame = getattr(value, "frame", None)  # a TextTable: the csv's cells
    if frame is not None and hasattr(frame, "columns"):
        return len(frame)
    if type(value).__module__.split(".")[0] == "pandas" and hasattr(value, "columns"):
        return len(value)
    return None

"""Notebook work shown in Dagster: a plain call that stores a result records it in the
instance as a runless materialization, so lineage and staleness include it."""

from __future__ import annotations

import os
import warnings

from ..cache.records import Record
from ..catalog import Entry
from .metadata import PATH_KEY, SEGMENT_KEY

CODE_VERSION_TAG = "dagster/code_version"


def report_plain_call(target: Entry, record: Record) -> None:
    """Record the stored result in the Dagster instance at $DAGSTER_HOME, when one is set."""
    if not os.environ.get("DAGSTER_HOME"):
        return
    import dagster as dg

    metadata = {
        "dagster/uri": dg.MetadataValue.text(f"{record.store}:{record.path}"),
        "format": dg.MetadataValue.text(record.format),
        PATH_KEY: dg.MetadataValue.text(record.path),
        SEGMENT_KEY: dg.MetadataValue.text(record.segment),
        "datanectar/cache_key": dg.MetadataValue.text(record.key),
        "datanectar/origin": dg.MetadataValue.text("plain call"),
    }
    if record.bytes_written is not None:
        metadata["bytes_written"] = dg.MetadataValue.int(record.bytes_written)
    tags = {CODE_VERSION_TAG: record.version} if record.version else None
    try:
        with dg.DagsterInstance.get() as instance:
            instance.report_runless_asset_event(
                dg.AssetMaterialization(asset_key=target.name, metadata=metadata, tags=tags)
            )
    except Exception as exc:  # the result is stored; failing to tell Dagster must not undo that
        warnings.warn(
            f"entry '{target.name}': stored, but not recorded in the Dagster instance: {exc}",
            stacklevel=3,
        )

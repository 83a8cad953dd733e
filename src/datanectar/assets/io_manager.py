"""One Dagster IO manager per storage format, all over the same entry storage code."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from ..cache.records import RecordBook
from ..catalog import Entry
from ..config import load_project
from ..errors import DatanectarError, DataNotFoundError
from ..partitions import NamespaceInputs, load_partitions, partition_label, target_for
from ..storage import EntryStorage
from ..targets import Target
from .metadata import (
    DEFAULTS_KEY,
    current_object,
    entry_from_metadata,
    is_keyed,
    latest_materialization,
    materialization_metadata,
    raw_value,
)
from .partitions import keys_of

LOAD_AS_KEY = "datanectar/load_as"
PER_NAMESPACE_KEY = "datanectar/per_namespace"
"""On an input partitioned as its step is: a run over several namespaces gets each namespace's
upstream value for the namespace it computes (a single-run backfill), not all of them at once."""


PUBLISHED_KEY = "datanectar/published"
"""Set on the output of a step that published its value itself (write-audit-publish): the IO
manager then writes nothing, and the metadata of what was written is the output's own."""


def published(
    value: Any, metadata: dict[str, Any], *, data_version: str | None = None
) -> dg.Output:
    """The output of a step that already published `value`, carrying what it wrote (and, for a
    cached function's result, its record's data version: what plain calls judge staleness by,
    so that Dagster's staleness follows it too)."""
    return dg.Output(
        value,
        metadata={**metadata, PUBLISHED_KEY: True},
        data_version=dg.DataVersion(data_version) if data_version else None,
    )


def io_manager_key(format_name: str) -> str:
    return f"datanectar_{format_name}_io_manager"


class FormatIOManager(dg.ConfigurableIOManager):
    """Writes and reads the catalog entries of one format in the project's stores.

    Where an entry lives travels with its asset's definition metadata, so this IO manager needs
    only the project's store configuration, which it reads from `project_dir`.
    """

    format: str = Field(description="The storage format of the entries this IO manager handles.")
    project_dir: str = Field(description="Folder of the project's pyproject.toml (stores config).")

    _storage: EntryStorage | None = PrivateAttr(default=None)

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if raw_value(context.output_metadata.get(PUBLISHED_KEY)):
            return
        entry = self._entry(context.definition_metadata, context.asset_key)
        if context.has_asset_partitions:
            keys = context.asset_partition_keys
            if len(keys) != 1:
                raise DatanectarError(
                    f"entry '{entry.name}': one run wrote {len(keys)} namespaces at once; "
                    f"format '{entry.format}' writes one namespace per run. Fix: backfill one "
                    "run per partition."
                )
            target = target_for(entry, keys_of(entry, keys[0]))
        else:
            target = Target.of(entry)
        report = self._entry_storage().save(target, obj)
        context.add_output_metadata(materialization_metadata(report))

    def load_input(self, context: dg.InputContext) -> Any:
        upstream = context.upstream_output
        if upstream is None:
            raise DatanectarError(f"input '{context.name}' has no upstream asset to load.")
        metadata = upstream.definition_metadata
        entry = self._entry(metadata, upstream.asset_key)
        storage = self._entry_storage()
        load_as = raw_value((context.definition_metadata or {}).get(LOAD_AS_KEY))

        def target(partition: Mapping[str, str] | None) -> Target:
            return current_object(entry, metadata, partition=partition, instance=context.instance)[
                0
            ]

        def load(partition: Mapping[str, str] | None) -> Any:
            found, segment = current_object(
                entry, metadata, partition=partition, instance=context.instance
            )
            if segment is not None:
                record = RecordBook(storage.location(found).store).read(entry.name, segment)
                if record is not None and record.is_null:
                    return None
            try:
                return storage.load(found, as_type=load_as)
            except DataNotFoundError as exc:
                raise _not_found(exc, entry, partition, context.instance, metadata) from None

        if not context.has_asset_partitions:
            return load(None)
        partitions = [keys_of(entry, key) for key in context.asset_partition_keys]
        if len(partitions) == 1 and context.has_partition_key:
            return load(partitions[0])  # a partition of the step's own namespace
        input_metadata = context.definition_metadata or {}
        if raw_value(input_metadata.get(PER_NAMESPACE_KEY)) and not context.has_partition_key:
            return NamespaceInputs(storage, entry, load_as, objects=target)
        return load_partitions(storage, entry, partitions, as_type=load_as, objects=target)

    def _entry(self, metadata: Any, asset_key: dg.AssetKey) -> Entry:
        entry = entry_from_metadata(metadata, asset_key)
        if entry.format != self.format:
            raise DatanectarError(
                f"entry '{entry.name}' has format '{entry.format}' but was given to the "
                f"'{self.format}' IO manager; use {io_manager_key(str(entry.format))}."
            )
        return entry

    def _entry_storage(self) -> EntryStorage:
        if self._storage is None:
            self._storage = EntryStorage(load_project(self.project_dir).open_stores())
        return self._storage


def _not_found(
    error: DataNotFoundError,
    entry: Entry,
    partition: Mapping[str, str] | None,
    instance: dg.DagsterInstance | None,
    metadata: Any = None,
) -> DataNotFoundError:
    """The missing-data error with a hint that holds: materializing is the fix only when this
    instance records no materialization of it; when it records one, the data went missing."""
    problem = str(error).split(" Fix: ")[0].rstrip(".")
    recorded = latest_materialization(entry, partition, instance)
    if recorded is None:
        home = (
            ""
            if os.environ.get("DAGSTER_HOME")
            else " (DAGSTER_HOME is not set: each Dagster command starts with an empty instance)"
        )
        defaults = raw_value((metadata or {}).get(DEFAULTS_KEY)) if is_keyed(metadata) else None
        if defaults is not None:
            shown = ", ".join(f"{k}={v!r}" for k, v in getattr(defaults, "data", defaults).items())
            problem += (
                f", the result of its default cache arguments ({shown}): with no "
                "materialization recorded, that is what it means (results for other arguments "
                "are remembered only by an instance that outlives the command)"
            )
        return DataNotFoundError(
            f"{problem}. No materialization of it is recorded in this Dagster instance{home}. "
            f"Fix: materialize it first (dagster asset materialize --select {entry.name}"
            + (f" --partition {partition_label(partition)}" if partition else "")
            + "), in the same run or with DAGSTER_HOME set."
        )
    uri = raw_value(recorded.metadata.get("dagster/uri"))
    return DataNotFoundError(
        f"{problem}. This Dagster instance records a materialization of it"
        + (f" (written to {uri})" if uri else "")
        + ", but its data is no longer there: it was removed or moved since. Fix: "
        "materialize it again, or restore the data."
    )

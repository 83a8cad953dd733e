"""One Dagster IO manager per storage format, all over the same entry storage code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from ..cache.function import CachedOutput
from ..cache.records import RecordBook
from ..catalog import Entry
from ..config import load_project
from ..errors import DatanectarError
from ..partitions import NamespaceInputs, PartitionedOutput, for_partition, load_partitions
from ..storage import EntryStorage, WriteReport
from .metadata import (
    cached_metadata,
    current_object,
    entry_from_metadata,
    is_cached,
    is_keyed,
    materialization_metadata,
    raw_value,
    segment_of,
)
from .partitions import keys_of

LOAD_AS_KEY = "datanectar/load_as"
PER_NAMESPACE_KEY = "datanectar/per_namespace"
"""On an input partitioned as its step is: a run over several namespaces gets each namespace's
upstream value for the namespace it computes (a single-run backfill), not all of them at once."""


@dataclass(frozen=True)
class Written:
    """An output the step already wrote and published (it audited the value meanwhile):
    the IO manager records it and writes nothing."""

    report: WriteReport


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
        entry = self._entry(context.definition_metadata, context.asset_key)
        if isinstance(obj, Written):
            context.add_output_metadata(materialization_metadata(obj.report))
            return
        if isinstance(obj, PartitionedOutput):
            context.add_output_metadata(self._write_namespaces(entry, obj))
            return
        if isinstance(obj, CachedOutput):
            # A cached function's result goes where a plain call with the same arguments
            # recalls it, with its record.
            record, report = obj.call.publish(obj.value, obj.reads)
            context.add_output_metadata(cached_metadata(record, report))
            return
        if context.has_asset_partitions:
            keys = context.asset_partition_keys
            if len(keys) != 1:
                raise DatanectarError(
                    f"entry '{entry.name}': one run wrote {len(keys)} namespaces at once; "
                    f"format '{entry.format}' writes one namespace per run. Fix: backfill one "
                    "run per partition."
                )
            entry = for_partition(entry, keys_of(entry, keys[0]))
        report = self._entry_storage().save(entry, obj)
        context.add_output_metadata(materialization_metadata(report))

    def load_input(self, context: dg.InputContext) -> Any:
        upstream = context.upstream_output
        if upstream is None:
            raise DatanectarError(f"input '{context.name}' has no upstream asset to load.")
        entry = self._entry(upstream.definition_metadata, upstream.asset_key)
        if is_keyed(upstream.definition_metadata):
            # Only keyed entries need the instance (their latest materialization's object).
            entry = current_object(entry, keyed=True, instance=context.instance)
        storage = self._entry_storage()
        if is_cached(upstream.definition_metadata):
            record = RecordBook(storage.location(entry).store).read(entry.name, segment_of(entry))
            if record is not None and record.is_null:
                return None
        input_metadata = context.definition_metadata or {}
        load_as = raw_value(input_metadata.get(LOAD_AS_KEY))
        if not context.has_asset_partitions:
            return storage.load(entry, as_type=load_as)
        partitions = [keys_of(entry, key) for key in context.asset_partition_keys]
        if len(partitions) == 1 and context.has_partition_key:
            # A partition of the step's own namespace: the object itself.
            return storage.load(for_partition(entry, partitions[0]), as_type=load_as)
        if raw_value(input_metadata.get(PER_NAMESPACE_KEY)) and not context.has_partition_key:
            return NamespaceInputs(storage, entry, load_as)
        return load_partitions(storage, entry, partitions, as_type=load_as)

    def _write_namespaces(self, entry: Entry, output: PartitionedOutput) -> dict[str, Any]:
        """Write each namespace of a single-run backfill; the metadata sums them up."""
        rows = 0
        for keys, value in output.values:
            if isinstance(value, CachedOutput):
                _record, report = value.call.publish(value.value, value.reads)
            else:
                report = self._entry_storage().save(for_partition(entry, keys), value)
            summary = report.summary if report else None
            rows += getattr(summary, "rows", 0) or 0
        return {
            "format": dg.MetadataValue.text(str(entry.format)),
            "namespaces_written": dg.MetadataValue.int(len(output.values)),
            "dagster/row_count": dg.MetadataValue.int(rows),
        }

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

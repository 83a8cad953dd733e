"""The step's context as one namespace of a single-run backfill sees it.

A single-run backfill runs a function once per namespace in one step, but the step's context
describes the run: its partition key range, keys and time window span every namespace. Each
call gets this view instead, whose partition attributes are its own namespace's (everything
else is the step's context), so a body that reads `context.partition_time_window` writes its
own period, as it would in a run of that one partition.
"""

from __future__ import annotations

from typing import Any

import dagster as dg


class NamespaceContext:
    """`context` narrowed to the partition `partition_key`."""

    def __init__(self, context: dg.AssetExecutionContext, partition_key: str) -> None:
        self._context = context
        partitions_def = context.assets_def.partitions_def
        if isinstance(partitions_def, dg.MultiPartitionsDefinition):
            # As a run of that one partition gives it: with its key per dimension.
            partition_key = partitions_def.get_partition_key_from_str(str(partition_key))
        self._key = partition_key

    @property
    def partition_key(self) -> str:
        return self._key

    @property
    def partition_keys(self) -> list[str]:
        return [self._key]

    @property
    def has_partition_key(self) -> bool:
        return True

    @property
    def has_partition_key_range(self) -> bool:
        return False

    @property
    def partition_key_range(self) -> dg.PartitionKeyRange:
        return dg.PartitionKeyRange(self._key, self._key)

    @property
    def partition_time_window(self) -> dg.TimeWindow:
        partitions_def = self._context.assets_def.partitions_def
        window_of = getattr(partitions_def, "time_window_for_partition_key", None)
        if window_of is None or (
            isinstance(partitions_def, dg.MultiPartitionsDefinition)
            and partitions_def.time_window_dimension is None
        ):
            raise dg.DagsterInvariantViolationError(
                "Expected a TimeWindowPartitionsDefinition or MultiPartitionsDefinition with a "
                f"single time dimension, but instead found {type(partitions_def)}"
            )
        return window_of(self._key)

    def asset_partition_key_for_output(self, output_name: str = "result") -> str:
        return self._key

    def asset_partition_keys_for_output(self, output_name: str = "result") -> list[str]:
        return [self._key]

    def asset_partition_key_range_for_output(
        self, output_name: str = "result"
    ) -> dg.PartitionKeyRange:
        return self.partition_key_range

    def asset_partitions_time_window_for_output(self, output_name: str = "result") -> dg.TimeWindow:
        return self.partition_time_window

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def __repr__(self) -> str:
        return f"<{type(self._context).__name__} of partition {self._key!r}>"

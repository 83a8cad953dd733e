"""Notebook work shown in Dagster, as a run would have recorded it.

A plain call of a cached function that computes what the asset means in Dagster (the cache
arguments of its latest materialization, its defaults when none is recorded, from the objects
its cached upstreams mean there) is recorded in the instance at $DAGSTER_HOME as a runless
materialization, with the provenance a run gives one: code version, the data version of every
upstream as the instance knows it, and the result's own data version (its record's, as runs
record it), so staleness reads it as it reads a run's; and with the evaluations of the checks
its audit ran (failed ones too, when nothing was published). Any other call is a cache entry:
it is recorded as an observation, never as the asset's latest materialization, so it cannot
change what a Dagster run reads.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..cache.records import Record
from ..catalog import Entry
from ..catalog.time_keys import time_keys
from ..partitions import partition_label, same_namespaces
from ..producers import chain_version
from .metadata import cached_metadata

if TYPE_CHECKING:
    import dagster as dg

    from ..cache.call import Call
    from ..publishing import Outcome

CODE_VERSION_TAG = "dagster/code_version"
DATA_VERSION_TAG = "dagster/data_version"
DATA_VERSION_IS_USER_PROVIDED_TAG = "dagster/data_version_is_user_provided"
INPUT_DATA_VERSION_TAG = "dagster/input_data_version"
INPUT_EVENT_POINTER_TAG = "dagster/input_event_pointer"
# What Dagster records for an input it knows nothing of (a source never observed).
DEFAULT_DATA_VERSION = "INITIAL"
NULL_EVENT_POINTER = "NULL"
# Past this many upstream partitions, Dagster takes the upstream's latest data version instead of
# hashing each partition's (dagster's SKIP_PARTITION_DATA_VERSION_DEPENDENCY_THRESHOLD).
_PARTITIONS_HASHED = 100
ORIGIN_KEY = "datanectar/origin"


def report_plain_call(call: Call, record: Record | None, outcome: Outcome | None) -> None:
    """Tell the Dagster instance at $DAGSTER_HOME (when one is set) what a plain call stored:
    a materialization (its own cache arguments) or an observation (others), and its checks."""
    if not os.environ.get("DAGSTER_HOME"):
        return
    import dagster as dg

    try:
        with dg.DagsterInstance.get() as instance:
            _report(instance, call, record, outcome)
    except Exception as exc:  # the result is stored; failing to tell Dagster must not undo that
        warnings.warn(
            f"entry '{call.entry.name}': stored, but not recorded in the Dagster instance: {exc}",
            stacklevel=4,
        )


def _report(
    instance: dg.DagsterInstance, call: Call, record: Record | None, outcome: Outcome | None
) -> None:
    import dagster as dg

    key = dg.AssetKey(call.entry.name)
    partition = partition_label(call.partition) if call.partition else None
    if not means_the_asset(instance, call, record):
        if record is not None:
            instance.report_runless_asset_event(
                dg.AssetObservation(
                    asset_key=key,
                    partition=partition,
                    metadata={
                        **cached_metadata(record, outcome.report if outcome else None),
                        ORIGIN_KEY: "plain call with other cache arguments (a cache entry)",
                    },
                )
            )
        return
    if record is not None:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key=key,
                partition=partition,
                metadata={
                    **cached_metadata(record, outcome.report if outcome else None),
                    ORIGIN_KEY: "plain call",
                },
                tags=provenance(instance, call, record),
            )
        )
    if outcome is not None:
        from sqlalchemy.exc import IntegrityError

        from .checks import check_result

        for verdict in outcome.verdicts:
            result = check_result(call.entry, verdict, outcome)
            evaluation = dg.AssetCheckEvaluation(
                asset_key=key,
                check_name=verdict.check,
                passed=result.passed,
                metadata=result.metadata,
                severity=result.severity,
                blocking=verdict.blocking,
                partition=partition,
            )
            try:
                instance.report_runless_asset_event(evaluation)
            except IntegrityError:
                # Dagster keeps one runless check execution per check and partition (its
                # storage keys them by run, and runless events share one): a namespace's
                # later notebook evaluations cannot be recorded beside the first.
                continue


def means_the_asset(instance: dg.DagsterInstance, call: Call, record: Record | None) -> bool:
    """Whether a plain call computed what the asset means in Dagster: the cache arguments of
    its latest materialization (its defaults, when none is recorded), from the objects its
    cached upstreams mean there. Anything else is a cache entry of its own."""
    catalog = call.catalog
    producer = call.function.producer
    if not _is_current_object(instance, call.entry, producer, call.partition, call.segment):
        return False
    for read in record.upstream if record is not None else []:
        upstream_producer = catalog.producers.get(read.entry)
        if read.segment is None or upstream_producer is None or upstream_producer.cached is None:
            continue
        upstream = catalog.entries[read.entry]
        alike = call.partition if same_namespaces(upstream, call.entry) else None
        keys = read.partition or alike
        if upstream.namespaces and not keys:
            continue  # all its namespaces read: no one object to compare
        if not _is_current_object(instance, upstream, upstream_producer, keys, read.segment):
            return False
    return True


def _is_current_object(
    instance: dg.DagsterInstance,
    entry: Entry,
    producer: Any,
    partition: Mapping[str, str] | None,
    segment: str,
) -> bool:
    from .build import asset_metadata
    from .metadata import current_object

    try:
        _, meant = current_object(
            entry, asset_metadata(entry, producer), partition=partition, instance=instance
        )
    except Exception:  # no object is meant (a cache argument with no default, no run)
        return False
    return meant == segment


def provenance(instance: dg.DagsterInstance, call: Call, record: Record) -> dict[str, str]:
    """The data version tags a run would give this materialization: code version, each
    upstream asset's data version and event, and the data version computed from them."""
    # The code version the asset shows (its chain's); a run uses its id when unversioned.
    code_version = (
        chain_version(call.function.producer, call.catalog.producers) or record.data_version
    )
    tags = {CODE_VERSION_TAG: code_version}
    versions: dict[str, str] = {}
    for upstream in upstream_entries(call):
        name = upstream.name
        partitions = _upstream_partitions(instance, call, upstream)
        version, pointer = _current_version(instance, name, partitions)
        versions[name] = version
        tags[f"{INPUT_DATA_VERSION_TAG}/{name}"] = version
        tags[f"{INPUT_EVENT_POINTER_TAG}/{name}"] = pointer
    # The data version is the record's, as a run's materialization carries it: what plain
    # calls judge staleness by, so Dagster and they agree.
    tags[DATA_VERSION_TAG] = record.data_version
    tags[DATA_VERSION_IS_USER_PROVIDED_TAG] = "true"
    return tags


def upstream_entries(call: Call) -> list[Entry]:
    """The entries the asset depends on in Dagster: its parameters named after entries, and
    the cached functions its body calls."""
    catalog = call.catalog
    producer = call.function.producer
    names = [*catalog.signature_of(producer).upstream, *producer.uses()]
    return [
        catalog.entries[name]
        for name in dict.fromkeys(names)
        if name in catalog.entries and name != call.entry.name
    ]


def _upstream_partitions(
    instance: dg.DagsterInstance, call: Call, upstream: Entry
) -> list[str] | None:
    """The partitions of `upstream` the computation reads (None: it is not partitioned): the
    call's own when partitioned alike, else all of them."""
    if not upstream.namespaces:
        return None
    if call.partition and same_namespaces(upstream, call.entry):
        return [partition_label(call.partition)]
    return _all_partitions(instance, upstream)


def _all_partitions(instance: dg.DagsterInstance, entry: Entry) -> list[str]:
    dimensions = entry.namespaces or []
    keys_by_dimension = []
    for dimension in dimensions:
        if dimension.values is not None:
            keys_by_dimension.append(list(dimension.values))
        elif dimension.is_time:
            keys_by_dimension.append(time_keys(dimension))
        else:
            keys_by_dimension.append(list(instance.get_dynamic_partitions(str(dimension.dynamic))))
    if len(dimensions) == 1:
        return keys_by_dimension[0]
    names = [dimension.name for dimension in dimensions]
    return [
        partition_label(dict(zip(names, (a, b), strict=True)))
        for a in keys_by_dimension[0]
        for b in keys_by_dimension[1]
    ]


def _current_version(
    instance: dg.DagsterInstance, name: str, partitions: list[str] | None
) -> tuple[str, str]:
    """(data version, event pointer) of an upstream asset as Dagster reads it for provenance:
    its latest materialization (else observation); for partitions read, the hash of their
    latest data versions in partition order."""
    import dagster as dg

    key = dg.AssetKey(name)
    [record] = instance.get_asset_records([key]) or [None]
    event = None
    if record is not None:
        entry = record.asset_entry
        event = entry.last_materialization_record or entry.last_observation_record
    if event is None:
        return DEFAULT_DATA_VERSION, NULL_EVENT_POINTER
    pointer = str(event.storage_id)
    if partitions is not None and len(partitions) < _PARTITIONS_HASHED:
        by_partition = _partition_versions(instance, key, partitions)
        joined = "".join(by_partition[label] for label in sorted(by_partition))
        return hashlib.sha256(joined.encode("utf8")).hexdigest(), pointer
    tags: Mapping[str, Any] = event.event_log_entry.tags or {}
    return str(tags.get(DATA_VERSION_TAG) or DEFAULT_DATA_VERSION), pointer


def _partition_versions(
    instance: dg.DagsterInstance, key: dg.AssetKey, partitions: list[str]
) -> dict[str, str]:
    """The data version of each partition's latest materialization (partitions without one
    are left out, as Dagster leaves them out)."""
    import dagster as dg

    versions = {}
    for label in partitions:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[label]), limit=1
        ).records
        tags = records[0].event_log_entry.tags if records else None
        if tags and DATA_VERSION_TAG in tags:
            versions[label] = tags[DATA_VERSION_TAG]
    return versions

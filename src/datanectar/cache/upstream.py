"""The values a computation reads from upstream entries, and how it records that it read them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..catalog import Entry
from ..partition_mappings import upstream_partitions
from ..partitions import (
    combine,
    load_partitions,
    partition_label,
    target_for,
    upstream_partition,
)
from ..producers import ProducerSignature
from ..project import Catalog
from ..targets import Target
from .context import note_read
from .levels import levels_for
from .records import UpstreamRead

if TYPE_CHECKING:
    from .decorator import CachedFunction


def upstream_value(
    catalog: Catalog,
    signature: ProducerSignature,
    name: str,
    partition: Mapping[str, str] | None = None,
) -> Any:
    """The value of parameter `name`, one `signature` fills from upstream: a cached
    function's result recalled (in the catalog, or defined beside it), else the catalog
    entry loaded. A partitioned upstream gives the namespaces Dagster's partition mapping
    gives a run of `partition` (the call's own): one namespace's value, or several combined
    as the parameter's annotation asks (as Dagster's IO manager combines them)."""
    producer = signature.neighbours.get(name) or catalog.producers.get(name)
    reader = catalog.entry_for(signature.producer)
    as_type = signature.producer.type_hints().get(name)
    if producer is not None and producer.cached is not None:
        return _recall_upstream(catalog, producer.cached, reader, partition, as_type)
    return load_upstream(catalog, name, partition, reader=reader, as_type=as_type)


def load_upstream(
    catalog: Catalog,
    name: str,
    partition: Mapping[str, str] | None = None,
    *,
    reader: Entry | None = None,
    as_type: Any = None,
) -> Any:
    """A catalog entry's stored value, noted as read by the computation running: the
    namespaces of it that a computation of `reader` for `partition` reads when the entry is
    partitioned (without `reader`, the namespace of `partition`'s keys)."""
    entry = catalog.entry(name)
    if reader is None:
        target = target_for(entry, upstream_partition(entry, partition))
        value = catalog.storage.load(target)
        note_read(read_of(catalog, target))
        return value
    partitions = upstream_partitions(entry, reader.namespaces, partition, reader=reader.subject)
    if partitions is None or (partition and len(partitions) == 1):
        target = target_for(entry, partitions[0] if partitions else None)
        value = catalog.storage.load(target)
        note_read(read_of(catalog, target))
        return value
    read: list[Target] = []

    def objects(keys: Mapping[str, str]) -> Target:
        read.append(target_for(entry, keys))
        return read[-1]

    value = load_partitions(catalog.storage, entry, partitions, as_type=as_type, objects=objects)
    for target in read:
        note_read(read_of(catalog, target))
    return value


def _recall_upstream(
    catalog: Catalog,
    upstream: CachedFunction,
    reader: Entry,
    partition: Mapping[str, str] | None,
    as_type: Any,
) -> Any:
    """A cached upstream function's result: for each namespace a computation of `reader` for
    `partition` reads when it has namespaces (several combined)."""
    entry = catalog.entry_for(upstream.producer)
    partitions = upstream_partitions(entry, reader.namespaces, partition, reader=reader.subject)
    if partitions is None:
        return upstream()
    if partition and len(partitions) == 1:
        return upstream(namespace=partitions[0])
    values = {partition_label(keys): upstream(namespace=keys) for keys in partitions}
    return combine(values, entry, as_type=as_type)


def read_of(catalog: Catalog, target: Target, *, segment: str | None = None) -> UpstreamRead:
    """How a computation records that it read `target`: a cached result (`segment` given) by
    its record's data version, anything else by the stored object's fingerprint."""
    entry = target.entry
    if segment is not None:
        record = levels_for(catalog, entry).root.records.read(entry.name, segment)
        if record is not None:
            return UpstreamRead(
                entry=entry.name,
                format=str(entry.format),
                store=target.store,
                path=target.path,
                fingerprint=record.data_version,
                segment=segment,
            )
    return UpstreamRead(
        entry=entry.name,
        format=str(entry.format),
        store=target.store,
        path=target.path,
        fingerprint=catalog.storage.fingerprint(target),
        partition=target.keys if target.in_place else None,
    )

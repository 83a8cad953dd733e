"""The values a computation reads from upstream entries, and how it records that it read them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..partitions import target_for, upstream_partition
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
    entry loaded. A partitioned upstream gives the namespace of the same keys as `partition`
    (the call's own), as Dagster's partition mapping does."""
    producer = signature.neighbours.get(name) or catalog.producers.get(name)
    if producer is not None and producer.cached is not None:
        return _recall_upstream(catalog, producer.cached, partition)
    return load_upstream(catalog, name, partition)


def load_upstream(catalog: Catalog, name: str, partition: Mapping[str, str] | None = None) -> Any:
    """A catalog entry's stored value (the namespace of `partition`'s keys when the entry is
    partitioned), noted as read by the computation running."""
    entry = catalog.entry(name)
    target = target_for(entry, upstream_partition(entry, partition))
    value = catalog.storage.load(target)
    note_read(read_of(catalog, target))
    return value


def _recall_upstream(
    catalog: Catalog, upstream: CachedFunction, partition: Mapping[str, str] | None
) -> Any:
    """A cached upstream function's result, for the call's namespace when it has namespaces."""
    entry = catalog.entry_for(upstream.producer)
    if entry.namespaces:
        return upstream(namespace=upstream_partition(entry, partition))
    return upstream()


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

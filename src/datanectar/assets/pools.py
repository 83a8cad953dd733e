"""The Dagster concurrency pool of an entry's step: the entry's `pool`, else its store's."""

from __future__ import annotations

from ..catalog.models import Entry
from ..project import Catalog


def pool_of(entry: Entry, catalog: Catalog) -> str | None:
    """Dagster limits the steps of one pool as the instance's `concurrency` settings say (a
    pool of a sql store's writers, one at a time, say); None: no pool, no limit."""
    if entry.pool is not None:
        return entry.pool
    store = catalog.config.stores.get(entry.store or catalog.config.settings.default_store)
    return store.pool if store is not None else None

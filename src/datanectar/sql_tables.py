"""The tables a sql rule queries, from the catalog's stores (`checks.rules.sql` runs it).

A sql entry's tables are its store database's (`DatabaseTable`, or `DatabaseFrame` for a
produced value about to be published). Parquet, delta and csv entries are Arrow data DuckDB
reads as it needs: a `pyarrow.dataset` over the file (or a namespace's file) through the store's
pyarrow filesystem, `deltalake.DeltaTable(...).to_pyarrow_dataset()` for delta (a namespace's
files only, for a partitioned entry), never the whole table loaded into memory first; a
produced value is registered itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .catalog import Entry
from .checks.rules.sql import ArrowRelation, DatabaseFrame, DatabaseTable, Relation
from .storage import EntryStorage
from .stores import Location
from .targets import Target


class CatalogTables:
    """`SqlTables` for one value of `target`'s entry: `produced` when it is about to be
    published (then `own` is the value judged), else the stored table (a source's)."""

    def __init__(
        self,
        storage: EntryStorage,
        entries: Mapping[str, Entry],
        target: Target,
        *,
        produced: bool,
    ) -> None:
        self._storage = storage
        self._entries = entries
        self._target = target
        self._produced = produced

    def own(self, judged: Any) -> Relation:
        target = self._target
        if not self._produced:
            return stored(self._storage, target)
        if target.entry.format == "sql":
            schema, _ = _table_name(self._storage.location(target))
            return DatabaseFrame(_engine(self._storage.location(target)), schema, judged)
        return ArrowRelation(judged)

    def other(self, name: str) -> Relation:
        entry = self._entries[name]
        if entry.namespaces and entry.format in ("parquet", "csv"):
            raise ValueError(
                f"'{name}' keeps each namespace in a file of its own; a sql rule can join "
                "entries whose namespaces share one table (delta, sql), or unpartitioned ones"
            )
        return stored(self._storage, Target.of(entry))


def stored(storage: EntryStorage, target: Target) -> Relation:
    """A stored table (or the namespace `target` names, inside a shared table or a file of
    its own), as the engine of its format queries it, nothing read yet."""
    entry = target.entry
    location = storage.location(target)
    keys = dict(target.slice.keys) if target.slice is not None and target.slice.in_place else {}
    if entry.format == "sql":
        schema, table = _table_name(location)
        return DatabaseTable(_engine(location), schema, table, keys or None)
    if entry.format == "delta":
        return _delta(location, keys)
    import pyarrow.dataset as ds

    if not storage.exists(target):
        raise FileNotFoundError(f"{location.uri} is not there (nothing stored yet)")
    if entry.format == "csv":
        import pyarrow.csv as pacsv

        delimiter = entry.dialect.delimiter if entry.dialect is not None else None
        file_format: Any = ds.CsvFileFormat(
            parse_options=pacsv.ParseOptions(delimiter=delimiter or ",")
        )
    else:
        file_format = "parquet"
    dataset = ds.dataset(
        location.path, format=file_format, filesystem=location.store.arrow_filesystem()
    )
    return ArrowRelation(dataset)


def _delta(location: Location, keys: Mapping[str, str]) -> ArrowRelation:
    from deltalake import DeltaTable

    table = DeltaTable(location.uri, storage_options=location.object_store_options or None)
    if not keys:
        return ArrowRelation(table.to_pyarrow_dataset())
    pruning = [(name, "=", key) for name, key in keys.items()]
    dataset = table.to_pyarrow_dataset(file_pruning_predicate=pruning)
    return ArrowRelation(dataset, tuple(name for name in keys if name in dataset.schema.names))


def _engine(location: Location) -> Any:
    from .formats import get_format

    return get_format("sql").engine(location)


def _table_name(location: Location) -> tuple[str | None, str]:
    from .formats.sql import table_name

    return table_name(location)

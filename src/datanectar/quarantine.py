"""Quarantine: where a value a blocking check rejected is kept, and for how long.

Each rejected value is kept apart from the published one, named by its entry, the run (a
Dagster run's id, or a plain write's tag) and its partition:

- in a file store, `.datanectar/quarantine/<entry>/<run>/<dimension>=<key>/.../<entry><suffix>`
  under the entry's store root, in the entry's own format;
- in a database, a table `<table>__q_<10 hex>` beside the entry's table (a table name has no
  room for the rest; the index below names them).

Every quarantined value, whatever its format or store, has a record in the quarantine index
(`.datanectar/quarantine-index/<entry>/`, JSON, in the entry's store, or the default store for a
database entry, as full reports are kept): entry, run, partition, time, format, store and
where. The index is what `datanectar quarantine list|clear` reads, and what retention prunes:
after each rejection of an entry, the entry's oldest quarantined values beyond
`[tool.datanectar.quarantine] keep` (20 by default), and those older than `max_age_days`
(no limit by default), are removed, value and record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import posixpath
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .catalog import Entry
from .formats import DOCUMENT_FORMAT, get_format
from .targets import Target

if TYPE_CHECKING:
    from .project import Catalog
    from .storage import EntryStorage

QUARANTINE_FOLDER = ".datanectar/quarantine"
INDEX_FOLDER = ".datanectar/quarantine-index"


@dataclass(frozen=True)
class Quarantined:
    """One rejected value kept in quarantine, as its index record describes it."""

    entry: str
    run: str
    """The Dagster run's id, or a plain write's tag."""
    partition: dict[str, str] | None
    """Dimension name -> key, for one namespace of a partitioned entry."""
    created: str
    """When it was quarantined: ISO 8601, UTC."""
    format: str
    store: str
    path: str
    """Where in its store: a path under the store's root, or a table name."""
    uri: str
    record: str
    """The index record's path in `record_store`."""
    record_store: str

    @property
    def created_at(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.created)

    @property
    def partition_label(self) -> str:
        return ",".join(f"{name}={key}" for name, key in (self.partition or {}).items())


def keep_rejected(
    catalog: Catalog, storage: EntryStorage, target: Target, value: Any, tag: str
) -> str:
    """Quarantine `value`, rejected at `target` by the run (or plain write) `tag`: write it,
    record it in the index, prune the entry's older quarantined values. Its URI."""
    entry = target.entry
    keys = dict(target.keys or {})
    fmt = get_format(str(target.format))
    digest = hashlib.sha256(f"{tag}/{sorted(keys.items())}".encode()).hexdigest()[:10]
    if fmt.medium == "database":
        table = str(target.path).split(".")[-1][:40]
        schema = str(target.path).rpartition(".")[0]
        path = (f"{schema}." if schema else "") + f"{table}__q_{digest}"
    else:
        segments = [f"{name}={key}" for name, key in keys.items()]
        path = posixpath.join(
            QUARANTINE_FOLDER, entry.name, tag, *segments, entry.name + (fmt.suffix or "")
        )
    uri = storage.save(target.at(path=path, whole=True), value).uri
    created = dt.datetime.now(dt.UTC)
    record_store = _index_store(catalog, entry)
    record_path = posixpath.join(
        INDEX_FOLDER, entry.name, f"{created:%Y%m%dT%H%M%S%fZ}-{digest}-{uuid.uuid4().hex[:6]}.json"
    )
    quarantined = Quarantined(
        entry=entry.name,
        run=tag,
        partition=keys or None,
        created=created.isoformat(),
        format=str(target.format),
        store=target.store,
        path=path,
        uri=uri,
        record=record_path,
        record_store=record_store,
    )
    storage.save(_record_target(entry, record_store, record_path), asdict(quarantined))
    settings = catalog.config.settings.quarantine
    prune(
        storage,
        kept(catalog, [entry.name]),
        keep=settings.keep,
        max_age_days=settings.max_age_days,
        catalog=catalog,
    )
    return uri


def keep_or_explain(
    catalog: Catalog, storage: EntryStorage, target: Target, value: Any, tag: str
) -> tuple[str | None, str | None]:
    """(where the rejected value was kept, None) or, when it could not be (a value its own
    format cannot store, a store that refuses), (None, why): the verdicts are what a user
    needs first, so a failed quarantine never hides them."""
    from .errors import DatanectarError

    try:
        return keep_rejected(catalog, storage, target, value, tag), None
    except DatanectarError as exc:
        return None, str(exc)


def kept(catalog: Catalog, entries: Iterable[str] | None = None) -> list[Quarantined]:
    """The quarantined values of `entries` (every entry of the catalog by default), oldest
    first, from their index records."""
    names = sorted(catalog.entries) if entries is None else list(entries)
    found: list[Quarantined] = []
    for name in names:
        entry = catalog.entries.get(name)
        if entry is None:
            continue
        found.extend(_records(catalog, entry))
    return sorted(found, key=lambda item: (item.created, item.record))


def prune(
    storage: EntryStorage,
    quarantined: list[Quarantined],
    *,
    keep: int | None = None,
    max_age_days: float | None = None,
    catalog: Catalog,
) -> list[Quarantined]:
    """Remove, per entry, what is beyond the `keep` newest and what is older than
    `max_age_days`; what was removed."""
    now = dt.datetime.now(dt.UTC)
    doomed: list[Quarantined] = []
    by_entry: dict[str, list[Quarantined]] = {}
    for item in quarantined:
        by_entry.setdefault(item.entry, []).append(item)
    for items in by_entry.values():
        items.sort(key=lambda item: (item.created, item.record))
        beyond = items[: max(len(items) - keep, 0)] if keep is not None else []
        too_old = (
            [item for item in items if now - item.created_at > dt.timedelta(days=max_age_days)]
            if max_age_days is not None
            else []
        )
        doomed.extend(item for item in items if item in beyond or item in too_old)
    return remove(storage, doomed, catalog=catalog)


def remove(
    storage: EntryStorage, quarantined: Iterable[Quarantined], *, catalog: Catalog
) -> list[Quarantined]:
    """Remove each quarantined value, then its index record (a value whose removal failed
    keeps its record, so it is still listed). One already gone (another process pruned it)
    is no error."""
    removed = []
    for item in quarantined:
        entry = _value_entry(catalog, item)
        storage.remove(Target(entry, item.store, item.path))
        storage.remove(_record_target(entry, item.record_store, item.record))
        if item.path.startswith(QUARANTINE_FOLDER + "/"):
            _remove_empty_folders(catalog, item)
        removed.append(item)
    return removed


def _remove_empty_folders(catalog: Catalog, item: Quarantined) -> None:
    """The run and partition folders a removed value leaves empty, up to the entry's own
    (object stores have no folders: nothing is listed there, nothing removed)."""
    store = catalog.stores[item.store]
    top = posixpath.join(QUARANTINE_FOLDER, item.entry)
    folder = posixpath.dirname(item.path)
    while folder.startswith(top + "/"):
        location = store.location(folder)
        try:
            if not location.fs.isdir(location.path) or location.fs.ls(location.path):
                return
            location.fs.rmdir(location.path)
        except OSError:  # another process wrote or removed it meanwhile
            return
        folder = posixpath.dirname(folder)


def _records(catalog: Catalog, entry: Entry) -> Iterator[Quarantined]:
    store_name = _index_store(catalog, entry)
    folder = catalog.stores[store_name].location(posixpath.join(INDEX_FOLDER, entry.name))
    if not folder.fs.isdir(folder.path):
        return
    for path in sorted(folder.fs.ls(folder.path, detail=False)):
        if not str(path).endswith(".json"):
            continue
        with folder.fs.open(path, "rb") as handle:
            document = json.load(handle)
        yield Quarantined(**document)


def _index_store(catalog: Catalog, entry: Entry) -> str:
    store = str(entry.store)
    return store if catalog.stores[store].holds_files else catalog.config.settings.default_store


def _record_target(entry: Entry, store: str, path: str) -> Target:
    record = Entry(name=entry.name, source=entry.source, format=DOCUMENT_FORMAT, store=store)
    return Target(record, store, path)


def _value_entry(catalog: Catalog, item: Quarantined) -> Entry:
    declared = catalog.entries.get(item.entry)
    if declared is not None and declared.format == item.format:
        return declared
    return Entry(name=item.entry, source="quarantine index", format=item.format, store=item.store)

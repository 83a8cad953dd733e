"""What a stored cached result was computed from: kept beside it, read on every recall.

A record names the function, its cache arguments and namespace, the code version, and a
fingerprint of every upstream object it read. A recall compares them with the present to tell
a fresh result from a stale one. Records of file stores are small JSON files under the store's
`.datanectar/records/`; a SQL store keeps them in a `datanectar_records` table.
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..catalog import Entry
from ..storage import LEFTOVER_GRACE_SECONDS
from ..stores import Store
from ..stores.base import STAGING_PREFIX, raise_scrubbed, safe_url
from ..targets import Slice, Target

RECORDS_FOLDER = ".datanectar/records"
RECORDS_TABLE = "datanectar_records"


class UpstreamRead(BaseModel):
    """One upstream object a computation read, as it was then."""

    model_config = ConfigDict(frozen=True)

    entry: str
    format: str
    store: str
    path: str
    fingerprint: str | None
    """The data version of a cached result (`segment` set), else the stored object's
    fingerprint."""
    segment: str | None = None
    """Set when the upstream is a cached result: where its record lives under the entry."""
    partition: dict[str, str] | None = None
    """The namespace read, when it lives inside a table that holds every namespace."""

    def as_target(self) -> Target:
        """What was read, to look at again: the object, or the namespace inside it."""
        entry = Entry(name=self.entry, format=self.format, store=self.store, path=self.path)
        part = Slice(self.partition, in_place=True) if self.partition is not None else None
        return Target(entry, self.store, self.path, part)


class Record(BaseModel):
    model_config = ConfigDict(frozen=True)

    entry: str
    function: str
    key: str
    segment: str = "_"
    """Where, under the entry, this call's object and record live ('_': the entry itself)."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    namespace: str | None = None
    version: str | None = None
    format: str
    store: str
    path: str
    fingerprint: str | None = None
    """Read from records written by earlier versions, no longer written: freshness is the
    record's `complete` mark and data version, and fingerprinting a namespace of a large table
    after each write cost more than it told."""
    data_version: str = Field(default_factory=lambda: uuid.uuid4().hex)
    """Unique per computation, and kept when the result is copied to another level, so what
    read it can tell whether it still is the same result wherever it is recalled from."""
    upstream: list[UpstreamRead] = Field(default_factory=list)
    is_null: bool = False
    """The function returned None: no object is stored, only this record."""
    complete: bool = True
    """False while its object is being written: a record left so by a killed writer does not
    vouch for what is stored."""
    bytes_written: int | None = None
    created_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))


def unreadable(entry: str, segment: str) -> Record:
    """What a record that cannot be read stands for: a write that did not finish, so the
    result is recomputed (in modes that may) and the record written anew."""
    return Record.model_construct(
        entry=entry,
        function="",
        key="",
        segment=segment,
        format="",
        store="",
        path="",
        complete=False,
    )


def record_path(entry: str, segment: str) -> str:
    return posixpath.join(RECORDS_FOLDER, entry, f"{segment}.json")


class RecordBook:
    """Reads and writes the records of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def read(self, entry: str, segment: str) -> Record | None:
        if not self.store.holds_files:
            return self._read_row(record_path(entry, segment))
        location = self.store.location(record_path(entry, segment), direct=True)
        try:
            with location.open("rb") as handle:
                text = handle.read()
        except FileNotFoundError:
            return None
        try:
            return Record.model_validate_json(text)
        except ValueError:  # truncated, emptied or edited by hand: it vouches for nothing
            return unreadable(entry, segment)

    def write(self, record: Record, segment: str) -> None:
        self.store.ensure_writable()
        text = record.model_dump_json(indent=2)
        if not self.store.holds_files:
            self._write_row(record_path(record.entry, segment), text)
            return
        final = self.store.location(record_path(record.entry, segment), direct=True)
        self.store.prepare(final)
        # A write costs far more than a look at its folder: records a killed writer left
        # half-written go with the next write of the same record.
        self.store.remove_leftovers(final, older_than=LEFTOVER_GRACE_SECONDS)
        staged = self.store.staging_for(final, one_object=True)
        try:
            with staged.open("wb") as handle:
                handle.write(text.encode())
            self.store.publish(staged, final)
        except BaseException:
            staged.store.remove(staged)
            raise

    def remove(self, entry: str, segment: str) -> None:
        if not self.store.holds_files:
            self._delete_rows(record_path(entry, segment))
            return
        self.store.remove(self.store.location(record_path(entry, segment), direct=True))

    def all(self) -> list[Record]:
        """Every record in the store (for `datanectar cache ls`)."""
        return self._under(RECORDS_FOLDER)

    def of_entry(self, entry: str) -> list[Record]:
        """The records kept under one entry (its folder, or its rows): not the whole book."""
        return self._under(posixpath.join(RECORDS_FOLDER, entry))

    def _under(self, folder: str) -> list[Record]:
        if not self.store.holds_files:
            return [Record.model_validate_json(text) for text in self._all_rows(folder)]
        root = self.store.location(folder)
        if not root.exists():
            return []
        records = []
        for path in sorted(root.fs.find(root.path)):
            # A record being written (or left half-written by a killed writer) is no record.
            if path.endswith(".json") and not posixpath.basename(path).startswith(STAGING_PREFIX):
                with root.fs.open(path, "rb") as handle:
                    records.append(Record.model_validate_json(handle.read()))
        return records

    # -- SQL stores: one row per record, written in a transaction ----------------------

    @contextmanager
    def _failures_named(self, action: str) -> Iterator[None]:
        """A database failure as an error naming the store, with the URL's secrets scrubbed
        from the driver's message (which is then not chained)."""
        try:
            yield
        except Exception as exc:
            raise_scrubbed(
                self.store,
                exc,
                lambda failure: (
                    f"store '{self.store.name}': {action} in table {RECORDS_TABLE} "
                    f"of {safe_url(self.store.sql_url())} failed: {failure}"
                ),
            )

    def _engine(self) -> Any:
        import sqlalchemy as sa

        engine = sa.create_engine(self.store.sql_url())
        metadata = sa.MetaData()
        table = sa.Table(
            RECORDS_TABLE,
            metadata,
            sa.Column("path", sa.String(512), primary_key=True),
            sa.Column("record", sa.Text, nullable=False),
        )
        metadata.create_all(engine, checkfirst=True)
        return engine, table

    def _read_row(self, path: str) -> Record | None:
        import sqlalchemy as sa

        with self._failures_named(f"reading the record {path}"):
            engine, table = self._engine()
            with engine.connect() as connection:
                text = connection.execute(
                    sa.select(table.c.record).where(table.c.path == path)
                ).scalar()
        return Record.model_validate_json(text) if text else None

    def _write_row(self, path: str, text: str) -> None:
        with self._failures_named(f"writing the record {path}"):
            engine, table = self._engine()
            with engine.begin() as connection:
                connection.execute(table.delete().where(table.c.path == path))
                connection.execute(table.insert().values(path=path, record=text))

    def _delete_rows(self, path: str) -> None:
        with self._failures_named(f"removing the record {path}"):
            engine, table = self._engine()
            with engine.begin() as connection:
                connection.execute(table.delete().where(table.c.path == path))

    def _all_rows(self, folder: str) -> list[str]:
        import sqlalchemy as sa

        with self._failures_named("listing the records"):
            engine, table = self._engine()
            query = sa.select(table.c.record)
            if folder != RECORDS_FOLDER:  # one entry's rows, by a bound, escaped prefix
                query = query.where(table.c.path.startswith(f"{folder}/", autoescape=True))
            with engine.connect() as connection:
                return list(connection.execute(query).scalars())


def as_json(record: Record) -> dict[str, Any]:
    return json.loads(record.model_dump_json())

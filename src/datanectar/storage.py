"""Saving and loading entries: the one code path the IO managers and notebooks share.

It resolves a target's location, checks the value's type, writes to a staging location and
publishes atomically (or lets a transactional format commit), and wraps library failures in
errors that name the entry.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar

from .catalog import Entry
from .checks.tableschema.text_table import TextTable
from .errors import (
    DatanectarError,
    DataNotFoundError,
    FormatTypeError,
    StorageIOError,
    StoreAccessError,
    StoreError,
    UnknownVersionError,
    VersionError,
    VersionMismatchError,
)
from .formats import Format, formats_accepting, get_format
from .formats.base import (
    Absent,
    PartitionBatches,
    PartitionsByKey,
    PartitionsInPlace,
    Refused,
    SplitCommits,
    TableDialects,
    TableVersions,
    TextCells,
    Unfinished,
    capable,
    qualified_type_name,
)
from .stores import Location, Store
from .stores.base import raise_scrubbed
from .summaries import Summary, describe
from .targets import Target
from .versions import sidecar

if TYPE_CHECKING:
    from .targets import Slice

_UNTOUCHED = "(the previous value, if any, is untouched)"
Gate = Callable[[Location | None], None]
"""Called once the value is written but before it is published, with the staging location
that holds it (None for a value written in place or committed by its library); raising stops
the publish (write-audit-publish: an audit running meanwhile, or reading the staged value,
decides)."""


@dataclass(frozen=True)
class WriteReport:
    entry: str
    format: str
    uri: str
    bytes_written: int | None
    summary: Summary
    store: str = ""
    """The name of the store written to."""
    environment: str | None = None
    """The environment (DATANECTAR_ENV) whose settings were in force, if one was."""
    version: str | None = None
    """For a versioned entry: the label of the version written."""
    manifest_uri: str | None = None
    content_hash: str | None = None
    """The sha256 of the version's files (names and hashes): same bytes, same hash."""
    deduplicated: bool = False
    """True when identical bytes were stored already and not stored again."""
    table_version: int | None = None
    """The table version the write committed, for a format whose tables have versions of
    their own (Delta); None otherwise, and for a namespace staged to be committed later."""


LEFTOVER_GRACE_SECONDS = 3600.0
"""What a killed writer left (staging siblings, staged delta data, deltalake's temporary files)
is removed by the next write of the same location once nothing has touched it for this long:
never sooner, so that a concurrent writer's staging is left alone."""
_SWEEP_INTERVAL_SECONDS = 600.0


_T = TypeVar("_T")


def _store_failures_named(method: Callable[..., _T]) -> Callable[..., _T]:
    """A store that cannot be used (a bucket missing, access denied) says so for the entry
    the call was for, wherever in the call it was found out."""

    @functools.wraps(method)
    def named(self: EntryStorage, target: Target, *args: Any, **kwargs: Any) -> _T:
        try:
            return method(self, target, *args, **kwargs)
        except StoreAccessError as exc:
            where = _where(target.entry)
            if str(exc).startswith(where):
                raise
            raise StoreAccessError(f"{where}: {exc}") from None

    return named


class EntryStorage:
    """Reads and writes targets (entries' objects, or namespaces inside them) in their stores."""

    def __init__(
        self,
        stores: Mapping[str, Store],
        *,
        environment: str | None = None,
        pinned: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self._stores = dict(stores)
        self.environment = environment
        self.pinned = dict(pinned or {})
        """The versions of each entry the code loads pinned (`datanectar.asset(versions=)`):
        retention never removes them."""
        self._swept: dict[tuple[str, str], float] = {}

    def store(self, name: str) -> Store:
        """The store named `name` (KeyError if it is not one of these)."""
        return self._stores[name]

    @_store_failures_named
    def location(self, target: Target) -> Location:
        entry = target.entry
        if target.store not in self._stores:
            raise StoreError(
                f"{_where(entry)}: store '{target.store}' is not configured; "
                f"stores: {', '.join(sorted(self._stores))}. "
                f"Fix: add [tool.datanectar.stores.{target.store}] to pyproject.toml."
            )
        try:
            if entry.query is not None:  # no object: the query runs in the store's database
                return self._stores[target.store].location(entry.name)
            # Only a folder value may be published by pointer (S3): any other is looked
            # up at its own path.
            direct = entry.format is None or get_format(entry.format).one_object
            return self._stores[target.store].location(target.path, direct=direct)
        except StoreAccessError:  # the store's fault, not the path's: named by the decorator
            raise
        except StoreError as exc:
            raise StoreError(f"{_where(entry)}, field 'path': {exc}") from None

    @_store_failures_named
    def save(self, target: Target, value: Any, *, gate: Gate | None = None) -> WriteReport:
        """Write `value` at `target` and publish it atomically.

        With a `gate`, the write is published only if the gate returns: a staged write (file
        formats) or the data of a split transactional write (a delta overwrite) is written
        before the gate is called, so that whatever decides can run meanwhile; other writes in
        place (sql, partitions kept in one table) call the gate first. What the gate raises
        comes through unchanged, and nothing is published.
        """
        entry = target.entry
        fmt = _format(entry)
        _refuse_query(entry, "written")
        if not fmt.accepts(value):
            raise FormatTypeError(_type_mismatch(entry, fmt, value))
        refused = fmt.refusal(value, options=entry.save_options)
        if refused is not None:
            raise FormatTypeError(
                f"{_where(entry)}: format '{fmt.name}' cannot store it: {refused}"
            )
        in_place = _in_place(fmt, target)
        if entry.versioning is not None:
            if in_place:
                raise StoreError(
                    f"{_where(entry)}: its namespaces live inside one {fmt.name} object, "
                    "which is written in place: a version is a whole copy. Fix: remove "
                    "'versioned', or keep each namespace in an object of its own."
                )
            return self._save_version(fmt, target, value, gate)
        final = self.location(target)
        store = final.store
        store.ensure_writable()
        store.prepare(final)
        self._remove_leftovers(fmt, entry, final, target.slice if in_place else None)
        if gate is not None and _splits(fmt, entry) and not in_place:
            self._write_then_commit(fmt, entry, value, final, gate)
            return self._report(fmt, entry, value, final)
        if gate is not None and (in_place or fmt.transactional):
            gate(None)
        if in_place:
            batch = _BATCH.get()
            if batch is not None and capable(fmt, PartitionBatches):
                with _failures_named(entry, fmt, final, "writing", _UNTOUCHED):
                    pending = fmt.stage_partition(
                        value, final, target.slice, options=entry.save_options
                    )
                batch.add(entry, fmt, final, pending)
                return self._report(fmt, entry, value, final, bytes_written=pending.bytes_written)
            with _failures_named(entry, fmt, final, "writing", _UNTOUCHED):
                fmt.write_partition(value, final, target.slice, options=entry.save_options)
        elif fmt.transactional:
            self._write(fmt, entry, value, final, final)
        else:
            staged = store.staging_for(final, one_object=fmt.one_object)
            try:
                self._write(fmt, entry, value, staged, final)
                if gate is not None:
                    gate(staged)
                store.publish(staged, final)
                # Where it now is: a store publishing a folder by pointer (S3) has it under
                # a prefix of its own, which the report's URI names.
                published = store.published_location(staged, final)
                if sidecar.kept_for(store, one_object=fmt.one_object):
                    with _failures_named(entry, fmt, final, "recording the files of"):
                        sidecar.write(store, final, published)
                final = published
            except StoreError as exc:  # a path refused at the last moment (a planted link)
                staged.store.remove(staged)
                raise StoreError(f"{_where(entry)}, field 'path': {exc}") from None
            except BaseException:
                staged.store.remove(staged)
                raise
        return self._report(fmt, entry, value, final)

    def _save_version(
        self, fmt: Format, target: Target, value: Any, gate: Gate | None
    ) -> WriteReport:
        """A new immutable version of a versioned entry (see `versions.versioned`)."""
        from .versions.versioned import publish_version, remove_leftovers

        entry = target.entry
        versioning = entry.versioning
        assert versioning is not None
        store, layout = self._versions_of(target)
        store.ensure_writable()
        try:
            with _failures_named(
                entry, fmt, store.location(layout.path, direct=True), "versioning"
            ):
                if self._sweep_due((store.uri(layout.path), "versions")):
                    remove_leftovers(store, layout, older_than=LEFTOVER_GRACE_SECONDS)
                written = publish_version(
                    store,
                    layout,
                    entry=entry.name,
                    format_name=fmt.name,
                    one_object=fmt.one_object,
                    template=versioning.label,
                    properties=entry.properties,
                    write=lambda staged, final: self._write(fmt, entry, value, staged, final),
                    gate=gate,
                )
                if versioning.keep is not None:
                    self.prune_versions(target, keep=versioning.keep)
        except VersionError as exc:
            raise type(exc)(f"{_where(entry)}: {exc}") from None
        report = self._report(fmt, entry, value, written.location)
        manifest = written.manifest
        return dataclasses.replace(
            report,
            version=manifest.label,
            manifest_uri=written.manifest_uri,
            content_hash=manifest.content_hash,
            deduplicated=written.deduplicated,
            bytes_written=0 if written.deduplicated else manifest.size,
        )

    def _versions_of(self, target: Target) -> tuple[Store, Any]:
        from .stores import normalize_relative_path
        from .versions.layout import Layout

        self.location(target)  # the store and path checked, errors naming the entry
        return self._stores[target.store], Layout(normalize_relative_path(target.path))

    @_store_failures_named
    def prune_versions(
        self,
        target: Target,
        *,
        keep: int,
        pinned: frozenset[str] = frozenset(),
        dry_run: bool = False,
    ) -> list[str]:
        """Remove all but the newest `keep` versions, never the latest, a `pinned` one, or
        one the code pins (`datanectar.asset(versions=)`)."""
        from .versions.versioned import pinned_by_run, prune

        store, layout = self._versions_of(target)
        if not dry_run:
            store.ensure_writable()
        pinned = pinned | self.pinned.get(target.entry.name, frozenset()) | pinned_by_run()
        return prune(store, layout, keep=keep, pinned=pinned, dry_run=dry_run)

    @_store_failures_named
    def manifests(self, target: Target) -> list[Any]:
        """The manifests of a versioned entry's versions, oldest first."""
        from .versions.versioned import manifests

        return manifests(*self._versions_of(target))

    def _version_manifest(self, target: Target, version: str | None) -> Any:
        """The manifest of `version` (the latest when None), or DataNotFoundError."""
        from .versions.versioned import latest_label, read_manifest

        entry = target.entry
        store, layout = self._versions_of(target)
        label = version if version is not None else latest_label(store, layout)
        manifest = read_manifest(store, layout, label) if label is not None else None
        if manifest is None:
            fmt = _format(entry)
            location = store.location(layout.path, direct=True)
            if version is None:
                raise self._missing(fmt, target, location)
            known = [m.label for m in self.manifests(target)]
            shown = ", ".join(known[-10:]) or "none yet"
            raise UnknownVersionError(
                f"{_where(entry)}: no version '{version}' (versions: {shown}). Fix: "
                f"datanectar versions {entry.name} lists them."
            )
        return store, manifest

    def _load_version(
        self, fmt: Format, target: Target, *, as_type: Any, version: str | None
    ) -> Any:
        from .versions.versioned import read_verified

        entry = target.entry
        versioning = entry.versioning
        assert versioning is not None
        store, manifest = self._version_manifest(target, version)
        location = store.location(manifest.data, direct=True)
        with (
            _failures_named(entry, fmt, location, f"reading version '{manifest.label}' of"),
            _fetched_once(fmt, location) as readable,
        ):
            try:
                if fmt.reads_local_copies and not location.store.is_local:
                    return _verified_copy(fmt, entry, readable, manifest, as_type=as_type)
                value = read_verified(
                    manifest,
                    readable,
                    how=versioning.verify,
                    read=lambda: fmt.read(readable, options=entry.load_options, as_type=as_type),
                )
            except VersionMismatchError as exc:
                raise VersionMismatchError(
                    f"{_where(entry)}: {exc}: the stored bytes are not those written. Fix: "
                    "load another version (datanectar versions "
                    f"{entry.name}), or write a new one."
                ) from None
            if readable is not location and _is_lazy(value):
                # a lazy value reads its file later: from the store, not the copy removed
                value = fmt.read(location, options=entry.load_options, as_type=as_type)
            return value

    def _remove_leftovers(
        self, fmt: Format, entry: Entry, final: Location, part: Slice | None
    ) -> None:
        """What killed writes of this location left, once per location every few minutes in
        a process (a loop of writes pays for one look)."""
        if not self._sweep_due((final.uri, repr(sorted(part.keys.items())) if part else "")):
            return
        with _failures_named(entry, fmt, final, "removing what crashed writes left of"):
            final.store.remove_leftovers(final, older_than=LEFTOVER_GRACE_SECONDS)
            fmt.remove_leftovers(final, older_than=LEFTOVER_GRACE_SECONDS, part=part)

    def _sweep_due(self, key: tuple[str, str]) -> bool:
        """Whether what killed writes left at `key` is due a look: once per location every
        few minutes in a process (a loop of writes pays for one look)."""
        now = time.monotonic()
        if now - self._swept.get(key, -_SWEEP_INTERVAL_SECONDS) < _SWEEP_INTERVAL_SECONDS:
            return False
        self._swept[key] = now
        return True

    def _write_then_commit(
        self, fmt: Format, entry: Entry, value: Any, final: Location, gate: Gate
    ) -> None:
        """A transactional write split in two around the gate: data, then commit."""
        with _failures_named(entry, fmt, final, "writing", _UNTOUCHED):
            pending = fmt.write_uncommitted(value, final, options=entry.save_options)  # type: ignore[attr-defined]
        try:
            gate(None)
        except BaseException:
            with _failures_named(entry, fmt, final, "cleaning up after"):
                pending.discard()
            raise
        try:
            pending.commit()
        except Exception:
            # Nothing was committed (a table feature the split commit does not support,
            # say): the value passed the gate, so it is written the usual way.
            with _failures_named(entry, fmt, final, "cleaning up after"):
                pending.discard()
            self._write(fmt, entry, value, final, final)

    def _report(
        self,
        fmt: Format,
        entry: Entry,
        value: Any,
        final: Location,
        *,
        bytes_written: object = ...,
    ) -> WriteReport:
        return WriteReport(
            entry=entry.name,
            format=fmt.name,
            uri=_describe(fmt, final),
            bytes_written=(
                fmt.written_bytes(final) if bytes_written is ... else bytes_written  # type: ignore[arg-type]
            ),
            summary=describe(value, profile=entry.profile),
            store=final.store.name,
            environment=self.environment,
            table_version=(
                fmt.current_version(final)  # type: ignore[attr-defined]
                if bytes_written is ... and capable(fmt, TableVersions)
                else None
            ),
        )

    def stages(self, target: Target) -> bool:
        """Whether `save` writes to a staging location before publishing: then a gate runs
        after the write, and whatever decides it can run while the value is written."""
        fmt = _format(target.entry)
        if _in_place(fmt, target):
            return False
        return not fmt.transactional or _splits(fmt, target.entry)

    @_store_failures_named
    def load(self, target: Target, *, as_type: Any = None, version: Any = None) -> Any:
        """The stored value at `target`: of a versioned entry the latest version, or
        `version` (a label); of a delta entry a table version (a number or a timestamp)."""
        entry = target.entry
        fmt = _format(entry)
        if entry.versioning is not None and not _in_place(fmt, target):
            return self._load_version(
                fmt, target, as_type=as_type, version=None if version is None else str(version)
            )
        if version is not None:
            return self._load_table_version(fmt, target, as_type=as_type, version=version)
        location = self.location(target)
        if entry.query is not None:
            with _failures_named(entry, fmt, location, "running the query of"):
                return fmt.read_query(  # type: ignore[attr-defined]
                    location, entry.query, entry.params, options=entry.load_options
                )
        if not fmt.reports_absence:  # else the read itself says so, without a look first
            self._require_data(fmt, target, location)
        try:
            with _failures_named(entry, fmt, location, "reading"):
                if _in_place(fmt, target):
                    return fmt.read_partition(
                        location, target.slice, options=entry.load_options, as_type=as_type
                    )
                if not fmt.transactional and sidecar.kept_for(
                    location.store, one_object=fmt.one_object
                ):
                    self._require_as_written(fmt, target, location)
                return fmt.read(location, options=entry.load_options, as_type=as_type)
        except Unfinished as unfinished:
            raise self._missing(fmt, target, location, why=str(unfinished)) from None
        except Absent:
            raise self._missing(fmt, target, location) from None

    def _load_table_version(
        self, fmt: Format, target: Target, *, as_type: Any, version: Any
    ) -> Any:
        entry = target.entry
        if not capable(fmt, TableVersions):
            raise StoreError(
                f"{_where(entry)}: it is not versioned, so it has no version {version!r}. Fix: "
                "add 'versioned: true' to the entry (each write is then kept as a version)."
            )
        location = self.location(target)
        try:
            with _failures_named(entry, fmt, location, f"reading version {version!r} of"):
                return fmt.read_version(
                    location, version, options=entry.load_options, as_type=as_type
                )
        except DataNotFoundError as exc:  # the table's own words, for this entry
            raise UnknownVersionError(
                f"{_where(entry)}: {exc} Fix: datanectar versions {entry.name} lists them."
            ) from None

    def _require_as_written(self, fmt: Format, target: Target, location: Location) -> None:
        """The files at `location` are those its last publish wrote, by its manifest."""
        try:
            wrong = sidecar.check(location.store, location.relative, location)
        except FileNotFoundError:
            raise Absent(location.uri) from None
        if wrong is not None:
            entry = target.entry
            raise StorageIOError(
                f"{_where(entry)}: {_describe(fmt, location)} is not as it was written: "
                f"{wrong}. Fix: materialize it again (or restore the file); it was changed "
                "outside datanectar."
            )

    def stores_text(self, target: Target) -> bool:
        """Whether the entry's format stores its cells as text (csv)."""
        return capable(_format(target.entry), TextCells)

    @_store_failures_named
    def staged_text(self, target: Target, staged: Location) -> TextTable | None:
        """The cells of a value written to `staged` (see `save`'s gate) as text, read back in
        the dialect it was written in (the save options): what will be published."""
        entry = target.entry
        fmt = _format(entry, as_written=True)
        if not capable(fmt, TextCells):
            return None
        with _failures_named(entry, fmt, staged, "reading back as text"):
            return fmt.read_text(staged, options=entry.save_options)

    @_store_failures_named
    def staged_value(self, target: Target, staged: Location) -> Any:
        """A value written to `staged` read back as readers of the published one will read
        it (the load options): what a format storing text gives back, typed anew."""
        entry = target.entry
        fmt = _format(entry)
        with _failures_named(entry, fmt, staged, "reading back"):
            return fmt.read(staged, options=entry.load_options)

    def written_value(self, target: Target, value: Any) -> Any:
        """`value` as readers will read it once written, for a format storing text (csv),
        which types its cells anew; `value` itself for the others."""
        entry = target.entry
        fmt = _format(entry)
        if not capable(fmt, TextCells):
            return value
        with _failures_named(entry, fmt, self.location(target), "reading back"):
            return fmt.written_value(
                value, save_options=entry.save_options, load_options=entry.load_options
            )

    def written_text(self, target: Target, value: Any) -> TextTable | None:
        """`value`'s cells as the entry's format will store them, when it stores text (csv),
        with the header row: what frictionless would read back. None for typed formats."""
        entry = target.entry
        fmt = _format(entry)
        if not capable(fmt, TextCells):
            return None
        with _failures_named(entry, fmt, self.location(target), "rendering as text for"):
            return fmt.written_text(value, options=entry.save_options)

    @_store_failures_named
    def stored_text(self, target: Target) -> TextTable | None:
        """The stored cells as text, with the header row verbatim, when the format stores text."""
        entry = target.entry
        fmt = _format(entry)
        if not capable(fmt, TextCells):
            return None
        location = self.location(target)
        self._require_data(fmt, target, location)
        with _failures_named(entry, fmt, location, "reading as text"):
            return fmt.read_text(location, options=entry.load_options)

    def _require_data(self, fmt: Format, target: Target, location: Location) -> None:
        if not self._exists(fmt, target, location):
            raise self._missing(fmt, target, location)

    @staticmethod
    def _missing(
        fmt: Format, target: Target, location: Location, *, why: str = ""
    ) -> DataNotFoundError:
        entry = target.entry
        return DataNotFoundError(
            f"{_where(entry)}: no data at {_describe(fmt, location)}"
            f"{_partition_note(target)} (format {fmt.name})"
            + (f": {why}" if why else "")
            + ". "
            + (
                "Fix: nothing produces this entry: put its data at that location, or point "
                "the entry's path (or store) at where the data is."
                if entry.external
                else f"Fix: materialize it first (dagster asset materialize --select {entry.asset}"
                + (f" --partition {_label(target.keys)}" if target.keys else "")
                + ")."
                if entry.asset is not None
                else f"Fix: materialize it first (dagster asset materialize --select "
                f"{entry.name}), or save a value with datanectar.catalog().save('{entry.name}', "
                "value)."
            )
        )

    @_store_failures_named
    def exists(self, target: Target) -> bool:
        return self._exists(_format(target.entry), target, self.location(target))

    @_store_failures_named
    def remove(self, target: Target) -> None:
        """Delete the target's stored object (or its namespace inside one), if any."""
        entry = target.entry
        fmt = _format(entry)
        _refuse_query(entry, "removed")
        location = self.location(target)
        location.store.ensure_writable()
        if entry.versioning is not None and not _in_place(fmt, target):
            # Versions are never removed but by a prune: the latest is unpublished, so a
            # load finds nothing, while every version stays listed and loadable by label.
            store, layout = self._versions_of(target)
            with _failures_named(entry, fmt, location, "removing the latest version of"):
                store.remove(store.location(layout.latest, direct=True))
            return
        with _failures_named(entry, fmt, location, "removing"):
            if _in_place(fmt, target):  # that namespace only, never the others'
                if fmt.exists(location):
                    fmt.remove_partition(location, target.slice)
            else:
                fmt.remove(location)
                if sidecar.kept_for(location.store, one_object=fmt.one_object):
                    sidecar.remove(location.store, location.relative)

    @_store_failures_named
    def remove_namespaces_with(self, target: Target, keys: Mapping[str, str]) -> bool | None:
        """Delete, from the object at `target` that keeps every namespace in place, each
        namespace whose keys include `keys` (one dimension's key of two), in one go: whether
        there was any, or None when the format cannot (then remove them one by one)."""
        entry = target.entry
        fmt = _format(entry)
        if not capable(fmt, PartitionsByKey):
            return None
        location = self.location(target.at(whole=True))
        location.store.ensure_writable()
        with _failures_named(
            entry, fmt, location, "removing namespaces with " + repr(dict(keys)) + " from"
        ):
            return fmt.remove_partitions_with(location, keys)

    @_store_failures_named
    def fingerprint(self, target: Target) -> str | None:
        """Changes whenever a new value is published at `target` (its namespace only, for one
        kept inside a table); None when nothing is stored."""
        entry = target.entry
        fmt = _format(entry)
        location = self.location(target)
        with _failures_named(entry, fmt, location, "fingerprinting"):
            if entry.query is not None:  # the result's hash: the query runs
                return fmt.query_fingerprint(  # type: ignore[attr-defined]
                    location, entry.query, entry.params, options=entry.load_options
                )
            if _in_place(fmt, target):
                return fmt.partition_fingerprint(location, target.slice)
            if entry.versioning is not None:  # the latest version's content
                latest = self._latest_manifest(target)
                return f"version-{latest.content_hash}" if latest is not None else None
            return fmt.fingerprint(location) if fmt.exists(location) else None

    def _latest_manifest(self, target: Target) -> Any:
        from .versions.versioned import latest_label, read_manifest

        store, layout = self._versions_of(target)
        label = latest_label(store, layout)
        return read_manifest(store, layout, label) if label is not None else None

    def _exists(self, fmt: Format, target: Target, location: Location) -> bool:
        if target.entry.query is not None:
            return True  # a query always has a result (an error, when its tables are not there)
        if target.entry.versioning is not None and not _in_place(fmt, target):
            return self._latest_manifest(target) is not None
        with _failures_named(target.entry, fmt, location, "looking for"):
            if _in_place(fmt, target):
                return fmt.exists(location) and fmt.partition_exists(location, target.slice)
            return fmt.exists(location)

    @staticmethod
    def _write(fmt: Format, entry: Entry, value: Any, into: Location, final: Location) -> None:
        in_place = fmt.transactional and into is final
        note = _unless_committed(fmt, final) if in_place else _UNTOUCHED
        with _failures_named(entry, fmt, final, "writing", note):
            fmt.write(value, into, options=entry.save_options)


def _unless_committed(fmt: Format, location: Location) -> Callable[[], str]:
    """The note for a failed write that its library commits in place: the previous value is
    said to be untouched only if what is stored is still what was there before (a library may
    commit, then fail)."""

    unknown = object()

    def stored() -> object:
        try:
            return fmt.fingerprint(location)
        except Exception:  # unreadable (or unreachable): nothing can be said of it
            return unknown

    before = stored()

    def note() -> str:
        after = stored()
        if before is unknown or after is unknown:
            return "(what is stored there could not be read, before or after, to tell whether it changed)"
        if after == before:
            return _UNTOUCHED
        return (
            "after its library had already changed what is stored there (the previous value "
            "may be gone: look at it before using it)"
        )

    return note


class _Batch:
    """Namespace writes staged inside `published_together`, by the object they go into."""

    def __init__(self) -> None:
        self.staged: dict[str, tuple[Entry, Any, Location, list[Any]]] = {}
        self.undo: list[Callable[[], None]] = []
        self.then: list[Callable[[], None]] = []

    def add(self, entry: Entry, fmt: Any, location: Location, pending: Any) -> None:
        self.staged.setdefault(location.uri, (entry, fmt, location, []))[3].append(pending)

    def commit(self) -> None:
        for entry, fmt, location, pending in self.staged.values():
            note = _NONE if getattr(fmt, "commits_together", True) else _SOME
            with _failures_named(entry, fmt, location, "committing the namespaces of", note):
                fmt.commit_partitions(location, pending)
            self.staged[location.uri] = (entry, fmt, location, [])

    def discard(self) -> None:
        for entry, fmt, location, pending in self.staged.values():
            for staged in pending:
                with _failures_named(entry, fmt, location, "cleaning up after"):
                    staged.discard()
        for undo in reversed(self.undo):
            undo()


_BATCH: ContextVar[_Batch | None] = ContextVar("datanectar_batch", default=None)
_NONE = "(none of them was published)"
_SOME = (
    "(after every one was checked and staged: a store the run created is gone; in one that "
    "was there, those written before it are published, it reads as unfinished, the others "
    "are as they were)"
)


@contextmanager
def published_together() -> Iterator[None]:
    """Namespace writes inside the block that the format keeps in one object (a delta or sql
    table's partitions) are committed together when it ends, one transaction per object: a
    run writing many namespaces publishes all of them, or none when the block raises or the
    commit fails (then what `if_not_published` registered runs)."""
    batch = _Batch()
    token = _BATCH.set(batch)
    try:
        yield
    except BaseException:
        _BATCH.reset(token)
        batch.discard()
        raise
    _BATCH.reset(token)
    try:
        batch.commit()
    except BaseException:
        batch.discard()
        raise
    for then in batch.then:
        then()


def when_published(then: Callable[[], None]) -> None:
    """Run `then` once what was just written is published: now, or, inside
    `published_together`, after the block's commit."""
    batch = _BATCH.get()
    if batch is None:
        then()
    else:
        batch.then.append(then)


def if_not_published(undo: Callable[[], None]) -> None:
    """Inside `published_together`, run `undo` should the block's writes not be published
    (a record written for a staged namespace goes back); outside it, nothing."""
    batch = _BATCH.get()
    if batch is not None:
        batch.undo.append(undo)


@contextmanager
def _failures_named(
    entry: Entry,
    fmt: Format,
    location: Location,
    action: str,
    note: str | Callable[[], str] = "",
) -> Iterator[None]:
    """Turn a storage library's failure into an error naming the entry and where it was
    (`note`, or what it says when called once the failure happened, is added)."""
    try:
        yield
    except (DatanectarError, Absent):  # named already, or the caller's to name
        raise
    except Refused as exc:
        raise FormatTypeError(
            f"{_where(entry)}: format '{fmt.name}' cannot store it: {exc}"
        ) from None
    except Exception as exc:
        said = note() if callable(note) else note
        raise_scrubbed(
            location.store,
            exc,
            lambda failure: (
                f"{_where(entry)}: {action} {_describe(fmt, location)} as "
                f"{fmt.name} failed{' ' + said if said else ''}: {failure}"
            ),
        )


def _describe(fmt: Format, location: Location) -> str:
    try:
        return fmt.describe_location(location)
    except Exception:  # an unusable location must not hide the error being reported
        return f"'{location.relative}' in store '{location.store.name}'"


def _format(entry: Entry, *, as_written: bool = False) -> Format:
    """The entry's format, in its dialect; `as_written`: reading what it just wrote, whose
    dialect is known (nothing to detect, even in a file nothing else produces)."""
    if entry.format is None:
        raise DatanectarError(
            f"{_where(entry)}, field 'format': no format was resolved for this entry."
        )
    fmt = get_format(entry.format)
    if capable(fmt, TableDialects):
        return fmt.with_dialect(
            entry.dialect,
            detect=entry.external and not as_written,
            field_names=entry.field_names,
        )
    return fmt


def _type_mismatch(entry: Entry, fmt: Format, value: Any) -> str:
    type_name = qualified_type_name(value)
    others = [name for name in formats_accepting(value) if name != fmt.name]
    return (
        f"{_where(entry)}: format '{fmt.name}' cannot write a value of type {type_name}; "
        f"it writes {', '.join(fmt.writes)}. "
        + (f"Formats that accept {type_name}: {', '.join(others)}. " if others else "")
        + (
            "Fix: return a supported type, or give the asset the IO manager of one of those."
            if entry.asset is not None
            else "Fix: return a supported type, or change the entry's format."
        )
    )


def _label(keys: Mapping[str, str]) -> str:
    """Keys as Dagster's partition key: `a|b` for two dimensions, in name order."""
    return "|".join(keys[name] for name in sorted(keys))


def _partition_note(target: Target) -> str:
    return f" for namespace {target.keys}" if target.slice is not None else ""


@contextmanager
def _fetched_once(fmt: Format, location: Location) -> Iterator[Location]:
    """A one-object value on a remote store, downloaded once to this machine's disk so that
    it is hashed and read from the same bytes (not fetched twice); anything else as it is."""
    if location.store.is_local or not fmt.one_object:
        yield location
        return
    import tempfile
    from pathlib import Path

    from .stores.registry import folder_store

    with tempfile.TemporaryDirectory(prefix="datanectar-verified-") as folder:
        copy = folder_store("verified", Path(folder)).location(location.name, direct=True)
        location.store.filesystem.get_file(location.path, copy.path)
        yield copy


def _verified_copy(
    fmt: Format, entry: Entry, location: Location, manifest: Any, *, as_type: Any
) -> Any:
    """A version a format reads as a copy on this machine's disk (downloaded once per
    version), verified from that copy; a copy that does not match is dropped, so the next
    load fetches the stored bytes again."""
    from pathlib import Path

    from .stores.registry import folder_store
    from .versions.versioned import read_verified

    copy = Path(fmt.read(location, options=entry.load_options, as_type=as_type))
    local = folder_store("downloaded", copy.parent).location(copy.name, direct=True)
    try:
        return read_verified(manifest, local, how=entry.versioning.verify, read=lambda: copy)
    except VersionMismatchError:
        local.store.remove(local)
        raise


def _is_lazy(value: Any) -> bool:
    """Whether a loaded value still reads its file (an xarray Dataset opened lazily)."""
    return (
        type(value).__module__.startswith("xarray") and getattr(value, "chunks", None) is not None
    )


def _in_place(fmt: Format, target: Target) -> TypeGuard[PartitionsInPlace]:
    """Whether the target is a namespace inside a shared object, which the format addresses."""
    if not target.in_place:
        return False
    if not capable(fmt, PartitionsInPlace):
        raise DatanectarError(
            f"{_where(target.entry)}: format '{fmt.name}' cannot keep namespaces inside one "
            "object; give the path a placeholder per dimension ({dimension})."
        )
    return True


def _splits(fmt: Format, entry: Entry) -> bool:
    return capable(fmt, SplitCommits) and fmt.splits_writes(entry.save_options)


def _refuse_query(entry: Entry, what: str) -> None:
    if entry.query is not None:
        raise DatanectarError(
            f"{_where(entry)}: it is a query's result, which cannot be {what}. Fix: give the "
            "entry a 'path' (a table) instead of 'query' to store values in it."
        )


def _where(entry: Entry) -> str:
    return entry.subject

"""Writing, finding, verifying and pruning the versions of one versioned object in a store.

A new version is written to staging like any value, hashed there, and then either published
under its label or, when a stored version holds the same bytes, not stored again: its
manifest names the stored bytes (on S3 a value staged on this machine's disk is then never
uploaded). The manifest is written once (a label that exists is refused, by the store's
exclusive write), and only then does `_latest.json` move: a write killed at any point leaves
the previous latest.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import datetime as dt
import json
import posixpath
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from ..errors import VersionError, VersionExistsError, VersionMismatchError
from ..stores import Location, Store
from .labels import check_name, make_label
from .layout import Layout
from .manifest import FileRecord, Manifest, content_hash, file_records, sha256_of

T = TypeVar("T")

_STAGING = "_staging"
"""The folder a version is staged in while its label (naming its content) is not known."""


@dataclass(frozen=True)
class WriteContext:
    """What the run writing a version knows: it fills label templates and the manifest."""

    run_id: str | None = None
    code_version: str | None = None
    partition: str | None = None
    label: str | None = None
    """A label given at run time (run config): used instead of the template."""
    pinned: frozenset[str] = frozenset()
    """Labels the run pins the entry's inputs at: a prune after the write keeps them."""


_CONTEXT: contextvars.ContextVar[WriteContext | None] = contextvars.ContextVar(
    "datanectar_version_write", default=None
)


@contextlib.contextmanager
def writing(**values: Any) -> Iterator[None]:
    """Versions written inside take these run values (run id, code version, a label)."""
    token = _CONTEXT.set(replace(_CONTEXT.get() or WriteContext(), **values))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


@contextlib.contextmanager
def writing_defaults(**values: Any) -> Iterator[None]:
    """`writing`, for the values the surrounding context (a Dagster step's) does not give."""
    current = _CONTEXT.get() or WriteContext()
    with writing(**{name: v for name, v in values.items() if getattr(current, name) is None}):
        yield


def pinned_by_run() -> frozenset[str]:
    """The labels the writing run pins (see `WriteContext.pinned`)."""
    context = _CONTEXT.get()
    return context.pinned if context is not None else frozenset()


@dataclass(frozen=True)
class Written:
    manifest: Manifest
    manifest_uri: str
    location: Location
    """Where the version's bytes are (those of an identical version, when deduplicated)."""
    deduplicated: bool = False
    """Whether no byte was stored: the content was stored already."""


def publish_version(
    store: Store,
    layout: Layout,
    *,
    entry: str,
    format_name: str,
    one_object: bool,
    template: str | None,
    properties: dict[str, Any],
    write: Callable[[Location, Location], None],
    gate: Callable[[Location], None] | None = None,
) -> Written:
    """Write a new version with `write(staged, final)`, then publish it (see the module)."""
    context = _CONTEXT.get() or WriteContext()
    values = {
        "run_id": context.run_id,
        "code_version": context.code_version,
        "partition": context.partition,
    }

    def label_of(digest: str | None) -> str:
        try:
            if context.label is not None:
                return check_name(context.label, what="label")
            return make_label(template, {**values, "content_hash": digest and digest[:16]})
        except ValueError as exc:  # a label given at run time, a field with no value
            raise VersionError(str(exc)) from None

    # Known before the write unless it names the content: then checked (and the value
    # staged) before anything is written, and written at its own place.
    early = None if template is not None and "{content_hash}" in template else label_of(None)
    if early is not None:
        _refuse_existing(store, layout, early)
    claimed: str | None = None
    probe = store.location(layout.data(early or _STAGING), direct=True)
    store.prepare(probe)
    staged = store.staging_for(probe, one_object=one_object)
    try:
        write(staged, probe)
        if gate is not None:
            gate(staged)
        records = file_records(staged)
        digest = content_hash(records)
        label = early or label_of(digest)
        if early is None:
            same = read_manifest(store, layout, label)
            if same is not None and same.content_hash == digest:
                # A label naming the content, written again with that content: the version
                # is there already (content addressing), and becomes the latest again.
                staged.store.remove(staged)
                store.write_small(layout.latest, json.dumps({"label": label}).encode())
                return Written(
                    same,
                    store.uri(layout.manifest(label)),
                    store.location(same.data, direct=True),
                    deduplicated=True,
                )
            _refuse_existing(store, layout, label)
        # One writer per label: the others fail here, before any byte of theirs is published
        # where the winner's are (an S3 upload replaces an object, a label's path is one).
        if not store.write_small(layout.claim(label), b"", exclusive=True):
            raise VersionExistsError(
                f"version '{label}' exists already, or another writer is writing it: a version "
                "is never overwritten. Fix: give another label, or leave the label to the "
                "default (the UTC time to the microsecond) or a template with {run_id}"
            )
        claimed = label
        final = store.location(layout.data(label), direct=one_object)
        stored_with = _stored_version(store, layout, digest)
        if stored_with is not None:
            staged.store.remove(staged)
            if early is not None:  # the new version's own folder, made for the write: empty
                store.remove(store.location(layout.folder(label), direct=True))
            data = stored_with.data
            records = list(stored_with.files)
        else:
            store.prepare(final)
            store.publish(staged, final)
            final = store.published_location(staged, final)
            data = final.relative
            records = [_at(record, final) for record in records]
    except BaseException:
        staged.store.remove(staged)
        if claimed is not None:  # nothing was published under the label: it is free again
            store.remove(store.location(layout.folder(claimed), direct=True))
            store.remove(store.location(layout.claim(claimed), direct=True))
        elif early is not None:  # the folder made for the write, empty
            with contextlib.suppress(OSError):
                store.remove(store.location(layout.folder(early), direct=True))
        raise
    manifest = Manifest(
        entry=entry,
        label=label,
        format=format_name,
        data=data,
        files=tuple(records),
        content_hash=digest,
        created=dt.datetime.now(dt.UTC).isoformat(),
        properties=dict(properties),
        code_version=context.code_version,
        run_id=context.run_id,
        partition=context.partition,
        stored_with=stored_with.label if stored_with is not None else None,
    )
    if not store.write_small(layout.manifest(label), manifest.to_json(), exclusive=True):
        raise VersionExistsError(f"version '{label}' was written by another writer meanwhile")
    if stored_with is None:
        store.write_small(
            layout.content(digest), json.dumps({"label": label, "data": data}).encode()
        )
    store.write_small(layout.latest, json.dumps({"label": label}).encode())
    location = store.location(data, direct=True)  # the bytes' own path, never a pointer's
    return Written(manifest, store.uri(layout.manifest(label)), location, stored_with is not None)


def _refuse_existing(store: Store, layout: Layout, label: str) -> None:
    if store.read_small(layout.manifest(label)) is not None:
        raise VersionExistsError(
            f"version '{label}' exists already: a version is never overwritten. Fix: give "
            "another label, or leave the label to the default (the UTC time to the "
            "microsecond) or a template with {run_id}"
        )


def _at(record: FileRecord, final: Location) -> FileRecord:
    base = final.uri
    return replace(record, uri=base + (f"/{record.name}" if record.name else ""))


def _stored_version(store: Store, layout: Layout, digest: str) -> Manifest | None:
    """The manifest of a stored version holding these bytes, if one still does."""
    found = store.read_small(layout.content(digest))
    if found is None:
        return None
    manifest = read_manifest(store, layout, json.loads(found)["label"])
    if manifest is None or manifest.content_hash != digest:
        return None
    return manifest


def read_manifest(store: Store, layout: Layout, label: str) -> Manifest | None:
    data = store.read_small(layout.manifest(label))
    return Manifest.from_json(data) if data is not None else None


def latest_label(store: Store, layout: Layout) -> str | None:
    data = store.read_small(layout.latest)
    return json.loads(data)["label"] if data is not None else None


def manifests(store: Store, layout: Layout) -> list[Manifest]:
    """Every version's manifest, oldest first."""
    names = [n[: -len(".json")] for n in store.names_in(layout.manifests) if n.endswith(".json")]
    found = [read_manifest(store, layout, name) for name in names]
    return sorted((m for m in found if m is not None), key=lambda m: m.created)


def read_verified(manifest: Manifest, location: Location, *, how: str, read: Callable[[], T]) -> T:
    """`read()`'s value, once the stored bytes are shown to be those the manifest lists:
    every file there, none more, each of its size and (unless `how` is "size") its sha256.

    Sizes are checked first, from one listing. The hashes are computed in a thread while
    `read()` runs (hashlib and file reads release the GIL), so a verified load costs about
    the longer of the two rather than their sum. A mismatch is a VersionError naming the
    file, raised instead of the value and instead of whatever a read of bad bytes raised."""
    _check_sizes(manifest, location)
    if how != "sha256":
        return read()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="datanectar-verify") as pool:
        hashing = pool.submit(_check_hashes, manifest, location)
        try:
            value = read()
        except BaseException:
            hashing.result()  # bad bytes explain a failed read better than its own error
            raise
        hashing.result()
    return value


def _check_sizes(manifest: Manifest, location: Location) -> None:
    unlisted = {record.name: record for record in file_records(location, hashed=False)}
    for expected in manifest.files:
        found = unlisted.pop(expected.name, None)
        shown = expected.name or location.name
        if found is None:
            raise VersionMismatchError(f"version '{manifest.label}': file '{shown}' is missing")
        if found.size != expected.size:
            raise VersionMismatchError(
                f"version '{manifest.label}': file '{shown}' has {found.size} bytes, its "
                f"manifest {expected.size}"
            )
    if unlisted:
        extra = ", ".join(sorted(unlisted))
        raise VersionMismatchError(
            f"version '{manifest.label}': files not in its manifest: {extra}"
        )


def _check_hashes(manifest: Manifest, location: Location) -> None:
    filesystem = location.store.filesystem
    for expected in manifest.files:
        path = location.path + (f"/{expected.name}" if expected.name else "")
        found = sha256_of(filesystem, path)
        if found != expected.sha256:
            raise VersionMismatchError(
                f"version '{manifest.label}': file '{expected.name or location.name}' does "
                f"not match its manifest's sha256 ({found[:12]}... stored, "
                f"{expected.sha256[:12]}... expected)"
            )


def remove_leftovers(store: Store, layout: Layout, *, older_than: float) -> list[str]:
    """Remove what writes killed before their manifest left (a label's folder, its claim, the
    staging of a label naming the content) once nothing there changed for `older_than`
    seconds; a version is only what a manifest names, so these were never listed or loaded."""
    cutoff = time.time() - older_than
    found = manifests(store, layout)
    labels = {m.label for m in found}
    # a pruned version's folder stays while a kept one reuses its bytes
    named = labels | {m.data[len(layout.path) + 1 :].split("/", 1)[0] for m in found}
    unnamed = [
        layout.folder(name)
        for name in store.names_in(layout.path)
        if name not in named and (not name.startswith("_") or name == _STAGING)
    ]
    unnamed += [layout.claim(name) for name in store.names_in(layout.claims) if name not in labels]
    removed = []
    for relative in unnamed:
        if _last_change(store, relative) < cutoff:
            store.remove(store.location(relative, direct=True))
            removed.append(relative)
    return removed


def _last_change(store: Store, relative: str) -> float:
    """When anything at or under `relative` last changed (now, when nothing tells)."""
    path = store.location(relative, direct=True).path
    try:
        found = store.filesystem.find(path, detail=True, withdirs=True)
        found = found or {path: store.filesystem.info(path)}
    except FileNotFoundError:
        return time.time()  # gone meanwhile
    moments = []
    for info in found.values():
        moment = info.get("mtime") or info.get("LastModified") or info.get("last_modified")
        if isinstance(moment, dt.datetime):
            moment = moment.timestamp()
        moments.append(float(moment) if moment is not None else time.time())
    return max(moments, default=time.time())


def prune(
    store: Store,
    layout: Layout,
    *,
    keep: int,
    pinned: frozenset[str] = frozenset(),
    dry_run: bool = False,
) -> list[str]:
    """Remove all but the newest `keep` versions, never the latest nor a pinned one; bytes
    another kept manifest still names stay. Returns the labels removed (or that would be)."""
    found = manifests(store, layout)
    latest = latest_label(store, layout)
    kept = {m.label for m in found[-keep:]} | set(pinned) | ({latest} if latest else set())
    going = [m for m in found if m.label not in kept]
    if dry_run or not going:
        return [m.label for m in going]
    staying = [m for m in found if m.label in kept]
    still_named = {m.data for m in staying}
    for manifest in going:
        store.remove(store.location(layout.manifest(manifest.label), direct=True))
        store.remove(store.location(layout.claim(manifest.label), direct=True))
        if manifest.data in still_named:  # a kept version reuses these bytes: they stay
            continue
        store.remove(store.location(manifest.data, direct=True))
        store.remove(store.location(layout.folder(manifest.label), direct=True))
        # bytes reused from a version pruned before: its folder goes with them
        store.remove(store.location(posixpath.dirname(manifest.data), direct=True))
    # Each content record names a kept version holding its bytes, or goes with them.
    for digest in {m.content_hash for m in going}:
        holder = next((m for m in reversed(staying) if m.content_hash == digest), None)
        record = store.location(layout.content(digest), direct=True)
        if holder is None:
            store.remove(record)
        else:
            store.write_small(
                record.relative, json.dumps({"label": holder.label, "data": holder.data}).encode()
            )
    return [m.label for m in going]

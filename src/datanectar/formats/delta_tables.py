"""Delta tables opened once per process, kept current by reading only the commits since.

Opening a table replays its log: at 200 commits (one per daily partition, as tables grow in
practice) that costs several times a one-commit table's open, checkpoint or not, because the
checkpoint carries every file and tombstone. A recall of one partition would pay it on every
call. Here a table is opened once; each later use checks that the commit it was read at is
still the table's (one stat: a table removed and written anew restarts its versions) and reads
the commits written since (`update_incremental`), which costs the same at 1 or 200 commits.

A table object that has taken many commits since it was opened (written through, or brought
up to date) answers queries more and more slowly (deltalake keeps those commits apart from its
snapshot: listing one partition cost 1.3 ms after 10 such commits, 13 ms after 200, 0.4 ms once
opened afresh), so it is opened afresh once it has taken `_REOPEN_AFTER` commits: about the
checkpoint interval of the tables datanectar creates, so that the fresh open starts from a
recent checkpoint.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..stores import Location

_CAPACITY = 64
_REOPEN_AFTER = 10


@dataclass
class _Opened:
    table: Any
    version: int
    """The version last seen in the store (writes through the table move it on by themselves)."""
    opened_at: int
    """The version it was opened at."""
    token: str | None
    """The fingerprint of that version's commit file."""
    log: int | None = None
    """The log folder's modification time when it was last read."""
    lock: threading.Lock = field(default_factory=threading.Lock)


class OpenTables:
    """A bounded, thread-safe set of opened tables, by URI and storage options."""

    def __init__(self, capacity: int = _CAPACITY) -> None:
        self._capacity = capacity
        self._opened: OrderedDict[tuple[str, tuple[tuple[str, str], ...]], _Opened] = OrderedDict()
        self._lock = threading.Lock()

    @contextmanager
    def current(self, deltalake: Any, location: Location) -> Iterator[Any]:
        """The table at `location` as it is now (None if there is no table there), held for
        the block: a table object is not shared by two threads at once."""
        key = _key(location)
        with self._lock:
            opened = self._opened.get(key)
            if opened is not None:
                self._opened.move_to_end(key)
        if opened is not None:
            with opened.lock:
                if _refresh(opened, location):
                    yield opened.table
                    _written_through(opened, location)
                    return
            with self._lock:
                if self._opened.get(key) is opened:
                    del self._opened[key]
        opened = _open(deltalake, location)
        if opened is None:
            yield None
            return
        with self._lock:
            self._opened[key] = opened
            while len(self._opened) > self._capacity:
                self._opened.popitem(last=False)
        with opened.lock:
            yield opened.table
            _written_through(opened, location)

    def token(self, location: Location, version: int) -> str | None:
        """`commit_token(location, version)`, known without a look when the table opened
        there was just brought to that version."""
        with self._lock:
            opened = self._opened.get(_key(location))
        if opened is not None and opened.version == version and opened.token is not None:
            return opened.token
        return commit_token(location, version)

    def forget(self, location: Location) -> None:
        """Drop the table at `location` (it was removed)."""
        with self._lock:
            self._opened.pop(_key(location), None)


def _key(location: Location) -> tuple[str, tuple[tuple[str, str], ...]]:
    return (location.uri, tuple(sorted((location.object_store_options or {}).items())))


def commit_token(location: Location, version: int) -> str | None:
    """The fingerprint of a version's commit file: a new file each time one is written."""
    commit = location.inside(f"_delta_log/{version:020d}.json")
    return location.store.fingerprint(commit)


def _open(deltalake: Any, location: Location) -> _Opened | None:
    from deltalake.exceptions import TableNotFoundError

    if location.store.is_local and not os.path.isdir(os.path.join(location.path, "_delta_log")):
        return None  # no table here: a look, not deltalake's attempt to open one
    log = _log_stamp(location)  # before opening: a commit landing meanwhile is read next time
    try:
        table = deltalake.DeltaTable(
            location.uri, storage_options=location.object_store_options or None
        )
    except TableNotFoundError:
        return None
    version = table.version()
    return _Opened(table, version, version, commit_token(location, version), log)


def _refresh(opened: _Opened, location: Location) -> bool:
    """Bring an opened table up to date; False when it is no longer the same table."""
    if opened.token is None or commit_token(location, opened.version) != opened.token:
        return False  # removed, or removed and written anew
    if opened.table.version() - opened.opened_at >= _REOPEN_AFTER:
        return False  # slow to query by now: opened afresh, from a recent checkpoint
    log = _log_stamp(location)
    if location.store.is_local:
        changed = log is None or log != opened.log
    else:
        # An object store has no folder times: the next commit's file is there or not (one
        # look; deltalake would list the log from the table's version on).
        changed = commit_token(location, opened.version + 1) is not None
    if changed:
        # A commit adds a file to the log folder, which changes its time: unchanged, there
        # is nothing to read (deltalake would list the whole log to find that out).
        opened.table.update_incremental()
        opened.version = opened.table.version()
        opened.token = commit_token(location, opened.version)
        opened.log = log
    return opened.token is not None


def _written_through(opened: _Opened, location: Location) -> None:
    """A commit made through the table moved it on by itself: the version it is now at, and
    that commit's fingerprint (the next use then checks that one, and looks for a later one)."""
    version = opened.table.version()
    if version != opened.version:
        opened.version = version
        opened.token = commit_token(location, version)


def _log_stamp(location: Location) -> int | None:
    """The modification time of a local table's log folder (None elsewhere: always read)."""
    if not location.store.is_local:
        return None
    try:
        return os.stat(os.path.join(location.path, "_delta_log")).st_mtime_ns
    except FileNotFoundError:
        return None

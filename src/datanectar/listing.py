"""One listing of a source entry's store per tick, as a fingerprint per location.

A fingerprint covers every file under a location: its name, size and change token (inode and
modification time locally, the ETag on S3, the ETag or Last-Modified over HTTP). Comparing
whole listings, not a newest-modification mark, is what catches keys written out of order
(a late upload of an older name, which Dagster's own S3 key sensor misses: dagster#22892).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .stores.base import Location, raise_scrubbed
from .stores.s3 import POINTER_SUFFIX


@dataclass(frozen=True)
class Listed:
    """What is under one location: None when nothing is."""

    fingerprint: str | None
    files: int = 0
    bytes: int | None = 0
    """None when the store does not say (HTTP answers a HEAD with a token only)."""


def fingerprints(locations: Iterable[Location]) -> dict[str, Listed]:
    """Each location's (by path) listing, from one listing of the store per store: under the
    deepest folder holding them all."""
    by_store: dict[int, list[Location]] = defaultdict(list)
    for location in locations:
        by_store[id(location.store)].append(location)
    found: dict[str, Listed] = {}
    for group in by_store.values():
        store = group[0].store
        paths = sorted({location.path for location in group})
        if store.type_name == "http":
            # HTTP lists nothing: each location answers a HEAD with its ETag
            for location in group:
                try:
                    token = store.fingerprint(location)
                except Exception as exc:  # a client's own error: told with the store's name
                    path = location.path
                    raise_scrubbed(store, exc, lambda told, path=path: f"listing {path}: {told}")
                found[location.path] = Listed(
                    digest([token]) if token else None, int(token is not None), None
                )
            continue
        rows = _local_rows(paths) if _is_local(store) else _fs_rows(store, paths)
        found.update(_bucketed(paths, rows))
    return found


def _is_local(store: object) -> bool:
    protocol = store.filesystem.protocol  # type: ignore[attr-defined]
    protocols = protocol if isinstance(protocol, tuple | list) else (protocol,)
    return "file" in protocols or "local" in protocols


def _root(paths: list[str]) -> str:
    if len(paths) == 1:
        return paths[0]
    return posixpath.commonpath(paths)


def _local_rows(paths: list[str]) -> Iterator[tuple[str, int, str]]:
    """(path, size, token) of every file under the paths' common folder, by os.scandir."""
    root = _root(paths)
    try:
        stat = os.stat(root)
    except FileNotFoundError:
        return
    if not os.path.isdir(root):
        yield root, stat.st_size, f"{stat.st_ino}-{stat.st_mtime_ns}"
        return
    pending = [root]
    # A symlinked folder is walked once: a link to a folder above it would loop for ever.
    walked = {(stat.st_dev, stat.st_ino)}
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as scanned:
                for item in scanned:
                    if item.is_dir(follow_symlinks=True):
                        if item.is_symlink():
                            target = os.stat(item.path)
                            if (target.st_dev, target.st_ino) in walked:
                                continue
                            walked.add((target.st_dev, target.st_ino))
                        pending.append(item.path)
                    elif item.is_file(follow_symlinks=True):
                        info = item.stat()
                        yield item.path, info.st_size, f"{info.st_ino}-{info.st_mtime_ns}"
        except (FileNotFoundError, NotADirectoryError):
            continue


def _fs_rows(store: object, paths: list[str]) -> Iterator[tuple[str, int, str]]:
    """The same from fsspec's find: on S3 one paginated ListObjectsV2 of the keys starting
    with the common root. Listed as a prefix of the root's folder, so that no empty result
    turns into a HEAD of the root (s3fs's find does that), a location's pointer object beside
    it (`<key>.datanectar-pointer`) is in the same listing, and no cached listing is used or
    left behind (s3fs never caches a listing filtered by a prefix)."""
    fs = store.filesystem  # type: ignore[attr-defined]
    root = _root(paths)
    if len(paths) > 1:
        # the common folder of several locations: only what is inside it (a bucket: all)
        folder, stem = (posixpath.dirname(root), posixpath.basename(root) + "/")
        if not folder:
            folder, stem = root, ""
    else:
        folder, stem = posixpath.split(root)
    try:
        listed = fs.find(folder, detail=True, withdirs=False, prefix=stem)
    except FileNotFoundError:
        return
    for path, info in listed.items():
        # The ETag alone repeats when content comes back (A, B, then A again): with the
        # modification time, each write is a change.
        token = "-".join(
            str(info[name]) for name in ("ETag", "LastModified", "mtime") if info.get(name)
        )
        yield path, int(info.get("size") or 0), token


def _bucketed(paths: list[str], rows: Iterable[tuple[str, int, str]]) -> dict[str, Listed]:
    """Each file counted under the location it is, or is inside of."""
    wanted = set(paths)
    under: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for path, size, token in rows:
        if path.endswith(POINTER_SUFFIX) and path[: -len(POINTER_SUFFIX)] in wanted:
            # a folder value published by pointer: each publish rewrites the pointer
            under[path[: -len(POINTER_SUFFIX)]].append((POINTER_SUFFIX, size, token))
            continue
        probe = path
        while True:
            if probe in wanted:
                under[probe].append(
                    (posixpath.relpath(path, probe) if path != probe else "", size, token)
                )
                break
            parent = posixpath.dirname(probe)
            if parent == probe or not parent:
                break
            probe = parent
    listed = {}
    for path in paths:
        files = sorted(under.get(path, []))
        listed[path] = (
            Listed(
                digest(f"{name}\0{size}\0{token}" for name, size, token in files),
                len(files),
                sum(size for _, size, _ in files),
            )
            if files
            else Listed(None)
        )
    return listed


def digest(rows: Iterable[str]) -> str:
    """A short stable hash of text rows, in order (fingerprints, run keys)."""
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:32]

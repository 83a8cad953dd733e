"""The manifest of a value that is not versioned: its files and their sizes, written beside
it after each publish, checked on each load (a truncated csv, a deleted zarr chunk).

It names the object it describes (`identity`: on local disk the published file's or folder's
inode, on S3 the prefix a folder value was published under): a load that finds a
manifest of another object (a concurrent publish, a value another tool wrote) checks nothing
rather than raise a false alarm. Sizes only, no hashes: a load pays a stat per file (a listing
on S3), never a read of the data.

Kept for values of many files wherever they are, and for one-file values on local disk; a
one-object value on S3 is uploaded whole or not at all and its ETag guards it, so it needs no
manifest (and pays no request for one).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import posixpath

from ..stores import Location, Store
from .manifest import file_records

FOLDER = ".datanectar/manifests"


def kept_for(store: Store, *, one_object: bool) -> bool:
    """Whether values of this kind on this store get a manifest."""
    return not store.read_only and (store.is_local or not one_object)


def _path(relative: str) -> str:
    # in one folder of the store's own, not beside the value: folders of values (a cached
    # function's results, a namespace's files) hold values only
    return f"{FOLDER}/{relative}.json"


def _identity(location: Location) -> str:
    """What tells the object published from another: on local disk its inode (a publish
    renames a new file or folder into place; a change in place, a truncation, keeps it),
    on S3 the prefix a folder value was published under."""
    if location.store.is_local:
        try:
            stat = os.stat(location.path)
        except FileNotFoundError:
            return ""
        return f"{stat.st_dev}-{stat.st_ino}"
    return location.path


def write(store: Store, final: Location, published: Location) -> None:
    """The manifest of what was just published at `final` (now at `published`)."""
    records = file_records(published, hashed=False)
    body = {
        "data": published.relative,
        "identity": _identity(published),
        "files": [{"name": r.name, "size": r.size} for r in records],
        "size": sum(r.size for r in records),
        "created": dt.datetime.now(dt.UTC).isoformat(),
    }
    store.write_small(_path(final.relative), json.dumps(body).encode())


def check(store: Store, relative: str, location: Location) -> str | None:
    """What is wrong with the value at `location` (published at `relative`) by its manifest:
    a missing or extra file, or one of another size; None when all is as written, or when
    there is no manifest of this object."""
    data = store.read_small(_path(relative))
    if data is None:
        return None
    body = json.loads(data)
    if body.get("identity") != _identity(location):
        return None
    stored = {r.name: r.size for r in file_records(location, hashed=False)}
    for expected in body["files"]:
        name, size = expected["name"], expected["size"]
        shown = name or location.name
        if name not in stored:
            return f"file '{shown}' is missing (written {body['created']})"
        if stored.pop(name) != size:
            return (
                f"file '{shown}' has {_size_of(location, name)} bytes, and {size} were written "
                f"({body['created']})"
            )
    if stored:
        return f"files not written with it are there: {', '.join(sorted(stored)[:5])}"
    return None


def _size_of(location: Location, name: str) -> int:
    path = posixpath.join(location.path, name) if name else location.path
    return int(location.store.filesystem.info(path).get("size") or 0)


def remove(store: Store, relative: str) -> None:
    store.remove(store.location(_path(relative), direct=True))

"""A version's manifest: its files with size and sha256, their content hash, and what made it.

Hashes are computed from the bytes as written (on this machine's disk for a value staged there
before its upload), so a version identical to a stored one is known before anything is sent.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ..stores import Location

_CHUNK = 8 * 1024 * 1024
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class FileRecord:
    """One file of a version: where it is inside the value (`name`, "" for a value that is
    one file), its URI, size and sha256."""

    name: str
    uri: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    entry: str
    label: str
    format: str
    data: str
    """The value's path in its store (the file, or the folder holding `files`)."""
    files: tuple[FileRecord, ...]
    content_hash: str
    created: str
    properties: dict[str, Any] = field(default_factory=dict)
    code_version: str | None = None
    run_id: str | None = None
    partition: str | None = None
    stored_with: str | None = None
    """The label of the version whose bytes this one reuses (identical content), if any."""
    delta_version: int | None = None

    @property
    def size(self) -> int:
        return sum(record.size for record in self.files)

    def to_json(self) -> bytes:
        body = asdict(self)
        body["manifest_format"] = MANIFEST_FORMAT
        return json.dumps(body, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        body = json.loads(data)
        body.pop("manifest_format", None)
        body["files"] = tuple(FileRecord(**record) for record in body["files"])
        return cls(**body)


def file_records(location: Location, *, hashed: bool = True) -> list[FileRecord]:
    """The files of the value at `location` (a file, or every file under a folder), in name
    order, each hashed as it is read in chunks (`hashed=False`: sizes only)."""
    filesystem = location.store.filesystem
    root = location.path
    if filesystem.isfile(root):
        found = {root: filesystem.info(root)}
    else:
        found = filesystem.find(root, detail=True)
    records = []
    for path in sorted(found):
        name = path[len(root) :].lstrip("/") if path != root else ""
        info = found[path]
        records.append(
            FileRecord(
                name=name,
                uri=location.store.uri_for(location) + (f"/{name}" if name else ""),
                size=int(info.get("size") or 0),
                sha256=sha256_of(filesystem, path) if hashed else "",
            )
        )
    return records


def sha256_of(filesystem: Any, path: str) -> str:
    digest = hashlib.sha256()
    with filesystem.open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def content_hash(records: list[FileRecord] | tuple[FileRecord, ...]) -> str:
    """One hash of the value's bytes: its files' names and sha256, in name order (not their
    URIs: the same bytes anywhere are the same content)."""
    digest = hashlib.sha256()
    for record in sorted(records, key=lambda r: r.name):
        digest.update(f"{record.name}\0{record.sha256}\n".encode())
    return digest.hexdigest()

"""Files: a file or folder a tool produced (a model folder, a report), copied into the store.

The value saved is the path (a `pathlib.Path` or a str) of a file or folder on this machine; it
is copied as it is, a file as a file, a folder with its tree. A load gives a `pathlib.Path`: on
a local store the stored path itself (for reading only), on another store a local copy,
downloaded once per published version into `$DATANECTAR_LOCAL_CACHE/files` (default
`~/.cache/datanectar/files`).

Symbolic links inside a folder are copied as what they point to, if that is inside the folder;
a link leading out of it (or nowhere, or into a loop) is refused, so a save never copies files
it was not given.

```yaml
model:
  format: files        # stored at model (no suffix): a file, or a folder with its tree
```
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..stores import Location
from .base import Format, Refused

CACHE_VARIABLE = "DATANECTAR_LOCAL_CACHE"
_DEFAULT_CACHE = "~/.cache/datanectar"


class FilesFormat(Format):
    name = "files"
    suffix = ""
    writes = ("pathlib.Path", "str (the path of a file or folder)")
    # A folder is many objects: on S3 it is published by pointer, so that a replaced folder
    # never shows half; a single file is staged beside it and published by one server-side copy.
    one_object = False
    reads_local_copies = True

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str | os.PathLike)

    def refusal(self, value: Any, *, options: Mapping[str, Any]) -> str | None:
        try:
            source_files(value)
        except Refused as refused:
            return str(refused)
        return None

    def write(self, value: Any, location: Location, *, options: Mapping[str, Any]) -> None:
        source, files = source_files(value)  # again: the tree may have changed since
        fs = location.fs
        local = location.store.is_local
        if files is None:  # one file
            fs.put_file(str(source), location.path)
            return
        if not local and not any(path.is_file() for _, path in files):
            raise Refused(
                f"the folder '{source}' holds no files, and an object store cannot hold an "
                "empty folder. Fix: put a file in it, or use a local store."
            )
        if local:
            fs.makedirs(location.path, exist_ok=True)
        for relative, path in files:
            target = f"{location.path}/{relative}"
            if path.is_dir():  # listed before what it holds; an object store has no folders
                if local:
                    fs.makedirs(target, exist_ok=True)
                continue
            fs.put_file(str(path), target)

    def read(self, location: Location, *, options: Mapping[str, Any], as_type: Any = None) -> Any:
        if location.store.is_local:
            return Path(location.path)
        return self._download(location)

    def _download(self, location: Location) -> Path:
        """The stored file or folder on this machine, downloaded once per published version:
        keyed by the location's resolved URI (a folder's version prefix on S3) and its
        fingerprint (a file's ETag)."""
        fingerprint = self.fingerprint(location) or _listing_fingerprint(location)
        folder = _cache_root()
        key = hashlib.sha256(f"{location.uri}\n{fingerprint}".encode()).hexdigest()[:24]
        cached = folder / key / location.name
        if cached.exists():
            return cached
        staging = folder / f".downloading-{uuid.uuid4().hex[:12]}"
        staging.mkdir(parents=True)
        try:
            _fetch(location, staging / location.name)
            cached.parent.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(staging, cached.parent)  # whole or not at all, for concurrent loads
            except OSError:
                if not cached.exists():  # not another load's copy: a real failure
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return cached

    def load_option_names(self) -> frozenset[str]:
        return frozenset()

    def save_option_names(self) -> frozenset[str]:
        return frozenset()


def source_files(value: Any) -> tuple[Path, list[tuple[str, Path]] | None]:
    """The path saved and, for a folder, what it holds as ('/'-separated relative path, path to
    read), each folder before its content, or None for one file; Refused for what cannot be
    copied safely."""
    source = Path(value).expanduser()
    if not source.exists():
        shown = f"'{source}'" if not os.path.lexists(source) else f"'{source}' (a broken link)"
        raise Refused(
            f"the path {shown} does not exist. Fix: return the path of the file or folder the "
            "tool wrote, once it is written."
        )
    if source.is_file():
        return source, None
    if not source.is_dir():
        raise Refused(f"'{source}' is neither a file nor a folder. Fix: save a file or folder.")
    root = source.resolve()
    files: list[tuple[str, Path]] = []
    _walk(source, "", root, (root,), files)
    return source, files


def _walk(
    folder: Path,
    relative: str,
    root: Path,
    ancestors: tuple[Path, ...],
    files: list[tuple[str, Path]],
) -> None:
    with os.scandir(folder) as scanned:
        entries = sorted(scanned, key=lambda entry: entry.name)
    for entry in entries:
        path = Path(entry.path)
        inner = f"{relative}/{entry.name}" if relative else entry.name
        real = path.resolve()
        if entry.is_symlink():
            target = os.readlink(path)
            if not real.exists():
                raise Refused(
                    f"the symlink '{path}' (-> '{target}') points to nothing. Fix: remove it, "
                    "or replace it with the file it should point to."
                )
            if real != root and root not in real.parents:
                raise Refused(
                    f"the symlink '{path}' points outside the folder '{root}' (to '{real}'); "
                    "files outside what is saved are never copied. Fix: replace the link with "
                    "a copy of what it points to, or point it inside the folder."
                )
        if path.is_dir():
            if real in ancestors:
                raise Refused(
                    f"the symlink '{path}' points to a folder that contains it ('{real}'): "
                    "copying it would never end. Fix: remove the link."
                )
            files.append((inner, path))
            _walk(path, inner, root, (*ancestors, real), files)
        elif path.is_file():
            files.append((inner, path))
        else:
            raise Refused(
                f"'{path}' is neither a file nor a folder (a socket, a pipe or a device). "
                "Fix: remove it from the folder."
            )


def _fetch(location: Location, destination: Path) -> None:
    """Download the file or folder at `location` to `destination` (which must not exist)."""
    fs = location.fs
    path = location.path
    fs.invalidate_cache(path)
    if fs.isfile(path):
        fs.get_file(path, str(destination))
        return
    prefix = path.rstrip("/") + "/"
    destination.mkdir()
    for found in sorted(fs.find(path)):
        name = str(found)
        if not name.startswith(prefix):
            continue
        relative = name[len(prefix) :]
        if not relative or relative.endswith("/"):  # a folder's marker object
            continue
        parts = relative.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise Refused(
                f"the stored object '{name}' has a name that would leave the download folder; "
                "it was not written by datanectar. Fix: remove it from the store."
            )
        target = destination.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        fs.get_file(name, str(target))


def _listing_fingerprint(location: Location) -> str:
    """What a location the store gives no token for (a folder under a version's own path,
    which no pointer publishes) holds: each file's name, size and ETag or time, so that one
    copy serves every load of the same bytes."""
    fs = location.store.filesystem
    found = fs.find(location.path, detail=True, withdirs=False)
    rows = (
        f"{path}\0{info.get('size')}\0{info.get('ETag') or info.get('mtime') or ''}"
        for path, info in sorted(found.items())
    )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def _cache_root() -> Path:
    return Path(os.environ.get(CACHE_VARIABLE) or _DEFAULT_CACHE).expanduser() / "files"

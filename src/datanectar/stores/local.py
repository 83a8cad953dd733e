"""Local disk: a folder on this machine, published with atomic renames."""

from __future__ import annotations

import ctypes
import os
import shutil
import stat
import time
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import fsspec
from pydantic import Field

from ..errors import StoreError
from .base import Location, Store, StoreConfig, staging_pattern

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


class LocalStoreConfig(StoreConfig):
    """`type = "local"`: a folder on this machine."""

    type: Literal["local"] = Field(default="local", description="A folder on this machine.")
    root: str = Field(
        default="data",
        description="Folder holding the store's objects; relative paths are from the project root.",
    )
    sql_database: str = Field(
        default="datanectar.sqlite",
        description="The sqlite file, under the root, that holds this store's SQL tables.",
    )


class LocalStore(Store):
    type_name = "local"
    config_model = LocalStoreConfig
    is_local = True
    holds_tables = True
    uri_schemes = ("file",)

    @classmethod
    def config_for_uri(cls, uri: str) -> LocalStoreConfig:
        parts = urlsplit(uri)
        if not uri.lower().startswith("file:/") or not parts.path.startswith("/"):
            raise StoreError(
                f"'{uri}' is not a file URI of an absolute folder. Fix: file:///absolute/folder, "
                "or the folder's path (relative to the working directory)."
            )
        if parts.netloc not in ("", "localhost"):
            raise StoreError(
                f"'{uri}' names a file on host '{parts.netloc}'; a local store is a folder on "
                "this machine. Fix: file:///absolute/folder, or the folder's path."
            )
        return LocalStoreConfig(root=unquote(parts.path))

    def __init__(self, name: str, config: LocalStoreConfig, *, project_root: Path) -> None:
        super().__init__(name)
        root = Path(os.path.expanduser(config.root))
        # Resolved once: a root reached through a symlink is the folder it points to, and every
        # path below is compared with that.
        self.root = (root if root.is_absolute() else project_root / root).resolve()
        self._root = str(self.root)
        self.config = config

    @cached_property
    def filesystem(self) -> fsspec.AbstractFileSystem:
        return fsspec.filesystem("file")

    def location(self, relative_path: str, *, direct: bool = False) -> Location:
        location = super().location(relative_path, direct=direct)
        # Resolved now rather than when the path is first used: EntryStorage.location names the
        # catalog file and entry only in errors raised here.
        _ = location.path
        return location

    def full_path(self, relative: str) -> str:
        """The path of `relative` under the root, refused if it resolves outside the root.

        The path returned is the textual one (symlinks inside the root keep their meaning and
        a link at the final component is what publishing replaces), but it is checked after
        resolving every symlink in it, at any depth and the final component too;
        os.path.realpath resolves the existing prefix of a path not written yet, so a new file
        under a symlinked folder that points outside is refused before anything is written.
        """
        path = os.path.normpath(os.path.join(self._root, relative))
        if not _within(path, self._root):  # catalog paths are normalized; other callers may not be
            raise StoreError(f"path {relative!r} escapes the root of store '{self.name}'")
        resolved = os.path.realpath(path)
        if not _within(resolved, self._root):
            raise StoreError(
                f"path {relative!r} in store '{self.name}' resolves through a symlink to "
                f"{resolved!r}, outside the store's root {self._root!r}. Fix: remove the "
                "symlink or point it inside the root, or declare a store rooted where it points."
            )
        return path

    def uri(self, relative: str) -> str:
        return self.full_path(relative)

    def arrow_filesystem(self) -> Any:
        from pyarrow.fs import LocalFileSystem

        return LocalFileSystem()

    def sql_url(self) -> str:
        database = self.location(self.config.sql_database)
        Path(database.path).parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{database.path}"

    def prepare(self, location: Location) -> None:
        Path(location.path).parent.mkdir(parents=True, exist_ok=True)

    def publish(self, staged: Location, final: Location) -> None:
        # Both paths are checked again now (not the location's resolved path, kept from when
        # it was made): a symlink planted at the
        # final location since the location was made, pointing outside the root, is refused
        # before anything moves. One planted after this check is replaced, never followed:
        # rename and renameat2 act on the link itself, and `_remove_path` unlinks a link.
        source, target = self.full_path(staged.relative), self.full_path(final.relative)
        if _is_folder(source) and os.path.lexists(target):
            if _exchange(source, target):
                _remove_path(source)  # now holds the previous value: a file, folder or link
                return
            # No atomic exchange on this system: two renames, previous value kept until the
            # new one is in place.
            retired = staged.staging().path
            os.rename(target, retired)
            os.rename(source, target)
            _remove_path(retired)
            return
        if _is_folder(target) and not _is_folder(source):
            _remove_path(target)
        os.replace(source, target)

    def remove_leftovers(self, location: Location, *, older_than: float) -> list[str]:
        parent, name = os.path.split(location.path)
        pattern = staging_pattern(name)
        cutoff = time.time() - older_than
        removed = []
        try:
            siblings = list(os.scandir(parent))
        except FileNotFoundError:
            return []
        for sibling in siblings:
            if pattern.fullmatch(sibling.name) and last_change(sibling.path) < cutoff:
                _remove_path(sibling.path)
                removed.append(sibling.path)
        return removed

    def fingerprint(self, location: Location) -> str | None:
        # Publishing renames a new file or folder into place: a new inode and mtime each time.
        try:
            stat = os.stat(location.path)
        except FileNotFoundError:
            return None
        return f"{stat.st_ino}-{stat.st_mtime_ns}-{stat.st_size}"

    def remove(self, location: Location) -> None:
        _remove_path(location.path)

    def write_small(self, relative: str, data: bytes, *, exclusive: bool = False) -> bool:
        if not exclusive:
            return super().write_small(relative, data)
        final = self.location(relative, direct=True)
        self.prepare(final)
        staged = final.staging()
        Path(staged.path).write_bytes(data)
        try:
            # a hard link is made only where no name is: two writers, one wins
            os.link(staged.path, self.full_path(final.relative))
        except FileExistsError:
            return False
        finally:
            os.unlink(staged.path)
        return True

    def size(self, location: Location) -> int:
        path = location.path
        if os.path.isfile(path):
            return os.path.getsize(path)
        total = 0
        for folder, _dirs, files in os.walk(path):
            total += sum(os.path.getsize(os.path.join(folder, f)) for f in files)
        return total


def last_change(path: str) -> float:
    """When anything under `path` last changed (a folder's own time does not move when a file
    deep inside it is written, so a long write's staging folder would look idle)."""
    try:
        latest = os.lstat(path).st_mtime
    except FileNotFoundError:
        return time.time()  # gone meanwhile: not ours to remove
    if _is_folder(path):
        for folder, folders, files in os.walk(path):
            for name in (*folders, *files):
                try:
                    latest = max(latest, os.lstat(os.path.join(folder, name)).st_mtime)
                except FileNotFoundError:
                    continue
    return latest


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _is_folder(path: str) -> bool:
    """A real folder, not a symlink to one (whose contents are not ours to replace)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _remove_path(path: str) -> None:
    """Delete a file or folder; a symlink is unlinked itself, never what it points to."""
    if _is_folder(path):
        # rmtree refuses a symlink (and, with ignore_errors, does nothing): a folder swapped
        # for a link after the check is not followed either.
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


def _exchange(a: str, b: str) -> bool:
    """Atomically swap two paths with Linux renameat2(RENAME_EXCHANGE); False if unsupported."""
    libc = _libc()
    if libc is None:
        return False
    result = libc.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    if not hasattr(libc, "renameat2"):
        return None
    libc.renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    return libc

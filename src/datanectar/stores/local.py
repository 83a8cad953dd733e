"""Local disk: a folder on this machine, published with atomic renames."""

from __future__ import annotations

import ctypes
import os
import shutil
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import fsspec
from pydantic import Field

from ..errors import StoreError
from .base import Location, Store, StoreConfig

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


class LocalStoreConfig(StoreConfig):
    type: Literal["local"] = "local"
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
    is_local = True

    def __init__(self, name: str, config: LocalStoreConfig, *, project_root: Path) -> None:
        super().__init__(name)
        root = Path(os.path.expanduser(config.root))
        self.root = (root if root.is_absolute() else project_root / root).resolve()
        self.config = config

    @cached_property
    def filesystem(self) -> fsspec.AbstractFileSystem:
        return fsspec.filesystem("file")

    def full_path(self, relative: str) -> str:
        path = os.path.normpath(os.path.join(self.root, relative))
        # The relative path is already normalized; this guards against a root that is itself
        # reached through a symlinked parent being compared textually.
        if os.path.commonpath([path, str(self.root)]) != str(self.root):
            raise StoreError(f"path {relative!r} escapes the root of store '{self.name}'")
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
        source, target = staged.path, final.path
        if os.path.isdir(source) and os.path.lexists(target):
            if _exchange(source, target):
                _remove_path(source)  # now holds the previous value, a file or a folder
                return
            # No atomic exchange on this system: two renames, previous value kept until the
            # new one is in place.
            retired = staged.staging().path
            os.rename(target, retired)
            os.rename(source, target)
            _remove_path(retired)
            return
        if os.path.isdir(target) and not os.path.isdir(source):
            _remove_path(target)
        os.replace(source, target)

    def fingerprint(self, location: Location) -> str | None:
        # Publishing renames a new file or folder into place: a new inode and mtime each time.
        try:
            stat = os.stat(location.path)
        except FileNotFoundError:
            return None
        return f"{stat.st_ino}-{stat.st_mtime_ns}-{stat.st_size}"

    def remove(self, location: Location) -> None:
        _remove_path(location.path)

    def size(self, location: Location) -> int:
        path = location.path
        if os.path.isfile(path):
            return os.path.getsize(path)
        total = 0
        for folder, _dirs, files in os.walk(path):
            total += sum(os.path.getsize(os.path.join(folder, f)) for f in files)
        return total


def _remove_path(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
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

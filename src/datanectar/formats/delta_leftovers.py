"""What a killed writer leaves inside a Delta table, and its removal by a later write.

A write killed before its commit leaves data no commit references: a folder written apart for
a commit (`datanectar-staged-*`), deltalake's temporary files (`part-*.parquet#1`), or, for a
write of the whole table, data files renamed into place. A later write of the same table
removes those nothing has touched for the grace period; files any commit still in the log
references are never touched (time travel reads them).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Mapping
from urllib.parse import quote, unquote

from ..stores import Location

STAGED_PREFIX = "datanectar-staged-"


def remove_delta_leftovers(
    location: Location, *, older_than: float, partition: Mapping[str, str] | None = None
) -> list[str]:
    """Inside the table, what a killed writer left and nothing has touched for `older_than`
    seconds: data written apart for a commit (`datanectar-staged-*` folders) that no commit
    references, the temporary files deltalake writes before renaming a data file into place
    (`part-*.parquet#1`), and, after a write of the whole table, data files no commit
    references (a killed overwrite's). Files an older version references stay (time
    travel reads them). Only local tables: other stores clean up after themselves or are
    cleaned by `vacuum`."""
    if not location.store.is_local or not os.path.isdir(location.path):
        return []
    from ..stores.local import last_change

    cutoff = time.time() - older_than
    logged: set[str] | None = None  # every path a commit adds, read once if needed
    removed = []
    for folder in [location.path, *_partition_folders(location.path, partition)]:
        for item in _listing(folder):
            is_dir = item.is_dir(follow_symlinks=False)
            staged = is_dir and _STAGED.fullmatch(item.name)
            temporary = not is_dir and _TEMPORARY.fullmatch(item.name)
            data = partition is None and not is_dir and _DATA_FILE.fullmatch(item.name)
            if not (staged or temporary or data) or last_change(item.path) >= cutoff:
                continue
            if staged or data:
                logged = _logged_paths(location) if logged is None else logged
                relative = os.path.relpath(item.path, location.path).replace(os.sep, "/")
                if staged and any(path.startswith(f"{relative}/") for path in logged):
                    continue
                if data and relative in logged:
                    continue
            if is_dir:
                shutil.rmtree(item.path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(item.path)
            removed.append(item.path)
    return removed


_STAGED = re.compile(rf"{STAGED_PREFIX}[0-9a-f]{{32}}")
_TEMPORARY = re.compile(r"part-[^/]*\.parquet#[0-9]+")
_DATA_FILE = re.compile(r"part-[^/#]*\.parquet")


def _listing(folder: str) -> list[os.DirEntry[str]]:
    try:
        return list(os.scandir(folder))
    except FileNotFoundError:
        return []


def _partition_folders(table: str, partition: Mapping[str, str] | None) -> list[str]:
    """The folders of a table that hold data files: the partition's own (deltalake names
    them `name=value`, the value percent-encoded), or, for a write of the whole table,
    every partition folder."""
    if partition:
        folder = os.path.join(
            table, *(f"{name}={quote(key, safe='')}" for name, key in partition.items())
        )
        return [folder]
    found = []
    pending = [table]
    while pending:
        for item in _listing(pending.pop()):
            if "=" in item.name and item.is_dir(follow_symlinks=False):
                found.append(item.path)
                pending.append(item.path)
    return found


def _logged_paths(table: Location) -> set[str]:
    """Every data file a commit still in the table's log adds (decoded, relative to the table):
    what a clean-up must never remove, however old it looks."""
    log = os.path.join(table.path, "_delta_log")
    paths: set[str] = set()
    for item in _listing(log):
        if item.name.endswith(".json"):
            with open(item.path, "rb") as handle:
                for line in handle.read().splitlines():
                    if b'"add"' in line:
                        action = json.loads(line).get("add")
                        if action:
                            paths.add(unquote(action["path"]))
        elif ".checkpoint" in item.name and item.name.endswith(".parquet"):
            import pyarrow.compute as pc
            import pyarrow.parquet as pq

            adds = pq.read_table(item.path, columns=["add"]).column("add").combine_chunks()
            paths.update(
                unquote(path) for path in pc.struct_field(adds, "path").drop_null().to_pylist()
            )
    return paths

"""The levels a cached result is read from and written to, for one entry.

memo (this process) -> local cache (this machine) -> root store (the entry's store) ->
mirrors (other stores, read only). Each level is an entry storage plus the record book of
the store the entry lives in at that level.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..catalog import Entry
from ..project import Catalog
from ..storage import EntryStorage
from ..stores import folder_store
from ..targets import Target
from .memo import Memo
from .records import RecordBook

# One memo per process: it is what memoization means. Its bound follows the settings.
MEMO = Memo(budget_bytes=1 << 30)


@dataclass(frozen=True)
class Level:
    name: str
    kind: str
    """'local', 'root' or 'mirror'."""
    storage: EntryStorage
    records: RecordBook
    store_name: str

    def target(self, target: Target) -> Target:
        """The target as this level stores it (same path, this level's store)."""
        return target if target.store == self.store_name else target.at(store=self.store_name)


@dataclass(frozen=True)
class Levels:
    memo: Memo
    local: Level
    root: Level
    mirrors: tuple[Level, ...]

    def readable(self, kinds: Iterable[str]) -> Iterator[Level]:
        wanted = set(kinds)
        for level in (self.local, self.root, *self.mirrors):
            if level.kind in wanted:
                yield level


def levels_for(catalog: Catalog, entry: Entry) -> Levels:
    """The levels of an entry's store, built once per catalog and store (every call of a
    cached function asks)."""
    store_name = str(entry.store)
    levels = catalog.levels.get(store_name)
    if levels is None:
        levels = catalog.levels[store_name] = _levels(catalog, store_name)
    return levels


def _levels(catalog: Catalog, store_name: str) -> Levels:
    settings = catalog.config.settings
    MEMO.budget_bytes = settings.memo_bytes
    root = Level(
        "root", "root", catalog.storage, RecordBook(catalog.stores[store_name]), store_name
    )
    local_store = folder_store(store_name, local_cache_folder(catalog) / store_name)
    local = Level(
        "local",
        "local",
        EntryStorage({store_name: local_store}),
        RecordBook(local_store),
        store_name,
    )
    mirrors = tuple(
        Level(f"mirror {name}", "mirror", catalog.storage, RecordBook(catalog.stores[name]), name)
        for name in settings.mirrors
    )
    return Levels(MEMO, local, root, mirrors)


def local_cache_folder(catalog: Catalog) -> Path:
    """This project's folder in the local cache: projects never share objects there."""
    root = catalog.config.root.resolve()
    project_id = f"{root.name}-{hashlib.sha256(str(root).encode()).hexdigest()[:8]}"
    return Path(os.path.expanduser(catalog.config.settings.local_cache)) / project_id

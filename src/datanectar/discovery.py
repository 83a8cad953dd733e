"""Finding the keys of dynamic namespaces: folders in a store, or values in an entry's column.

A dynamic namespace (`namespaces: {dynamic: scenarios}`) gains keys at run time. Keys are
added by hand (`datanectar namespaces add scenarios KEY...`) or discovered, as configured in
pyproject.toml:

```toml
[tool.datanectar.namespaces.scenarios]
discover = {store = "local", prefix = "incoming/scenarios"}   # one key per sub-folder
sensor_interval_seconds = 60

[tool.datanectar.namespaces.cities]
discover = {entry = "stations", column = "city"}              # one key per distinct value
```

Discovered keys are untrusted: each one goes through `check_key`, and the ones refused are
returned apart (`Discovered.rejected`), never added. Nothing here imports Dagster: the sensor
(`datanectar.assets.sensors`) and the CLI (`datanectar namespaces discover`) call it.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .catalog.namespaces import check_key
from .config import EntrySource, NamespaceSettings, StoreSource
from .errors import ConfigError, DatanectarError, NamespaceKeyError, StoreError
from .stores import normalize_prefix

if TYPE_CHECKING:
    from .project import Catalog

TABLE = "tool.datanectar.namespaces"


@dataclass(frozen=True)
class Discovered:
    """Keys found, sorted and valid, and the values refused as keys (never added)."""

    keys: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def new_keys(
    discovered: Discovered, existing: Iterable[str], *, removed: Iterable[str] = ()
) -> list[str]:
    """The discovered keys not already in `existing`, sorted; keys in `removed` (removed with
    `datanectar namespaces remove`) are not new."""
    known = {*existing, *removed}
    return [key for key in discovered.keys if key not in known]


def skipped_keys(
    discovered: Discovered, existing: Iterable[str], removed: Iterable[str]
) -> list[str]:
    """The discovered keys that would be new but were removed: discovery does not add them."""
    known, gone = set(existing), set(removed)
    return [key for key in discovered.keys if key in gone and key not in known]


def removed_set(name: str) -> str:
    """The name of the set, in the Dagster instance, of the keys removed from dynamic namespace
    `name` (`name:removed`): kept beside the namespace's own keys, so the CLI, the sensor and
    the daemon see one record of them. No catalog namespace can be named so (names are
    letters, digits and '_')."""
    return f"{name}:removed"


def sorted_keys(values: Iterable[Any], *, where: str) -> Discovered:
    """Candidate values as keys: distinct, checked with `check_key`, sorted; refused apart."""
    keys: set[str] = set()
    rejected: set[str] = set()
    for value in values:
        text = value if isinstance(value, str) else str(value)
        try:
            keys.add(check_key(text, where=where))
        except NamespaceKeyError:
            rejected.add(text)
    return Discovered(keys=sorted(keys), rejected=sorted(rejected))


# -- sources -------------------------------------------------------------------------------


def keys_in_store(catalog: Catalog, store_name: str, prefix: str = "") -> Discovered:
    """The immediate sub-folders (object prefixes) under `prefix` in a store, as keys.

    Hidden names (starting with '.', as staging folders do) are ignored; a prefix that does not
    exist yet has no keys.
    """
    store = _store(catalog, store_name)
    relative = normalize_prefix(prefix)
    root = store.full_path(relative)
    filesystem = store.filesystem
    # Object-store filesystems cache listings; a sensor must see what is there now.
    filesystem.invalidate_cache(root)
    try:
        listing = filesystem.ls(root, detail=True)
    except FileNotFoundError:
        return Discovered()
    names = []
    for info in listing:
        if info.get("type") != "directory":
            continue
        name = posixpath.basename(str(info["name"]).rstrip("/"))
        if name and not name.startswith("."):
            names.append(name)
    where = f"store '{store_name}', prefix '{relative or '(root)'}'"
    return sorted_keys(names, where=where)


def keys_in_entry(catalog: Catalog, entry_name: str, column: str) -> Discovered:
    """The distinct values of a column of a table entry, as keys (missing values skipped)."""
    entry = catalog.entry(entry_name)
    if entry.namespaces:
        raise DatanectarError(
            f"entry '{entry_name}' has namespaces; keys are discovered from an entry without "
            "namespaces (a list of stations, scenarios...)."
        )
    value = catalog.load(entry_name)
    values = _column(value, entry_name, column)
    present = [item for item in values if not _missing(item)]
    return sorted_keys(present, where=f"entry '{entry_name}', column '{column}'")


def _column(value: Any, entry_name: str, column: str) -> list[Any]:
    if hasattr(value, "column_names") and hasattr(value, "num_rows"):  # pyarrow.Table
        names = list(value.column_names)
        if column in names:
            return value.column(column).unique().to_pylist()
    elif hasattr(value, "columns") and hasattr(value, "index"):  # pandas.DataFrame
        names = [str(name) for name in value.columns]
        if column in value.columns:
            return list(value[column].unique())
    else:
        raise DatanectarError(
            f"entry '{entry_name}' holds {type(value).__name__}, not a table; keys are "
            "discovered from a column of a table."
        )
    raise DatanectarError(
        f"entry '{entry_name}' has no column '{column}'; its columns: {', '.join(names) or '(none)'}."
    )


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:  # pandas.NA / NaT
        import pandas as pd

        return bool(pd.isna(value)) if not isinstance(value, str) else False
    except (ImportError, TypeError, ValueError):
        return False


def _store(catalog: Catalog, store_name: str) -> Any:
    store = catalog.stores.get(store_name)
    if store is None:
        raise StoreError(
            f"no store named '{store_name}'; stores: {', '.join(sorted(catalog.stores))}."
        )
    if not store.holds_files:
        raise StoreError(
            f"store '{store_name}' (type {store.type_name}) holds database tables, not folders; "
            "discover keys from a store with files."
        )
    return store


# -- configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class NamespaceDiscovery:
    """One dynamic namespace's discovery, validated against the catalog."""

    name: str
    source: StoreSource | EntrySource
    sensor_interval_seconds: int

    def discover(self, catalog: Catalog) -> Discovered:
        if isinstance(self.source, EntrySource):
            return keys_in_entry(catalog, self.source.entry, self.source.column)
        store = self.source.store or catalog.config.settings.default_store
        return keys_in_store(catalog, store, self.source.prefix)


def dynamic_namespaces(catalog: Catalog) -> dict[str, list[str]]:
    """Each dynamic namespace the catalog uses, with the entries partitioned by it."""
    used: dict[str, list[str]] = {}
    for entry in catalog.entries.values():
        for dimension in entry.namespaces or []:
            if dimension.dynamic is not None:
                used.setdefault(dimension.dynamic, []).append(entry.name)
    return {name: sorted(entries) for name, entries in sorted(used.items())}


def check_dynamic_namespace(catalog: Catalog, name: str) -> list[str]:
    """The entries partitioned by dynamic namespace `name`, or an error naming the known ones."""
    used = dynamic_namespaces(catalog)
    if name not in used:
        raise DatanectarError(
            f"no catalog entry uses a dynamic namespace named '{name}' "
            f"(namespaces: {{dynamic: {name}}}); dynamic namespaces: "
            f"{', '.join(used) or '(none)'}."
        )
    return used[name]


def configured_discoveries(catalog: Catalog) -> dict[str, NamespaceDiscovery]:
    """Every `[tool.datanectar.namespaces.NAME]` table, validated (errors name the field)."""
    tables = catalog.config.settings.namespaces
    return {name: _discovery(catalog, name, tables[name]) for name in sorted(tables)}


def discovery_for(catalog: Catalog, name: str) -> NamespaceDiscovery:
    """The configured discovery of dynamic namespace `name`, or an error saying how to add one."""
    check_dynamic_namespace(catalog, name)
    discoveries = configured_discoveries(catalog)
    if name not in discoveries:
        raise ConfigError(
            file=catalog.config.pyproject,
            field=f"{TABLE}.{name}",
            problem=f"dynamic namespace '{name}' has no discovery configured.",
            fix=f'add [{TABLE}.{name}] with discover = {{store = "...", prefix = "..."}} or '
            'discover = {entry = "...", column = "..."}.',
        )
    return discoveries[name]


def _discovery(catalog: Catalog, name: str, settings: NamespaceSettings) -> NamespaceDiscovery:
    """A discovery checked against the catalog (its table was validated when it was loaded)."""
    pyproject = catalog.config.pyproject
    table = f"{TABLE}.{name}"
    used = dynamic_namespaces(catalog)
    if name not in used:
        raise ConfigError(
            file=pyproject,
            field=table,
            problem=f"no catalog entry uses a dynamic namespace named '{name}'; dynamic "
            f"namespaces: {', '.join(used) or '(none)'}.",
            fix=f"declare namespaces: {{dynamic: {name}}} on an entry, or remove [{table}].",
        )
    source = settings.discover
    if isinstance(source, StoreSource):
        store = source.store or catalog.config.settings.default_store
        if store not in catalog.stores or not catalog.stores[store].holds_files:
            raise ConfigError(
                file=pyproject,
                field=f"{table}.discover.store",
                problem=f"'{store}' is not a configured store with files; stores: "
                f"{', '.join(sorted(name for name, s in catalog.stores.items() if s.holds_files))}.",
            )
    else:
        entry = catalog.entries.get(source.entry)
        if entry is None or entry.namespaces:
            reason = "no catalog entry has that name" if entry is None else "it has namespaces"
            raise ConfigError(
                file=pyproject,
                field=f"{table}.discover.entry",
                problem=f"keys are discovered from a table entry without namespaces, and "
                f"'{source.entry}' cannot be one: {reason}.",
            )
    return NamespaceDiscovery(
        name=name, source=source, sensor_interval_seconds=settings.sensor_interval_seconds
    )

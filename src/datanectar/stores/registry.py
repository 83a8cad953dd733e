"""Store types by name, as lazy dotted paths: a new store is one module and one line here."""

from __future__ import annotations

import importlib
from pathlib import Path

from .base import Store, StoreConfig

STORE_TYPES: dict[str, tuple[str, str]] = {
    "local": ("datanectar.stores.local:LocalStoreConfig", "datanectar.stores.local:LocalStore"),
    "sql": ("datanectar.stores.sql:SqlStoreConfig", "datanectar.stores.sql:SqlStore"),
}


def store_type_names() -> list[str]:
    return sorted(STORE_TYPES)


def config_model(type_name: str) -> type[StoreConfig]:
    return _load(STORE_TYPES[type_name][0])


def build_store(name: str, config: StoreConfig, *, project_root: Path) -> Store:
    store_class = _load(STORE_TYPES[config.type][1])
    return store_class(name, config, project_root=project_root)


def folder_store(name: str, folder: Path) -> Store:
    """A store over a folder on this machine's disk, whatever the project's stores are (the
    local level of the cache keeps copies of any store's objects there)."""
    from .local import LocalStore, LocalStoreConfig

    return LocalStore(name, LocalStoreConfig(root=str(folder)), project_root=folder)


def _load(dotted: str):
    module_name, _, attribute = dotted.partition(":")
    return getattr(importlib.import_module(module_name), attribute)

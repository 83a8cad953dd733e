"""Store types by name, as lazy dotted paths: a new store is one module and one line here."""

from __future__ import annotations

import importlib
import operator
from functools import reduce
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from .base import Store, StoreConfig

STORE_TYPES: dict[str, tuple[str, str]] = {
    "local": ("datanectar.stores.local:LocalStoreConfig", "datanectar.stores.local:LocalStore"),
    "sql": ("datanectar.stores.sql:SqlStoreConfig", "datanectar.stores.sql:SqlStore"),
}


def store_type_names() -> list[str]:
    return sorted(STORE_TYPES)


def config_model(type_name: str) -> type[StoreConfig]:
    return _load(STORE_TYPES[type_name][0])


def store_config_type() -> Any:
    """The config of any registered store, told apart by its `type`: a discriminated union of
    the store types' config models, so a new store type's config joins it from this registry.
    """
    models = tuple(config_model(name) for name in store_type_names())
    if len(models) == 1:  # a union of one is its member, and pydantic refuses a discriminator
        return models[0]
    return Annotated[reduce(operator.or_, models), Field(discriminator="type")]


def build_store(name: str, config: StoreConfig, *, project_root: Path) -> Store:
    store_class = _load(STORE_TYPES[config.type][1])
    return store_class(name, config, project_root=project_root)


def _load(dotted: str):
    module_name, _, attribute = dotted.partition(":")
    return getattr(importlib.import_module(module_name), attribute)

"""Store types by name: datanectar's own and those of installed plug-ins (entry point group
`datanectar.stores`), each imported on first use. An entry point names the store's class; the
class names its config model (`Store.config_model`). See "Writing a store" in the README."""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable
from functools import reduce
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import Field

from ..errors import PluginError, StoreError
from ..plugins import PluginRegistry
from .base import Store, StoreConfig, safe_url

BUILT_IN_STORES: dict[str, str] = {
    "local": "datanectar.stores.local:LocalStore",
    "sql": "datanectar.stores.sql:SqlStore",
    "http": "datanectar.stores.http:HttpStore",
    "s3": "datanectar.stores.s3:S3Store",
}
"""Also declared as entry points in pyproject.toml, as a plug-in declares its own."""

STORE_TYPES = PluginRegistry("datanectar.stores", kind="store type", built_ins=BUILT_IN_STORES)


def store_type_names() -> list[str]:
    return STORE_TYPES.names()


def store_class(type_name: str) -> type[Store]:
    """The class of store type `type_name`; KeyError if none is registered under it."""
    found = STORE_TYPES.load_class(type_name, Store, "datanectar.stores.Store")
    where = STORE_TYPES.where(type_name)
    if getattr(found, "type_name", None) != type_name:
        raise PluginError(
            f"{where}: {found.__name__}.type_name is {getattr(found, 'type_name', None)!r}. Fix: "
            f"set type_name = {type_name!r}, the name it is registered under."
        )
    return found


def config_model(type_name: str) -> type[StoreConfig]:
    """The config model of store type `type_name`, checked to be one datanectar can tell
    apart from the others' by its `type`."""
    model = getattr(store_class(type_name), "config_model", None)
    where = STORE_TYPES.where(type_name)
    if not (isinstance(model, type) and issubclass(model, StoreConfig)):
        raise PluginError(
            f"{where} has no config model: its class's `config_model` is {model!r}. Fix: set "
            "it to a subclass of datanectar.stores.StoreConfig."
        )
    field = model.model_fields.get("type")
    if (
        field is None
        or get_origin(field.annotation) is not Literal
        or get_args(field.annotation) != (type_name,)
    ):
        raise PluginError(
            f"{where}: its config model {model.__name__} must declare "
            f"`type: Literal[{type_name!r}] = {type_name!r}` (its `type` is "
            f"{getattr(field, 'annotation', None)!r}), so that a [tool.datanectar.stores.NAME] "
            f"table with type = {type_name!r} picks it. Fix: declare that field."
        )
    return model


def store_config_type(type_names: Iterable[str] | None = None) -> Any:
    """The config of a store of one of `type_names` (every registered type when None), told
    apart by its `type`: a discriminated union of their config models, built from this
    registry, so that a new store type's config joins it."""
    models = tuple(config_model(name) for name in (type_names or store_type_names()))
    if len(models) == 1:  # a union of one is its member, and pydantic refuses a discriminator
        return models[0]
    return Annotated[reduce(operator.or_, models), Field(discriminator="type")]


def build_store(name: str, config: StoreConfig, *, project_root: Path) -> Store:
    return store_class(config.type)(name, config, project_root=project_root)


def register_store(type_name: str, value: str, *, clobber: bool = False) -> None:
    """Add a store type in this process, as 'module:Class' (plug-ins use an entry point)."""
    STORE_TYPES.register(type_name, value, clobber=clobber)


def default_store_table() -> dict[str, str]:
    """The store of a project that declares none: the folder `data/` of the project."""
    return {"type": "local"}


_URI_START = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")  # two letters at least: not a drive


def store_for_root(root: str, *, name: str) -> Store:
    """A store over `root`: a folder (relative to the working directory) or a URI whose scheme
    a store type serves (`Store.uri_schemes`: file:// for the local store)."""
    if not root.strip():
        raise StoreError("the root is empty. Fix: give a folder (such as 'data') or a URI.")
    scheme = urlsplit(root).scheme.lower() if _URI_START.match(root) else ""
    if not scheme:
        folder = Path(root).expanduser().resolve()
        if folder.exists() and not folder.is_dir():
            raise StoreError(f"the root {root!r} is a file, not a folder. Fix: give a folder.")
        return folder_store(name, folder)
    served: dict[str, str] = {}
    for type_name in store_type_names():
        found = store_class(type_name)
        for served_scheme in found.uri_schemes:
            served.setdefault(served_scheme, type_name)
    if scheme not in served:
        raise StoreError(
            f"no store type serves '{scheme}://' URIs (root {safe_url(root)!r}); URIs served: "
            f"{', '.join(f'{s}:// ({t})' for s, t in sorted(served.items())) or 'none'}. Fix: "
            "give a folder or a URI of those, or install the plug-in of a store type for it."
        )
    found = store_class(served[scheme])
    return build_store(name, found.config_for_uri(root), project_root=Path.cwd())


def folder_store(name: str, folder: Path) -> Store:
    """A store over a folder on this machine's disk, whatever the project's stores are (the
    local level of the cache keeps copies of any store's objects there)."""
    from .local import LocalStore, LocalStoreConfig

    return LocalStore(name, LocalStoreConfig(root=str(folder)), project_root=folder)

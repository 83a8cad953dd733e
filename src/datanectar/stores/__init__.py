"""Where entries live: stores turn a relative path into a location, and publish atomically."""

from .base import Location, Store, StoreConfig, normalize_prefix, normalize_relative_path
from .registry import (
    build_store,
    config_model,
    default_store_table,
    folder_store,
    register_store,
    store_class,
    store_config_type,
    store_type_names,
)

__all__ = [
    "Location",
    "Store",
    "StoreConfig",
    "build_store",
    "config_model",
    "default_store_table",
    "folder_store",
    "normalize_prefix",
    "normalize_relative_path",
    "register_store",
    "store_class",
    "store_config_type",
    "store_type_names",
]

"""datanectar: a YAML data catalog and cached Python functions as a Dagster asset graph.

import datanectar

@datanectar.asset
def daily_means(observations: pd.DataFrame) -> pd.DataFrame: ...

defs = datanectar.definitions()            # in definitions.py, for Dagster
df = datanectar.catalog().load("stations") # in a notebook, without Dagster
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .cache import CacheKeyError, StaleResultWarning, cache
from .cache.context import ThreadPoolExecutor, carry
from .errors import (
    CatalogError,
    CheckFailedError,
    CheckWarning,
    ConfigError,
    DatanectarError,
    DataNotFoundError,
    FormatTypeError,
    NamespaceKeyError,
    StorageIOError,
    StoreError,
)
from .producers import asset
from .project import Catalog, catalog

if TYPE_CHECKING:
    import dagster as dg

__all__ = [
    "CacheKeyError",
    "Catalog",
    "CatalogError",
    "CheckFailedError",
    "CheckWarning",
    "ConfigError",
    "DataNotFoundError",
    "DatanectarError",
    "FormatTypeError",
    "NamespaceKeyError",
    "StaleResultWarning",
    "StorageIOError",
    "StoreError",
    "ThreadPoolExecutor",
    "asset",
    "cache",
    "carry",
    "catalog",
    "definitions",
]
__version__ = "0.1.0"


def definitions(*args: Any, **kwargs: Any) -> dg.Definitions:
    """The project's Dagster definitions; see `datanectar.assets.definitions`."""
    # Imported here so that notebook use of the catalog does not pay for importing Dagster.
    from .assets import definitions as build

    return build(*args, **kwargs)

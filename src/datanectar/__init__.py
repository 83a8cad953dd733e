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
from .cache.reporting import set_call_reporter
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
    VersionError,
    VersionExistsError,
    VersionMismatchError,
)
from .producers import asset
from .project import Catalog, catalog

if TYPE_CHECKING:
    import dagster as dg

    from .assets import (
        CsvIOManager,
        DeltaIOManager,
        FormatIOManager,
        JsonIOManager,
        NetcdfIOManager,
        ParquetIOManager,
        PickleIOManager,
        SqlIOManager,
        ZarrIOManager,
    )
    from .cache.call import Call
    from .cache.records import Record
    from .publishing import Outcome

_IO_MANAGERS = (
    "CsvIOManager",
    "DeltaIOManager",
    "FormatIOManager",
    "JsonIOManager",
    "NetcdfIOManager",
    "ParquetIOManager",
    "PickleIOManager",
    "SqlIOManager",
    "ZarrIOManager",
)
"""Dagster resources, imported on first use: notebook use of the catalog does not import
Dagster."""

__all__ = [
    "CacheKeyError",
    "Catalog",
    "CatalogError",
    "CheckFailedError",
    "CheckWarning",
    "ConfigError",
    "CsvIOManager",
    "DataNotFoundError",
    "DatanectarError",
    "DeltaIOManager",
    "FormatIOManager",
    "FormatTypeError",
    "JsonIOManager",
    "NamespaceKeyError",
    "NetcdfIOManager",
    "ParquetIOManager",
    "PickleIOManager",
    "SqlIOManager",
    "StaleResultWarning",
    "StorageIOError",
    "StoreError",
    "ThreadPoolExecutor",
    "VersionError",
    "VersionExistsError",
    "VersionMismatchError",
    "ZarrIOManager",
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


def __getattr__(name: str) -> Any:
    if name in _IO_MANAGERS:
        from . import assets

        return getattr(assets, name)
    raise AttributeError(f"module 'datanectar' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _report_in_dagster(call: Call, record: Record | None, outcome: Outcome | None) -> None:
    """What a plain call stored, told to the Dagster instance at $DAGSTER_HOME, if one is set."""
    # Imported when a result is stored, not with datanectar: a notebook that only loads
    # entries does not pay for importing Dagster.
    from .assets.runless import report_plain_call

    report_plain_call(call, record, outcome)


# `cache/` knows nothing of Dagster; the package above both hooks the reporting in.
set_call_reporter(_report_in_dagster)

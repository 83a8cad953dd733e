"""The Dagster side of datanectar: the only package that imports dagster."""

from .definitions import definitions, definitions_for
from .format_io_managers import (
    CsvIOManager,
    DeltaIOManager,
    JsonIOManager,
    NetcdfIOManager,
    ParquetIOManager,
    PickleIOManager,
    SqlIOManager,
    ZarrIOManager,
    io_manager_for,
)
from .io_manager import FormatIOManager, io_manager_key

__all__ = [
    "CsvIOManager",
    "DeltaIOManager",
    "FormatIOManager",
    "JsonIOManager",
    "NetcdfIOManager",
    "ParquetIOManager",
    "PickleIOManager",
    "SqlIOManager",
    "ZarrIOManager",
    "definitions",
    "definitions_for",
    "io_manager_for",
    "io_manager_key",
]

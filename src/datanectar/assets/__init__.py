"""The Dagster side of datanectar: the only package that imports dagster."""

from .definitions import definitions, definitions_for
from .io_manager import FormatIOManager, io_manager_key

__all__ = ["FormatIOManager", "definitions", "definitions_for", "io_manager_key"]

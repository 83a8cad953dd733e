"""A table as its stored cells read, every cell a string: what the validator judges for a
format that stores text (a CSV), as frictionless judges the file itself.

Plain data, no pandas import: formats and storage name these types without loading the
validator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple


@dataclass(frozen=True)
class RaggedRecords:
    """The records of a CSV whose number of cells differs from its header's, which
    frictionless reports cell by cell (`extra-cell`, `missing-cell`)."""

    counts: Any
    """numpy array: how many cells each record holds, one per row of the table."""
    extra: Mapping[int, list[str]]
    """Row position -> the cells of that record past the header's (records that have any)."""


class TextTable(NamedTuple):
    """A table as its stored cells read, every cell a string, one row per record."""

    frame: Any
    """pandas DataFrame, one column per header label; a cell a short record lacks is null."""
    header: list[str]
    """The header row as written (labels may repeat)."""
    ragged: RaggedRecords | None = None
    """Set when some record holds more or fewer cells than the header."""

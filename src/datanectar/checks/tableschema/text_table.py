"""A table as its stored cells read, every cell a string: what the validator judges for a
format that stores text (a CSV), as frictionless judges the file itself.

Plain data, no pandas import: formats and storage name these types without loading the
validator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from ...errors import DatanectarError

if TYPE_CHECKING:
    from ...formats.csv_dialect import CsvReading


class UnreadableTable(DatanectarError):
    """The stored cells cannot be read as a table at all (bytes that are not text in the
    file's encoding): frictionless's table-level error for it, which the Table Schema check
    reports as its verdict rather than failing."""

    def __init__(self, error_type: str, note: str) -> None:
        super().__init__(f"{error_type}: {note}")
        self.error_type = error_type
        self.note = note


@dataclass(frozen=True)
class RaggedRecords:
    """How a CSV's records differ from a plain file's (one header row on top, then records
    of the header's length, numbered from 2): records whose number of cells differs from the
    header's, which frictionless reports cell by cell (`extra-cell`, `missing-cell`), and
    row numbers that do not follow from the position (header rows lower down, comment rows
    skipped)."""

    counts: Any
    """numpy array: how many cells each record holds, one per row of the table; None when
    every record holds the header's."""
    extra: Mapping[int, list[str]]
    """Row position -> the cells of that record past the header's (records that have any)."""
    row_numbers: Any = None
    """numpy array: each row's number as frictionless counts (the file's records from 1,
    header and skipped rows included); None: position + 2."""
    header_rows: tuple[int, ...] = field(default=(1,))
    """The row numbers of the header rows (none for a file without header)."""


class _Cells(NamedTuple):
    frame: Any
    """pandas DataFrame, one column per header label; a cell a short record lacks is null."""
    header: list[str]
    """The header row as frictionless reads it (labels may repeat); empty for a file read
    without header (`dialect: {header: false}`), whose fields match by position."""
    ragged: RaggedRecords | None = None
    """Set when some record holds more or fewer cells than the header, or rows are not
    numbered from 2."""


class TextTable(_Cells):
    """A table as its stored cells read, every cell a string, one row per record; unpacks
    as (frame, header, ragged)."""

    reading: CsvReading | None
    """The dialect and encoding the file was read with (pinned or detected)."""

    def __new__(
        cls,
        frame: Any,
        header: list[str],
        ragged: RaggedRecords | None = None,
        reading: CsvReading | None = None,
    ) -> TextTable:
        table = super().__new__(cls, frame, header, ragged)
        table.reading = reading
        return table

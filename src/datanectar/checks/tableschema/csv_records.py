"""A CSV read record by record with Python's csv module, as frictionless reads it: its header
rows joined into labels, rows before the content and comment rows skipped, every record's
row number as frictionless counts it, and which records hold more or fewer cells than the
header.

Slower than pyarrow (`csv_text`), which reads the plain files (one header row on top, no
comments, records of even length); this reads the others.
"""

from __future__ import annotations

import csv
from typing import Any

import numpy as np
import pandas as pd

from ...formats.csv_detect import is_comment
from ...formats.csv_dialect import CsvReading
from .text_table import RaggedRecords, TextTable

_FIELD_SIZE_LIMIT = 2**31 - 2  # frictionless's (formats/csv/settings.py)


def records(handle: Any, reading: CsvReading) -> Any:
    """Python's csv reader over the text, which is what frictionless reads a CSV with, taking
    fields as long as frictionless does (it lifts the module's 128 KiB limit, process-wide,
    when its own csv parser is imported)."""
    csv.field_size_limit(max(csv.field_size_limit(), _FIELD_SIZE_LIMIT))
    return csv.reader(handle, **reading.csv_module_dialect())


def labels_of(header_lists: list[list[str]], join: str) -> list[str]:
    """frictionless's `Dialect.read_labels`: the header rows' cells stripped, joined column by
    column, a cell repeating the one above it (a merged cell) taken once."""
    labels: list[str] = []
    previous: dict[int, str] = {}
    for cells in header_lists:
        for index, cell in enumerate("" if c is None else str(c).strip() for c in cells):
            if previous.get(index) == cell:
                continue
            previous[index] = cell
            if len(labels) <= index:
                labels.append(cell)
            else:
                labels[index] = join.join([labels[index], cell])
    return labels


def records_table(handle: Any, reading: CsvReading) -> TextTable:
    """Every data record one row (null where a record has fewer cells than the header), the
    labels, and in `ragged` what differs from a plain file: record lengths, row numbers."""
    first_content = reading.first_content_row
    header_lists: list[list[str]] = []
    rows: list[list[str]] = []
    numbers: list[int] = []
    for number, cells in enumerate(records(handle, reading), start=1):
        if number < first_content:
            if reading.header and number in reading.header_rows:
                if not is_comment(number, cells, reading):
                    header_lists.append(cells)
            continue
        if is_comment(number, cells, reading):
            continue
        rows.append(cells)
        numbers.append(number)
    labels = labels_of(header_lists, reading.header_join)
    if reading.header and not labels and not rows:
        return TextTable(pd.DataFrame(), [], reading=reading)  # frictionless: source is empty
    counts = np.array([len(cells) for cells in rows], dtype=np.int64)
    width = len(labels) if reading.header else int(counts.max(initial=0))
    columns: list[list[str | None]] = [[] for _ in range(width)]
    extra: dict[int, list[str]] = {}
    for position, cells in enumerate(rows):
        if len(cells) > width:
            extra[position] = cells[width:]
        elif len(cells) < width:
            cells = cells + [None] * (width - len(cells))  # type: ignore[list-item]
        for column, cell in zip(columns, cells, strict=False):
            column.append(cell)
    frame = pd.DataFrame({str(i): pd.array(cells, dtype="str") for i, cells in enumerate(columns)})
    frame.columns = labels if reading.header else [str(i + 1) for i in range(width)]
    row_numbers = np.array(numbers, dtype=np.int64)
    plain_numbers = np.array_equal(row_numbers, np.arange(len(rows)) + 2)
    uneven = bool((counts != width).any())
    layout = None
    if uneven or not plain_numbers or reading.header_rows != (1,):
        layout = RaggedRecords(
            counts if uneven else None,
            extra,
            row_numbers=None if plain_numbers else row_numbers,
            header_rows=reading.header_rows if reading.header else (),
        )
    return TextTable(frame, labels, layout, reading=reading)

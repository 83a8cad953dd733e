"""A csv file read by pandas in its Table Dialect: the same columns and rows the Table Schema
check judges (`checks.tableschema.csv_text`), typed as pandas types them."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any, BinaryIO

import pandas as pd

from .csv_detect import detected_reading, is_comment
from .csv_dialect import CsvDialect, CsvReading, pinned_reading


def read_frame(
    handle: BinaryIO,
    *,
    options: Mapping[str, Any],
    dialect: CsvDialect | None,
    detect: bool,
) -> pd.DataFrame:
    """`pd.read_csv(handle, **options)`, in the entry's dialect; what it leaves unpinned
    detected as frictionless detects it when `detect` (a file nothing produces)."""
    if dialect is None and not detect:
        return pd.read_csv(handle, **options)
    from ..checks.tableschema.csv_text import _decompressed

    raw = _decompressed(handle, options.get("compression"))
    if detect:
        reading = detected_reading(raw, dialect=dialect, options=options)
    else:
        reading = pinned_reading(dialect, options)
    chosen: dict[str, Any] = {
        "sep": reading.delimiter,
        "encoding": reading.encoding,
        "skipinitialspace": reading.skip_initial_space,
    }
    if reading.quote_char == "":
        chosen["quoting"] = csv.QUOTE_NONE
    else:
        chosen["quotechar"] = reading.quote_char
    if reading.escape_char:
        chosen.update(escapechar=reading.escape_char, doublequote=reading.double_quote)
    given = {
        key: value for key, value in options.items() if key not in ("delimiter", "compression")
    }
    if reading.plain:
        frame = pd.read_csv(raw, **{**chosen, **given})
    else:
        labels, skipped = _layout(raw, reading)
        raw.seek(0)
        frame = pd.read_csv(
            raw,
            **{**chosen, **given},
            header=None,
            names=labels if reading.header else None,
            skiprows=lambda index: index in skipped,
        )
    return _stripped_labels(frame)


def _layout(raw: BinaryIO, reading: CsvReading) -> tuple[list[str] | None, set[int]]:
    """The labels frictionless reads from the header rows, and the records (from 0) that
    are not data: the rows before the content, and comment rows."""
    from ..checks.tableschema.csv_records import labels_of, records

    text = io.TextIOWrapper(raw, encoding=reading.encoding, newline="")
    header_lists, skipped = [], set()
    # Comment characters may start any row: then every record is looked at.
    everything = reading.comment_char is not None
    last = max([reading.first_content_row - 1, *reading.comment_rows])
    try:
        for number, cells in enumerate(records(text, reading), start=1):
            if number < reading.first_content_row:
                skipped.add(number - 1)
                if reading.header and number in reading.header_rows:
                    if not is_comment(number, cells, reading):
                        header_lists.append(cells)
            elif is_comment(number, cells, reading):
                skipped.add(number - 1)
            if number >= last and not everything:
                break
    finally:
        text.detach()
    labels = labels_of(header_lists, reading.header_join)
    if len(set(labels)) != len(labels):
        # pandas takes no repeated names: the later ones get their position, as pandas'
        # own header reading renames them.
        labels = [
            label if labels.index(label) == i else f"{label}.{i}" for i, label in enumerate(labels)
        ]
    return labels, skipped


def _stripped_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """frictionless strips the spaces around a label; pandas' columns are stripped too when
    that keeps them distinct."""
    stripped = [label.strip() if isinstance(label, str) else label for label in frame.columns]
    if stripped != list(frame.columns) and len(set(stripped)) == len(stripped):
        frame.columns = stripped
    return frame
